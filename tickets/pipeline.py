"""The pipeline stages as plain functions: normalize → thread → classify → route.

Each stage reads its input from the store by id, writes its result in one transaction, and is
idempotent, so running it twice (at-least-once delivery) changes nothing. `tickets/actors.py`
wraps each stage in a Dramatiq actor that enqueues the next; `process_raw_item_now` runs them
in sequence without a broker (tests, `reprocess`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from sqlmodel import Session

from ingest.registry import ParseContext, parser_for
from tickets.db import session_scope
from tickets.models import Message, RawItem, RawState, Ticket, TicketStatus, utcnow
from tickets.store import (
    add_event,
    describe_error,
    mark_raw_processed,
    raw_content,
    record_raw_failure,
    store_message,
)
from tickets.threader import ThreadOutcome, thread_message

log = logging.getLogger(__name__)

MAX_CLASSIFIED_CHARS = 20_000


class PermanentFailure(Exception):
    """The item itself is at fault: retrying cannot help. It is quarantined, not retried."""


@dataclass(frozen=True)
class NormalizeOutcome:
    message_id: int | None
    is_new: bool


def normalize_raw_item(engine: Engine, raw_item_id: int, max_attachment_bytes: int) -> NormalizeOutcome:
    """Parse a raw item into a stored message. A parser error quarantines the item."""
    with session_scope(engine) as session:
        raw = session.get(RawItem, raw_item_id)
        if raw is None:
            raise LookupError(f"raw item {raw_item_id} does not exist")
        content = raw_content(session, raw)
        context = ParseContext(source=raw.source, arrived_at=raw.arrived_at, max_attachment_bytes=max_attachment_bytes)
        try:
            normalized = parser_for(raw.kind)(content, context)
        except Exception as exc:  # noqa: BLE001 - parsers are pure: any error is the item's fault
            _quarantine(engine, session, raw_item_id, raw.kind, exc)
        try:
            stored = store_message(session, raw, normalized)
            mark_raw_processed(session, raw_item_id)
            session.flush()
        except DataError as exc:  # the database refuses this item's data: retrying cannot help
            _quarantine(engine, session, raw_item_id, raw.kind, exc)
    if stored.changed:
        _log_revision(engine, stored.message_id)
    return NormalizeOutcome(stored.message_id, stored.is_new)


def _quarantine(engine: Engine, session: Session, raw_item_id: int, kind: str, exc: Exception) -> NoReturn:
    """Quarantine an item whose own content failed; the stored reason is redacted (store.describe_error)."""
    reason = describe_error(exc)
    log.warning("raw item quarantined", extra={"raw_item_id": raw_item_id, "kind": kind, "error": reason})
    session.rollback()
    record_raw_failure(engine, raw_item_id, "normalize", reason, permanent=True)
    raise PermanentFailure(reason) from exc


def _log_revision(engine: Engine, message_id: int) -> None:
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        if message is not None and message.ticket_id is not None:
            kind = "message_deleted" if message.is_deleted else "message_edited"
            add_event(session, message.ticket_id, kind, message_id=message_id)


def thread_stored_message(engine: Engine, message_id: int) -> ThreadOutcome:
    with session_scope(engine) as session:
        return thread_message(session, message_id)


def classification_text(engine: Engine, ticket_id: int) -> tuple[str, str, str]:
    """The ticket's subject and the clean text of its inbound, human messages."""
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise LookupError(f"ticket {ticket_id} does not exist")
        return ticket.subject, request_text(session, ticket_id), ticket.channel


def request_messages(ticket_id: int) -> tuple[ColumnElement[bool], ...]:
    """Which of a ticket's messages make up the citizen's request: inbound and human, not
    auto-replies, not units' answers (those came to an escalation's reply address)."""
    return (
        Message.ticket_id == ticket_id,  # type: ignore[arg-type]
        Message.direction == "inbound",  # type: ignore[arg-type]
        Message.is_auto_reply.is_(False),  # type: ignore[attr-defined]
        Message.reply_token.is_(None),  # type: ignore[union-attr]
    )


def request_text(session: Session, ticket_id: int) -> str:
    """The clean text of the ticket's request messages, for the classifiers and routing keywords."""
    query = select(Message.clean_text).where(*request_messages(ticket_id)).order_by(Message.id)  # type: ignore[arg-type]
    return "\n\n".join(session.execute(query).scalars().all())[:MAX_CLASSIFIED_CHARS]


def stored_province(province: str | None, confidence: float) -> tuple[str | None, str | None]:
    """(province to store, candidate left for a coordinator): a province whose calibrated
    confidence is below `min_province_confidence` (routing file) is a candidate, not a tag."""
    from tickets.routing_stage import min_province_confidence

    if province is None or confidence >= min_province_confidence():
        return province, None
    return None, province


