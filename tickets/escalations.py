"""The escalation lifecycle: propose, approve, re-route, reject, acknowledge, resolve.

Each function is one transaction that checks the transition is allowed, changes the row and
logs a TicketEvent naming who acted and why. Delivery (SMTP, webhooks) lives in notifiers/;
these functions only decide. A transition that is not allowed raises TransitionError with a
Vietnamese explanation for the coordinator.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tickets.db import session_scope
from tickets.escalation_models import AWAITING_REPLY, OPEN, READY_TO_SEND, Escalation, EscalationStatus
from tickets.models import Message, Ticket, TicketStatus, ticket_reference, utcnow
from tickets.store import add_event, set_status

if TYPE_CHECKING:
    from tickets.directory import Routing

TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud or retyped safely
TOKEN_LENGTH = 8


class TransitionError(Exception):
    """A coordinator asked for something the escalation's state does not allow."""


def new_reply_token(ticket_id: int) -> str:
    secret = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
    return f"{ticket_reference(ticket_id)}.{secret}"


def reply_address(intake_address: str, token: str) -> str:
    """hotro@example.vn + TN-000123.k3f9 → hotro+TN-000123.k3f9@example.vn (RFC 5233 subaddress)."""
    local, _, domain = intake_address.partition("@")
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """Serialize decisions on one ticket: a row lock (PostgreSQL) or SQLite's writer lock."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).scalar_one_or_none()  # type: ignore[arg-type]
    session.execute(update(Ticket).where(Ticket.id == ticket_id).values(id=Ticket.id))  # type: ignore[arg-type]
    return session.get(Ticket, ticket_id)


def create_escalation(
    session: Session,
    ticket: Ticket,
    unit_id: str,
    *,
    rule: str | None,
    review_required: bool,
    priority: str,
    sla_hours: float | None,
    actor: str,
    reason: str | None = None,
) -> Escalation:
    """`sla_hours`: the rule's or those given by hand; None: the unit's, else the default."""
    assert ticket.id is not None
    if sla_hours is None:
        sla_hours = _routing().sla_hours(rule, unit_id)
    now = utcnow()
    escalation = Escalation(
        ticket_id=ticket.id,
        unit_id=unit_id,
        status=EscalationStatus.PROPOSED if review_required else EscalationStatus.APPROVED,
        rule=rule,
        review_required=review_required,
        priority=priority,
        sla_hours=sla_hours,
        reply_token=new_reply_token(ticket.id),
        created_at=now,
        created_by=actor,
        decided_at=None if review_required else now,
        decided_by=None if review_required else actor,
        reason=reason,
    )
    session.add(escalation)
    session.flush()
    add_event(session, ticket.id, f"escalation_{escalation.status}", actor, escalation_id=escalation.id, unit=unit_id, rule=rule, reason=reason)
    return escalation


def _routing() -> Routing:
    from tickets.directory import routing
    from tiepnhan import runtime

    return routing(runtime.settings())


def _load(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise TransitionError(f"không có đề xuất chuyển xử lý số {escalation_id}")
    lock_ticket(session, escalation.ticket_id)
    session.refresh(escalation)
    return escalation


def _require(escalation: Escalation, allowed: tuple[str, ...], action: str) -> None:
    if escalation.status not in allowed:
        raise TransitionError(f"không thể {action} đề xuất số {escalation.id}: đang ở trạng thái {escalation.status}")


def approve(engine: Engine, escalation_id: int, actor: str, reason: str | None = None) -> Escalation:
    with session_scope(engine) as session:
        escalation = _load(session, escalation_id)
        _require(escalation, (EscalationStatus.PROPOSED.value,), "duyệt")
        escalation.status = EscalationStatus.APPROVED.value
        escalation.decided_at, escalation.decided_by, escalation.reason = utcnow(), actor, reason
        session.add(escalation)
        add_event(session, escalation.ticket_id, "escalation_approved", actor, escalation_id=escalation.id, unit=escalation.unit_id, reason=reason)
        return escalation


def reroute(engine: Engine, escalation_id: int, unit_id: str, actor: str, reason: str | None = None) -> Escalation:
    """Send to another unit instead. Allowed before the unit has answered."""
    with session_scope(engine) as session:
        escalation = _load(session, escalation_id)
        allowed = (EscalationStatus.PROPOSED.value, *READY_TO_SEND, EscalationStatus.QUEUED.value, *AWAITING_REPLY, EscalationStatus.FAILED.value)
        _require(escalation, allowed, "chuyển đơn vị cho")
        if unit_id == escalation.unit_id:
            raise TransitionError(f"đề xuất số {escalation_id} đã được gửi cho {unit_id}")
        previous = escalation.unit_id
        escalation.rerouted_from, escalation.unit_id = previous, unit_id
        escalation.status = EscalationStatus.REROUTED.value
        escalation.decided_at, escalation.decided_by, escalation.reason = utcnow(), actor, reason
        # A fresh start with the new unit: its own token, deadline and delivery history.
        escalation.reply_token = new_reply_token(escalation.ticket_id)
        escalation.sent_at = escalation.due_at = escalation.reminded_at = escalation.next_attempt_at = None
        escalation.attempts, escalation.last_error = 0, None
        # The deadline: the rule's hours stay; otherwise the new unit's own, when it has them.
        directory = _routing()
        new_unit = directory.units.get(unit_id)
        if directory.rule_sla_hours(escalation.rule) is None and new_unit is not None and new_unit.sla_hours is not None:
            escalation.sla_hours = new_unit.sla_hours
        session.add(escalation)
        add_event(session, escalation.ticket_id, "escalation_rerouted", actor, escalation_id=escalation.id, unit=unit_id, previous_unit=previous, reason=reason,
                  sla_hours=escalation.sla_hours)
        return escalation


def reject(engine: Engine, escalation_id: int, actor: str, reason: str) -> Escalation:
    with session_scope(engine) as session:
        escalation = _load(session, escalation_id)
        _require(escalation, (EscalationStatus.PROPOSED.value, *READY_TO_SEND, EscalationStatus.QUEUED.value, EscalationStatus.FAILED.value), "từ chối")
        escalation.status = EscalationStatus.REJECTED.value
        escalation.decided_at, escalation.decided_by, escalation.reason = utcnow(), actor, reason
        session.add(escalation)
        add_event(session, escalation.ticket_id, "escalation_rejected", actor, escalation_id=escalation.id, unit=escalation.unit_id, reason=reason)
        return escalation


def reopen_failed(engine: Engine, escalation_id: int) -> Escalation:
    """Make a failed escalation sendable again (after its address or the server was fixed): back
    to approved, or rerouted, with its attempts counted from zero. Any other state is left as it is."""
    with session_scope(engine) as session:
        escalation = _load(session, escalation_id)
        if escalation.status == EscalationStatus.FAILED.value:
            escalation.status = EscalationStatus.REROUTED.value if escalation.rerouted_from else EscalationStatus.APPROVED.value
            escalation.attempts = 0
            session.add(escalation)
        return escalation


def escalate_by_hand(engine: Engine, ticket_id: int, unit_id: str, actor: str, reason: str | None, sla_hours: float | None = None, priority: str = "normal") -> Escalation:
    """A coordinator escalates a ticket to a unit no rule chose (already approved); without
    hours given, the unit's own, else the default."""
    with session_scope(engine) as session:
        ticket = lock_ticket(session, ticket_id)
        if ticket is None:
            raise TransitionError(f"không có phiếu {ticket_reference(ticket_id)}")
        open_same = session.execute(
            select(Escalation.id).where(Escalation.ticket_id == ticket_id, Escalation.unit_id == unit_id, Escalation.status.in_(OPEN))  # type: ignore[attr-defined, arg-type]
        ).first()
        if open_same is not None:
            raise TransitionError(f"phiếu {ticket_reference(ticket_id)} đã có đề xuất số {open_same[0]} cho {unit_id}")
        return create_escalation(session, ticket, unit_id, rule=None, review_required=False, priority=priority, sla_hours=sla_hours, actor=actor, reason=reason)


