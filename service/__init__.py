"""The misdirect HTTP API (FastAPI). The app is built by :func:`service.app.create_app`."""
