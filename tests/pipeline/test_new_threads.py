"""The set-based opening of new threads (tickets/new_threads.py) writes exactly what the
one-message-at-a-time threader writes: the same tickets, thread keys, events, search texts and
clocks; and it leaves to the threader every message whose thread is not certainly new."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.pipeline.conftest import citizen_emails, thread_email
from tickets import new_threads, pipeline
from tickets.clock_models import TicketClock
from tickets.db import dispose_engines, session_scope
from tickets.models import Message, ThreadKey, Ticket, TicketEvent
from tickets.search_models import TicketSearch
from tiepnhan import runtime
from tiepnhan.intake import accept

VOLATILE = {"id", "at", "updated_at", "ticket_id", "message_id"}


def snapshot(engine: Any) -> dict[str, Any]:
    """Everything threading wrote, keyed by what identifies it across two databases (the
    message's Message-ID), without row ids and clock times."""
    with session_scope(engine) as session:
        messages = {m.id: m for m in session.execute(select(Message)).scalars()}
        tickets = {t.id: t for t in session.execute(select(Ticket)).scalars()}
        first = {}
        for m in sorted(messages.values(), key=lambda m: m.id or 0):
            first.setdefault(m.ticket_id, m.external_id)  # a ticket by its first message

        def name(ticket_id: int | None) -> str | None:
            return first.get(ticket_id)

        def plain(row: Any) -> dict[str, Any]:
            return {k: v for k, v in row.model_dump().items() if k not in VOLATILE}

        return {
            "tickets": {name(t.id): plain(t) for t in tickets.values()},
            "messages": {m.external_id: (name(m.ticket_id), m.threaded) for m in messages.values()},
            "keys": sorted((k.key, name(k.ticket_id)) for k in session.execute(select(ThreadKey)).scalars()),
            "events": sorted(
                (name(e.ticket_id), e.kind, repr(sorted((k, v) for k, v in e.data.items() if k not in VOLATILE)))
                for e in session.execute(select(TicketEvent)).scalars()
            ),
            "search": {name(s.ticket_id): s.folded for s in session.execute(select(TicketSearch)).scalars()},
            "clocks": {name(c.ticket_id): {k: v for k, v in plain(c).items() if not k.endswith("minutes")} for c in session.execute(select(TicketClock)).scalars()},
        }


def batch(index: int) -> list[Any]:
    """New threads, a thread whose root and reply come together, a reply to an earlier thread."""
    items = citizen_emails(6, prefix=f"new-{index}")
    items.append(thread_email(f"root-{index}@example.vn", "Hỏi về hưu trí", "Tôi sắp nghỉ hưu."))
    items.append(thread_email(f"re-{index}@example.vn", "Re: Hỏi về hưu trí", "Bổ sung.", in_reply_to=f"root-{index}@example.vn"))
    if index:
        items.append(thread_email(f"late-{index}@example.vn", "Re: Hỏi", "Thêm nữa.", in_reply_to=f"root-{index - 1}@example.vn"))
    # Fixed arrival times, so both databases hold the same times.
    return [replace(item, arrived_at=datetime(2025, 10, 6, 1, index, n, tzinfo=UTC)) for n, item in enumerate(items)]


def run(configure: Any, url: str, *, set_based: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    configure(url)
    engine = runtime.engine()
    with monkeypatch.context() as patch:
        if not set_based:
            patch.setattr(new_threads, "new_thread_messages", lambda session, messages: [])
        for index in range(3):
            saved = accept(engine, batch(index), enqueue=False)
            pipeline.normalize_and_thread(engine, [s.raw_item_id for s in saved], 1 << 20)
    found = snapshot(engine)
    dispose_engines()
    return found


def test_set_based_new_threads_write_what_the_threader_writes(configure: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_by_one = run(configure, f"sqlite:///{tmp_path / 'one.db'}", set_based=False, monkeypatch=monkeypatch)
    set_based = run(configure, f"sqlite:///{tmp_path / 'set.db'}", set_based=True, monkeypatch=monkeypatch)
    assert len(one_by_one["tickets"]) == 3 * 7
    assert set_based["messages"] == one_by_one["messages"]
    assert set_based["keys"] == one_by_one["keys"]
    assert set_based["events"] == one_by_one["events"]
    assert set_based["search"] == one_by_one["search"]
    assert set_based["clocks"] == one_by_one["clocks"]
    assert set_based["tickets"] == one_by_one["tickets"]


def test_only_certainly_new_threads_take_the_set_based_path(configure: Any, sqlite_url: str) -> None:
    configure(sqlite_url)
    engine = runtime.engine()
    first = accept(engine, [thread_email("old@example.vn", "Hỏi", "Xin hỏi.")], enqueue=False)
    pipeline.normalize_and_thread(engine, [first[0].raw_item_id], 1 << 20)
    items = [
        thread_email("fresh@example.vn", "Hỏi mới", "Câu hỏi mới."),
        thread_email("reply@example.vn", "Re: Hỏi", "Bổ sung.", in_reply_to="old@example.vn"),  # names a parent
        thread_email("twin-a@example.vn", "Hỏi", "Một."),
    ]  # (the reply's thread has a ticket: the threader adopts it there)
    saved = accept(engine, items, enqueue=False)
    taken: list[list[str]] = []
    real = new_threads.new_thread_messages

    def spy(session: Any, messages: Any) -> Any:
        chosen = real(session, messages)
        taken.append([m.external_id for m in chosen])
        return chosen

    new_threads.new_thread_messages = spy  # type: ignore[assignment]
    try:
        pipeline.normalize_and_thread(engine, [s.raw_item_id for s in saved], 1 << 20)
    finally:
        new_threads.new_thread_messages = real  # type: ignore[assignment]
    assert len(taken) == 1 and sorted(e.strip("<>") for e in taken[0]) == ["fresh@example.vn", "twin-a@example.vn"]
    with session_scope(engine) as session:
        owners = dict(session.execute(select(Message.external_id, Message.ticket_id)).all())  # type: ignore[call-overload]
    old_ticket = next(t for e, t in owners.items() if "old@" in e)
    assert next(t for e, t in owners.items() if "reply@" in e) == old_ticket
