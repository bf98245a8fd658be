"""Keyset pages of the inbox: Next / Previous walk every ticket once, in order, whatever changes
between two page loads, never show a ticket the agent may not see, and survive any cursor."""
from __future__ import annotations

import html as htmllib
import re
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import Customer, Team, Ticket
from app.tickets.keyset import Cursor
from tests.factories import make_agent, make_customer

T0 = datetime(2026, 9, 14, 8, 30, tzinfo=timezone.utc)
ROW = re.compile(r'<tr class="ticket-row[^"]*" data-ticket-id="(\d+)"')


def _ticket(customer: Customer, minutes: float, status: str = "open", **kw) -> Ticket:
    at = T0 + timedelta(minutes=minutes)
    ticket = Ticket(customer_id=customer.id, subject=kw.pop("subject", f"件名 {minutes}"), status=status,
                    channel=kw.pop("channel", "email"), created_at=at, last_activity_at=at, **kw)
    db.session.add(ticket)
    db.session.flush()
    return ticket


def _page(client, url: str) -> tuple[list[int], str | None, str | None]:
    """(row ids, Next href, Previous href) of an inbox page."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    text = response.get_data(as_text=True)
    nxt = re.search(r'<a rel="next" href="([^"]+)"', text)
    prev = re.search(r'<a rel="prev" href="([^"]+)"', text)
    return ([int(n) for n in ROW.findall(text)], htmllib.unescape(nxt.group(1)) if nxt else None,
            htmllib.unescape(prev.group(1)) if prev else None)


def _walk(client, url: str, limit: int = 50) -> list[list[int]]:
    pages = []
    while url and len(pages) < limit:
        ids, url, _ = _page(client, url)
        pages.append(ids)
    return pages


def _expected(tickets) -> list[int]:
    return [t.id for t in sorted(tickets, key=lambda t: (t.last_activity_at, t.id), reverse=True)]


@pytest.fixture
def backlog(app):
    """31 unsolved tickets, most of them sharing their activity time with others, and some solved
    ones in between that the default list leaves out."""
    app.config["TICKETS_PER_PAGE"] = 4
    people = [make_customer(f"顧客 {i}") for i in range(3)]
    unsolved, solved = [], []
    for i in range(31):
        # Five distinct times for 31 tickets: ties everywhere, also across page boundaries.
        unsolved.append(_ticket(people[i % 3], minutes=(i % 5) * 7, status=("new", "open", "pending")[i % 3]))
        if i % 4 == 0:
            solved.append(_ticket(people[0], minutes=(i % 5) * 7, status="solved"))
    db.session.commit()
    return unsolved, solved


def test_next_walks_every_unsolved_ticket_once_in_order_with_ties(client, agent, login_as, backlog):
    unsolved, _ = backlog
    login_as(agent)
    pages = _walk(client, "/")
    assert [len(p) for p in pages] == [4] * 7 + [3]
    assert [i for p in pages for i in p] == _expected(unsolved)


def test_previous_walks_back_the_same_pages(client, agent, login_as, backlog):
    login_as(agent)
    forward, url = [], "/"
    while url:
        ids, nxt, _ = _page(client, url)
        forward.append(ids)
        last_url, url = url, nxt
    backward, url = [], last_url
    while url:
        ids, _, prev = _page(client, url)
        backward.append(ids)
        url = prev
    assert backward[::-1] == forward


def test_changes_between_page_loads_neither_repeat_nor_skip_the_others(client, agent, login_as, backlog):
    unsolved, _ = backlog
    login_as(agent)
    order = _expected(unsolved)
    seen, next_url = _page(client, "/")[0], _page(client, "/")[1]
    # Between the loads: a ticket further down gets a new message (it moves to the top, above the
    # cursor), one not yet shown is solved, and a new ticket arrives.
    moved = db.session.get(Ticket, order[20])
    moved.last_activity_at = T0 + timedelta(days=2)
    gone = db.session.get(Ticket, order[12])
    gone.status = "solved"
    fresh = _ticket(db.session.get(Customer, moved.customer_id), minutes=60 * 24 * 3)
    db.session.commit()
    rest = [i for p in _walk(client, next_url) for i in p]
    walked = seen + rest
    assert len(walked) == len(set(walked))
    assert walked == [i for i in order if i not in (moved.id, gone.id)]
    assert fresh.id not in walked and _page(client, "/")[0][:2] == [fresh.id, moved.id]


def test_a_stale_cursor_still_marks_its_place(client, agent, login_as, backlog):
    unsolved, _ = backlog
    login_as(agent)
    order = _expected(unsolved)
    ids, next_url, _ = _page(client, "/")
    db.session.delete(db.session.get(Ticket, ids[-1]))  # the cursor's own row disappears
    db.session.commit()
    assert _page(client, next_url)[0] == order[4:8]


@pytest.mark.parametrize("query", [
    "after=garbage", "after=", "before=xyz&page=3", "after=1.2.3", "after=-5.1", "after=n.7",
    "after=99999999999999999.1", "before=12345678901234567.999999999999999999&page=2",
    "page=-4&after=1700000000000000.3", "after=1700000000000000.2147483647", "page=5000",
    "after=1700000000000000.9999999999", "page=2&after=1700000000000000.3&before=1600000000000000.3",
])
def test_a_malformed_or_odd_cursor_gives_a_page_never_an_error(client, agent, login_as, backlog, query):
    login_as(agent)
    response = client.get("/?" + query)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("ticket-row") <= 4
    # A NUL byte or a number beyond the database's integers is refused before the inbox sees it.
    for refused in ("after=1700000000000000.%00", "page=99999999999999999999"):
        assert client.get("/?" + refused).status_code == 400


def test_garbage_cursor_shows_the_first_page(client, agent, login_as, backlog):
    login_as(agent)
    assert _page(client, "/?after=%E8%A7%A3%E7%B4%84")[0] == _page(client, "/")[0]


def test_links_keep_the_filters(client, agent, login_as, app):
    app.config["TICKETS_PER_PAGE"] = 2
    person = make_customer("佐藤 美咲")
    for i in range(7):
        _ticket(person, minutes=i, channel="x", assignee_id=agent.id)
    db.session.commit()
    login_as(agent)
    _, nxt, _ = _page(client, "/?channel=x&mine=1")
    assert "channel=x" in nxt and "mine=1" in nxt and "after=" in nxt and "page=2" in nxt
    _, nxt2, prev = _page(client, nxt)
    assert prev == "/?channel=x&mine=1"
    _, _, prev3 = _page(client, nxt2)
    assert "before=" in prev3 and "channel=x" in prev3 and "page=2" in prev3
    # Filter links on a later page start again at the first page, without the cursor.
    text = client.get(nxt2).get_data(as_text=True)
    assert 'href="/?status=all&amp;channel=x&amp;mine=1"' in text


def test_an_agent_never_reaches_another_teams_ticket_through_a_cursor(app, client, login_as):
    app.config["TICKETS_PER_PAGE"] = 3
    ours, theirs = Team(name="定期便チーム"), Team(name="法人チーム")
    db.session.add_all([ours, theirs])
    db.session.commit()
    me = make_agent("agent", name="担当 次郎", team_id=ours.id)
    person = make_customer("高橋 健")
    visible, hidden = [], []
    for i in range(12):
        # Interleaved with equal times: every cursor sits right next to a hidden ticket.
        visible.append(_ticket(person, minutes=i // 2, team_id=ours.id if i % 3 else None, channel="x"))
        hidden.append(_ticket(person, minutes=i // 2, team_id=theirs.id, channel="x",
                              intent="cancellation", intent_at=T0 + timedelta(minutes=i)))
    hidden.append(_ticket(person, minutes=3, team_id=theirs.id, assignee_id=None, channel="x"))
    mine = _ticket(person, minutes=5, team_id=theirs.id, assignee_id=me.id, channel="x",
                   intent="cancellation", intent_at=T0)
    for t in visible[::4]:
        t.intent, t.intent_at = "cancellation", T0 + timedelta(minutes=30)
    db.session.commit()
    login_as(me)
    hidden_ids = {t.id for t in hidden}
    for view in ("/", "/?channel=x", "/?status=all", "/?flagged=1", "/?mine=1", "/?status=open&channel=x"):
        walked = [i for p in _walk(client, view) for i in p]
        assert not hidden_ids & set(walked), view
        assert len(walked) == len(set(walked)), view
    assert [i for p in _walk(client, "/") for i in p] == _expected(visible + [mine])
    assert [i for p in _walk(client, "/?mine=1") for i in p] == [mine.id]
    # A cursor forged from a hidden ticket's key only marks a place: still nothing hidden.
    for t in hidden:
        token = Cursor(t.last_activity_at, t.id).token()
        for url in (f"/?after={token}", f"/?before={token}&page=3", f"/?flagged=1&after={token}"):
            assert not hidden_ids & set(_page(client, url)[0]), url
    flagged = [i for p in _walk(client, "/?flagged=1") for i in p]
    assert flagged == [mine.id] + [t.id for t in visible[::4]]


def test_cancellation_requests_page_oldest_first_with_undated_ones_last(app, client, agent, login_as):
    app.config["TICKETS_PER_PAGE"] = 3
    person = make_customer("伊藤 さくら")
    dated = [_ticket(person, minutes=i, intent="cancellation", intent_at=T0 - timedelta(hours=i % 3))
             for i in range(7)]
    undated = [_ticket(person, minutes=i, intent="cancellation") for i in range(4)]
    _ticket(person, minutes=1, status="pending", intent="cancellation", intent_at=T0 - timedelta(days=9))
    _ticket(person, minutes=1, intent="skip", intent_at=T0 - timedelta(days=9))
    db.session.commit()
    login_as(agent)
    pages = _walk(client, "/?flagged=1")
    expected = [t.id for t in sorted(dated, key=lambda t: (t.intent_at, t.id))] + [t.id for t in undated]
    assert [i for p in pages for i in p] == expected
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    text = client.get("/?flagged=1").get_data(as_text=True)
    assert 'class="flagged"' not in text and "11 tickets" in text


def test_query_count_is_the_same_on_every_page(client, agent, login_as, backlog):
    from sqlalchemy import event

    login_as(agent)
    counts = []
    url = "/"
    while url:
        statements = []

        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            _, url, _ = _page(client, url)
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        counts.append(len(statements))
    # The first page also reads the pinned cancellation requests; later ones all cost the same.
    assert len(set(counts[1:])) == 1 and counts[0] >= counts[1], counts


def test_cursor_tokens_round_trip():
    for at in (T0, T0.replace(microsecond=999_999), datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=timezone.utc)):
        assert Cursor.parse(Cursor(at, 42).token()) == Cursor(at, 42)
    assert Cursor.parse(Cursor(None, 7).token()) == Cursor(None, 7)
    for bad in (None, "", "x", "1.", ".1", "1.1.1", "-1.1", "n.", "1e5.3", "１２.３", "1.2147483648"):
        assert Cursor.parse(bad) is None, bad


def test_the_index_blind_visibility_selects_what_ticket_filter_does(app):
    from sqlalchemy import select

    from app.auth.access import ticket_filter
    from app.tickets.queries import _visible

    north, south = Team(name="北チーム"), Team(name="南チーム")
    db.session.add_all([north, south])
    db.session.commit()
    people = [make_agent("agent", team_id=north.id), make_agent("agent", team_id=south.id), make_agent("agent"),
              make_agent("supervisor")]
    person = make_customer("中村 蓮")
    for i, team in enumerate([None, north.id, south.id] * 4):
        _ticket(person, minutes=i, team_id=team, assignee_id=[None, *(p.id for p in people)][i % 5])
    db.session.commit()
    for who in people:
        def ids(cond):
            return set(db.session.scalars(select(Ticket.id).where(cond)))
        assert ids(_visible(who)) == ids(ticket_filter(who)), who
