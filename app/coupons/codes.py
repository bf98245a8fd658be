"""Coupon codes: random, from an alphabet without look-alike characters, unique."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from app.extensions import db
from app.models import Coupon

#: No 0/O, 1/I/L: a code read out on the phone or copied by hand cannot be mistyped.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS, CODE_GROUP_LEN = 2, 5


def _random_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(CODE_GROUP_LEN))
              for _ in range(CODE_GROUPS))
    return "-".join(groups)


def new_code() -> str:
    """A code not used yet (the unique constraint backs this check up)."""
    for _ in range(20):
        code = _random_code()
        if db.session.scalar(select(Coupon.id).where(Coupon.code == code)) is None:
            return code
    raise RuntimeError("could not find a free coupon code")


def normalise_code(code: str) -> str:
    """What a customer or the shop typed, in our form: upper case, grouped with a dash."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if len(raw) != CODE_GROUPS * CODE_GROUP_LEN:
        return (code or "").strip().upper()
    return "-".join(raw[i:i + CODE_GROUP_LEN] for i in range(0, len(raw), CODE_GROUP_LEN))
