"""IMAP intake against a real Dovecot: incremental, idempotent, crash-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from ingest.imap.models import MailboxUid
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.models import Checkpoint, Message, RawItem, Ticket
from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot  # noqa: F401  (fixture)
from tests.samples import sample_email
from tiepnhan.cli import app

MOVED = "Đã xử lý"


def write_config(tmp_path: Path, server: Dovecot, after_fetch: str = "keep", batch_size: int = 50) -> Path:
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "t.db"}"\n'
        "[[mailboxes]]\n"
        'name = "hotro"\nhost = "127.0.0.1"\n'
        f'port = {server.port}\nsecurity = "plain"\nusername = "{USER}"\npassword = "{PASSWORD}"\n'
        f'folders = ["INBOX"]\nafter_fetch = "{after_fetch}"\nbatch_size = {batch_size}\ntimeout_seconds = 10\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def poll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ("TIEPNHAN_DATABASE_URL", "TIEPNHAN_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()

    def run(config: Path, *args: str) -> str:
        result = runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    yield run
    dispose_engines()


def counts(tmp_path: Path) -> tuple[int, int, int]:
    engine = get_engine(f"sqlite:///{tmp_path / 't.db'}")
    with session_scope(engine) as session:
        return tuple(int(session.execute(select(func.count()).select_from(m)).scalar_one()) for m in (RawItem, Message, Ticket))  # type: ignore[return-value]


def client(server: Dovecot) -> IMAPClient:
    imap = IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=10)
    imap.login(USER, PASSWORD)
    return imap


def test_new_mail_becomes_tickets_and_repoll_adds_nothing(dovecot: Dovecot, poll, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for index in range(5):
        dovecot.deliver(sample_email(index))
    config = write_config(tmp_path, dovecot)
    poll(config, "poll", "--once")
    assert counts(tmp_path) == (5, 5, 5)
    poll(config, "poll", "--once")
    assert counts(tmp_path) == (5, 5, 5)
    dovecot.deliver(sample_email(5))
    poll(config, "poll", "--once")
    assert counts(tmp_path) == (6, 6, 6)
    imap = client(dovecot)
    imap.select_folder("INBOX", readonly=True)
    assert imap.search(["SEEN"]) == []  # BODY.PEEK[]: "keep" leaves messages unread
    imap.logout()


def test_after_fetch_seen_and_move(dovecot: Dovecot, poll, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for index in range(3):
        dovecot.deliver(sample_email(index))
    poll(write_config(tmp_path, dovecot, "seen"), "poll", "--once")
    imap = client(dovecot)
    imap.select_folder("INBOX")
    assert len(imap.search(["SEEN"])) == 3
    imap.logout()
    dovecot.deliver(sample_email(3))
    poll(write_config(tmp_path, dovecot, f"move:{MOVED}"), "poll", "--once")
    imap = client(dovecot)
    imap.select_folder("INBOX")
    # after_fetch acts on what a poll fetches: the three fetched before stay, the new one moved
    assert len(imap.search(["ALL"])) == 3
    imap.select_folder(MOVED)  # a folder name in modified UTF-7 (RFC 3501 section 5.1.3)
    assert len(imap.search(["ALL"])) == 1
    imap.logout()
    assert counts(tmp_path) == (4, 4, 4)


def test_uidvalidity_change_resyncs_without_duplicates(dovecot: Dovecot, poll, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for index in range(4):
        dovecot.deliver(sample_email(index))
    config = write_config(tmp_path, dovecot)
    poll(config, "poll", "--once")
    engine = get_engine(f"sqlite:///{tmp_path / 't.db'}")
    with session_scope(engine) as session:
        before = session.get(Checkpoint, ("hotro", "imap:INBOX")).value  # type: ignore[union-attr]
    dovecot.stop()
    for path in dovecot.maildir.glob("dovecot*"):
        path.unlink()
    time.sleep(1.1)  # UIDVALIDITY is a timestamp
    dovecot.start()
    dovecot.deliver(sample_email(4))
    poll(config, "poll", "--once")
    with session_scope(engine) as session:
        after = session.get(Checkpoint, ("hotro", "imap:INBOX")).value  # type: ignore[union-attr]
    assert after["uidvalidity"] != before["uidvalidity"]
    assert counts(tmp_path) == (5, 5, 5)


def test_bad_message_is_quarantined_and_the_rest_flows(dovecot: Dovecot, poll, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    dovecot.deliver(sample_email(0))
    dovecot.deliver(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 64)  # an Outlook .msg dropped in the mailbox
    dovecot.deliver(sample_email(1))
    poll(write_config(tmp_path, dovecot), "poll", "--once")
    engine = get_engine(f"sqlite:///{tmp_path / 't.db'}")
    with session_scope(engine) as session:
        states = sorted(session.execute(select(RawItem.state)).scalars())
        reason = session.execute(select(RawItem.last_error).where(RawItem.state == "quarantined")).scalar_one()
    assert states == ["processed", "processed", "quarantined"]
    assert "Outlook" in (reason or "")
    assert counts(tmp_path)[2] == 2


def test_reconcile_finds_and_fills_a_gap(dovecot: Dovecot, poll, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for index in range(3):
        dovecot.deliver(sample_email(index))
    config = write_config(tmp_path, dovecot)
    poll(config, "poll", "--once")
    for index in range(3, 5):
        dovecot.deliver(sample_email(index))
    engine = get_engine(f"sqlite:///{tmp_path / 't.db'}")
    with session_scope(engine) as session:  # a lost batch: the checkpoint went past two messages
        row = session.get(Checkpoint, ("hotro", "imap:INBOX"))
        assert row is not None
        row.value = {**row.value, "last_uid": row.value["last_uid"] + 2}
        session.add(row)
    poll(config, "poll", "--once")
    assert counts(tmp_path) == (3, 3, 3)
    output = poll(config, "reconcile")
    assert '"missing": 2' in output and '"repaired": 2' in output
    assert counts(tmp_path) == (5, 5, 5)


def test_killed_mid_sync_then_restarted_every_message_once(dovecot: Dovecot, tmp_path: Path) -> None:  # noqa: F811
    total = 2000
    box = dovecot.folder_path() / "new"
    for index in range(total):
        (box / f"{index}.tiepnhan").write_bytes(sample_email(index))
    dovecot.chown()
    config = write_config(tmp_path, dovecot, batch_size=100)
    env = {**os.environ, "TIEPNHAN_CONFIG": str(config)}
    env.pop("TIEPNHAN_DATABASE_URL", None)
    command = [sys.executable, "-m", "tiepnhan.cli", "poll", "--once"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine_url = f"sqlite:///{tmp_path / 't.db'}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if counts(tmp_path)[0] >= 300:
                break
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    dispose_engines()
    killed_at = counts(tmp_path)
    assert 0 < killed_at[0] < total  # really killed in the middle
    finished = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=280, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    engine = get_engine(engine_url)
    migrate(engine)
    assert counts(tmp_path) == (total, total, total)
    with session_scope(engine) as session:
        mapped = session.execute(select(func.count(func.distinct(MailboxUid.uid)))).scalar_one()
        unprocessed = session.execute(select(func.count()).select_from(RawItem).where(RawItem.state != "processed")).scalar_one()
    assert mapped == total
    assert unprocessed == 0


def test_a_large_sync_reports_progress_every_batch(dovecot: Dovecot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    from config.settings import load_settings
    from ingest.imap.connection import connect
    from ingest.imap.sync import sync_folder
    from tickets.models import SourceHealth

    for index in range(7):
        dovecot.deliver(sample_email(index))
    settings = load_settings(write_config(tmp_path, dovecot, batch_size=3))
    engine = get_engine(settings.database_url)
    migrate(engine)
    imap = connect(settings.mailboxes[0])
    try:
        with caplog.at_level("INFO", logger="ingest.imap.sync"):
            result = sync_folder(imap, engine, settings.mailboxes[0], "INBOX", enqueue=False)
    finally:
        imap.logout()
    assert result.fetched == 7
    progress = [(r.fetched, r.total) for r in caplog.records if r.getMessage() == "sync progress"]  # type: ignore[attr-defined]
    assert progress == [(3, 7), (6, 7), (7, 7)]
    with session_scope(engine) as session:
        health = session.get(SourceHealth, "hotro")
        assert health is not None
        assert {k: v for k, v in health.details["sync_progress"]["INBOX"].items() if k != "at"} == {"fetched": 7, "total": 7}
    dispose_engines()
