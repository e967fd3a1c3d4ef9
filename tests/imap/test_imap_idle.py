"""IMAP IDLE (RFC 2177) against a real Dovecot: mail arrives in seconds, drops are survived."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from config.settings import ConfigError, MailboxConfig, load_settings
from ingest.imap.idle import ImapIdleWatcher, backoff_delay
from ingest.imap.models import MailboxUid
from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot  # noqa: F401  (fixture)
from tests.samples import sample_email
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.models import RawItem, SourceHealth
from tiepnhan.locks import source_locks

pytestmark = [pytest.mark.dovecot]


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def mailbox(server: Dovecot, **extra: object) -> MailboxConfig:
    settings = load_settings(None, mailboxes=[{
        "name": "hotro", "host": "127.0.0.1", "port": server.port, "security": "plain", "username": USER,
        "password": PASSWORD, "timeout_seconds": 10, **extra,
    }])  # fmt: skip
    return settings.mailboxes[0]


def append(server: Dovecot, *indexes: int) -> None:
    """APPEND (RFC 3501 section 6.3.11) from another connection, as a mail client would."""
    imap = IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=10)
    imap.login(USER, PASSWORD)
    for index in indexes:
        imap.append("INBOX", sample_email(index, id_prefix="idle"))
    imap.logout()


def raw_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(RawItem)).scalar_one())


def distinct_ids(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        ids = session.execute(select(func.count(func.distinct(RawItem.external_id)))).scalar_one()
        uids = session.execute(select(func.count(func.distinct(MailboxUid.uid)))).scalar_one()
        return int(ids), int(uids)


class Running:
    def __init__(self, watcher: ImapIdleWatcher) -> None:
        self.watcher = watcher
        self.stop = threading.Event()
        self.thread = threading.Thread(target=watcher.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> ImapIdleWatcher:
        self.thread.start()
        return self.watcher

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the watcher did not stop"


def test_mail_appended_during_idle_becomes_a_raw_item(dovecot: Dovecot, engine: Engine) -> None:  # noqa: F811
    append(dovecot, 0)  # already there: fetched by the catch-up sync on connect
    seen: list[int] = []
    watcher = ImapIdleWatcher(mailbox(dovecot), engine, on_new=lambda r: seen.append(r.new), enqueue=False, locks=source_locks(None))
    with Running(watcher):
        wait_for(lambda: raw_count(engine) == 1 and watcher.idle_commands >= 1, 20, "the catch-up sync and the first IDLE")
        append(dovecot, 1)
        wait_for(lambda: raw_count(engine) == 2, 20, "the appended message to be fetched during IDLE")
        append(dovecot, 2, 3)
        wait_for(lambda: raw_count(engine) == 4, 20, "two more appended messages")
        assert watcher.connects == 1  # no reconnect: the same IDLE session saw every message
    assert sum(seen) == 4
    assert distinct_ids(engine) == (4, 4)
    with session_scope(engine) as session:
        health = session.get(SourceHealth, "hotro")
        assert health is not None and health.consecutive_errors == 0 and health.last_success_at is not None


def test_killed_socket_reconnects_and_fetches_what_arrived_meanwhile(dovecot: Dovecot, engine: Engine) -> None:  # noqa: F811
    append(dovecot, 0)
    watcher = ImapIdleWatcher(mailbox(dovecot), engine, enqueue=False, backoff_base_seconds=0.2, backoff_cap_seconds=1.0)
    with Running(watcher):
        wait_for(lambda: raw_count(engine) == 1 and watcher.idle_commands >= 1, 20, "the first IDLE")
        client = watcher.client
        assert client is not None
        client.socket().shutdown(socket.SHUT_RDWR)  # the network drops the connection
        append(dovecot, 1, 2)
        wait_for(lambda: watcher.connects >= 2, 20, "a reconnect")
        wait_for(lambda: raw_count(engine) == 3, 20, "the messages appended while disconnected")
        append(dovecot, 3)  # and IDLE works on the new connection
        wait_for(lambda: raw_count(engine) == 4, 20, "a message appended after the reconnect")
    assert distinct_ids(engine) == (4, 4)


def test_server_restart_is_survived_with_backoff_and_no_duplicates(dovecot: Dovecot, engine: Engine) -> None:  # noqa: F811
    append(dovecot, 0, 1)
    watcher = ImapIdleWatcher(mailbox(dovecot), engine, enqueue=False, backoff_base_seconds=0.2, backoff_cap_seconds=1.0)
    with Running(watcher):
        wait_for(lambda: raw_count(engine) == 2 and watcher.idle_commands >= 1, 20, "the first IDLE")
        dovecot.stop()
        for index in range(2, 6):  # local delivery goes on while the IMAP server is down
            dovecot.deliver(sample_email(index, id_prefix="idle"))
        wait_for(lambda: watcher.failures >= 2, 20, "failed reconnects while the server is down")
        dovecot.start()
        wait_for(lambda: raw_count(engine) == 6, 30, "the messages delivered while the server was down")
        append(dovecot, 6)
        wait_for(lambda: raw_count(engine) == 7, 20, "a message appended after the restart")
        assert watcher.failures == 0  # reset by the successful sync
    assert distinct_ids(engine) == (7, 7)
    with session_scope(engine) as session:
        health = session.get(SourceHealth, "hotro")
        assert health is not None and health.consecutive_errors == 0
        assert health.last_error  # the outage was recorded


def test_idle_is_reissued_at_the_configured_interval_and_still_receives_mail(dovecot: Dovecot, engine: Engine) -> None:  # noqa: F811
    watcher = ImapIdleWatcher(mailbox(dovecot, idle_timeout_seconds=0.5), engine, enqueue=False)
    with Running(watcher):
        wait_for(lambda: watcher.idle_commands >= 4, 20, "IDLE re-issued several times")
        assert watcher.syncs == 1  # re-issuing IDLE is not a sync; only the catch-up ran
        append(dovecot, 0)
        wait_for(lambda: raw_count(engine) == 1, 20, "a message appended between re-issued IDLEs")
        assert watcher.connects == 1
    assert distinct_ids(engine) == (1, 1)


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff_delay(n, 1.0, 10.0) for n in range(6)] == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(1000, 1.0, 300.0) == 300.0


def test_idle_defaults_follow_rfc_2177(dovecot: Dovecot) -> None:  # noqa: F811
    config = mailbox(dovecot)
    assert config.idle is True and config.idle_timeout_seconds < 29 * 60
    with pytest.raises(ConfigError, match="idle_timeout_seconds"):
        mailbox(dovecot, idle_timeout_seconds=30 * 60)


def test_tiepnhan_poll_uses_idle_between_interval_polls(dovecot: Dovecot, tmp_path: Path) -> None:  # noqa: F811
    import os
    import signal
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'poll.db'}"
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        f'database_url = "{url}"\n[[mailboxes]]\nname = "hotro"\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
        f'username = "{USER}"\npassword = "{PASSWORD}"\ntimeout_seconds = 10\npoll_interval_seconds = 3600\n',
        encoding="utf-8",
    )
    engine = get_engine(url)
    migrate(engine)
    append(dovecot, 0)
    env = {**os.environ, "TIEPNHAN_CONFIG": str(config)}
    env.pop("TIEPNHAN_DATABASE_URL", None)
    env.pop("TIEPNHAN_REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "tiepnhan.cli", "poll"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: raw_count(engine) == 1, 60, "the first interval poll")
        append(dovecot, 1)  # the next interval poll is an hour away: only IDLE can bring this in
        wait_for(lambda: raw_count(engine) == 2, 30, "the appended message, through IDLE")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert distinct_ids(engine) == (2, 2)
    dispose_engines()