def resolve_ticket(engine: Engine, ticket_id: int, actor: str, reason: str | None = None) -> list[int]:
    """Mark a ticket resolved; its open escalations are resolved with it. Returns their ids."""
    with session_scope(engine) as session:
        ticket = lock_ticket(session, ticket_id)
        if ticket is None:
            raise TransitionError(f"không có phiếu {ticket_reference(ticket_id)}")
        now = utcnow()
        closed = []
        for escalation in session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalars():  # type: ignore[arg-type]
            # Everything still open closes with the ticket, so nothing waiting is sent after it;
            # a send in flight finishes and is then closed by its own outcome.
            if escalation.status not in OPEN or escalation.status == EscalationStatus.SENDING.value:
                continue
            escalation.status, escalation.resolved_at = EscalationStatus.RESOLVED.value, now
            session.add(escalation)
            closed.append(escalation.id)
            add_event(session, ticket_id, "escalation_resolved", actor, escalation_id=escalation.id, unit=escalation.unit_id, reason=reason)
        set_status(session, ticket, TicketStatus.RESOLVED, actor, reason)
        return [i for i in closed if i is not None]


def acknowledge_from_message(engine: Engine, message_id: int) -> int | None:
    """A unit answered through its Reply-To address: that escalation is acknowledged.

    Auto-replies and bounces do not count (RFC 3834): an out-of-office is not an answer.
    """
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        if message is None or not message.reply_token or message.is_auto_reply or message.is_bounce or message.ticket_id is None:
            return None
        escalation = session.execute(select(Escalation).where(Escalation.reply_token == message.reply_token)).scalar_one_or_none()  # type: ignore[arg-type]
        if escalation is None or escalation.ticket_id != message.ticket_id:
            return None
        lock_ticket(session, escalation.ticket_id)
        session.refresh(escalation)
        if escalation.status not in (*AWAITING_REPLY, EscalationStatus.SENDING.value):
            return None  # already acknowledged (a second reply), or not sent yet
        escalation.status = EscalationStatus.ACKNOWLEDGED.value
        escalation.acknowledged_at = message.received_at or utcnow()
        escalation.acknowledged_message_id = message.id
        session.add(escalation)
        add_event(session, escalation.ticket_id, "escalation_acknowledged", escalation.unit_id, escalation_id=escalation.id, message_id=message.id)
        ticket = session.get(Ticket, escalation.ticket_id)
        if ticket is not None:
            record_unit_answer(session, ticket, escalation, message.id, escalation.acknowledged_at)
        return escalation.id


