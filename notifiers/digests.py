"""The daily digest (the scheduler's `daily_digests` job): one mail per unit that asked for it
(`digest = true` in the unit directory), listing every escalation queued for it since the last.

Each listed escalation keeps its own reply address, so an answer still threads into its ticket
and acknowledges it. The digest's Message-ID is stable per unit and day.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from config.settings import Settings
from notifiers.compose import TZ, digest_email
from notifiers.delivery import mark_escalation_sent, why_unreachable
from notifiers.smtp import SmtpPermanentError, SmtpTransientError, send_message
from notifiers.views import digest_key, escalation_view, stable_message_id
from tickets.db import session_scope
from tickets.directory import routing
from tickets.escalation_models import DeliveryAttempt, Escalation, EscalationStatus
from tickets.escalations import due_at
from tickets.models import utcnow

log = logging.getLogger(__name__)


def queued_by_unit(engine: Engine) -> dict[str, list[int]]:
    with session_scope(engine) as session:
        rows = session.execute(select(Escalation.unit_id, Escalation.id).where(Escalation.status == EscalationStatus.QUEUED.value).order_by(Escalation.id)).all()  # type: ignore[arg-type]
    grouped: dict[str, list[int]] = {}
    for unit_id, escalation_id in rows:
        grouped.setdefault(unit_id, []).append(escalation_id)
    return grouped


def _claim_queued(engine: Engine, ids: list[int], now: datetime) -> list[int]:
    claimed = []
    with session_scope(engine) as session:
        for escalation_id in ids:
            statement = update(Escalation).where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.QUEUED.value)  # type: ignore[arg-type]
            if session.execute(statement.values(status=EscalationStatus.SENDING.value, claimed_at=now)).rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(escalation_id)
    return claimed


def send_digest(settings: Settings, engine: Engine, unit_id: str, ids: list[int], now: datetime) -> str:
    unit = routing(settings).units.get(unit_id)
    reason = why_unreachable(settings, unit, unit_id)
    if reason is not None or unit is None or settings.smtp is None:
        log.warning("digest cannot be sent yet", extra={"unit": unit_id, "reason": reason})
        return "refused"
    claimed = _claim_queued(engine, ids, now)
    if not claimed:
        return "skipped"
    message_id = stable_message_id("digest", digest_key(unit_id, now.astimezone(TZ)), settings.smtp.from_address)
    with session_scope(engine) as session:
        views = []
        for escalation_id in claimed:
            escalation = session.get(Escalation, escalation_id)
            assert escalation is not None
            escalation.due_at = due_at(now, escalation.sla_hours, routing(settings).sla_in_business_hours(escalation.rule, escalation.unit_id))
            session.add(escalation)
            views.append(escalation_view(session, settings, escalation, unit.name, with_content=False))
        attempt = DeliveryAttempt(unit_id=unit_id, kind="digest", channel="email", message_id=message_id, recipients=list(unit.real_emails), status="sending", started_at=now)
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
    message = digest_email(unit.name, views, from_address=settings.smtp.from_address, to=unit.real_emails, message_id=message_id, now=now)
    try:
        send_message(settings.smtp, message, unit.real_emails)
    except (SmtpTransientError, SmtpPermanentError) as exc:
        with session_scope(engine) as session:
            attempt = session.get(DeliveryAttempt, attempt_id)
            assert attempt is not None
            attempt.status, attempt.error, attempt.finished_at = "failed", str(exc), utcnow()
            session.add(attempt)
            session.execute(update(Escalation).where(Escalation.id.in_(claimed)).values(status=EscalationStatus.QUEUED.value, last_error=str(exc)))  # type: ignore[union-attr]
        log.warning("digest failed", extra={"unit": unit_id, "error": str(exc)})
        return "failed"
    with session_scope(engine) as session:
        attempt = session.get(DeliveryAttempt, attempt_id)
        assert attempt is not None
        attempt.status, attempt.finished_at = "sent", utcnow()
        session.add(attempt)
        for escalation_id in claimed:
            escalation = session.get(Escalation, escalation_id)
            assert escalation is not None
            business_hours = routing(settings).sla_in_business_hours(escalation.rule, escalation.unit_id)
            mark_escalation_sent(session, escalation, now, channel="email", message_id=message_id, answerable=False, business_hours=business_hours, digest=True)
    return "sent"


def send_digests(settings: Settings, engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {unit_id: send_digest(settings, engine, unit_id, ids, now) for unit_id, ids in queued_by_unit(engine).items()}
