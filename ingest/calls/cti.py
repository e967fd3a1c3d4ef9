"""Call events from the call center's CTI integration, and the check of their signature. Pure.

POST /webhooks/calls carries one JSON event (or a list of them):
    {"event": "newCall" | "answer" | "hangup", "callId": "…", "from": "…", "to": "…",
     "direction": "inbound" | "outbound", "user": "<agent>", "timestamp": "<ISO 8601 or epoch ms>",
     "cause": "<optional, hangup: abandoned | no_answer>", "summary": "<optional, hangup: the agent's summary>"}
signed with the shared secret ([call_center] secret_env) as
    X-CTI-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>   (RFC 2104; compared in constant time)
The events of one call are folded into one call (`apply_event`); a replayed event changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ingest.calls.record import CallDirection, CallOutcome, CallRecordData, outcome_without_answer
from ingest.phone import normalize_phone
from tickets.normalized import safe_line, safe_text

SIGNATURE_HEADER = "x-cti-signature"
EVENTS = ("newCall", "answer", "hangup")
EARLIEST_MS, LATEST_MS = 946_684_800_000, 4_102_444_800_000


class CtiEventError(ValueError):
    """The body is signed but is not an event we can read (Vietnamese message)."""


@dataclass(frozen=True)
class CtiEvent:
    event: str
    call_id: str
    at: datetime
    direction: CallDirection
    citizen_number: str | None  # "from" of an inbound call, "to" of an outbound one
    line_number: str
    agent: str
    cause: str = ""
    summary: str = ""


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(body, secret).encode("ascii"), header.strip().encode("ascii", "replace"))


def _string(value: Any) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _time(value: Any, now: datetime) -> datetime:
    text = _string(value).strip()
    if not text:
        return now
    if text.isdigit():
        if not EARLIEST_MS <= int(text) <= LATEST_MS:
            raise CtiEventError(f"timestamp {text[:20]!r} không phải mili giây hợp lệ")
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CtiEventError(f"timestamp {safe_line(text)[:40]!r} không đọc được (ISO 8601 hoặc mili giây)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def read_event(item: Any, now: datetime) -> CtiEvent:
    if not isinstance(item, dict):
        raise CtiEventError("mỗi sự kiện phải là một đối tượng JSON")
    name = _string(item.get("event"))
    if name not in EVENTS:
        raise CtiEventError(f"sự kiện {safe_line(name)[:30]!r} không rõ; chỉ nhận: {', '.join(EVENTS)}")
    call_id = safe_line(_string(item.get("callId")))
    if not call_id or len(call_id) > 200:
        raise CtiEventError("thiếu callId (hoặc dài quá 200 ký tự)")
    direction_text = _string(item.get("direction")) or "inbound"
    try:
        direction = CallDirection(direction_text)
    except ValueError:
        raise CtiEventError(f"direction {safe_line(direction_text)[:20]!r} phải là inbound hoặc outbound") from None
    citizen, line = (item.get("from"), item.get("to")) if direction is CallDirection.INBOUND else (item.get("to"), item.get("from"))
    return CtiEvent(
        event=name, call_id=call_id, at=_time(item.get("timestamp"), now), direction=direction, citizen_number=normalize_phone(_string(citizen)),
        line_number=safe_line(_string(line))[:40], agent=safe_line(_string(item.get("user")))[:200], cause=safe_line(_string(item.get("cause")))[:40],
        summary=safe_text(_string(item.get("summary"))).strip()[:10_000],
    )  # fmt: skip


def read_events(body: bytes, now: datetime) -> list[CtiEvent]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise CtiEventError("nội dung không phải JSON hợp lệ") from None
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > 500:
        raise CtiEventError("cần từ 1 đến 500 sự kiện")
    return [read_event(item, now) for item in items]


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int(round((end - start).total_seconds())))


def apply_event(call: CallRecordData | None, event: CtiEvent, ring_timeout_seconds: int) -> CallRecordData:
    """The call after this event. Events may arrive out of order or twice: each fills in only
    what it knows (the first ring, the answer, the hang-up), and outcome and times follow."""
    if call is None:
        if event.citizen_number is None and event.event == "newCall":
            raise CtiEventError("số điện thoại của người dân (from/to) không phải số Việt Nam")
        call = CallRecordData(call_id=event.call_id, started_at=event.at, citizen_number=event.citizen_number or "", direction=event.direction)
    changes: dict[str, Any] = {}
    if event.citizen_number and not call.citizen_number:
        changes["citizen_number"] = event.citizen_number
    if event.line_number and not call.line_number:
        changes["line_number"] = event.line_number
    if event.agent and not call.agent:
        changes["agent"] = event.agent
    if event.event == "newCall" and event.at < call.started_at:
        changes["started_at"] = event.at
    if event.event == "answer" and call.answered_at is None:
        changes["answered_at"] = event.at
    if event.event == "hangup" and call.ended_at is None:
        changes["ended_at"] = event.at
        if event.summary:
            changes["summary"] = event.summary
    call = replace(call, **changes)
    if call.ended_at is not None:
        if call.answered_at is not None:
            call = replace(call, outcome=CallOutcome.ANSWERED, wait_seconds=_seconds(call.started_at, call.answered_at), duration_seconds=_seconds(call.answered_at, call.ended_at))
        else:
            wait = _seconds(call.started_at, call.ended_at)
            cause = event.cause if event.event == "hangup" else ""
            call = replace(call, outcome=call.outcome or outcome_without_answer(wait, ring_timeout_seconds, cause), wait_seconds=wait, duration_seconds=0)
    return call
