"""The composition root: FastAPI app, settings, auth, schemas, CLI."""
