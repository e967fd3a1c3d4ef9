"""What the call center's records do to the store (side effects; the reading is in log_file.py and cti.py).

Every call becomes one call_record row (unique per source and call id). A call with the agent's
summary also enters through `tiepnhan.intake.accept` (raw first, idempotent) as a message: on the
caller's open ticket when the number matches one touched within `match_open_ticket_days`, else on
a new ticket (calls of one number in one batch share it). Numbers are masked in logs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.settings import CallCenterConfig
from ingest.calls.cti import CtiEvent, apply_event
from ingest.calls.models import CallRecord
from ingest.calls.normalize import call_key, call_raw_input
from ingest.calls.record import CallDirection, CallOutcome, CallRecordData
from ingest.phone import mask_phone
from tickets.db import session_scope
from tickets.models import Ticket, TicketStatus, ticket_reference, utcnow
from tickets.store import RawInput, insert_ignoring_duplicates
from tiepnhan.intake import accept

log = logging.getLogger(__name__)

CLOSED_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value, TicketStatus.SPAM.value)
CHUNK = 500


@dataclass
class CallIntake:
    new_calls: int = 0
    known_calls: int = 0  # stored before (a re-imported file): nothing changed
    new_messages: int = 0  # summaries that became messages
    raw_item_ids: list[int] = field(default_factory=list)


def open_ticket_for(session: Session, number: str, since: datetime) -> int | None:
    """The caller's most recently touched open ticket (any channel whose sender is this number)."""
    row = session.execute(
        select(Ticket.id).where(Ticket.sender_address == number, Ticket.status.not_in(CLOSED_STATUSES), Ticket.updated_at >= since)  # type: ignore[arg-type, union-attr, attr-defined]
        .order_by(Ticket.updated_at.desc()).limit(1)  # type: ignore[attr-defined]
    ).first()
    return int(row[0]) if row else None


def summary_inputs(session: Session, config: CallCenterConfig, calls: Sequence[CallRecordData], now: datetime) -> list[RawInput]:
    """The raw items of the calls with a summary, each pointed at its ticket."""
    window = timedelta(days=config.match_open_ticket_days)
    inputs: list[RawInput] = []
    earlier: dict[str, CallRecordData] = {}  # number → first call of this batch with a summary
    found: dict[str, int | None] = {}
    for call in sorted((c for c in calls if c.summary), key=lambda c: c.started_at):
        number = call.citizen_number
        if number not in found:
            found[number] = open_ticket_for(session, number, now - window) if config.match_open_ticket_days else None
        ticket_id = found[number]
        first = earlier.setdefault(number, call)
        parent = call_key(config.name, first.call_id) if first is not call and call.started_at - first.started_at <= window else None
        inputs.append(call_raw_input(config.name, call, ticket_ref=ticket_reference(ticket_id) if ticket_id else None, parent_key=parent))
    return inputs


def _row(source: str, call: CallRecordData, origin: str, raw_item_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "source": source, "call_id": call.call_id, "direction": call.direction.value, "citizen_number": call.citizen_number, "line_number": call.line_number,
        "agent": call.agent, "outcome": call.outcome.value if call.outcome else None, "started_at": call.started_at, "answered_at": call.answered_at,
        "ended_at": call.ended_at, "duration_seconds": call.duration_seconds, "wait_seconds": call.wait_seconds, "has_summary": bool(call.summary),
        "raw_item_id": raw_item_id, "origin": origin, "events": [], "created_at": now, "updated_at": now,
    }  # fmt: skip


