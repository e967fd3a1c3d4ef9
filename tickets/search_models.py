"""The searchable text of each ticket, folded (no tone marks, đ → d, lower case).

One row per ticket: subject, every message's text, the sender and the province's name, folded
by tickets.textfold.fold. SQLite indexes it with an FTS5 external-content table
(`ticketsearch_fts`, kept in step by triggers, created in the migration); PostgreSQL with a GIN
index on `to_tsvector('simple', folded)`. See tickets/search.py.
"""

from __future__ import annotations

from datetime import datetime
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


class TicketSearch(SQLModel, table=True):
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    folded: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())  # type: ignore[call-overload]
