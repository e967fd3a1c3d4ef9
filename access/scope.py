"""THE one place that decides what a user may see. Every read path filters with these.

- coordinator, viewer, admin, agent: every ticket.
- office (a user bound to one unit): only tickets with an escalation *to its unit* in a state
  in which it was actually delivered to that unit: sent, overdue, acknowledged, resolved
  (VISIBLE_TO_UNIT). A proposal still under review, one waiting for a digest, one being sent, or
  one whose delivery failed has not reached the unit, so it reveals nothing yet. A re-routed
  escalation moves to its new unit (its unit_id changes), so the previous unit loses it.
- a disabled user, an unknown role, or an office user without a unit: nothing.

A ticket outside the scope is answered with 404, never 403, so its existence is not revealed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select, true
from sqlmodel import Session

from access.models import User
from access.roles import Role
from tickets.escalation_models import Escalation, EscalationStatus
from tickets.models import Attachment, Message, Ticket

VISIBLE_TO_UNIT = (
    EscalationStatus.SENT.value,
    EscalationStatus.OVERDUE.value,
    EscalationStatus.ACKNOWLEDGED.value,
    EscalationStatus.RESOLVED.value,
)
SEES_EVERYTHING = frozenset({Role.COORDINATOR, Role.VIEWER, Role.ADMIN, Role.AGENT})


def _role(user: User | None) -> Role | None:
    if user is None or user.disabled:
        return None
    try:
        return Role(user.role)
    except ValueError:
        return None


def escalation_scope(user: User | None) -> ColumnElement[bool]:
    """A predicate on Escalation: the escalations this user may see."""
    role = _role(user)
    if role in SEES_EVERYTHING:
        return true()
    if role is Role.OFFICE and user is not None and user.unit_id:
        return (Escalation.unit_id == user.unit_id) & Escalation.status.in_(VISIBLE_TO_UNIT)  # type: ignore[attr-defined,return-value]
    return false()


def ticket_scope(user: User | None) -> ColumnElement[bool]:
    """A predicate on Ticket: the tickets this user may see. Put it in every query on tickets."""
    role = _role(user)
    if role in SEES_EVERYTHING:
        return true()
    if role is Role.OFFICE and user is not None and user.unit_id:
        sent_to_unit = select(Escalation.ticket_id).where(escalation_scope(user))
        return Ticket.id.in_(sent_to_unit)  # type: ignore[union-attr]
    return false()


def visible_tickets_query(user: User | None) -> Select[tuple[Ticket]]:
    return select(Ticket).where(ticket_scope(user))


def visible_ticket(session: Session, user: User | None, ticket_id: int) -> Ticket | None:
    """The ticket, or None when it does not exist or this user may not see it (→ 404)."""
    return session.execute(select(Ticket).where(Ticket.id == ticket_id, ticket_scope(user))).scalar_one_or_none()  # type: ignore[arg-type]


def visible_escalation(session: Session, user: User | None, escalation_id: int) -> Escalation | None:
    query = select(Escalation).where(Escalation.id == escalation_id, escalation_scope(user))  # type: ignore[arg-type]
    return session.execute(query).scalar_one_or_none()


def visible_attachment(session: Session, user: User | None, attachment_id: int) -> Attachment | None:
    query = (
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)  # type: ignore[arg-type]
        .join(Ticket, Ticket.id == Message.ticket_id)  # type: ignore[arg-type]
        .where(Attachment.id == attachment_id, ticket_scope(user))  # type: ignore[arg-type]
    )
    return session.execute(query).scalar_one_or_none()
