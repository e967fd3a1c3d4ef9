"""The batched stages keep the pipeline's guarantees (issue 16), on SQLite and PostgreSQL:
one transaction per stage per batch and one message for the next stage; a bad item quarantined
alone; an item failing for another reason retried alone while its batch commits; a redelivered
batch changes nothing; two batches holding one new thread make one ticket; a reply seen before
its original is adopted; the after-routing hooks run once per finished ticket."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import dramatiq
import pytest
from sqlalchemy import event, select

from tests.pipeline.conftest import citizen_emails, table_counts, thread_email
from tickets import pipeline
from tickets.db import session_scope
from tickets.models import Message, RawItem, Ticket
from tickets.store import RawInput
from tiepnhan import runtime
from tiepnhan.intake import accept


class EnqueueCounter(dramatiq.Middleware):
    """Messages sent, by actor (a delayed message is enqueued again when due: counted once)."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int) -> None:  # type: ignore[type-arg]
        self.ids.setdefault(message.actor_name, set()).add(message.message_id)

    @property
    def sent(self) -> Counter[str]:
        return Counter({actor: len(ids) for actor, ids in self.ids.items()})


def count_transactions(engine: Any) -> list[int]:
    begun = [0]

    def on_begin(_connection: Any) -> None:
        begun[0] += 1

    event.listen(engine, "begin", on_begin)
    return begun


def test_each_stage_is_one_transaction_for_its_whole_batch(configure: Any, db_url: str) -> None:
    configure(db_url)
    engine = runtime.engine()
    saved = accept(engine, citizen_emails(30), enqueue=False)
    begun = count_transactions(engine)
    intake = pipeline.normalize_and_thread(engine, [s.raw_item_id for s in saved], 1 << 20)
    assert begun[0] == 1
    assert len(intake.to_classify) == 30 and not intake.retry_raw and not intake.retry_messages and not intake.quarantined
    routed = pipeline.classify_and_route(engine, intake.to_classify)
    assert begun[0] == 2
    assert sorted(routed.tagged) == sorted(intake.to_classify) and not routed.retry
    found = table_counts(engine)
    assert found["processed"] == found["messages"] == found["threaded"] == found["tickets"] == found["tagged"] == 30


def test_one_message_per_batch_for_each_stage(configure: Any, sqlite_url: str) -> None:
    configure(sqlite_url)
    from tiepnhan.embedded import drain, embedded_worker

    counter = EnqueueCounter()
    dramatiq.get_broker().add_middleware(counter)
    engine = runtime.engine()
    with embedded_worker(2):
        accept(engine, citizen_emails(120), enqueue=True)
        drain()
    assert counter.sent == {"normalize_batch": 1, "classify_batch": 1}
    assert table_counts(engine)["tagged"] == 120


