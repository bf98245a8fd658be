"""The search page, the header's as-you-type customer lookup and the index status."""
from __future__ import annotations

from flask import jsonify, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app.channels import registry
from app.extensions import db
from app.models import STATUSES, Agent
from app.search import bp
from app.search.forms import SearchForm
from app.search.query import MessageFilters, search_customers, search_messages
from app.search.reconcile import lag
from app.templating import CHANNEL_LABELS, STATUS_LABELS

QUICK_LIMIT = 8


def _form() -> SearchForm:
    form = SearchForm(request.args)
    blank = [SelectChoice("", "—")]
    form.channel.choices = blank + [SelectChoice(c, CHANNEL_LABELS.get(c, c)) for c in registry.names()]
    form.status.choices = blank + [SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES]
    agents = db.session.execute(select(Agent.id, Agent.name).where(Agent.active.is_(True))
                                .order_by(Agent.name)).all()
    form.agent.choices = blank + [SelectChoice(str(a.id), a.name) for a in agents]
    return form


@bp.route("/search")
@login_required
def index():
    """Search messages (with filters) or customers."""
    form = _form()
    results = customers = None
    unavailable = False
    query = (form.q.data or "").strip()
    if query and form.validate():
        if form.type.data == "customers":
            customers, unavailable = search_customers(current_user, query, limit=50, prefix=False)
        else:
            filters = MessageFilters(channel=form.channel.data or None, status=form.status.data or None,
                                     agent_id=int(form.agent.data) if (form.agent.data or "").isdigit() else None,
                                     date_from=form.date_from.data, date_to=form.date_to.data,
                                     sort=form.sort.data)
            results = search_messages(current_user, query, filters, page=form.page.data or 1)
            unavailable = results.unavailable
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("search/index.html", form=form, query=query, results=results,
                           customers=customers, unavailable=unavailable, lag=lag(), args=args)


@bp.route("/search/customers.json")
@login_required
def quick_customers():
    """As-you-type customer lookup for the header box: [{id, name_html, detail_html, url}]."""
    text = (request.args.get("q") or "").strip()[:100]
    hits, unavailable = search_customers(current_user, text, limit=QUICK_LIMIT) if text else ([], False)
    return jsonify(unavailable=unavailable, customers=[
        {"id": h.customer.id, "name_html": str(h.name), "detail_html": str(h.detail),
         "url": url_for("customers.show", customer_id=h.customer.id)} for h in hits])


@bp.route("/search/status.json")
@login_required
def status():
    """The lag indicator: pending queue rows, the oldest one's age, backfill still to do."""
    return jsonify(lag())
