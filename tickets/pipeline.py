"""The pipeline stages as plain functions, each for a batch of ids: normalize+thread, then
classify+route (docs/pipeline.md says why these two hops).

Each stage loads its whole batch in one query, writes its results in one transaction with
set-based SQL where the rows are simple (messages, attachments, raw-item states) and the
threading and tagging logic per item where it is not, and is idempotent, so running it twice
(at-least-once delivery) changes nothing. One item's failure is its own: each item's
threading, tagging and routing runs in a savepoint, so an item the database or a bug refuses is
rolled back alone and reported back (quarantined when it is the item's fault, retried alone
otherwise) while the rest of its batch is committed.

`tickets/actors.py` wraps the stages in Dramatiq actors; `process_raw_item_now` runs them in
sequence without a broker (tests, `reprocess`). `AFTER_ROUTING_HOOKS` run once per ticket whose
processing finished (tagged and routed), after its batch committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ingest.registry import ParseContext, parser_for
from tickets.db import session_scope
from tickets.event_batch import batched_events
from tickets.message_batch import CHUNK, load_raw_rows, mark_failed, store_message_batch
from tickets.models import Message, RawItem, RawState, Ticket, TicketStatus, utcnow
from tickets.store import add_event, describe_error, record_raw_failure
from tickets.threader import ThreadOutcome, lock_thread_keys, thread_lock_keys, thread_message

if TYPE_CHECKING:
    from classifiers.result import Classification

log = logging.getLogger(__name__)

MAX_CLASSIFIED_CHARS = 20_000
BATCH_CAP = 200  # ids per pipeline message: big enough to amortize a transaction, small enough to retry

# Called as hook(engine, ticket_id) once a ticket's batch is tagged, routed and committed (and
# its escalations handed to the notifiers); a hook must be idempotent: a failing hook makes the
# ticket's classify+route run again alone, hooks included.
AfterRoutingHook = Callable[[Engine, int], None]
AFTER_ROUTING_HOOKS: list[AfterRoutingHook] = []


def _answer_automatically(engine: Engine, ticket_id: int) -> None:
    """Issue 14: a question the bank answers well, answered once (off by default; qbank/auto_reply_stage.py)."""
    from qbank.auto_reply_stage import after_routing

    after_routing(engine, ticket_id)


AFTER_ROUTING_HOOKS.append(_answer_automatically)


class PermanentFailure(Exception):
    """The item itself is at fault: retrying cannot help. It is quarantined, not retried."""


@dataclass
class IntakeOutcome:
    """What normalize+thread did with a batch of raw items."""

    threads: dict[int, ThreadOutcome] = field(default_factory=dict)  # raw item id -> its message's threading
    to_classify: list[int] = field(default_factory=list)  # tickets with a new request message
    quarantined: dict[int, str] = field(default_factory=dict)  # raw item id -> reason (the item's fault)
    retry_raw: dict[int, BaseException] = field(default_factory=dict)  # raw items to normalize again, alone
    retry_messages: dict[int, BaseException] = field(default_factory=dict)  # stored messages to thread again, alone


@dataclass
class RouteOutcome:
    """What classify+route did with a batch of tickets."""

    tagged: list[int] = field(default_factory=list)
    locked: list[int] = field(default_factory=list)  # tags set by hand: left alone, not routed
    deliveries: list[int] = field(default_factory=list)  # escalations handed to the notifiers
    retry: dict[int, BaseException] = field(default_factory=dict)  # tickets to classify again, alone


# --- normalize + thread -------------------------------------------------------------------


def normalize_and_thread(engine: Engine, raw_item_ids: Sequence[int], max_attachment_bytes: int) -> IntakeOutcome:
    """Parse raw items into stored messages and put each into its ticket, in one transaction.

    A parser error, or a row the database refuses, quarantines that item alone."""
    ids = sorted(set(raw_item_ids))
    outcome = IntakeOutcome()
    with session_scope(engine) as session, batched_events(session):  # events and clocks written once per batch
        rows = load_raw_rows(session, ids)
        outcome.retry_raw.update({i: LookupError(f"raw item {i} does not exist") for i in ids if i not in rows})
        parsed = []
        for raw_id in ids:
            raw = rows.get(raw_id)
            if raw is None:
                continue
            context = ParseContext(source=raw.source, arrived_at=raw.arrived_at, max_attachment_bytes=max_attachment_bytes)
            try:
                parsed.append((raw, parser_for(raw.kind)(raw.content, context)))
            except Exception as exc:  # noqa: BLE001 - parsers are pure: any error is the item's fault
                outcome.quarantined[raw_id] = describe_error(exc)
        stored = store_message_batch(session, parsed)
        outcome.quarantined.update({raw_id: describe_error(exc) for raw_id, exc in stored.refused.items()})
        for raw_id, reason in outcome.quarantined.items():
            log.warning("raw item quarantined", extra={"raw_item_id": raw_id, "kind": rows[raw_id].kind, "error": reason})
            mark_failed(session, [raw_id], "normalize", reason, permanent=True)
        for message in stored.stored.values():
            if message.changed:
                _log_revision(session, message.message_id)
        message_of = {raw_id: message.message_id for raw_id, message in stored.stored.items()}
        threaded = _thread_in_session(session, list(dict.fromkeys(message_of.values())))
    _finish_unit_replies(engine, threaded)
    outcome.threads = {raw_id: threaded.outcomes[mid] for raw_id, mid in message_of.items() if mid in threaded.outcomes}
    outcome.to_classify = threaded.to_classify
    outcome.retry_messages = threaded.failed
    return outcome


def thread_messages(engine: Engine, message_ids: Sequence[int]) -> IntakeOutcome:
    """Thread stored messages (those normalized but not yet threaded: reconcile, a retry)."""
    with session_scope(engine) as session, batched_events(session):
        threaded = _thread_in_session(session, sorted(set(message_ids)))
    _finish_unit_replies(engine, threaded)
    return IntakeOutcome(to_classify=threaded.to_classify, retry_messages=threaded.failed)


@dataclass
class _Threaded:
    outcomes: dict[int, ThreadOutcome] = field(default_factory=dict)
    to_classify: list[int] = field(default_factory=list)
    acknowledgements: list[int] = field(default_factory=list)  # units' answers to escalations
    bounces: list[int] = field(default_factory=list)
    failed: dict[int, BaseException] = field(default_factory=dict)


def _thread_in_session(session: Session, message_ids: list[int]) -> _Threaded:
    from tickets.escalations import adopt_escalation_token

    result = _Threaded()
    if not message_ids:
        return result
    messages = _load_messages(session, message_ids)
    if session.get_bind().dialect.name == "postgresql":
        # Every key of the batch locked at once, in sorted order: two batches holding messages of
        # one thread serialize on it and cannot deadlock. Reloaded under the locks.
        lock_thread_keys(session, [key for message in messages.values() for key in thread_lock_keys(message)])
        messages = _load_messages(session, message_ids, fresh=True)
    from tickets.new_threads import new_thread_messages, open_tickets

    # New threads of one message each, all at once; the rest one by one (tickets/new_threads.py).
    opened = open_tickets(session, new_thread_messages(session, [messages[i] for i in message_ids if i in messages]))
    tickets_seen: set[int] = set()
    for message_id in message_ids:
        message = messages.get(message_id)
        if message is None:
            result.failed[message_id] = LookupError(f"message {message_id} does not exist")
            continue
        if message_id in opened:
            result.outcomes[message_id] = opened[message_id]
            result.to_classify.append(opened[message_id].ticket_id or 0)
            continue
        try:
            with session.begin_nested():
                threaded = thread_message(session, message_id, keys_locked=True)
                if threaded.ticket_id is not None and not message.reply_token and not message.is_bounce and message.direction == "inbound":
                    adopt_escalation_token(session, message)  # an answer to an escalation mail itself
        except Exception as exc:  # noqa: BLE001 - rolled back alone; retried alone by the caller
            log.warning("message not threaded", extra={"message_id": message_id, "error": describe_error(exc)})
            result.failed[message_id] = exc
            continue
        result.outcomes[message_id] = threaded
        if threaded.ticket_id is None:
            continue
        # A unit's answer acknowledges its escalation and is not classified: the ticket's tags
        # describe the citizen's request, not the office's answer.
        if message.is_bounce:
            result.bounces.append(message_id)
        if message.reply_token:
            result.acknowledgements.append(message_id)
        elif threaded.inbound and threaded.ticket_id not in tickets_seen:
            tickets_seen.add(threaded.ticket_id)
            result.to_classify.append(threaded.ticket_id)
    return result


def _load_messages(session: Session, message_ids: Sequence[int], *, fresh: bool = False) -> dict[int, Message]:
    found: dict[int, Message] = {}
    for start in range(0, len(message_ids), CHUNK):
        query = select(Message).where(Message.id.in_(message_ids[start : start + CHUNK]))  # type: ignore[union-attr]
        if fresh:
            query = query.execution_options(populate_existing=True)
        found.update({m.id or 0: m for m in session.execute(query).scalars()})
    return found


def _finish_unit_replies(engine: Engine, threaded: _Threaded) -> None:
    """Units' answers and bounces of escalation mail, each in its own transaction after the
    batch committed (they change the escalation, tickets.escalations)."""
    from tickets.escalations import acknowledge_from_message, record_bounce

    for message_id, step in [*((m, record_bounce) for m in threaded.bounces), *((m, acknowledge_from_message) for m in threaded.acknowledgements)]:
        try:
            step(engine, message_id)
        except Exception as exc:  # noqa: BLE001 - retried alone: threading again changes nothing
            threaded.failed[message_id] = exc


def _log_revision(session: Session, message_id: int) -> None:
    message = session.get(Message, message_id)
    if message is not None and message.ticket_id is not None:
        kind = "message_deleted" if message.is_deleted else "message_edited"
        add_event(session, message.ticket_id, kind, message_id=message_id)


def request_messages(ticket_id: int) -> tuple[ColumnElement[bool], ...]:
    """Which of a ticket's messages make up the citizen's request: inbound and human, not
    auto-replies, not units' answers (those came to an escalation's reply address)."""
    return (Message.ticket_id == ticket_id, *request_filters())  # type: ignore[arg-type]


def request_filters() -> tuple[ColumnElement[bool], ...]:
    """`request_messages` without the ticket: for a query over many tickets."""
    return (
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


def request_texts(session: Session, ticket_ids: Sequence[int]) -> dict[int, str]:
    """`request_text` of many tickets in one query per chunk of ids."""
    parts: dict[int, list[str]] = {}
    for start in range(0, len(ticket_ids), CHUNK):
        chunk = list(ticket_ids[start : start + CHUNK])
        query = (
            select(Message.ticket_id, Message.clean_text)
            .where(Message.ticket_id.in_(chunk), *request_filters())  # type: ignore[union-attr]
            .order_by(Message.id)  # type: ignore[arg-type]
        )
        for ticket_id, text in session.execute(query):
            parts.setdefault(ticket_id, []).append(text)
    return {ticket_id: "\n\n".join(texts)[:MAX_CLASSIFIED_CHARS] for ticket_id, texts in parts.items()}


def tags_for(subject: str, body: str, channel: str) -> Classification:
    """The classifiers' tags for a ticket's text (pure)."""
    from classifiers import classify

    return classify(subject, body, channel)


def apply_tags(session: Session, ticket: Ticket, result: Classification) -> None:
    """Store a classification on a ticket (not one whose tags are locked); a change of tags is a
    "tagged" event."""
    assert ticket.id is not None and not ticket.tags_locked
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
        add_event(session, ticket.id, "tagged", **new_tags, confidence=dict(result.confidence), **({"province_candidate": candidate} if candidate else {}))
        if new_tags["province_code"] != old_tags["province_code"]:
            from tickets.search import refresh_search_text

            refresh_search_text(session, ticket.id)  # the province's name is searchable


def classify_and_route(engine: Engine, ticket_ids: Sequence[int]) -> RouteOutcome:
    """Tag tickets and propose their escalations (rules in config/routing.toml), in one
    transaction; then hand the escalations that need no review to the notifiers and run the
    after-routing hooks. A ticket whose tags a coordinator locked is left alone."""
    from tickets.routing_stage import route_in_session

    ids = sorted(set(ticket_ids))  # row locks (PostgreSQL) always taken in the same order
    outcome = RouteOutcome()
    with session_scope(engine) as session, batched_events(session):  # events and clocks written once per batch
        tickets = _load_tickets(session, ids)
        texts = request_texts(session, ids)
        for ticket_id in ids:
            ticket = tickets.get(ticket_id)
            if ticket is None:
                outcome.retry[ticket_id] = LookupError(f"ticket {ticket_id} does not exist")
                continue
            if ticket.tags_locked:
                outcome.locked.append(ticket_id)
                continue
            text = texts.get(ticket_id, "")
            try:
                with session.begin_nested():
                    apply_tags(session, ticket, tags_for(ticket.subject, text, ticket.channel))
                    escalations = route_in_session(session, ticket_id, lambda text=text: text)  # type: ignore[misc]
            except Exception as exc:  # noqa: BLE001 - rolled back alone; retried alone by the caller
                log.warning("ticket not tagged", extra={"ticket_id": ticket_id, "error": describe_error(exc)})
                outcome.retry[ticket_id] = exc
                continue
            outcome.tagged.append(ticket_id)
            outcome.deliveries.extend(escalations)
    _deliver(outcome.deliveries)
    for ticket_id in outcome.tagged:
        try:
            for hook in AFTER_ROUTING_HOOKS:
                hook(engine, ticket_id)
        except Exception as exc:  # noqa: BLE001 - the ticket runs again alone, hooks included
            log.warning("after-routing hook failed", extra={"ticket_id": ticket_id, "error": describe_error(exc)})
            outcome.retry[ticket_id] = exc
    return outcome


def _load_tickets(session: Session, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
    found: dict[int, Ticket] = {}
    for start in range(0, len(ticket_ids), CHUNK):
        query = select(Ticket).where(Ticket.id.in_(ticket_ids[start : start + CHUNK]))  # type: ignore[union-attr]
        found.update({t.id or 0: t for t in session.execute(query.execution_options(populate_existing=True)).scalars()})
    return found


def _deliver(escalation_ids: Sequence[int]) -> None:
    from notifiers.dispatch import request_delivery

    for escalation_id in escalation_ids:
        try:
            request_delivery(escalation_id)
        except Exception as exc:  # noqa: BLE001 - stays ready to send: the periodic pass sends it (notifiers/reminders.py)
            log.warning("escalation left for the periodic pass", extra={"escalation_id": escalation_id, "error": describe_error(exc)})


def classify_ticket(engine: Engine, ticket_id: int) -> bool:
    """Tag one ticket. Returns False when a coordinator has locked its tags by hand."""
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise LookupError(f"ticket {ticket_id} does not exist")
        if ticket.tags_locked:
            return False
        apply_tags(session, ticket, tags_for(ticket.subject, request_text(session, ticket_id), ticket.channel))
    return True


def route_ticket(engine: Engine, ticket_id: int) -> list[int]:
    """Propose escalations for a tagged ticket (rules in config/routing.toml).

    Returns the escalations to send at once (rules that need no review); the caller hands
    them to the notifiers.
    """
    from tickets.routing_stage import route

    return route(engine, ticket_id)


def process_raw_item_now(engine: Engine, raw_item_id: int, max_attachment_bytes: int) -> ThreadOutcome | None:
    """Run every stage for one raw item in this thread, without a broker. A quarantined item
    gives None; a transient error is raised (the item stays pending, or failed)."""
    intake = normalize_and_thread(engine, [raw_item_id], max_attachment_bytes)
    for error in (*intake.retry_raw.values(), *intake.retry_messages.values()):
        if raw_item_id in intake.retry_raw:
            record_raw_failure(engine, raw_item_id, "normalize", describe_error(error), permanent=False)
        raise error
    threaded = intake.threads.get(raw_item_id)
    if threaded is None or threaded.ticket_id is None or not intake.to_classify:
        return threaded
    routed = classify_and_route(engine, intake.to_classify)
    for error in routed.retry.values():
        raise error
    return threaded


def pending_raw_item_ids(engine: Engine, *, include_failed: bool = True) -> list[int]:
    states = [RawState.PENDING.value] + ([RawState.FAILED.value] if include_failed else [])
    with session_scope(engine) as session:
        return list(session.execute(select(RawItem.id).where(RawItem.state.in_(states)).order_by(RawItem.id)).scalars())  # type: ignore[attr-defined, arg-type]