# The statuses a unit's answer moves on to `unit_responded`; a resolved, closed or spam ticket
# keeps its status (the answer is still recorded, as a message and as an event).
FOLLOWED_UP_FROM = (TicketStatus.NEW.value, TicketStatus.TRIAGED.value, TicketStatus.ESCALATED.value)


def record_unit_answer(session: Session, ticket: Ticket, escalation: Escalation, message_id: int | None, answered_at: datetime) -> None:
    """A unit's real answer (not an auto-reply or a bounce, see acknowledge_from_message) is the
    agency's response to the citizen's request until answering citizens exists: the ticket's
    first response is the earliest such answer (a `first_response` event), and the ticket
    moves on to `unit_responded`. See docs/routing.md, "Ticket statuses"."""
    if ticket.first_response_at is None or answered_at < ticket.first_response_at:
        ticket.first_response_at = answered_at
        session.add(ticket)
        add_event(session, ticket.id or 0, "first_response", escalation.unit_id, at=answered_at, by="unit", unit=escalation.unit_id, escalation_id=escalation.id, message_id=message_id)
    if ticket.status in FOLLOWED_UP_FROM:
        set_status(session, ticket, TicketStatus.UNIT_RESPONDED, "system", f"đơn vị {escalation.unit_id} đã phản hồi")


