"""Deliver one escalation to its unit: never lost, never sent twice, every attempt recorded.

The order of effects makes a crash at any point safe:

1. claim the escalation (status `sending`, one conditional UPDATE: only one sender wins);
2. record the attempt with its stable Message-ID, commit;
3. hand the message to the SMTP server (or POST the webhook);
4. record the outcome: `sent` (with its deadline), or back to waiting with a backoff.

A crash between 3 and 4 leaves the claim behind; after `stale_send_minutes` the periodic pass
hands it out again and the unit may receive the message twice, with the same Message-ID, which
mail clients show once. A unit without a real address is refused with a reason and waits; it
is tried again on every periodic pass, so fixing the directory is enough.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.settings import Settings
from config.units import Unit
from notifiers.compose import EscalationView, escalation_email, escalation_payload, payload_bytes
from notifiers.smtp import SmtpPermanentError, SmtpTransientError, send_message
from notifiers.views import escalation_view, stable_message_id
from notifiers.webhook import WebhookPermanentError, WebhookTransientError, post_json
from tickets.db import session_scope
from tickets.directory import routing
from tickets.escalation_models import READY_TO_SEND, DeliveryAttempt, Escalation, EscalationStatus
from tickets.escalations import due_at
from tickets.models import Ticket, TicketStatus, utcnow
from tickets.routing_stage import CLOSED_TICKET_STATUSES
from tickets.store import add_event, register_thread_keys, set_status

log = logging.getLogger(__name__)
TRANSIENT = (SmtpTransientError, WebhookTransientError)
PERMANENT = (SmtpPermanentError, WebhookPermanentError)


class Outcome(enum.StrEnum):
    SENT = "sent"
    QUEUED = "queued"  # waits for the unit's daily digest
    REFUSED = "refused"  # the unit cannot be reached yet (no address, no SMTP): waits
    RETRY = "retry"  # a transient failure, recorded; tried again after a backoff
    FAILED = "failed"  # a permanent failure, recorded and visible
    SKIPPED = "skipped"  # nothing to do: already sent, or another sender holds it


@dataclass(frozen=True)
class Notification:
    channel: str  # email | webhook
    recipients: tuple[str, ...]
    message_id: str
    email: EmailMessage | None = None
    body: bytes | None = None


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.escalation.retry_min_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.escalation.retry_max_seconds))


def why_unreachable(settings: Settings, unit: Unit | None, unit_id: str) -> str | None:
    if unit is None:
        return f"đơn vị {unit_id} không có trong danh bạ đơn vị ({settings.units_file})"
    reason = unit.why_unreachable()
    if reason is None and not unit.webhook_url and settings.smtp is None:
        reason = "chưa cấu hình máy chủ gửi thư [smtp]"
    return reason


def _from_address(settings: Settings) -> str:
    return settings.smtp.from_address if settings.smtp else (settings.intake.reply_address or "tiepnhan@tiepnhan.invalid")


def build_notification(settings: Settings, unit: Unit, view: EscalationView, kind: str, now: datetime) -> Notification:
    message_id = stable_message_id(kind, str(view.escalation_id), _from_address(settings))
    if unit.webhook_url:
        body = payload_bytes(escalation_payload(view, kind, message_id))
        return Notification("webhook", (unit.webhook_url,), message_id, body=body)
    email = escalation_email(
        view,
        kind=kind,
        from_address=_from_address(settings),
        to=unit.real_emails,
        message_id=message_id,
        attachment_limit=settings.escalation.mail_attachment_bytes,
        now=now,
    )
    return Notification("email", unit.real_emails, message_id, email=email)


def hand_over(settings: Settings, unit: Unit, notification: Notification) -> None:
    """The one side effect: raises a TRANSIENT or PERMANENT error on failure."""
    if notification.channel == "webhook":
        assert unit.webhook_url and unit.webhook_secret and notification.body is not None
        post_json(unit.webhook_url, notification.body, unit.webhook_secret.get_secret_value(), notification.message_id, timeout=30.0)
        return
    assert settings.smtp is not None and notification.email is not None
    send_message(settings.smtp, notification.email, notification.recipients)


def _record_refusal(engine: Engine, escalation_id: int, unit_id: str, kind: str, reason: str, settings: Settings, now: datetime) -> None:
    with session_scope(engine) as session:
        escalation = session.get(Escalation, escalation_id)
        assert escalation is not None
        first_time = escalation.last_error != reason
        escalation.last_error = reason
        escalation.next_attempt_at = now + timedelta(seconds=settings.escalation.retry_max_seconds)
        session.add(escalation)
        if first_time:
            session.add(DeliveryAttempt(escalation_id=escalation_id, unit_id=unit_id, kind=kind, channel="none", message_id="", status="refused", error=reason, started_at=now, finished_at=now))
            add_event(session, escalation.ticket_id, "escalation_delivery_refused", escalation_id=escalation_id, unit=unit_id, reason=reason)
    log.warning("escalation cannot be delivered yet", extra={"escalation_id": escalation_id, "unit": unit_id, "reason": reason})


def _claim(engine: Engine, escalation_id: int, kind: str, now: datetime, stale_before: datetime) -> bool:
    with session_scope(engine) as session:
        if kind == "reminder":
            statement = update(Escalation).where(
                Escalation.id == escalation_id, Escalation.status == EscalationStatus.OVERDUE.value, Escalation.reminded_at.is_(None)  # type: ignore[arg-type, union-attr]
            ).values(reminded_at=now)
        else:
            statement = update(Escalation).where(
                Escalation.id == escalation_id,  # type: ignore[arg-type]
                or_(
                    Escalation.status.in_(READY_TO_SEND),  # type: ignore[attr-defined]
                    and_(Escalation.status == EscalationStatus.SENDING.value, Escalation.claimed_at < stale_before),  # type: ignore[arg-type, operator]
                ),
            ).values(status=EscalationStatus.SENDING.value, claimed_at=now)
        return session.execute(statement).rowcount == 1  # type: ignore[attr-defined, no-any-return]


def _ticket_closed(session: Session, escalation: Escalation) -> bool:
    ticket = session.get(Ticket, escalation.ticket_id)
    return ticket is not None and ticket.status in CLOSED_TICKET_STATUSES


def _release(engine: Engine, escalation_id: int, kind: str, attempt_id: int, error: str, permanent: bool, settings: Settings, now: datetime) -> Outcome:
    with session_scope(engine) as session:
        attempt = session.get(DeliveryAttempt, attempt_id)
        escalation = session.get(Escalation, escalation_id)
        assert attempt is not None and escalation is not None
        attempt.status, attempt.error, attempt.permanent, attempt.finished_at = "failed", error, permanent, utcnow()
        escalation.attempts += 1
        escalation.last_error = error
        give_up = permanent or escalation.attempts >= settings.escalation.max_attempts
        if kind == "reminder":
            escalation.reminded_at = None if not give_up else escalation.reminded_at
        elif _ticket_closed(session, escalation):
            escalation.status, give_up = EscalationStatus.RESOLVED.value, True  # nothing left to send
        elif give_up:
            escalation.status = EscalationStatus.FAILED.value
        else:
            escalation.status = EscalationStatus.REROUTED.value if escalation.rerouted_from else EscalationStatus.APPROVED.value
        escalation.next_attempt_at = None if give_up else now + backoff(settings, escalation.attempts)
        session.add_all([attempt, escalation])
        add_event(session, escalation.ticket_id, "escalation_delivery_failed", escalation_id=escalation_id, notification=kind, error=error, permanent=give_up, attempt=escalation.attempts)
    log.warning("escalation delivery failed", extra={"escalation_id": escalation_id, "kind": kind, "error": error, "permanent": give_up})
    return Outcome.FAILED if give_up else Outcome.RETRY


def mark_escalation_sent(
    session: Session, escalation: Escalation, now: datetime, *, channel: str, message_id: str, answerable: bool, business_hours: bool | None = None, **event: object
) -> None:
    """The unit has it: its SLA starts now. `answerable`: the notification is this escalation's
    alone, so an answer naming its Message-ID threads into the ticket (not so for a digest)."""
    # The ticket may have been resolved while the mail was on its way: close it too.
    escalation.status = EscalationStatus.RESOLVED.value if _ticket_closed(session, escalation) else EscalationStatus.SENT.value
    escalation.sent_at = now
    escalation.due_at = due_at(now, escalation.sla_hours, business_hours)  # business_hours: the rule's or unit's choice
    escalation.attempts += 1
    escalation.last_error = escalation.next_attempt_at = escalation.claimed_at = None
    ticket = session.get(Ticket, escalation.ticket_id)
    if ticket is not None and ticket.status in (TicketStatus.NEW.value, TicketStatus.TRIAGED.value):
        set_status(session, ticket, TicketStatus.ESCALATED, "system")
    if answerable:
        # A unit that answers the From address instead of Reply-To still threads in.
        register_thread_keys(session, escalation.ticket_id, [f"msgid:{message_id.strip('<>')}"])
    session.add(escalation)
    add_event(session, escalation.ticket_id, "escalation_sent", escalation_id=escalation.id, unit=escalation.unit_id, channel=channel, message_id=message_id, **event)


def _record_sent(engine: Engine, escalation_id: int, kind: str, attempt_id: int, notification: Notification, now: datetime, business_hours: bool | None = None) -> None:
    with session_scope(engine) as session:
        attempt = session.get(DeliveryAttempt, attempt_id)
        escalation = session.get(Escalation, escalation_id)
        assert attempt is not None and escalation is not None
        attempt.status, attempt.finished_at = "sent", utcnow()
        session.add(attempt)
        if kind == "escalation":
            mark_escalation_sent(session, escalation, now, channel=notification.channel, message_id=notification.message_id, answerable=True, business_hours=business_hours)
            return
        add_event(
            session, escalation.ticket_id, f"escalation_{kind}_sent",
            escalation_id=escalation_id, unit=escalation.unit_id, channel=notification.channel, message_id=notification.message_id,
        )


def deliver_escalation(settings: Settings, engine: Engine, escalation_id: int, *, kind: str = "escalation", now: datetime | None = None) -> Outcome:
    """Send one escalation (kind "escalation") or its reminder (kind "reminder") to its unit."""
    now = now or utcnow()
    with session_scope(engine) as session:
        escalation = session.get(Escalation, escalation_id)
        if escalation is None:
            raise LookupError(f"escalation {escalation_id} does not exist")
        unit_id, status = escalation.unit_id, escalation.status
    if kind == "escalation" and status not in (*READY_TO_SEND, EscalationStatus.SENDING.value):
        return Outcome.SKIPPED
    unit = routing(settings).units.get(unit_id)
    reason = why_unreachable(settings, unit, unit_id)
    if reason is not None:
        _record_refusal(engine, escalation_id, unit_id, kind, reason, settings, now)
        return Outcome.REFUSED
    assert unit is not None
    if kind == "escalation" and unit.digest and status in READY_TO_SEND:
        return _queue_for_digest(engine, escalation_id)
    stale_before = now - timedelta(minutes=settings.escalation.stale_send_minutes)
    if not _claim(engine, escalation_id, kind, now, stale_before):
        return Outcome.SKIPPED
    with session_scope(engine) as session:
        escalation = session.get(Escalation, escalation_id)
        assert escalation is not None
        business_hours = routing(settings).sla_in_business_hours(escalation.rule, escalation.unit_id)
        if kind == "escalation":
            escalation.due_at = due_at(now, escalation.sla_hours, business_hours)  # shown in the mail
        view = escalation_view(session, settings, escalation, unit.name)
        notification = build_notification(settings, unit, view, kind, now)
        attempt = DeliveryAttempt(
            escalation_id=escalation_id, unit_id=unit_id, kind=kind, channel=notification.channel,
            message_id=notification.message_id, recipients=list(notification.recipients), status="sending", started_at=now,
        )
        session.add_all([attempt, escalation])
        session.flush()
        attempt_id = attempt.id or 0
    try:
        hand_over(settings, unit, notification)
    except TRANSIENT as exc:
        return _release(engine, escalation_id, kind, attempt_id, str(exc), False, settings, now)
    except PERMANENT as exc:
        return _release(engine, escalation_id, kind, attempt_id, str(exc), True, settings, now)
    _record_sent(engine, escalation_id, kind, attempt_id, notification, now, business_hours)
    log.info("escalation delivered", extra={"escalation_id": escalation_id, "unit": unit_id, "kind": kind, "channel": notification.channel})
    return Outcome.SENT


def _queue_for_digest(engine: Engine, escalation_id: int) -> Outcome:
    with session_scope(engine) as session:
        changed = session.execute(
            update(Escalation).where(Escalation.id == escalation_id, Escalation.status.in_(READY_TO_SEND)).values(status=EscalationStatus.QUEUED.value)  # type: ignore[arg-type, attr-defined]
        ).rowcount
        if changed:
            escalation = session.get(Escalation, escalation_id)
            assert escalation is not None
            add_event(session, escalation.ticket_id, "escalation_queued", escalation_id=escalation_id, unit=escalation.unit_id)
    return Outcome.QUEUED if changed else Outcome.SKIPPED
