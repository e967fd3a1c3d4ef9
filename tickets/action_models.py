"""What people add to a ticket besides messages: internal notes and who it is assigned to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class TicketNote(SQLModel, table=True):
    """An internal note: seen by staff, never sent to the citizen."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    author: str = Field(max_length=200)
    text: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())


class TicketAssignment(SQLModel, table=True):
    """The colleague a ticket is assigned to (one at a time; the history is in TicketEvent)."""

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    assignee: str = Field(max_length=100, index=True)  # a User.name
    assigned_by: str = Field(max_length=200)
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
