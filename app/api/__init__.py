"""JSON API v1 (Bearer tokens), one module per resource."""
from flask import Blueprint

bp = Blueprint("api", __name__)
