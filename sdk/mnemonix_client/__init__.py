"""Python client for the Mnemonix agent memory service."""
