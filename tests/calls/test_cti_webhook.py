"""POST /webhooks/calls over real HTTP (uvicorn on loopback), the pipeline on worker threads:
good and forged signatures, a replayed event, a call's events folded into one record, a hang-up
with the agent's summary on a ticket, an unreadable signed body kept and quarantined."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from config.settings import Settings
from ingest.calls.cti import sign
from ingest.calls.models import CallRecord
from tests.webapp.server import serve
from tickets.db import session_scope
from tickets.models import Message, RawItem, Ticket
from tiepnhan import runtime
from tiepnhan.embedded import embedded_worker

SECRET = "bi-mat-chung-cua-tong-dai-2025"


@pytest.fixture
def site(configure: Callable[..., Settings], db_url: str, tmp_path: Path) -> Iterator[str]:
    settings = configure(db_url, call_center={"name": "tongdai", "secret": SECRET, "ring_timeout_seconds": 20}, web={"secret_key": "k" * 40})
    with embedded_worker(2), serve(settings) as url:
        yield url


def post(url: str, events: object, secret: str = SECRET, signature: str | None = None) -> httpx.Response:
    body = json.dumps(events, ensure_ascii=False).encode()
    header = signature if signature is not None else sign(body, secret)
    return httpx.post(f"{url}/webhooks/calls", content=body, headers={"x-cti-signature": header, "content-type": "application/json"}, timeout=30)


def event(name: str, at: str, call_id: str = "c-100", **extra: str) -> dict[str, str]:
    return {"event": name, "callId": call_id, "from": "0912 555 666", "to": "19009068", "direction": "inbound", "user": "ha", "timestamp": at, **extra}


def records() -> list[CallRecord]:
    with session_scope(runtime.engine()) as session:
        return list(session.execute(select(CallRecord)).scalars())


def test_forged_or_missing_signatures_store_nothing(site: str) -> None:
    assert post(site, event("newCall", "2025-11-24T08:00:00+07:00"), secret="khong-phai-bi-mat-cua-ta").status_code == 403
    assert post(site, event("newCall", "2025-11-24T08:00:00+07:00"), signature="").status_code == 403
    assert post(site, event("newCall", "2025-11-24T08:00:00+07:00"), signature="sha256=" + "0" * 64).status_code == 403
    assert records() == []


def test_a_replayed_event_changes_nothing_and_the_calls_events_make_one_record(site: str) -> None:
    first = post(site, event("newCall", "2025-11-24T08:00:00+07:00"))
    assert first.status_code == 200 and first.json()["new"] == 1
    replay = post(site, event("newCall", "2025-11-24T08:00:00+07:00"))
    assert replay.status_code == 200 and replay.json()["replayed"] == 1
    assert post(site, [event("answer", "2025-11-24T08:00:12+07:00"), event("answer", "2025-11-24T08:00:12+07:00")]).json()["replayed"] == 1
    assert post(site, event("hangup", "2025-11-24T08:04:12+07:00")).status_code == 200
    (call,) = records()
    assert (call.outcome, call.wait_seconds, call.duration_seconds, call.citizen_number, call.agent, call.has_summary) == ("answered", 12, 240, "0912555666", "ha", False)
    assert len(call.events) == 3


def test_the_same_event_sent_at_once_by_several_deliveries_is_one_call(site: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    same = event("newCall", "2025-11-24T11:00:00+07:00", "c-race")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _n: post(site, same).json(), range(8)))
    assert sum(a["new"] for a in answers) == 1 and sum(a["replayed"] for a in answers) == 7
    (call,) = records()
    assert call.events == ["newCall@2025-11-24T11:00:00+07:00"]


def test_an_unanswered_call_is_abandoned_or_missed(site: str) -> None:
    post(site, [event("newCall", "2025-11-24T09:00:00+07:00", "c-a"), event("hangup", "2025-11-24T09:00:08+07:00", "c-a")])
    post(site, [event("newCall", "2025-11-24T09:01:00+07:00", "c-m"), event("hangup", "2025-11-24T09:01:45+07:00", "c-m")])
    assert sorted((r.call_id, r.outcome, r.wait_seconds) for r in records()) == [("c-a", "abandoned", 8), ("c-m", "missed", 45)]


def test_a_hangup_with_the_agents_summary_becomes_a_ticket(site: str) -> None:
    summary = "Người dân khiếu nại công ty ở Bắc Ninh nợ BHXH, không chốt sổ cho người lao động. Đề nghị BHXH tỉnh kiểm tra."
    post(site, [event("newCall", "2025-11-24T10:00:00+07:00", "c-s"), event("answer", "2025-11-24T10:00:05+07:00", "c-s"),
                event("hangup", "2025-11-24T10:06:05+07:00", "c-s", summary=summary)])  # fmt: skip
    deadline = time.monotonic() + 15
    ticket = None
    while time.monotonic() < deadline:
        with session_scope(runtime.engine()) as session:
            ticket = session.execute(select(Ticket).join(Message, Message.ticket_id == Ticket.id).where(Message.external_id == "call:tongdai:c-s")).scalar()  # type: ignore[arg-type]
            if ticket is not None and ticket.tagged_at is not None:
                break
        time.sleep(0.1)
    assert ticket is not None and ticket.channel == "call" and ticket.sender_address == "0912555666"
    assert ticket.category == "complaint"
    (call,) = records()
    assert call.has_summary and call.raw_item_id is not None


def test_a_signed_body_that_cannot_be_read_is_kept_and_quarantined(site: str) -> None:
    answer = post(site, {"event": "ring", "callId": "x"})
    assert answer.status_code == 400 and "không rõ" in answer.json()["error"]
    with session_scope(runtime.engine()) as session:
        kept = session.execute(select(func.count()).select_from(RawItem).where(RawItem.state == "quarantined")).scalar_one()
    assert kept == 1 and records() == []
