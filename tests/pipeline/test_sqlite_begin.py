"""SQLite write transactions take the writer lock at BEGIN (BEGIN IMMEDIATE, tickets/db.py).

In WAL mode a transaction that read first (BEGIN DEFERRED) cannot upgrade its snapshot once
another connection wrote: its first write fails at once with "database is locked", whatever the
busy timeout. Beginning IMMEDIATE makes the second writer wait its turn instead. Read-only
sessions (`read_scope`) still begin DEFERRED: they never wait for a writer, nor hold it up.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import event, text

from tickets.db import make_engine, migrate, session_scope


def test_two_read_then_write_transactions_both_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'begin.db'}")
    with session_scope(engine) as session:
        session.execute(text("CREATE TABLE counter (n INTEGER)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))
    first_read = threading.Event()
    errors: list[BaseException] = []

    def increment(wait_for_other: bool) -> None:
        try:
            with session_scope(engine) as session:
                value = session.execute(text("SELECT n FROM counter")).scalar_one()  # read first...
                first_read.set()
                if wait_for_other:
                    threading.Event().wait(0.3)  # (the other transaction writes meanwhile, if it can)
                session.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})  # ...then write
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    slow = threading.Thread(target=increment, args=(True,))
    slow.start()
    first_read.wait(5)
    fast = threading.Thread(target=increment, args=(False,))
    fast.start()
    slow.join()
    fast.join()
    assert not errors, errors
    with session_scope(engine) as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 2  # no lost update either
    engine.dispose()


def test_write_sessions_begin_immediate_and_read_scopes_deferred(tmp_path: Path) -> None:
    from tickets.db import read_scope

    engine = make_engine(f"sqlite:///{tmp_path / 'modes.db'}")
    begins: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: begins.append(statement) if statement.startswith("BEGIN") else None)
    migrate(engine)  # Alembic runs inside such transactions too
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}
    begins.clear()
    writer_holds = threading.Event()
    reader_done = threading.Event()

    def hold_the_writer_lock() -> None:
        with session_scope(engine) as session:
            session.execute(text("SELECT 1"))
            writer_holds.set()
            reader_done.wait(30)  # released only once the reader has read: a reader waiting for it would time out

    writer = threading.Thread(target=hold_the_writer_lock)
    writer.start()
    writer_holds.wait(5)
    with read_scope(engine) as session:
        assert session.execute(text("SELECT count(*) FROM ticket")).scalar_one() == 0
    reader_done.set()
    writer.join()
    assert begins == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]
    engine.dispose()
