"""Search: customers and messages in Japanese and English (Whoosh), indexed by the worker.

`flask --app wsgi search reindex|reconcile|status` are this blueprint's commands.
"""
from flask import Blueprint

bp = Blueprint("search", __name__, template_folder="templates", cli_group="search")

from app.search import cli, routes  # noqa: E402,F401
