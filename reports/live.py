"""The live gauges an operator alerts on (for /metrics): backlog, oldest waiting, overdue now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from reports.rows import OPEN_STATUSES
from tickets.clock_models import EscalationClock, TicketClock
from tickets.models import Ticket


@dataclass(frozen=True)
class LiveGauges:
    backlog: int  # tickets still open
    oldest_waiting_seconds: float  # the longest a ticket has now been waiting on the center (0: none)
    overdue_escalations: int  # sent, not answered, past the deadline


def live_gauges(session: Session, now: datetime) -> LiveGauges:
    backlog = session.execute(select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))).scalar_one()  # type: ignore[attr-defined]
    oldest = session.execute(
        select(func.min(TicketClock.waiting_since)).join(Ticket, Ticket.id == TicketClock.ticket_id).where(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[arg-type, attr-defined]
    ).scalar_one()
    overdue = session.execute(
        select(func.count()).select_from(EscalationClock).where(
            EscalationClock.acknowledged_at.is_(None), EscalationClock.resolved_at.is_(None), EscalationClock.due_at < now  # type: ignore[union-attr, arg-type, operator]
        )
    ).scalar_one()
    if isinstance(oldest, str):  # an aggregate bypasses the column type on SQLite
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    waited = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return LiveGauges(backlog=int(backlog), oldest_waiting_seconds=waited, overdue_escalations=int(overdue))