def classify_ticket(engine: Engine, ticket_id: int) -> bool:
    """Tag a ticket. Returns False when a coordinator has locked its tags by hand."""
    from classifiers import classify

    subject, body, channel = classification_text(engine, ticket_id)
    result = classify(subject, body, channel)
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        if ticket.tags_locked:
            return False
        evidence = list(result.to_json()["evidence"])  # type: ignore[call-overload]
        # A province below the routing file's threshold is not stored: the ticket waits for a
        # coordinator, who sees the candidate in the evidence and the "tagged" event.
        province, candidate = stored_province(result.province_code, result.confidence.get("province", 0.0))
        new_tags = {
            "insurance_types": list(result.insurance_types),
            "province_code": province,
            "category": result.category,
            "topics": list(result.topics),
        }
        old_tags = {
            "insurance_types": ticket.insurance_types,
            "province_code": ticket.province_code,
            "category": ticket.category,
            "topics": ticket.topics,
        }
        ticket.insurance_types = new_tags["insurance_types"]  # type: ignore[assignment]
        ticket.province_code = new_tags["province_code"]  # type: ignore[assignment]
        ticket.category = new_tags["category"]  # type: ignore[assignment]
        ticket.topics = new_tags["topics"]  # type: ignore[assignment]
        ticket.tag_confidence = dict(result.confidence)
        ticket.tag_evidence = evidence
        ticket.tagged_at = utcnow()
        if ticket.status == TicketStatus.NEW.value:
            ticket.status = TicketStatus.TRIAGED.value
        session.add(ticket)
        if new_tags != old_tags:
            add_event(session, ticket_id, "tagged", **new_tags, confidence=dict(result.confidence), **({"province_candidate": candidate} if candidate else {}))
            if new_tags["province_code"] != old_tags["province_code"]:
                from tickets.search import refresh_search_text

                refresh_search_text(session, ticket_id)  # the province's name is searchable
    return True


def route_ticket(engine: Engine, ticket_id: int) -> list[int]:
    """Propose escalations for a tagged ticket (rules in config/routing.toml).

    Returns the escalations to send at once (rules that need no review); the caller hands
    them to the notifiers.
    """
    from tickets.routing_stage import route

    to_send = route(engine, ticket_id)
    _answer_automatically(engine, ticket_id)
    return to_send


def _answer_automatically(engine: Engine, ticket_id: int) -> None:
    """Issue 14: a question the bank answers well, answered once (off by default; qbank/auto_reply_stage.py)."""
    from qbank.auto_reply_stage import after_routing

    after_routing(engine, ticket_id)


def handle_unit_reply(engine: Engine, message_id: int) -> bool:
    """True when the message is a unit's answer to an escalation: sent to its reply address, or
    answering the escalation mail itself (In-Reply-To its Message-ID, when the unit's client
    ignored Reply-To or the server does not deliver subaddresses).

    It acknowledges that escalation and is not classified: the ticket's tags describe the
    citizen's request, not the office's answer.
    """
    from tickets.escalations import acknowledge_from_message, adopt_escalation_token, record_bounce

    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        if message is None:
            return False
        if not message.reply_token and not message.is_bounce and message.direction == "inbound":
            adopt_escalation_token(session, message)
        reply_token, is_bounce = message.reply_token, message.is_bounce
    if is_bounce:
        record_bounce(engine, message_id)
    if not reply_token:
        return False
    acknowledge_from_message(engine, message_id)
    return True


def process_raw_item_now(engine: Engine, raw_item_id: int, max_attachment_bytes: int) -> ThreadOutcome | None:
    """Run every stage for one raw item in this thread, without a broker."""
    try:
        outcome = normalize_raw_item(engine, raw_item_id, max_attachment_bytes)
    except PermanentFailure:
        return None
    if outcome.message_id is None:
        return None
    threaded = thread_stored_message(engine, outcome.message_id)
    if threaded.ticket_id is None:
        return threaded
    unit_reply = handle_unit_reply(engine, outcome.message_id)
    if threaded.inbound and not unit_reply:
        if classify_ticket(engine, threaded.ticket_id):
            for escalation_id in route_ticket(engine, threaded.ticket_id):
                from notifiers.dispatch import request_delivery

                request_delivery(escalation_id)
    return threaded


def pending_raw_item_ids(engine: Engine, *, include_failed: bool = True) -> list[int]:
    states = [RawState.PENDING.value] + ([RawState.FAILED.value] if include_failed else [])
    with session_scope(engine) as session:
        return list(session.execute(select(RawItem.id).where(RawItem.state.in_(states)).order_by(RawItem.id)).scalars())  # type: ignore[attr-defined, arg-type]
