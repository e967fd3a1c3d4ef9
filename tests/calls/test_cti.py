"""CTI events: the signature, reading, and folding the events of one call."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.calls.cti import CtiEventError, apply_event, read_events, sign, signature_matches
from ingest.calls.record import CallOutcome

SECRET = "bi-mat-tong-dai-2025"
NOW = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)


def event(name: str, seconds: int, **extra: object) -> dict[str, object]:
    return {"event": name, "callId": "c-1", "from": "0912 345 678", "to": "19009068", "direction": "inbound", "user": "ha",
            "timestamp": (NOW + timedelta(seconds=seconds)).isoformat(), **extra}


def test_signature_is_an_hmac_of_the_exact_body() -> None:
    body = json.dumps(event("newCall", 0)).encode()
    assert signature_matches(body, sign(body, SECRET), SECRET)
    assert not signature_matches(body + b" ", sign(body, SECRET), SECRET)
    assert not signature_matches(body, sign(body, "khac-" + SECRET), SECRET)
    assert not signature_matches(body, None, SECRET) and not signature_matches(body, "sha256=zz", SECRET)
    assert not signature_matches(body, sign(body, ""), "")  # no secret configured: nothing verifies


def test_answered_call_times_from_its_events_in_any_order() -> None:
    events = read_events(json.dumps([event("hangup", 200, summary="Hỏi về BHYT"), event("answer", 20), event("newCall", 0)]).encode(), NOW)
    call = None
    for item in events:
        call = apply_event(call, item, ring_timeout_seconds=30)
    assert call is not None
    assert (call.outcome, call.wait_seconds, call.duration_seconds, call.citizen_number, call.summary) == (CallOutcome.ANSWERED, 20, 180, "0912345678", "Hỏi về BHYT")


@pytest.mark.parametrize(("hangup_after", "cause", "outcome"), [(10, "", CallOutcome.ABANDONED), (45, "", CallOutcome.MISSED), (45, "abandoned", CallOutcome.ABANDONED),
                                                                 (5, "no_answer", CallOutcome.MISSED)])
def test_unanswered_calls_are_abandoned_or_missed(hangup_after: int, cause: str, outcome: CallOutcome) -> None:
    first, last = read_events(json.dumps([event("newCall", 0), event("hangup", hangup_after, cause=cause)]).encode(), NOW)
    call = apply_event(apply_event(None, first, 30), last, 30)
    assert (call.outcome, call.wait_seconds, call.duration_seconds) == (outcome, hangup_after, 0)


def test_the_same_event_twice_changes_nothing() -> None:
    newcall, answer = read_events(json.dumps([event("newCall", 0), event("answer", 15)]).encode(), NOW)
    once = apply_event(apply_event(None, newcall, 30), answer, 30)
    assert apply_event(once, answer, 30) == once and once.outcome is None  # still going on


@pytest.mark.parametrize(("item", "reason"), [({"event": "ring", "callId": "x"}, "không rõ"), ({"event": "newCall"}, "callId"),
                                              ({"event": "newCall", "callId": "x", "direction": "up"}, "direction"),
                                              ({"event": "newCall", "callId": "x", "timestamp": "hôm qua"}, "timestamp")])
def test_unreadable_events_say_why(item: dict[str, object], reason: str) -> None:
    with pytest.raises(CtiEventError, match=reason):
        read_events(json.dumps(item).encode(), NOW)
    with pytest.raises(CtiEventError, match="JSON"):
        read_events(b"{", NOW)


@pytest.mark.parametrize("text", ["0912555666", "0912 555 666", "+84 912.555.666", "84912555666", "(024) 3936 1234", "024-3936-1234"])
def test_phone_numbers_never_reach_a_log_line(text: str) -> None:
    from tiepnhan.logs import redact

    masked = redact(f"cuộc gọi từ {text} lúc 08:00")
    assert sum(c.isdigit() for c in masked) <= 4 and masked.endswith("lúc 08:00")  # only the time is left


def test_a_call_event_is_logged_with_the_number_masked(caplog: pytest.LogCaptureFixture, sqlite_engine: object) -> None:
    import logging

    from config.settings import CallCenterConfig
    from ingest.calls.intake import record_cti_event
    from tiepnhan.logs import JsonFormatter

    (newcall,) = read_events(json.dumps(event("newCall", 0)).encode(), NOW)
    with caplog.at_level(logging.INFO, logger="ingest.calls.intake"):
        assert record_cti_event(sqlite_engine, CallCenterConfig(), newcall, enqueue=False) == "new"  # type: ignore[arg-type]
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert lines and all("345678" not in line and "0912 345" not in line for line in lines)
    assert any("0912***678" in line for line in lines)
