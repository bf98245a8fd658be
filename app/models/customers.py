"""Customers and the identities through which every channel finds them."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

IDENTITY_KINDS = ("email", "phone", "x")


class Customer(db.Model):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The shop system's customer id, for idempotent upserts.
    external_id: Mapped[Optional[str]] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Reading of the name in kana (フリガナ), used by search and display.
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: Set when this customer was merged into another; the row stays as a tombstone.
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    identities: Mapped[list["Identity"]] = relationship(
        back_populates="customer", order_by="Identity.id", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        for identity in self.identities:
            return identity.display or identity.value
        return f"#{self.id}"

    def identity(self, kind: str) -> Optional["Identity"]:
        return next((i for i in self.identities if i.kind == kind), None)

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.name!r}>"


class Identity(db.Model):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: email | phone | x | line
    kind: Mapped[str] = mapped_column(String(10))
    #: Normalised: lower-cased address, E.164 number, numeric X user id.
    value: Mapped[str] = mapped_column(String(254))
    #: What a person recognises: the X handle, the number as typed, the address as written.
    display: Mapped[str] = mapped_column(String(254), default="")
    #: X display name, or the name in an email From header.
    name: Mapped[str] = mapped_column(String(200), default="")
    #: A hard bounce was received for this address (LINE: the user blocked / unfollowed us).
    bouncing: Mapped[bool] = mapped_column(default=False)
    #: Profile picture the channel gave (LINE profile API's pictureUrl), and a small copy of it
    #: served by us (the page's CSP allows only our own images); None when absent or too large.
    picture_url: Mapped[Optional[str]] = mapped_column(String(1000))
    picture: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))
    picture_type: Mapped[Optional[str]] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")
