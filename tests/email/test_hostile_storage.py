"""Hostile mail through the real store (SQLite and PostgreSQL): NUL never stalls the import, an
item the database refuses is quarantined once (not retried), and no stored error carries SQL
parameters or a citizen's ID number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
import pytest

from tickets.db import get_engine, migrate, session_scope
from tickets.models import Message, RawItem, RawState, Ticket
from tickets.pipeline import PermanentFailure, process_raw_item_now
from tickets.store import RawInput, safe_error_text, save_raw_items
from ingest.email import email_external_id

CITIZEN_ID = "079201012345"


@pytest.fixture
def engine(db_url: str) -> Engine:
    db = get_engine(db_url)
    migrate(db)
    return db


def _store(engine: Engine, raw: bytes) -> int:
    (saved,) = save_raw_items(engine, [RawInput("hotro", "email", email_external_id(raw), raw)])
    return saved.raw_item_id


def _mail(message_id: str, subject: str, body: str) -> bytes:
    return (
        f"From: Dan <dan@example.vn>\r\nTo: hotro@example.vn\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def test_a_nul_after_the_first_kilobyte_becomes_a_ticket(engine: Engine) -> None:
    raw = _mail("nul@example.vn", "Hỏi\x00 về\x1b[2J sổ BHXH", "Xin chào. " * 150 + "\x00 Số CCCD của tôi\x00 là " + CITIZEN_ID)
    raw_id = _store(engine, raw)
    outcome = process_raw_item_now(engine, raw_id, 1 << 20)
    assert outcome is not None and outcome.ticket_id is not None
    with session_scope(engine) as session:
        stored = session.execute(select(Message).where(Message.raw_item_id == raw_id)).scalar_one()
        ticket = session.get(Ticket, outcome.ticket_id)
        assert ticket is not None and "\x00" not in ticket.subject and "\x1b" not in ticket.subject
        assert "\x00" not in stored.clean_text and CITIZEN_ID in stored.clean_text
        assert session.get(RawItem, raw_id).state == RawState.PROCESSED.value  # type: ignore[union-attr]


def test_an_over_long_message_id_still_becomes_a_ticket_and_its_reply_threads(engine: Engine) -> None:
    # RFC 5322 sets no length for a Message-ID; the columns hold 1,000 characters.
    long_id = "x" * 3000 + "@example.vn"
    first = _store(engine, _mail(long_id, "Hỏi về sổ BHXH", "Xin hỏi chốt sổ ở đâu?"))
    outcome = process_raw_item_now(engine, first, 1 << 20)
    assert outcome is not None and outcome.ticket_id is not None
    reply = _mail("reply@example.vn", "Re: Hỏi về sổ BHXH", "Tôi bổ sung thêm.").replace(
        b"MIME-Version", f"In-Reply-To: <{long_id}>\r\nMIME-Version".encode()
    )
    second = process_raw_item_now(engine, _store(engine, reply), 1 << 20)
    assert second is not None and second.ticket_id == outcome.ticket_id
    with session_scope(engine) as session:
        assert session.get(RawItem, first).state == RawState.PROCESSED.value  # type: ignore[union-attr]
        ids = session.execute(select(Message.external_id)).scalars().all()
        assert all(len(i) <= 1000 for i in ids)


def test_a_reply_address_with_an_over_long_token_is_not_ours_and_still_a_ticket(engine: Engine) -> None:
    raw = _mail("token@example.vn", "Hỏi về BHYT", "Xin hỏi thẻ BHYT.").replace(
        b"To: hotro@example.vn", b"To: hotro+TN-000001." + b"a" * 400 + b"@example.vn"
    )
    outcome = process_raw_item_now(engine, _store(engine, raw), 1 << 20)
    assert outcome is not None and outcome.ticket_id is not None
    with session_scope(engine) as session:
        assert session.execute(select(Message.reply_token)).scalar_one() is None


def test_data_the_database_refuses_is_quarantined_once_without_its_parameters(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser that (by a bug of ours) returns a value the database refuses: PostgreSQL raises
    DataError, which is permanent (quarantined once, not retried), and the stored reason has no
    SQL and no parameters. SQLite does not check lengths and stores it."""
    from dataclasses import replace

    from ingest import registry
    from ingest.email import parse_email

    def overlong_parser(content: bytes, context: registry.ParseContext):  # type: ignore[no-untyped-def]
        message = parse_email(content, max_attachment_bytes=context.max_attachment_bytes)
        return replace(message, reply_token="TN-000001." + "a" * 300 + CITIZEN_ID)  # the column holds 200

    monkeypatch.setitem(registry.PARSERS, "overlong", overlong_parser)
    raw = _mail("overlong@example.vn", "CCCD " + CITIZEN_ID, "Số CCCD " + CITIZEN_ID)
    (saved,) = save_raw_items(engine, [RawInput("hotro", "overlong", email_external_id(raw), raw)])
    raw_id = saved.raw_item_id
    try:
        process_raw_item_now(engine, raw_id, 1 << 20)
    except PermanentFailure:  # the quarantine is re-raised to the caller (SQLite stores it)
        pass
    with session_scope(engine) as session:
        item = session.get(RawItem, raw_id)
        assert item is not None
        if engine.dialect.name != "postgresql":
            assert item.state == RawState.PROCESSED.value
            return
        assert item.state == RawState.QUARANTINED.value and item.attempts == 1
        assert item.last_error and item.last_error.startswith("StringDataRightTruncation")
        assert CITIZEN_ID not in item.last_error and "parameters" not in item.last_error and "INSERT" not in item.last_error


def test_stored_errors_keep_class_and_message_only() -> None:
    text = (
        "(psycopg.errors.DataError) PostgreSQL text fields cannot contain NUL (0x00) bytes\n"
        f"[SQL: INSERT INTO message (clean_text) VALUES (%(clean_text)s)]\n[parameters: {{'clean_text': 'CCCD {CITIZEN_ID}'}}]"
    )
    stored = safe_error_text(text)
    assert stored == "(psycopg.errors.DataError) PostgreSQL text fields cannot contain NUL (0x00) bytes"
    assert "[số định danh]" in safe_error_text(f"ValueError: bad id {CITIZEN_ID}")
