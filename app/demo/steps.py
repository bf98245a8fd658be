"""The vocabulary of demo conversation scripts: what a customer or an agent does, step by step.

A script is a whole story (request, triage, reply, resolution). The planner plays a prefix of it,
so one script yields new, open, pending, solved or closed tickets. Texts are `str.format`
templates filled from the conversation's context (customer, subscription, agent, dates).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

HOUR = 60
DAY = 24 * HOUR

#: Steps done by the support team (they happen in business hours).
AGENT_KINDS = ("out", "note", "status", "assign", "act")


@dataclass(frozen=True)
class Step:
    #: in (customer writes) | call (phone call note) | out (agent reply) | note (internal) |
    #: status (agent changes status) | assign | act (agent changes the subscription)
    kind: str
    text: str = ""
    subject: str = ""
    #: Ticket status after an out/status step.
    then: Optional[str] = None
    #: Minutes since the previous step (random between the two).
    wait: tuple[int, int] = (30, 4 * HOUR)
    #: None: the conversation's agent; "sup": the supervisor.
    agent: Optional[str] = None
    #: act: ("skip",), ("pause", days), ("cancel", reason), ("cycle", days)
    action: tuple = ()
    #: call: whether an agent took the call (False: a voicemail).
    answered: bool = True


def IN(text: str, subject: str = "", wait: tuple[int, int] = (2 * HOUR, 20 * HOUR)) -> Step:
    return Step("in", text, subject=subject, wait=wait)


def CALL(text: str, answered: bool = True, wait: tuple[int, int] = (DAY, 3 * DAY)) -> Step:
    return Step("call", text, answered=answered, wait=wait)


def OUT(text: str, then: str = "pending", wait: tuple[int, int] = (40, 5 * HOUR), agent=None) -> Step:
    return Step("out", text, then=then, wait=wait, agent=agent)


def NOTE(text: str, agent=None, wait: tuple[int, int] = (5, 90)) -> Step:
    return Step("note", text, wait=wait, agent=agent)


def STATUS(then: str, wait: tuple[int, int] = (10, 3 * HOUR)) -> Step:
    return Step("status", then=then, wait=wait)


def ASSIGN(wait: tuple[int, int] = (15, 3 * HOUR), by_supervisor: bool = False) -> Step:
    return Step("assign", wait=wait, agent="sup" if by_supervisor else None)


def ACT(*action, wait: tuple[int, int] = (2, 20)) -> Step:
    return Step("act", action=tuple(action), wait=wait)


@dataclass(frozen=True)
class Script:
    key: str
    channel: str
    #: sub: an active subscriber | order: a customer with a recent order | customer: anyone who
    #: bought | stranger: someone who is not a customer yet
    needs: str
    steps: tuple[Step, ...]
    families: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    priority: str = "normal"
    lang: str = "ja"
    #: order: how many days before the conversation the order was placed (min, max).
    order_days: tuple[int, int] = (2, 10)
    min_deliveries: int = 1
    #: sub: only subscriptions with this delivery cycle.
    cycle: Optional[int] = None

    @property
    def acts(self) -> bool:
        return any(s.kind == "act" for s in self.steps)


SIGNATURE = """――――――――――――――――
みどり堂 お客様サポート　{agent_name}
受付時間：平日 9:00〜18:00
――――――――――――――――"""
SIGNATURE_EN = """--
{agent_en}
Midorido Customer Support"""
