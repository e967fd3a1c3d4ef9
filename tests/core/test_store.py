"""The store on SQLite and PostgreSQL: idempotent writes and one thread → one ticket."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tickets.db import get_engine, migrate, session_scope
from tickets.models import Blob, Message, RawItem, ThreadKey, Ticket, TicketEvent
from tickets.normalized import AttachmentData, Channel, Direction, NormalizedMessage
from tickets.store import RawInput, save_raw_items, store_message
from tickets.threader import thread_message


@pytest.fixture
def engine(db_url: str) -> Engine:
    db = get_engine(db_url)
    migrate(db)
    return db


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def raw(external_id: str, content: bytes | None = None, source: str = "hotro") -> RawInput:
    return RawInput(source=source, kind="email", external_id=external_id, content=content or external_id.encode())


def message(external_id: str, **fields: object) -> NormalizedMessage:
    values: dict[str, object] = {
        "channel": Channel.EMAIL,
        "external_id": external_id,
        "direction": Direction.INBOUND,
        "sender_address": "dan@example.vn",
        "sender_name": "Nguyễn Văn Dân",
        "subject": "Hỏi về thẻ BHYT",
        "full_text": "Xin hỏi",
        "clean_text": "Xin hỏi",
        "sent_at": datetime(2025, 10, 1, 1, 0, tzinfo=UTC),
        "own_key": f"msgid:{external_id}",
    }
    values.update(fields)
    return NormalizedMessage(**values)  # type: ignore[arg-type]


def ingest(engine: Engine, normalized: NormalizedMessage, source: str = "hotro") -> int | None:
    """Store raw + message and thread it, as the pipeline does; returns the ticket id."""
    (saved,) = save_raw_items(engine, [raw(normalized.external_id, source=source)])
    with session_scope(engine) as session:
        raw_row = session.get(RawItem, saved.raw_item_id)
        assert raw_row is not None
        stored = store_message(session, raw_row, normalized)
    with session_scope(engine) as session:
        return thread_message(session, stored.message_id).ticket_id


def test_raw_items_are_idempotent_and_content_addressed(engine: Engine) -> None:
    first = save_raw_items(engine, [raw("a@x", b"same bytes"), raw("b@x", b"same bytes"), raw("c@x")])
    assert [s.is_new for s in first] == [True, True, True]
    again = save_raw_items(engine, [raw("a@x", b"same bytes"), raw("c@x")])
    assert [s.is_new for s in again] == [False, False]
    assert [s.raw_item_id for s in again] == [first[0].raw_item_id, first[2].raw_item_id]
    assert count(engine, RawItem) == 3
    assert count(engine, Blob) == 2  # identical bytes are stored once


def test_same_external_id_from_two_sources_is_two_raw_items(engine: Engine) -> None:
    saved = save_raw_items(engine, [raw("a@x", source="hotro"), raw("a@x", source="tiepnhan")])
    assert all(s.is_new for s in saved)
    assert count(engine, RawItem) == 2


def test_message_stored_once_with_attachments(engine: Engine) -> None:
    attachment = AttachmentData("đơn.pdf", "application/pdf", 4, content=b"%PDF")
    skipped = AttachmentData("video.mp4", "video/mp4", 90_000_000, skipped_reason="vượt giới hạn 25 MB")
    normalized = message("m1@x", attachments=(attachment, skipped))
    ticket_id = ingest(engine, normalized)
    assert ticket_id is not None
    (saved,) = save_raw_items(engine, [raw("m1@x")])
    with session_scope(engine) as session:
        raw_row = session.get(RawItem, saved.raw_item_id)
        assert raw_row is not None
        again = store_message(session, raw_row, normalized)
    assert not again.is_new
    assert count(engine, Message) == 1
    with session_scope(engine) as session:
        blob_hashes = set(session.execute(select(Blob.sha256)).scalars())
    import hashlib

    assert hashlib.sha256(b"%PDF").hexdigest() in blob_hashes


def test_replies_join_the_ticket_by_references(engine: Engine) -> None:
    first = ingest(engine, message("root@x"))
    reply = ingest(engine, message("reply@x", parent_keys=("msgid:root@x",)))
    reply_to_reply = ingest(engine, message("r2@x", parent_keys=("msgid:reply@x", "msgid:root@x")))
    other = ingest(engine, message("other@x"))
    assert first == reply == reply_to_reply
    assert other != first
    with session_scope(engine) as session:
        ticket = session.get(Ticket, first)
        assert ticket is not None and ticket.message_count == 3
        kinds = list(session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == first).order_by(TicketEvent.id)).scalars())
    assert kinds == ["created", "message_added", "message_added", "message_added"]


def test_reply_seen_before_its_original_still_one_ticket(engine: Engine) -> None:
    reply = ingest(engine, message("late-reply@x", parent_keys=("msgid:orig@x",)))
    original = ingest(engine, message("orig@x"))
    assert reply == original


def test_ticket_reference_in_subject_joins_the_ticket(engine: Engine) -> None:
    first = ingest(engine, message("q@x"))
    assert first is not None
    followup = ingest(engine, message("new-thread@x", subject=f"Re: [TN-{first:06d}] bổ sung hồ sơ", ticket_ref=f"TN-{first:06d}"))
    unknown = ingest(engine, message("n2@x", ticket_ref="TN-999999"))
    assert followup == first
    assert unknown not in (None, first)


def test_auto_reply_never_opens_a_ticket_but_joins_its_thread(engine: Engine) -> None:
    lonely = ingest(engine, message("ooo@x", is_auto_reply=True, parent_keys=("msgid:unknown@x",)))
    assert lonely is None
    assert count(engine, Ticket) == 0
    bounce = ingest(engine, message("dsn@x", is_auto_reply=True, is_bounce=True, bounced_message_id="sent-by-center@x"))
    assert bounce is None
    first = ingest(engine, message("citizen@x", parent_keys=()))
    auto = ingest(engine, message("ooo2@x", is_auto_reply=True, parent_keys=("msgid:citizen@x",)))
    assert auto == first
    assert count(engine, Ticket) == 1


def test_outbound_reply_seen_first_is_adopted_and_sets_first_response(engine: Engine) -> None:
    page_reply = message(
        "m_page", channel=Channel.FACEBOOK_MESSAGE, direction=Direction.OUTBOUND, own_key=None,
        parent_keys=("fb-conv:t_1",), sent_at=datetime(2025, 10, 1, 3, 0, tzinfo=UTC),
    )
    assert ingest(engine, page_reply, source="fanpage") is None
    citizen = message("m_citizen", channel=Channel.FACEBOOK_MESSAGE, own_key=None, parent_keys=("fb-conv:t_1",))
    ticket_id = ingest(engine, citizen, source="fanpage")
    assert ticket_id is not None
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.message_count == 2
        assert ticket.first_response_at == datetime(2025, 10, 1, 3, 0, tzinfo=UTC)


def test_concurrent_messages_of_one_new_thread_make_one_ticket(engine: Engine) -> None:
    """Two workers threading two messages of the same new thread at the same moment."""
    messages = [message(f"part{i}@x", parent_keys=("msgid:shared-root@x",)) for i in range(6)]
    stored_ids = []
    for normalized in messages:
        (saved,) = save_raw_items(engine, [raw(normalized.external_id)])
        with session_scope(engine) as session:
            raw_row = session.get(RawItem, saved.raw_item_id)
            assert raw_row is not None
            stored_ids.append(store_message(session, raw_row, normalized).message_id)
    barrier = threading.Barrier(len(stored_ids))
    results: list[int | None] = []
    errors: list[BaseException] = []

    def work(message_id: int) -> None:
        barrier.wait()
        for _attempt in range(20):
            try:
                with session_scope(engine) as session:
                    results.append(thread_message(session, message_id).ticket_id)
                return
            except Exception as exc:  # noqa: BLE001 - a lock conflict is retried, as the broker would
                error = exc
        errors.append(error)

    threads = [threading.Thread(target=work, args=(mid,)) for mid in stored_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert count(engine, Ticket) == 1
    with session_scope(engine) as session:
        owners = set(session.execute(select(ThreadKey.ticket_id)).scalars())
    assert owners == set(results)


def test_datetimes_come_back_timezone_aware(engine: Engine) -> None:
    ticket_id = ingest(engine, message("tz@x"))
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        stored = session.execute(select(Message)).scalars().one()
    assert ticket is not None and ticket.created_at.tzinfo is not None
    assert stored.sent_at == datetime(2025, 10, 1, 1, 0, tzinfo=UTC)
