"""The clocks of tickets and escalations (issue 15), stored when the events happen.

One row per ticket and per escalation, kept by tickets/clocks.py from the event writer, so a
report reads these indexed rows and never replays the event log. Every duration is in
wall-clock minutes and in business minutes (tickets/business_time.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import Message, Ticket, TicketEvent


def _tz() -> Any:
    return UTCDateTime()


class TicketClock(SQLModel, table=True):
    __tablename__ = "ticket_clock"
    __table_args__ = (
        Index("ix_ticket_clock_opened", "opened_at"),
        Index("ix_ticket_clock_resolved", "resolved_at"),
        Index("ix_ticket_clock_first_action", "first_action_at"),
    )

    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id")
    opened_at: datetime = Field(sa_type=_tz())  # the first inbound message
    first_response_at: datetime | None = Field(default=None, sa_type=_tz())
    first_response_minutes: float | None = None
    first_response_business_minutes: float | None = None
    first_action_at: datetime | None = Field(default=None, sa_type=_tz())  # a person's first act on it
    first_action_by: str | None = Field(default=None, max_length=200)
    first_action_business_minutes: float | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=_tz())  # the latest resolution; None while reopened
    resolution_minutes: float | None = None
    resolution_business_minutes: float | None = None
    reopen_count: int = 0
    # Waiting on the center: the time spent in `new` or `triaged` (not on a unit, not closed).
    waiting_since: datetime | None = Field(default=None, sa_type=_tz())
    waiting_minutes: float = 0.0
    waiting_business_minutes: float = 0.0
    # A coordinator changed a tag: how often, per family (a measure of the tagger).
    corrections_type: int = 0
    corrections_province: int = 0
    corrections_category: int = 0
    corrections_topic: int = 0


class EscalationClock(SQLModel, table=True):
    __tablename__ = "escalation_clock"
    __table_args__ = (Index("ix_escalation_clock_proposed", "proposed_at"), Index("ix_escalation_clock_unit", "unit_id"))

    escalation_id: int = Field(primary_key=True, foreign_key="escalation.id")
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: str = Field(max_length=100)  # the unit it is with now (after reroutes)
    reroute_count: int = 0
    proposed_at: datetime = Field(sa_type=_tz())
    # Review (proposed -> approved, rerouted or rejected by a coordinator); None without review.
    decided_at: datetime | None = Field(default=None, sa_type=_tz())
    decided_by: str | None = Field(default=None, max_length=200)
    decision: str | None = Field(default=None, max_length=20)
    review_minutes: float | None = None
    review_business_minutes: float | None = None
    # With the unit: sent -> answered -> resolved, restarted by a reroute.
    sent_at: datetime | None = Field(default=None, sa_type=_tz())
    due_at: datetime | None = Field(default=None, sa_type=_tz())
    acknowledged_at: datetime | None = Field(default=None, sa_type=_tz())
    acknowledge_minutes: float | None = None
    acknowledge_business_minutes: float | None = None
    acknowledge_sla_met: bool | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=_tz())
    resolve_minutes: float | None = None
    resolve_business_minutes: float | None = None
    resolve_sla_met: bool | None = None


# The indexes the reports read a period by (additive, on the core tables; migration 438ddef9b08d).
Index("ix_ticket_created_at", Ticket.__table__.c.created_at)  # type: ignore[attr-defined]
Index("ix_message_received_at", Message.__table__.c.received_at)  # type: ignore[attr-defined]
Index("ix_ticket_event_at", TicketEvent.__table__.c.at)  # type: ignore[attr-defined]