def test_a_bad_item_is_quarantined_alone_and_its_batch_goes_on(configure: Any, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(db_url)
    engine = runtime.engine()
    from ingest import registry
    from ingest.email import parse_email

    def overlong_parser(content: bytes, context: registry.ParseContext) -> Any:
        message = parse_email(content, max_attachment_bytes=context.max_attachment_bytes)
        return replace(message, reply_token="TN-000001." + "a" * 300)  # the column holds 200: PostgreSQL refuses it

    monkeypatch.setitem(registry.PARSERS, "overlong", overlong_parser)
    good = citizen_emails(8)
    unparseable = RawInput(source="hotro", kind="email", external_id="empty", content=b"")
    refused = RawInput(source="hotro", kind="overlong", external_id="<overlong@example.vn>", content=thread_email("overlong@example.vn", "Hỏi", "Xin hỏi").content)
    saved = accept(engine, [*good[:4], unparseable, refused, *good[4:]], enqueue=False)
    intake = pipeline.normalize_and_thread(engine, [s.raw_item_id for s in saved], 1 << 20)
    bad = {saved[4].raw_item_id} | ({saved[5].raw_item_id} if engine.dialect.name == "postgresql" else set())
    assert set(intake.quarantined) == bad
    with session_scope(engine) as session:
        states = dict(session.execute(select(RawItem.id, RawItem.state)).all())  # type: ignore[call-overload]
        errors = dict(session.execute(select(RawItem.id, RawItem.error_stage)).all())  # type: ignore[call-overload]
        attempts = dict(session.execute(select(RawItem.id, RawItem.attempts)).all())  # type: ignore[call-overload]
    assert all(states[i] == "quarantined" and errors[i] == "normalize" and attempts[i] == 1 for i in bad)
    assert all(states[s.raw_item_id] == "processed" for s in saved if s.raw_item_id not in bad)
    found = table_counts(engine)
    assert found["processed"] == found["messages"] == found["threaded"] == len(saved) - len(bad)
    assert found["tickets"] == 8  # the good ones (SQLite stores the over-long token: an answer on ticket 1)


def test_an_item_failing_otherwise_is_retried_alone_while_its_batch_commits(configure: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(sqlite_url, worker={"min_backoff_ms": 10, "max_backoff_ms": 50})
    from tiepnhan.embedded import drain, embedded_worker

    real_thread = pipeline.thread_message
    failures: list[int] = []

    def flaky_thread(session: Any, message_id: int, **options: Any) -> Any:
        message = session.get(Message, message_id)
        if "số 3" in message.subject and not failures:
            failures.append(message_id)
            session.execute(select(Ticket.id).where(Ticket.id == -1))  # some SQL ran in the savepoint
            raise ConnectionError("lost the database for a moment")
        return real_thread(session, message_id, **options)

    monkeypatch.setattr(pipeline, "thread_message", flaky_thread)
    counter = EnqueueCounter()
    dramatiq.get_broker().add_middleware(counter)
    engine = runtime.engine()
    emails = citizen_emails(10)
    # A reply (to a mail we never saw) goes through the threader one message at a time.
    emails[3] = thread_email("reply-3@example.vn", "Re: Hỏi về thẻ BHYT số 3", "Bổ sung.", in_reply_to="unseen@example.vn")
    with embedded_worker(2):
        accept(engine, emails, enqueue=True)
        drain()
    assert len(failures) == 1
    assert counter.sent["normalize_batch"] == 1 and counter.sent["thread_message"] == 1  # only that one, alone
    found = table_counts(engine)
    assert found["tickets"] == found["tagged"] == found["threaded"] == 10 and found["created_events"] == 10


def test_a_redelivered_batch_changes_nothing(configure: Any, db_url: str) -> None:
    configure(db_url)
    engine = runtime.engine()
    ids = [s.raw_item_id for s in accept(engine, citizen_emails(12), enqueue=False)]
    first = pipeline.normalize_and_thread(engine, ids, 1 << 20)
    pipeline.classify_and_route(engine, first.to_classify)
    before = table_counts(engine)
    again = pipeline.normalize_and_thread(engine, ids, 1 << 20)  # at-least-once: the same message twice
    pipeline.classify_and_route(engine, again.to_classify)
    assert sorted(again.to_classify) == sorted(first.to_classify)
    assert table_counts(engine) == before


def run_concurrently(work: list[Any]) -> list[BaseException]:
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Any) -> None:
        barrier.wait()
        for _attempt in range(20):
            try:
                job()
                return
            except Exception as exc:  # noqa: BLE001 - a lock conflict is retried, as the broker would
                error = exc
        errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_batches_holding_one_new_thread_make_one_ticket(configure: Any, db_url: str) -> None:
    configure(db_url)
    engine = runtime.engine()
    for round_ in range(4):
        root = f"root-{round_}@example.vn"
        thread = [thread_email(root, "Hỏi về sổ BHXH", "Xin hỏi chốt sổ ở đâu?")]
        thread += [thread_email(f"reply-{round_}-{n}@example.vn", "Re: Hỏi về sổ BHXH", f"Bổ sung {n}", in_reply_to=root) for n in range(3)]
        others = citizen_emails(20, prefix=f"other-{round_}")
        # Each batch holds two messages of the thread (the root in one, only replies in the other).
        first = accept(engine, [*others[:10], thread[0], thread[1]], enqueue=False)
        second = accept(engine, [thread[3], *others[10:], thread[2]], enqueue=False)
        errors = run_concurrently(
            [lambda batch=batch: pipeline.normalize_and_thread(engine, [s.raw_item_id for s in batch], 1 << 20) for batch in (first, second)]
        )
        assert not errors
        with session_scope(engine) as session:
            thread_raw_ids = [first[-2].raw_item_id, first[-1].raw_item_id, second[0].raw_item_id, second[-1].raw_item_id]
            owners = set(session.execute(select(Message.ticket_id).where(Message.raw_item_id.in_(thread_raw_ids))).scalars())  # type: ignore[attr-defined]
            assert len(owners) == 1 and None not in owners
            ticket = session.get(Ticket, owners.pop())
            assert ticket is not None and ticket.message_count == 4 and ticket.subject == "Hỏi về sổ BHXH"
    found = table_counts(engine)
    assert found["tickets"] == 4 * 21 and found["created_events"] == 4 * 21 and found["threaded"] == 4 * 24


@pytest.mark.parametrize("together", [False, True])
def test_a_reply_seen_before_its_original_is_adopted(configure: Any, db_url: str, together: bool) -> None:
    configure(db_url)
    engine = runtime.engine()
    original = thread_email("first@example.vn", "Hỏi về trợ cấp thất nghiệp", "Tôi nghỉ việc tháng 9, hỏi thủ tục.")
    reply = thread_email("second@example.vn", "Re: Hỏi về trợ cấp thất nghiệp", "Tôi gửi thêm giấy tờ.", in_reply_to="first@example.vn")
    # The mailbox received the original first; the sync saw the reply first (another folder).
    original = replace(original, arrived_at=datetime(2025, 10, 6, 1, 0, tzinfo=UTC))
    reply = replace(reply, arrived_at=datetime(2025, 10, 6, 1, 5, tzinfo=UTC))
    if together:  # one batch, the reply stored (and threaded) first
        saved = accept(engine, [reply, original], enqueue=False)
        pipeline.normalize_and_thread(engine, [s.raw_item_id for s in saved], 1 << 20)
    else:
        for item in (reply, original):
            (saved_one,) = accept(engine, [item], enqueue=False)
            pipeline.normalize_and_thread(engine, [saved_one.raw_item_id], 1 << 20)
    with session_scope(engine) as session:
        [ticket] = session.execute(select(Ticket)).scalars().all()
        owners = set(session.execute(select(Message.ticket_id)).scalars())
    assert owners == {ticket.id}
    assert ticket.message_count == 2 and ticket.subject == "Hỏi về trợ cấp thất nghiệp"
    assert ticket.created_at == datetime(2025, 10, 6, 1, 0, tzinfo=UTC)


def test_after_routing_hooks_run_once_per_finished_ticket(configure: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(sqlite_url, worker={"min_backoff_ms": 10, "max_backoff_ms": 50})
    from tiepnhan.embedded import drain, embedded_worker

    seen: list[tuple[int, bool]] = []
    failed_once: list[int] = []

    def hook(engine: Any, ticket_id: int) -> None:
        with session_scope(engine) as session:  # another transaction: sees only what was committed
            ticket = session.get(Ticket, ticket_id)
            tagged = ticket is not None and ticket.tagged_at is not None
        if "số 5" in (ticket.subject if ticket else "") and not failed_once:
            failed_once.append(ticket_id)
            raise TimeoutError("the answering service did not answer")
        seen.append((ticket_id, tagged))

    monkeypatch.setattr(pipeline, "AFTER_ROUTING_HOOKS", [hook])
    engine = runtime.engine()
    with embedded_worker(2):
        accept(engine, citizen_emails(9), enqueue=True)
        drain()
    assert len(failed_once) == 1
    assert sorted(t for t, _ in seen) == sorted({t for t, _ in seen}) and len(seen) == 9  # once each; the failed one again, alone
    assert all(tagged for _, tagged in seen)
