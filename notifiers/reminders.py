"""The periodic pass over escalations (the scheduler's `sla_reminders` job).

- Deliveries that are due again (after a backoff, a refusal, or an interrupted send) are tried.
- An escalation sent longer ago than its SLA without an answer becomes `overdue`: it is re-sent
  to the unit once, as a reminder, and raised to the coordinators (by mail when
  `escalation.coordinator_addresses` is set, and always in `tiepnhan escalations --status overdue`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from config.settings import Settings
from notifiers.compose import coordinator_alert_email
from notifiers.delivery import Outcome, deliver_escalation
from notifiers.smtp import SmtpPermanentError, SmtpTransientError, send_message
from notifiers.views import escalation_view, stable_message_id
from tickets.db import session_scope
from tickets.directory import routing
from tickets.escalation_models import READY_TO_SEND, DeliveryAttempt, Escalation, EscalationStatus
from tickets.models import utcnow
from tickets.store import add_event

log = logging.getLogger(__name__)


def due_deliveries(engine: Engine, now: datetime, stale_before: datetime) -> list[int]:
    query = select(Escalation.id).where(
        or_(
            and_(Escalation.status.in_(READY_TO_SEND), or_(Escalation.next_attempt_at.is_(None), Escalation.next_attempt_at <= now)),  # type: ignore[attr-defined, union-attr, operator]
            and_(Escalation.status == EscalationStatus.SENDING.value, Escalation.claimed_at < stale_before),  # type: ignore[arg-type, operator]
        )
    ).order_by(Escalation.id)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        return [i for (i,) in session.execute(query).all()]


def mark_overdue(engine: Engine, now: datetime) -> list[int]:
    with session_scope(engine) as session:
        late = list(
            session.execute(
                select(Escalation).where(Escalation.status == EscalationStatus.SENT.value, Escalation.due_at < now)  # type: ignore[arg-type, operator]
            ).scalars()
        )
        for escalation in late:
            escalation.status = EscalationStatus.OVERDUE.value
            session.add(escalation)
            add_event(session, escalation.ticket_id, "escalation_overdue", escalation_id=escalation.id, unit=escalation.unit_id, due_at=escalation.due_at)
        return [e.id for e in late if e.id is not None]


def reminders_due(engine: Engine) -> list[int]:
    with session_scope(engine) as session:
        query = select(Escalation.id).where(Escalation.status == EscalationStatus.OVERDUE.value, Escalation.reminded_at.is_(None))  # type: ignore[arg-type, union-attr]
        return [i for (i,) in session.execute(query).all()]


def alert_coordinators(settings: Settings, engine: Engine, escalation_ids: list[int], now: datetime) -> bool:
    if not escalation_ids:
        return False
    log.warning("escalations overdue", extra={"escalation_ids": escalation_ids})
    recipients = tuple(settings.escalation.coordinator_addresses)
    if not recipients or settings.smtp is None:
        return False
    units = routing(settings).units
    with session_scope(engine) as session:
        views = []
        for escalation_id in escalation_ids:
            escalation = session.get(Escalation, escalation_id)
            assert escalation is not None
            unit = units.get(escalation.unit_id)
            views.append(escalation_view(session, settings, escalation, unit.name if unit else escalation.unit_id, with_content=False))
    key = hashlib.sha256(",".join(map(str, sorted(escalation_ids))).encode()).hexdigest()[:16]
    message_id = stable_message_id("overdue", key, settings.smtp.from_address)
    message = coordinator_alert_email(views, from_address=settings.smtp.from_address, to=recipients, message_id=message_id, now=now)
    attempt = DeliveryAttempt(unit_id="coordinators", kind="coordinator_alert", channel="email", message_id=message_id, recipients=list(recipients), status="sending", started_at=now)
    try:
        send_message(settings.smtp, message, recipients)
        attempt.status = "sent"
    except (SmtpTransientError, SmtpPermanentError) as exc:
        attempt.status, attempt.error = "failed", str(exc)
    attempt.finished_at = utcnow()
    with session_scope(engine) as session:
        session.add(attempt)
    return attempt.status == "sent"


def send_reminders(settings: Settings, engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    stale_before = now - timedelta(minutes=settings.escalation.stale_send_minutes)
    outcomes: dict[str, int] = {}
    for escalation_id in due_deliveries(engine, now, stale_before):
        outcome = deliver_escalation(settings, engine, escalation_id, now=now)
        outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
    overdue = mark_overdue(engine, now)
    reminded = 0
    for escalation_id in reminders_due(engine):
        if deliver_escalation(settings, engine, escalation_id, kind="reminder", now=now) is Outcome.SENT:
            reminded += 1
    alerted = alert_coordinators(settings, engine, overdue, now)
    answers = resend_due_answers(settings, engine, now)
    return {"deliveries": outcomes, "overdue": len(overdue), "reminded": reminded, "coordinators_alerted": alerted, "answers": answers}


def due_answers(engine: Engine, now: datetime, stale_before: datetime) -> list[int]:
    """Answers waiting out a backoff that is over, and claims left behind by a crashed sender."""
    from tickets.answer_models import Answer, AnswerStatus

    query = select(Answer.id).where(
        or_(
            and_(Answer.status == AnswerStatus.PENDING.value, or_(Answer.next_attempt_at.is_(None), Answer.next_attempt_at <= now)),  # type: ignore[arg-type, union-attr, operator]
            and_(Answer.status == AnswerStatus.SENDING.value, Answer.claimed_at < stale_before),  # type: ignore[arg-type, operator]
        )
    ).order_by(Answer.id)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        return [i for (i,) in session.execute(query).all()]


def resend_due_answers(settings: Settings, engine: Engine, now: datetime) -> dict[str, int]:
    from notifiers.answer_delivery import deliver_answer

    stale_before = now - timedelta(minutes=settings.escalation.stale_send_minutes)
    outcomes: dict[str, int] = {}
    for answer_id in due_answers(engine, now, stale_before):
        outcome = deliver_answer(settings, engine, answer_id, now=now)
        outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
    return outcomes
