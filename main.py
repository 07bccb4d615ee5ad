"""The WSGI entry point: ``gunicorn main:app``."""

from registry import create_app

app = create_app()