def record_bounce(engine: Engine, message_id: int) -> int | None:
    """A bounce of a mail we sent to a unit (RFC 3464 delivery status, matched by the bounced
    Message-ID): that escalation failed to arrive; it is marked failed for a coordinator to
    fix the address and retry, or re-route."""
    from tickets.escalation_models import DeliveryAttempt

    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        if message is None or not message.is_bounce or not message.bounced_message_id:
            return None
        attempt = session.execute(
            select(DeliveryAttempt).where(DeliveryAttempt.message_id == f"<{message.bounced_message_id}>", DeliveryAttempt.status == "sent")  # type: ignore[arg-type]
        ).scalars().first()
        if attempt is None or attempt.escalation_id is None:
            return None
        escalation = session.get(Escalation, attempt.escalation_id)
        if escalation is None or escalation.status not in AWAITING_REPLY or attempt.kind != "escalation":
            return None
        lock_ticket(session, escalation.ticket_id)
        session.refresh(escalation)
        reason = f"thư gửi {', '.join(attempt.recipients)} bị trả lại (thư báo lỗi số {message.id})"
        attempt.status, attempt.error, attempt.permanent = "bounced", reason, True
        escalation.status, escalation.last_error = EscalationStatus.FAILED.value, reason
        session.add_all([attempt, escalation])
        add_event(session, escalation.ticket_id, "escalation_bounced", escalation_id=escalation.id, unit=escalation.unit_id, message_id=message.id)
        return escalation.id


def adopt_escalation_token(session: Session, message: Message) -> str | None:
    """Give an answer to an escalation mail (RFC 5322 In-Reply-To / References naming its
    Message-ID) that escalation's reply token, as if it had come to the reply address."""
    from tickets.escalation_models import DeliveryAttempt

    parents = [f"<{key.removeprefix('msgid:')}>" for key in message.parent_keys if key.startswith("msgid:")]
    if not parents:
        return None
    escalation_id = session.execute(
        select(DeliveryAttempt.escalation_id)
        .where(DeliveryAttempt.message_id.in_(parents), DeliveryAttempt.kind.in_(("escalation", "reminder")), DeliveryAttempt.status == "sent")  # type: ignore[attr-defined, arg-type]
        .limit(1)
    ).scalar_one_or_none()
    escalation = session.get(Escalation, escalation_id) if escalation_id is not None else None
    if escalation is None or escalation.ticket_id != message.ticket_id:
        return None
    message.reply_token = escalation.reply_token
    session.add(message)
    return message.reply_token


def list_escalations(engine: Engine, status: str | None = None, unit: str | None = None, ticket_id: int | None = None) -> list[Escalation]:
    query = select(Escalation).order_by(Escalation.id)  # type: ignore[arg-type]
    if status:
        query = query.where(Escalation.status == status)  # type: ignore[arg-type]
    if unit:
        query = query.where(Escalation.unit_id == unit)  # type: ignore[arg-type]
    if ticket_id:
        query = query.where(Escalation.ticket_id == ticket_id)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        return list(session.execute(query).scalars())


def due_at(sent_at: datetime, sla_hours: float, business_hours: bool | None = None) -> datetime:
    """`business_hours`: the rule's or unit's choice (tickets.directory.Routing.sla_in_business_hours);
    None: the calendar's sla_in_business_hours (issue 15)."""
    from tickets.business_time import active_calendar, add_business_hours

    calendar = active_calendar()
    if calendar.sla_in_business_hours if business_hours is None else business_hours:
        return add_business_hours(sent_at, sla_hours, calendar)
    return sent_at + timedelta(hours=sla_hours)
