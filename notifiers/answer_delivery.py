"""Deliver one answer to a citizen: never lost, never sent twice, every attempt recorded.

The same order of effects as an escalation (notifiers/delivery.py):

1. claim the answer (status `sending`, one conditional UPDATE: only one sender wins);
2. prepare what is sent (the mail, the platform call) and record the attempt, commit;
3. hand it to the server (SMTP, the Graph API, Zalo);
4. record the outcome: `sent` (an outbound message on the ticket, the ticket `answered`), back
   to `pending` with a backoff (transient), or `failed` with its reason (permanent).

A crash between 3 and 4 leaves the claim behind; after `escalation.stale_send_minutes` the
periodic pass (notifiers/reminders.py) hands it out again. An email then carries the same
Message-ID, which mail clients show once; a platform call carries the answer's idempotency key.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.settings import Settings
from notifiers.answer_errors import AnswerPermanentError, AnswerTransientError
from notifiers.answer_senders import PreparedAnswer, SentAnswer, sender_for
from notifiers.answer_templates import compose_answer_text
from notifiers.delivery import Outcome, backoff
from tickets.answer_models import Answer, AnswerAttempt, AnswerStatus
from tickets.answering import AnswerRefused, check_answerable, check_text, choose_mode, create_answer
from tickets.db import session_scope
from tickets.models import Message, RawItem, Ticket, TicketStatus, utcnow
from tickets.store import add_event, count_messages, insert_ignoring_duplicates, register_thread_keys, save_blobs, set_status

log = logging.getLogger(__name__)

# A ticket in one of these moves on to `answered` when an answer is sent; a resolved, closed or
# spam ticket keeps its status.
ANSWERABLE_STATUSES = (
    TicketStatus.NEW.value, TicketStatus.TRIAGED.value, TicketStatus.ESCALATED.value, TicketStatus.UNIT_RESPONDED.value,
)
# The raw item that keeps what was sent: never parsed (reprocessing reads other states only).
SENT_RAW_KIND = "answer"
SENT_RAW_STATE = "sent"


def _claim(engine: Engine, answer_id: int, now: datetime, stale_before: datetime) -> bool:
    with session_scope(engine) as session:
        statement = update(Answer).where(
            Answer.id == answer_id,  # type: ignore[arg-type]
            or_(
                Answer.status == AnswerStatus.PENDING.value,  # type: ignore[arg-type]
                and_(Answer.status == AnswerStatus.SENDING.value, Answer.claimed_at < stale_before),  # type: ignore[arg-type, operator]
            ),
        ).values(status=AnswerStatus.SENDING.value, claimed_at=now)
        return session.execute(statement).rowcount == 1  # type: ignore[attr-defined, no-any-return]


def _refuse(engine: Engine, answer_id: int, reason: str, now: datetime) -> Outcome:
    """The answer cannot be made at all (no sender, the window closed): refused, shown."""
    with session_scope(engine) as session:
        answer = session.get(Answer, answer_id)
        assert answer is not None
        answer.status, answer.last_error, answer.permanent = AnswerStatus.REFUSED.value, reason, True
        answer.claimed_at = answer.next_attempt_at = None
        session.add(answer)
        session.add(AnswerAttempt(answer_id=answer_id, status="refused", error=reason, permanent=True, started_at=now, finished_at=utcnow()))
        add_event(session, answer.ticket_id, "answer_failed", answer.author, answer_id=answer_id, mode=answer.mode, reason=reason, permanent=True)
    log.warning("answer refused", extra={"answer_id": answer_id, "reason": reason})
    return Outcome.FAILED


def _release(engine: Engine, settings: Settings, answer_id: int, attempt_id: int, error: str, permanent: bool, now: datetime) -> Outcome:
    with session_scope(engine) as session:
        attempt = session.get(AnswerAttempt, attempt_id)
        answer = session.get(Answer, answer_id)
        assert attempt is not None and answer is not None
        attempt.status, attempt.error, attempt.permanent, attempt.finished_at = "failed", error, permanent, utcnow()
        answer.attempts += 1
        answer.last_error = error
        give_up = permanent or answer.attempts >= settings.escalation.max_attempts
        answer.status = AnswerStatus.FAILED.value if give_up else AnswerStatus.PENDING.value
        answer.permanent = give_up
        answer.claimed_at = None
        answer.next_attempt_at = None if give_up else now + backoff(settings, answer.attempts)
        session.add_all([attempt, answer])
        kind = "answer_failed" if give_up else "answer_delivery_failed"
        add_event(session, answer.ticket_id, kind, answer.author, answer_id=answer_id, mode=answer.mode, error=error, permanent=give_up, attempt=answer.attempts)
    log.warning("answer delivery failed", extra={"answer_id": answer_id, "error": error, "permanent": give_up})
    return Outcome.FAILED if give_up else Outcome.RETRY


def _sent_bytes(prepared: PreparedAnswer) -> bytes:
    if prepared.email is not None:
        return bytes(prepared.email)
    return json.dumps({"mode": prepared.mode, "request": prepared.request, "text": prepared.text}, ensure_ascii=False, default=str).encode()


def _store_outbound(session: Session, ticket: Ticket, answer: Answer, prepared: PreparedAnswer, external_id: str, sent: SentAnswer) -> int | None:
    """The answer as an outbound message of the ticket; a later echo of the same id (the page's
    own reply seen by polling or a webhook, a copy in the mailbox) is then a duplicate."""
    content = _sent_bytes(prepared)  # serialising a mail folds every header again: once only
    (digest,) = save_blobs(session, [content])
    content_size = len(content)
    raw_ids = insert_ignoring_duplicates(
        session, RawItem,
        [{
            "source": ticket.source, "kind": SENT_RAW_KIND, "external_id": f"answer:{answer.id}", "sha256": digest, "size": content_size,
            "arrived_at": sent.sent_at, "origin": {"answer_id": answer.id, "mode": answer.mode}, "state": SENT_RAW_STATE,
            "attempts": 0, "processed_at": sent.sent_at,
        }],
        ["source", "external_id"], "id",
    )
    if not raw_ids:
        raw_ids = list(session.execute(select(RawItem.id).where(RawItem.source == ticket.source, RawItem.external_id == f"answer:{answer.id}")).scalars())  # type: ignore[arg-type]
    own_key = prepared.thread_keys[0] if prepared.thread_keys else None
    inserted = insert_ignoring_duplicates(
        session, Message,
        [{
            "ticket_id": ticket.id, "raw_item_id": raw_ids[0], "channel": prepared.message_channel or ticket.channel, "source": ticket.source, "external_id": external_id,
            "direction": "outbound", "sender_address": prepared.sender_address, "sender_name": answer.author, "subject": prepared.subject or ticket.subject,
            "clean_text": prepared.text, "full_text": prepared.text, "sent_at": sent.sent_at, "received_at": sent.sent_at,
            "thread_key": own_key, "parent_keys": [], "own_key": own_key, "ticket_ref": ticket.reference, "is_auto_reply": answer.automatic,
            "is_bounce": False, "is_deleted": False, "previous_texts": [], "extra": {"answer_id": answer.id, "author": answer.author, "mode": answer.mode},
            "threaded": True,
        }],
        ["channel", "external_id"], "id",
    )
    if inserted:
        return int(inserted[0])
    # The platform's echo of this answer was stored first (its webhook beat this record): it is
    # the answer's message. One still waiting for a ticket (a private reply's Messenger echo has
    # no thread key of this ticket) joins this one.
    channel = prepared.message_channel or ticket.channel
    echo = session.execute(select(Message).where(Message.channel == channel, Message.external_id == external_id)).scalar_one_or_none()  # type: ignore[arg-type]
    if echo is None:
        return None
    if echo.ticket_id is None:
        echo.ticket_id, echo.threaded = ticket.id, True
        session.add(echo)
    return echo.id


def _record_sent(engine: Engine, answer_id: int, attempt_id: int, prepared: PreparedAnswer, sent: SentAnswer) -> None:
    with session_scope(engine) as session:
        attempt = session.get(AnswerAttempt, attempt_id)
        answer = session.get(Answer, answer_id)
        assert attempt is not None and answer is not None
        ticket = session.get(Ticket, answer.ticket_id)
        assert ticket is not None
        attempt.status, attempt.finished_at = "sent", utcnow()
        external_id = sent.external_id or prepared.message_id.strip("<>")
        answer.status, answer.external_id, answer.sent_at = AnswerStatus.SENT.value, external_id, sent.sent_at
        answer.attempts += 1
        answer.last_error = answer.next_attempt_at = answer.claimed_at = None
        answer.permanent = False
        session.add_all([attempt, answer])
        message_row = _store_outbound(session, ticket, answer, prepared, external_id, sent)
        register_thread_keys(session, ticket.id or 0, prepared.thread_keys)
        session.flush()
        ticket.message_count = count_messages(session, ticket.id or 0)
        if ticket.first_response_at is None or sent.sent_at < ticket.first_response_at:
            ticket.first_response_at = sent.sent_at
        if ticket.status in ANSWERABLE_STATUSES:
            set_status(session, ticket, TicketStatus.ANSWERED, answer.author, "đã trả lời công dân")
        ticket.updated_at = utcnow()
        session.add(ticket)
        add_event(
            session, ticket.id or 0, "answer_sent", answer.author, answer_id=answer_id, mode=answer.mode, channel=ticket.channel,
            message_id=message_row, external_id=external_id, automatic=answer.automatic, entry_id=answer.entry_id,
        )
        from tickets.search import refresh_search_text

        refresh_search_text(session, ticket.id or 0)


def deliver_answer(settings: Settings, engine: Engine, answer_id: int, *, now: datetime | None = None) -> Outcome:
    """Send one answer by its mode's sender; SKIPPED when already sent or held by another sender."""
    now = now or utcnow()
    with session_scope(engine) as session:
        answer = session.get(Answer, answer_id)
        if answer is None:
            raise LookupError(f"answer {answer_id} does not exist")
        status, mode = answer.status, answer.mode
    if status not in (AnswerStatus.PENDING.value, AnswerStatus.SENDING.value):
        return Outcome.SKIPPED
    stale_before = now - timedelta(minutes=settings.escalation.stale_send_minutes)
    if not _claim(engine, answer_id, now, stale_before):
        return Outcome.SKIPPED
    sender = sender_for(mode)
    if sender is None:
        return _refuse(engine, answer_id, f"chưa có cách gửi câu trả lời theo kiểu {mode!r}", now)
    refusal: str | None = None
    with session_scope(engine) as session:
        answer = session.get(Answer, answer_id)
        assert answer is not None
        ticket = session.get(Ticket, answer.ticket_id)
        assert ticket is not None
        try:
            prepared = sender.prepare(settings, session, answer, ticket)
        except AnswerPermanentError as exc:
            refusal = exc.reason_vi
        else:
            answer.message_id = prepared.message_id
            attempt = AnswerAttempt(answer_id=answer_id, status="sending", started_at=now)
            session.add_all([attempt, answer])
            session.flush()
            attempt_id = attempt.id or 0
    if refusal is not None:
        return _refuse(engine, answer_id, refusal, now)
    try:
        sent = sender.send(settings, prepared)
    except AnswerTransientError as exc:
        return _release(engine, settings, answer_id, attempt_id, exc.reason, False, now)
    except AnswerPermanentError as exc:
        return _release(engine, settings, answer_id, attempt_id, exc.reason_vi, True, now)
    _record_sent(engine, answer_id, attempt_id, prepared, sent)
    log.info("answer delivered", extra={"answer_id": answer_id, "mode": mode})
    return Outcome.SENT