def store_calls(engine: Engine, config: CallCenterConfig, calls: Sequence[CallRecordData], *, enqueue: bool = True, now: datetime | None = None) -> CallIntake:
    """Calls read from a call-log file. A call stored before is left as it is."""
    now = now or utcnow()
    result = CallIntake()
    for start in range(0, len(calls), CHUNK):
        chunk = calls[start : start + CHUNK]
        with session_scope(engine) as session:
            known = set(session.execute(select(CallRecord.call_id).where(CallRecord.source == config.name, CallRecord.call_id.in_([c.call_id for c in chunk]))).scalars())  # type: ignore[attr-defined, arg-type]
            fresh = [c for c in chunk if c.call_id not in known]
            inputs = summary_inputs(session, config, fresh, now)
        saved = accept(engine, inputs, enqueue=enqueue) if inputs else []  # the summaries' raw items first
        raw_ids = {item.origin["call_id"]: s.raw_item_id for item, s in zip(inputs, saved, strict=True)}
        with session_scope(engine) as session:
            inserted = insert_ignoring_duplicates(session, CallRecord, [_row(config.name, c, "import", raw_ids.get(c.call_id), now) for c in fresh], ["source", "call_id"], "id")
        result.new_calls += len(inserted)
        result.known_calls += len(chunk) - len(inserted)
        result.new_messages += sum(1 for s in saved if s.is_new)
        result.raw_item_ids.extend(s.raw_item_id for s in saved if s.is_new)
    log.info("call log stored", extra={"source": config.name, "new": result.new_calls, "known": result.known_calls, "messages": result.new_messages})
    return result


def _as_data(row: CallRecord, summary: str = "") -> CallRecordData:
    return CallRecordData(
        call_id=row.call_id, started_at=row.started_at, citizen_number=row.citizen_number, direction=CallDirection(row.direction),
        outcome=CallOutcome(row.outcome) if row.outcome else None, agent=row.agent, line_number=row.line_number, duration_seconds=row.duration_seconds,
        wait_seconds=row.wait_seconds, answered_at=row.answered_at, ended_at=row.ended_at, summary=summary,
    )  # fmt: skip


def event_key(event: CtiEvent) -> str:
    return f"{event.event}@{event.at.isoformat()}"


def _locked_row(session: Session, source: str, call_id: str) -> CallRecord | None:
    statement = select(CallRecord).where(CallRecord.source == source, CallRecord.call_id == call_id)  # type: ignore[arg-type]
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return session.execute(statement).scalars().first()


def record_cti_event(engine: Engine, config: CallCenterConfig, event: CtiEvent, *, enqueue: bool = True, now: datetime | None = None) -> str:
    """One CTI event folded into its call: "new" (first event of the call), "updated" or "replayed"."""
    now = now or utcnow()
    outcome = "updated"
    with session_scope(engine) as session:
        row = _locked_row(session, config.name, event.call_id)
        if row is None:
            call = apply_event(None, event, config.ring_timeout_seconds)
            created = insert_ignoring_duplicates(session, CallRecord, [{**_row(config.name, call, "cti", None, now), "events": [event_key(event)]}], ["source", "call_id"], "id")
            row = _locked_row(session, config.name, event.call_id)
            assert row is not None
            if created:
                outcome = "new"
            elif event_key(event) in row.events:  # the same event, stored by another process a moment ago
                outcome, call = "replayed", _as_data(row)
            else:
                call = apply_event(_as_data(row), event, config.ring_timeout_seconds)
                row.events = [*row.events, event_key(event)]
        elif event_key(event) in row.events:
            outcome, call = "replayed", _as_data(row)
        else:
            call = apply_event(_as_data(row), event, config.ring_timeout_seconds)
            row.events = [*row.events, event_key(event)]
        if outcome != "replayed":
            for name, value in asdict(call).items():
                if name in ("summary", "call_id"):
                    continue
                setattr(row, name, value.value if hasattr(value, "value") else value)
            row.has_summary = row.has_summary or bool(call.summary)
            row.updated_at = now
            session.add(row)
        needs_summary = bool(call.summary) and row.raw_item_id is None and call.ended_at is not None
        number = row.citizen_number
    if needs_summary:
        with session_scope(engine) as session:
            inputs = summary_inputs(session, config, [call], now)
        saved = accept(engine, inputs, enqueue=enqueue)
        with session_scope(engine) as session:
            row = _locked_row(session, config.name, event.call_id)
            if row is not None:
                row.raw_item_id = saved[0].raw_item_id
                session.add(row)
    log.info("call event", extra={"source": config.name, "event": event.event, "outcome": outcome, "number": mask_phone(number)})
    return outcome
