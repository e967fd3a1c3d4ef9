"""A call with the agent's summary (the raw item of `call_raw_input`) → NormalizedMessage, channel "call". Pure.

The summary is what classifiers read. `ticket_ref` names the caller's open ticket when intake
found one (ingest/calls/intake.py); `parent_key` the earlier call of the same number in the
same batch, so calls of one person in one file become one ticket whatever order they are
processed in.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ingest.calls.record import CallRecordData
from ingest.registry import ParseContext
from tickets.normalized import Channel, Direction, NormalizedMessage, sanitized
from tickets.store import RawInput

KIND = "call_summary"
SUBJECTS = {"inbound": "Cuộc gọi đến tổng đài", "outbound": "Cuộc gọi từ tổng đài"}


class CallItemError(ValueError):
    """The raw item is not a call summary we can read."""


def call_key(source: str, call_id: str) -> str:
    return f"call:{source}:{call_id}"


def call_raw_input(source: str, call: CallRecordData, *, ticket_ref: str | None, parent_key: str | None) -> RawInput:
    data: dict[str, Any] = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(call).items()}
    envelope = {"source": source, "call": data, "ticket_ref": ticket_ref, "parent_key": parent_key}
    content = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return RawInput(source=source, kind=KIND, external_id=call_key(source, call.call_id), content=content, origin={"call_id": call.call_id}, arrived_at=None)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _minutes(seconds: Any) -> str:
    value = seconds if isinstance(seconds, int) else 0
    return f"{value // 60} phút {value % 60:02d} giây"


def parse_call_item(content: bytes, context: ParseContext) -> NormalizedMessage:
    try:
        envelope = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise CallItemError(f"not a call summary: {type(exc).__name__}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("call"), dict):
        raise CallItemError("not a call summary: no call in it")
    call = envelope["call"]
    source, call_id, summary = _string(envelope.get("source")) or context.source, _string(call.get("call_id")), _string(call.get("summary")).strip()
    if not call_id or not summary:
        raise CallItemError("not a call summary: its call id or summary is missing")
    try:
        started = datetime.fromisoformat(_string(call.get("started_at")))
    except ValueError as exc:
        raise CallItemError("not a call summary: its start time is unreadable") from exc
    direction = _string(call.get("direction")) or "inbound"
    agent = _string(call.get("agent"))
    header = f"Tóm tắt cuộc gọi ({'điện thoại viên ' + agent + ', ' if agent else ''}thời lượng {_minutes(call.get('duration_seconds'))}):"
    key = call_key(source, call_id)
    parent = _string(envelope.get("parent_key"))
    return sanitized(NormalizedMessage(
        channel=Channel.CALL, external_id=key, direction=Direction.INBOUND, sender_address=_string(call.get("citizen_number")) or None, sender_name=None,
        subject=SUBJECTS.get(direction, SUBJECTS["inbound"]), full_text=f"{header}\n{summary}", clean_text=summary, sent_at=started,
        parent_keys=(parent,) if parent else (), own_key=key, ticket_ref=_string(envelope.get("ticket_ref")) or None,
        extra={"call_id": call_id, "call_direction": direction, "agent": agent, "duration_seconds": call.get("duration_seconds"),
               "wait_seconds": call.get("wait_seconds"), "outcome": call.get("outcome")},
    ))  # fmt: skip
