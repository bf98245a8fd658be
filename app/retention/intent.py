"""Cancellation intent of an inbound message: label, probability, confidence band, reason, why.

A trained classifier (intent_model.py: character n-grams + the phrase families of intent_rules.py,
over the labelled corpus in corpus/) says cancel / pause / skip / none with a probability; the
rules still say *why*, so an agent reads the phrases that decided it (`Detection.matched`; the
model's strongest stretches of text when no rule phrase matched). Quoted shop mail is removed
before anything looks at the text; the model reads the body (the subject only when it is empty).
(Measured on dev and dropped: lifting every rule hit to "maybe" — the rules' own false alarms,
questions and threats, then crowd the "maybe" band.)

Bands, on p(cancel) + p(pause): at or above FLAG_AT the ticket is flagged as a cancellation request
(pauses included: the retention ladder offers pause first for them); between MAYBE_AT and FLAG_AT
it is marked "maybe" for the agent instead of silently ignored; below, nothing. A request to skip
exactly one delivery is its own label (`is_skip`): it is a subscription change, not a cancellation.
Precision and recall per label and language: bench/intent_eval.py and bench/README.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.retention.intent_model import shipped_model
from app.retention.intent_rules import clean, detect_reason, language, matched_phrases

__all__ = ["Detection", "detect", "detect_many", "detect_reason", "clean", "language", "FLAG_AT", "MAYBE_AT"]

#: p(cancel or pause) at which a ticket is flagged, and from which it is marked "maybe" (tuned on dev).
FLAG_AT = 0.4
MAYBE_AT = 0.15
#: p(skip) from which a message reads as a request to skip one delivery.
SKIP_AT = 0.5


@dataclass(frozen=True)
class Detection:
    #: Flagged: a request to cancel or to pause (band "flag").
    is_cancellation: bool
    reason: str | None = None
    #: The phrases that decided it, for the agent (and the Event).
    matched: tuple[str, ...] = field(default_factory=tuple)
    lang: str = "ja"
    #: cancel | pause | skip | none
    label: str = "none"
    #: p(cancel) + p(pause) by the model: how sure it is this asks to end or stop deliveries.
    probability: float = 0.0
    #: flag | maybe | none
    band: str = "none"

    @property
    def is_maybe(self) -> bool:
        return self.band == "maybe"

    @property
    def is_skip(self) -> bool:
        return self.label == "skip"


def _decide(text: str, subject: str, body: str, probs: dict[str, float]) -> Detection:
    lang = language(text or subject)
    stop = probs["cancel"] + probs["pause"]
    if stop >= MAYBE_AT:
        label = "cancel" if probs["cancel"] >= probs["pause"] else "pause"
        band = "flag" if stop >= FLAG_AT else "maybe"
        reason = detect_reason(f"{subject}\n{text}")
        if label == "pause" and reason == "other":
            reason = "temporary"
        return Detection(band == "flag", reason, _why(body, label), lang, label, round(stop, 4), band)
    if probs["skip"] >= SKIP_AT:
        return Detection(False, detect_reason(f"{subject}\n{text}"), _why(body, "skip"), lang, "skip",
                         round(stop, 4), "none")
    return Detection(False, lang=lang, probability=round(stop, 4))


def _why(body: str, label: str) -> tuple[str, ...]:
    families = ("skip",) if label == "skip" else ("indirect", "pause") if label == "pause" else ("indirect",)
    phrases = matched_phrases(body, families)
    if phrases:
        return phrases[:4]
    return shipped_model().evidence(body, label)


def detect_many(items: list[tuple[str, str]]) -> list[Detection]:
    """detect() for (text, subject) pairs, one model call for the batch."""
    # The body alone: subjects are mostly generic (お問い合わせ, Re: ...) and were not in the corpus;
    # a subject speaks only for an empty body.
    bodies = [clean(text if (text or "").strip() else subject) for text, subject in items]
    probs = shipped_model().probabilities(bodies)
    return [_decide(text, subject, body, p) for (text, subject), body, p in zip(items, bodies, probs)]


def detect(text: str, subject: str = "") -> Detection:
    """Is this inbound message a request to cancel, pause or skip, how sure, and why?"""
    return detect_many([(text or "", subject or "")])[0]
