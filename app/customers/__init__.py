"""Customers: the customer page and merge."""
from flask import Blueprint

bp = Blueprint("customers", __name__, template_folder="templates")

from app.customers import routes  # noqa: E402,F401
