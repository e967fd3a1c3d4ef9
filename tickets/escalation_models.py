"""Escalations of tickets to units, and every attempt to deliver one.

Lifecycle (every transition is also a TicketEvent with who and why):

    proposed ─┬─ approved ──┐
              ├─ rerouted ──┼─ (queued for a digest) ─ sending ─ sent ─┬─ acknowledged ─ resolved
              └─ rejected   │                                          └─ overdue ─ acknowledged ...
                            └─ failed (permanent delivery error; a coordinator re-routes or retries)
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class EscalationStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REROUTED = "rerouted"  # approved, to a unit the coordinator chose instead
    REJECTED = "rejected"
    QUEUED = "queued"  # waiting for the unit's daily digest
    SENDING = "sending"  # claimed by one sender; see notifiers/delivery.py
    SENT = "sent"
    OVERDUE = "overdue"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FAILED = "failed"


READY_TO_SEND = (EscalationStatus.APPROVED.value, EscalationStatus.REROUTED.value)
AWAITING_REPLY = (EscalationStatus.SENT.value, EscalationStatus.OVERDUE.value)
OPEN = (
    EscalationStatus.PROPOSED.value,
    *READY_TO_SEND,
    EscalationStatus.QUEUED.value,
    EscalationStatus.SENDING.value,
    *AWAITING_REPLY,
    EscalationStatus.ACKNOWLEDGED.value,
    EscalationStatus.FAILED.value,
)


class Escalation(SQLModel, table=True):
    __table_args__ = (Index("ix_escalation_status", "status"), Index("ix_escalation_unit", "unit_id"))

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: str = Field(max_length=100)
    status: str = Field(default=EscalationStatus.PROPOSED, max_length=20)
    rule: str | None = Field(default=None, max_length=200)  # None when a coordinator escalated by hand
    review_required: bool = True
    priority: str = Field(default="normal", max_length=10)
    sla_hours: float = 240.0
    # The secret part of the Reply-To address: hotro+TN-000123.<token>@...
    reply_token: str = Field(max_length=100, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    created_by: str = Field(default="system", max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=_tz())
    decided_by: str | None = Field(default=None, max_length=200)
    reason: str | None = None
    rerouted_from: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_type=_tz())
    due_at: datetime | None = Field(default=None, sa_type=_tz())
    acknowledged_at: datetime | None = Field(default=None, sa_type=_tz())
    acknowledged_message_id: int | None = None
    reminded_at: datetime | None = Field(default=None, sa_type=_tz())
    resolved_at: datetime | None = Field(default=None, sa_type=_tz())
    # Delivery bookkeeping: how often it was tried, when next, why it failed.
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=_tz())
    claimed_at: datetime | None = Field(default=None, sa_type=_tz())
    last_error: str | None = None


class DeliveryAttempt(SQLModel, table=True):
    """One try to hand a notification to a server (SMTP or a unit's webhook)."""

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id", index=True)
    unit_id: str = Field(max_length=100)
    kind: str = Field(max_length=20)  # escalation | reminder | digest | coordinator_alert
    channel: str = Field(max_length=20)  # email | webhook
    # Stable per (escalation, kind): a repeated send carries the same Message-ID, so a
    # mail client shows one message even when a crash made us hand it over twice.
    message_id: str = Field(max_length=300, index=True)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=20)  # sending | sent | failed | refused
    permanent: bool = False
    error: str | None = None
    started_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    finished_at: datetime | None = Field(default=None, sa_type=_tz())
