"""JSON API v1 (Bearer tokens), one module per resource; OpenAPI generated from the code."""
from flask import Blueprint

bp = Blueprint("api", __name__)

# auth first: its before_request guards every view below. A new resource module is added here
# and appears in /api/v1/openapi.json by itself (see spec.py).
from app.api import auth, calls, customers, messages, spec, tickets  # noqa: E402,F401
from app.api import search  # noqa: E402,F401  (GET /search; app/search owns the logic)
from app.api import commerce  # noqa: E402,F401  (PUT products/customers/orders/subscriptions)
from app.api import reports  # noqa: E402,F401  (GET /reports/sla; app/reports owns the figures)
from app.api import line  # noqa: E402,F401  (POST /line/links; app/channels/line owns the logic)
