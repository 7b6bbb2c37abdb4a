"""Secrets and personal data kept out of storage: detection, redaction and the tenant's
write policy (default TTLs, secrets and PII handling). See docs/memory-truth.md."""
