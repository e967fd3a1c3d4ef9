"""Automatic answers (issue 14): the last step of a question ticket's processing. Off by default
(`[question_bank.auto_answer]`); when on, a question whose best suggestion is a published entry
of a chosen topic, on a chosen channel, scoring at least `min_score` (the pure decision:
qbank/auto_answer.py), is answered from that entry with the line saying the answer is
automatic and how to reach a person, by the one answering path (notifiers/answer_delivery.py),
author "auto", and a ticket event `auto_answered`.

Never twice for a ticket: the check and the answer are one transaction under the ticket's lock
(tickets.escalations.lock_ticket), and a ticket that already has any answer, automatic or by a
person, is left to people. Re-processing (`tiepnhan reprocess`, a redelivered message, the
citizen's next message) therefore answers nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config.settings import Settings
from qbank.auto_answer import AutoAnswerDecision, auto_answer_decision
from qbank.models import BankEntryRow
from qbank.store import row_to_entry
from qbank.suggestions import suggestions_for_ticket
from tickets.answer_models import Answer
from tickets.db import session_scope
from tickets.models import Ticket, TicketEvent, TicketStatus
from tickets.store import add_event

log = logging.getLogger(__name__)
AUTHOR = "auto"
EVENT = "auto_answered"
NOT_ANSWERED_STATUSES = (TicketStatus.SPAM.value, TicketStatus.CLOSED.value, TicketStatus.RESOLVED.value)


@dataclass(frozen=True)
class _Body:
    answer: str


def _already_answered(session: Session, ticket_id: int) -> bool:
    if session.exec(select(Answer.id).where(Answer.ticket_id == ticket_id).limit(1)).first() is not None:
        return True
    return session.exec(select(TicketEvent.id).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EVENT).limit(1)).first() is not None


def _decide(session: Session, settings: Settings, ticket: Ticket) -> tuple[AutoAnswerDecision, BankEntryRow | None]:
    found = suggestions_for_ticket(session, ticket.id or 0, settings.question_bank.suggestion_threshold)
    keys = [item.suggestion.entry_id for item in found]
    rows = {row.key: row for row in session.exec(select(BankEntryRow).where(BankEntryRow.key.in_(keys)))} if keys else {}  # type: ignore[attr-defined]
    decision = auto_answer_decision(
        settings.question_bank.auto_answer, ticket.channel, ticket.category,
        [item.suggestion for item in found], {key: row_to_entry(row) for key, row in rows.items()},
    )
    return decision, rows.get(decision.entry_id or "")


def auto_reply_to_question(engine: Engine, ticket_id: int, settings: Settings | None = None) -> int | None:
    """Answer this ticket automatically when the configuration and the bank say so; the answer's
    id, or None. Idempotent: safe to call again for the same ticket, at any time."""
    from notifiers.answer_delivery import create_composed_answer
    from notifiers.answer_templates import entry_draft
    from tickets.answering import AnswerRefused
    from tickets.escalations import lock_ticket

    if settings is None:
        from tiepnhan import runtime

        settings = runtime.settings()
    config = settings.question_bank.auto_answer
    if not config.enabled:
        return None
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.category != "question" or ticket.status in NOT_ANSWERED_STATUSES or ticket.channel not in config.channels:
            return None
        ticket = lock_ticket(session, ticket_id)  # two workers on one ticket: the second waits, then sees the answer
        if ticket is None or _already_answered(session, ticket_id):
            return None
        decision, row = _decide(session, settings, ticket)
        if not decision.answer or row is None or decision.text is None:
            log.info("no automatic answer", extra={"ticket_id": ticket_id, "reason": decision.reason})
            return None
        try:
            answer = create_composed_answer(
                session, settings, ticket, entry_draft(settings, ticket, _Body(decision.text)), AUTHOR, entry_id=row.id, automatic=True,
            )
        except AnswerRefused as exc:
            log.warning("automatic answer refused", extra={"ticket_id": ticket_id, "reason": exc.reason_vi})
            return None
        add_event(session, ticket_id, EVENT, AUTHOR, answer_id=answer.id, entry=row.key, reason=decision.reason)
        answer_id = answer.id
    assert answer_id is not None
    log.info("automatic answer", extra={"ticket_id": ticket_id, "answer_id": answer_id, "entry": row.key})
    _request_delivery(answer_id, settings, engine)
    return answer_id


def _request_delivery(answer_id: int, settings: Settings, engine: Engine) -> None:
    from notifiers.answer_delivery import request_answer_delivery
    from tiepnhan.broker import BrokerUnavailable

    try:
        request_answer_delivery(answer_id, settings, engine)
    except BrokerUnavailable as exc:  # stored as pending: the periodic pass sends it (notifiers/reminders.py)
        log.warning("automatic answer left for the periodic pass", extra={"answer_id": answer_id, "error": str(exc)})


def after_routing(engine: Engine, ticket_id: int) -> None:
    """The pipeline's after-routing hook (tickets.pipeline.AFTER_ROUTING_HOOKS)."""
    auto_reply_to_question(engine, ticket_id)
