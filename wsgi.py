"""WSGI entry point: `flask --app wsgi ...` and gunicorn use this."""
from app import create_app

app = create_app()
