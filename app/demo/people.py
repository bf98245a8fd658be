"""Demo people: names with readings, and the email, phone and X identities they write from.

Identities are normalised with the ingest path's own normalisers, so a demo message from a
customer finds that customer exactly as a real one would.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from app.demo import data
from app.ingest.identity import format_phone_national, normalise_email, normalise_phone


def hiragana(katakana: str) -> str:
    """ミサキ -> みさき (the long-vowel mark and other characters stay)."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


@dataclass
class Taken:
    """Identity values already handed out, so every generated identity is unique."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    x_ids: set[str] = field(default_factory=set)
    handles: set[str] = field(default_factory=set)


@dataclass
class Person:
    name: str
    kana: str = ""
    sei: str = ""  #: family name, for 「佐藤様」
    romaji: str = ""  #: "Misaki Sato", for English mail
    lang: str = "ja"
    email: str | None = None
    email_name: str = ""  #: the From display name (carrier mail often has none)
    phone: str | None = None  #: E.164
    x_id: str | None = None
    x_handle: str = ""  #: without the @
    x_name: str = ""

    @property
    def phone_display(self) -> str:
        return format_phone_national(self.phone) if self.phone else ""


def _unique(candidate: str, taken: set[str], rng: random.Random) -> str:
    value = candidate
    while value in taken:
        value = f"{candidate}{rng.randint(1, 999)}"
    taken.add(value)
    return value


def _email(rng: random.Random, taken: Taken, mei: str, sei: str, domain: str | None = None) -> str:
    domain = domain or data.weighted(rng, data.EMAIL_DOMAINS)
    birth = rng.randint(1955, 2002)
    if domain in data.CARRIER_DOMAINS:
        word = rng.choice(("smile", "happy", "sky", "lucky", "hana", "momo", "sunny", "blue", mei))
        local = rng.choice((f"{mei}-{sei}.{rng.randint(1, 99)}",
                            f"{word}.{mei[:3]}-{rng.randint(100, 999)}",
                            f"{mei}{birth % 100:02d}{rng.choice(('', '-'))}{word}"))
    else:
        local = rng.choice((f"{mei}.{sei}{birth % 100:02d}",
                            f"{sei}{mei[0]}{rng.randint(1, 31):02d}{rng.randint(1, 12):02d}",
                            f"{mei}_{sei}", f"{mei}{birth}", f"{sei}.{mei}"))
    while True:
        address = normalise_email(f"{local}@{domain}")
        if address not in taken.emails:
            taken.emails.add(address)
            return address
        local = f"{local}{rng.randint(1, 9)}"


def _phone(rng: random.Random, taken: Taken) -> str:
    while True:
        typed = f"{data.weighted(rng, data.MOBILE_PREFIXES)}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
        e164 = normalise_phone(typed)
        if e164 not in taken.phones:
            taken.phones.add(e164)
            return e164


def _x_id(rng: random.Random, taken: Taken) -> str:
    while True:
        # Accounts from before 2013 have short ids; newer ones are 18-19 digit snowflakes.
        value = str(rng.randint(10**8, 2 * 10**9) if rng.random() < 0.3
                    else rng.randint(7 * 10**17, 18 * 10**17))
        if value not in taken.x_ids:
            taken.x_ids.add(value)
            return value


def _x_identity(rng: random.Random, taken: Taken, person: Person, mei: str, kana_mei: str) -> None:
    word = rng.choice(data.X_HANDLE_WORDS)
    handle = rng.choice((f"{mei}_{word}", f"{word}_{mei}", f"{mei}{rng.randint(1, 99)}",
                         f"{mei}_{word}{rng.randint(1, 9)}"))
    person.x_id = _x_id(rng, taken)
    person.x_handle = _unique(handle[:12], taken.handles, rng)
    person.x_name = hiragana(kana_mei) + rng.choice(data.X_NAME_DECORATIONS)


def make_customer(rng: random.Random, taken: Taken) -> Person:
    """A customer of the shop: a Japanese name, usually an email, often a phone, sometimes X."""
    sei, sei_kana, sei_romaji = rng.choice(data.SURNAMES)
    names = data.FEMALE_NAMES if rng.random() < data.FEMALE_SHARE else data.MALE_NAMES
    mei, mei_kana, mei_romaji = rng.choice(names)
    person = Person(name=f"{sei} {mei}", kana=f"{sei_kana} {mei_kana}", sei=sei,
                    romaji=f"{mei_romaji.capitalize()} {sei_romaji.capitalize()}")
    has_email = rng.random() < 0.94
    if has_email:
        person.email = _email(rng, taken, mei_romaji, sei_romaji)
        carrier = person.email.split("@")[1] in data.CARRIER_DOMAINS
        person.email_name = "" if carrier and rng.random() < 0.6 else person.name
    if not has_email or rng.random() < 0.7:
        person.phone = _phone(rng, taken)
    if rng.random() < 0.15:
        _x_identity(rng, taken, person, mei_romaji, mei_kana)
    return person


def make_stranger(rng: random.Random, taken: Taken, kind: str, lang: str) -> Person:
    """Someone who is not a customer yet: ingest will create them from the message."""
    name, local, person_lang = rng.choice([s for s in data.STRANGER_NAMES if s[2] == lang])
    person = Person(name=name, lang=person_lang, sei=name.split(" ")[0], romaji=name)
    if kind == "email":
        domain = rng.choice(data.STRANGER_DOMAINS)
        while person.email is None or person.email in taken.emails:
            person.email = normalise_email(f"{local}{rng.randint(1, 99)}@{domain}")
        taken.emails.add(person.email)
        person.email_name = name
    elif kind == "x":
        word = rng.choice(data.X_HANDLE_WORDS)
        first = local.split(".")[0]
        person.x_id = _x_id(rng, taken)
        person.x_handle = _unique(f"{first}_{word}"[:12], taken.handles, rng)
        person.x_name = name.split(" ")[-1] if lang == "ja" else name.split(" ")[0]
    else:
        person.phone = _phone(rng, taken)
    return person
