"""The call_record table: every call the call center reported, with or without a summary.

One row per (source, call id): a call-log import and CTI events about the same call fill in one
row; a replayed event or a re-imported file changes nothing. Calls count in `tiepnhan report
calls` (reports/calls.py) whether or not they became a message on a ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class CallRecord(SQLModel, table=True):
    __tablename__ = "call_record"
    __table_args__ = (
        UniqueConstraint("source", "call_id", name="uq_call_record_source_call_id"),
        Index("ix_call_record_started_at", "started_at"),
        Index("ix_call_record_citizen_number", "citizen_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)
    call_id: str = Field(max_length=200)
    direction: str = Field(max_length=10)
    citizen_number: str = Field(max_length=20)  # personal data: shown only with the ticket, masked in logs
    line_number: str = Field(default="", max_length=40)
    agent: str = Field(default="", max_length=200)
    outcome: str | None = Field(default=None, max_length=12)  # answered | missed | abandoned; None while in progress
    started_at: datetime = Field(sa_type=_tz())
    answered_at: datetime | None = Field(default=None, sa_type=_tz())
    ended_at: datetime | None = Field(default=None, sa_type=_tz())
    duration_seconds: int = 0
    wait_seconds: int = 0
    has_summary: bool = False
    raw_item_id: int | None = Field(default=None, foreign_key="rawitem.id")  # the summary's raw item, when there is one
    origin: str = Field(default="import", max_length=10)  # import | cti
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # CTI events seen, "newCall@<iso time>"
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
