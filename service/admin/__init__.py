"""The admin API under ``/v1/admin`` (admin key only)."""
