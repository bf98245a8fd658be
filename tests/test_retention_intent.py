"""Cancellation intent: the rules against the labelled corpus, and flagging tickets on ingest."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.ingest import ingest
from app.models import Event, RetentionCase, Ticket
from app.retention import cases
from app.retention.intent import detect
from tests.factories import inbound, make_ticket
from tests.retention_helpers import req  # noqa: F401  (fixture)

CORPUS = Path(__file__).resolve().parent.parent / "app" / "retention" / "corpus"


def _load(name: str) -> list[dict]:
    with open(CORPUS / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _scores(rows: list[dict]) -> tuple[float, float, float, list[str]]:
    tp = fp = fn = reason_ok = 0
    misses = []
    for row in rows:
        found = detect(row["text"])
        if found.is_cancellation and row["is_cancellation"]:
            tp += 1
            reason_ok += found.reason == row["reason"]
        elif found.is_cancellation:
            fp += 1
            misses.append(f"FP: {row['text']}")
        elif row["is_cancellation"]:
            fn += 1
            misses.append(f"FN: {row['text']}")
    return tp / (tp + fp), tp / (tp + fn), reason_ok / tp, misses


def test_corpus_is_big_enough_and_bilingual():
    rows = _load("cancellation_intent.jsonl")
    assert len(rows) >= 150
    langs = {r["lang"] for r in rows}
    assert langs == {"ja", "en"}
    for lang in langs:
        labels = {r["is_cancellation"] for r in rows if r["lang"] == lang}
        assert labels == {True, False}
    assert {r["channel"] for r in rows} >= {"email", "x", "phone"}


@pytest.mark.parametrize("name", ["cancellation_intent.jsonl", "cancellation_intent_holdout.jsonl"])
def test_precision_and_recall_on_the_corpus(name):
    precision, recall, reason_accuracy, misses = _scores(_load(name))
    print(f"\n{name}: precision={precision:.3f} recall={recall:.3f} reason accuracy={reason_accuracy:.3f}")
    assert precision >= 0.9, misses
    assert recall >= 0.9, misses
    assert reason_accuracy >= 0.8, misses


def test_quoted_history_does_not_flag():
    text = "住所変更をお願いします。\n\n> 解約をご希望の場合はこちらからお手続きください。\n> よろしくお願いいたします。"
    assert not detect(text).is_cancellation
    english = "Thanks, the address is right.\n\nOn Tue, 1 Apr 2025 at 10:00, Support wrote:\n> To cancel your subscription reply here."
    assert not detect(english).is_cancellation


def test_matched_phrase_and_language_are_reported():
    found = detect("肌に合わないので定期を解約したいです")
    assert found.is_cancellation and found.reason == "unsuitable" and found.lang == "ja"
    assert any("解約" in m for m in found.matched)
    assert detect("Please cancel my subscription").lang == "en"


# --- flagging tickets through the ingest path ---------------------------------------------------------

def test_inbound_request_flags_ticket_with_request_time_and_raises_priority(app):
    asked = datetime(2025, 3, 31, 23, 50, tzinfo=timezone.utc)
    ticket, message = make_ticket("定期便を解約したいです。まだ3袋も余っています。", created_at=asked)
    db.session.refresh(ticket)
    assert ticket.intent == "cancellation"
    assert ticket.intent_reason == "surplus"
    assert ticket.intent_at == asked
    assert ticket.priority == "high"
    case = db.session.scalar(select(RetentionCase).where(RetentionCase.ticket_id == ticket.id))
    assert case.first_requested_at == asked and case.first_message_id == message.id
    assert case.outcome == "open" and case.lang == "ja"
    event = db.session.scalar(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "retention.flagged"))
    assert event.data["reason"] == "surplus" and event.data["priority"] == {"old": "normal", "new": "high"}


def test_phone_call_summary_and_x_post_flag_too(app):
    for channel, sender, kind in (("phone", "090-1111-2222", "phone"), ("x", "123456789", "x")):
        result = ingest(inbound("【通話メモ】定期を解約したいとのご依頼", channel=channel, sender=sender, kind=kind))
        assert db.session.get(Ticket, result.ticket_id).intent == "cancellation", channel


def test_outbound_and_auto_replies_never_flag(app):
    result = ingest(inbound("解約のお手続きを承りました。", direction="out"))
    assert db.session.get(Ticket, result.ticket_id).intent is None
    result = ingest(inbound("自動返信: 解約について", auto_submitted=True))
    assert db.session.get(Ticket, result.ticket_id).intent is None


def test_earliest_request_time_is_kept_across_messages(app):
    first = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
    ticket, _ = make_ticket("定期を解約してください", created_at=first, sender="keep@example.jp",
                            subject="解約", thread_key="t-1")
    ingest(inbound("まだ解約されていません。早く解約してください。", sender="keep@example.jp",
                   created_at=first + timedelta(days=2), reply_to_keys=("t-1",)))
    db.session.refresh(ticket)
    assert ticket.intent_at == first
    assert db.session.scalar(select(RetentionCase.first_requested_at)) == first


def test_not_a_cancellation_is_one_click_and_restores_priority(app, agent):
    ticket, message = make_ticket("Please cancel my subscription.")
    cases.clear_intent(agent, ticket)
    db.session.refresh(ticket)
    assert ticket.intent is None and ticket.intent_at is None and ticket.priority == "normal"
    case = db.session.scalar(select(RetentionCase))
    assert case.outcome == "dismissed"
    assert db.session.scalar(select(Event).where(Event.kind == "retention.cleared")).actor_id == agent.id
    # the same message seen again (a replayed bus event) does not flag it again
    assert cases.detect_for_message(message.id) is None
    assert db.session.get(Ticket, ticket.id).intent is None


def test_agent_can_flag_a_missed_request_with_the_call_time(req, agent):
    ticket, _ = make_ticket("お電話しました。折り返しお願いします。")
    called = datetime(2025, 4, 2, 3, 15, tzinfo=timezone.utc)
    case = cases.flag_manually(agent, ticket, "price", called)
    db.session.refresh(ticket)
    assert (ticket.intent, ticket.intent_reason, ticket.intent_at) == ("cancellation", "price", called)
    assert case.source == "agent"
    with pytest.raises(cases.CaseError):
        cases.flag_manually(agent, ticket, "bogus")