def request_answer_delivery(answer_id: int, settings: Settings, engine: Engine) -> Outcome | None:
    """Send now (the embedded default) or enqueue on the "notify" queue (Redis): None then.
    When Redis cannot take it, the answer stays pending and the periodic pass sends it."""
    if settings.redis_url:
        from notifiers.actors import send_answer
        from tiepnhan.broker import ensure_configured_broker

        ensure_configured_broker(settings)
        send_answer.send(answer_id)
        return None
    return deliver_answer(settings, engine, answer_id)


def create_composed_answer(
    session: Session, settings: Settings, ticket: Ticket, body: str, author: str, *,
    user_id: int | None = None, entry_id: int | None = None, mode: str | None = None, automatic: bool = False,
) -> Answer:
    """The body checked, wrapped in the channel's greeting and signature, stored as pending."""
    check_answerable(ticket)
    chosen = choose_mode(ticket, mode)
    if sender_for(chosen) is None:
        raise AnswerRefused(f"chưa có cách gửi câu trả lời theo kiểu {chosen!r}")
    text = compose_answer_text(settings, ticket, check_text(body), chosen)
    return create_answer(session, ticket, text, author, user_id=user_id, entry_id=entry_id, mode=chosen, automatic=automatic)


def submit_answer(
    engine: Engine, settings: Settings, ticket_id: int, text: str, author: str,
    user_id: int | None = None, entry_id: int | None = None, mode: str | None = None, *, automatic: bool = False,
) -> Answer:
    """Create the answer and have it delivered: the one function the CLI, the API and the web
    page call. Raises AnswerRefused (Vietnamese reason) when it cannot be made."""
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise AnswerRefused(f"không có phiếu số {ticket_id}")
        answer = create_composed_answer(session, settings, ticket, text, author, user_id=user_id, entry_id=entry_id, mode=mode, automatic=automatic)
        answer_id = answer.id
    assert answer_id is not None
    request_answer_delivery(answer_id, settings, engine)
    with session_scope(engine) as session:
        current = session.get(Answer, answer_id)
        assert current is not None
        session.expunge(current)
        return current
