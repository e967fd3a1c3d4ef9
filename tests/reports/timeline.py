"""Hand-built timelines written through the real event writer (tickets.store.add_event)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tickets.escalation_models import Escalation
from tickets.models import Ticket
from tickets.store import add_event

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=VN)


def new_ticket(session: Session, opened: datetime, **fields: object) -> Ticket:
    ticket = Ticket(channel=str(fields.pop("channel", "email")), source=str(fields.pop("source", "hopthu")), subject="Hỏi về BHXH", created_at=opened, **fields)  # type: ignore[arg-type]
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    add_event(session, ticket.id, "created", channel=ticket.channel, source=ticket.source, at=opened)
    return ticket


def status(session: Session, ticket: Ticket, previous: str, new: str, at: datetime, actor: str = "system") -> None:
    ticket.status = new
    session.add(ticket)
    add_event(session, ticket.id or 0, "status_changed", actor, previous=previous, status=new, at=at)


def new_escalation(session: Session, ticket: Ticket, unit: str, at: datetime) -> Escalation:
    escalation = Escalation(ticket_id=ticket.id or 0, unit_id=unit, reply_token=f"t{ticket.id}-{unit}-{at.timestamp()}", created_at=at)
    session.add(escalation)
    session.flush()
    add_event(session, ticket.id or 0, "escalation_proposed", "system", escalation_id=escalation.id, unit=unit, at=at)
    return escalation
