"""The portal_attempt table: every question sent to the public form, for the rate limits.

Kept in the database so that several web processes agree on the counts (no Redis needed). The
client's IP address and the sender's address are stored only as keyed hashes (HMAC with the
web secret), never in clear; rows older than a day are pruned as new ones arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class PortalAttempt(SQLModel, table=True):
    __tablename__ = "portal_attempt"
    __table_args__ = (Index("ix_portal_attempt_ip_at", "ip_key", "at"), Index("ix_portal_attempt_address_at", "address_key", "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    ip_key: str = Field(max_length=64)
    address_key: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=20)  # accepted | refused | limited
    acknowledged: bool = False  # the one acknowledgement mail went to this address
