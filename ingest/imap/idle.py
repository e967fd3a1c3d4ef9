"""Continuous intake by IMAP IDLE (RFC 2177): new mail is fetched seconds after it arrives.

One long-lived connection per (mailbox, folder) waits in IDLE. When the server announces new
mail (an untagged EXISTS, RFC 3501 section 7.3.1) the watcher leaves IDLE and runs the normal
incremental sync (`sync_folder`), so the checkpoint and dedup rules are exactly those of the
interval poll, which stays as the safety net. RFC 2177 lets a server log out a client idle for
30 minutes, so IDLE is re-issued every `idle_timeout_seconds` (at most 29 minutes). A dropped
connection is reopened with capped exponential backoff, and every connect starts with a sync,
so mail that arrived while the watcher was away is fetched then.

Syncs run under the source's poll lock (tiepnhan.locks), like the interval poll: when the poll
holds it, the watcher retries shortly instead of syncing the same folder twice at once.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from sqlalchemy.engine import Engine

from config.settings import MailboxConfig, Settings
from ingest.imap.connection import connect
from ingest.imap.sync import FolderResult, sync_folder
from tiepnhan.locks import SourceLocks, guard_checkpoint_writes, holding, source_locks

log = logging.getLogger(__name__)

KIND = "imap"
# How often the IDLE wait wakes up to look at the stop event and the re-issue deadline.
WAKE_SECONDS = 1.0
# While the interval poll holds the source's lock, retry the sync this soon.
LOCKED_RETRY_SECONDS = 0.5


class ConnectionLost(OSError):
    """The server closed the IDLE connection (EOF, or an untagged BYE, RFC 3501 section 7.1.5)."""


def announces_new_mail(response: Any) -> bool:
    """An untagged `* n EXISTS` (RFC 3501 section 7.3.1): the folder's message count changed."""
    return isinstance(response, tuple) and len(response) >= 2 and response[1] == b"EXISTS"


def is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 1 and response[0] == b"BYE"


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """base·2^(n-1) seconds after the n-th consecutive failure, never more than `cap`."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - 1, 20)))


def wait_for_responses(client: IMAPClient, timeout: float) -> list[Any]:
    """Wait up to `timeout` seconds for IDLE responses; raise ConnectionLost on a dead socket.

    imapclient's `idle_check` returns `[]` at once, again and again, once the peer has closed
    the socket (it swallows the EOF), so readability is checked here first: a socket that is
    readable but yields no response has reached EOF.
    """
    poller = select.poll()
    poller.register(client.socket().fileno(), select.POLLIN | select.POLLPRI)
    events = poller.poll(max(0, int(timeout * 1000)))
    if not events:
        return []
    if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _fd, mask in events):
        raise ConnectionLost("IDLE connection closed")
    responses = list(client.idle_check(timeout=0))
    if not responses:
        raise ConnectionLost("IDLE connection closed by the server (EOF)")
    if any(is_bye(r) for r in responses):
        raise ConnectionLost("server said BYE during IDLE")
    return responses


@dataclass
class ImapIdleWatcher:
    """Watch one folder of one mailbox in IDLE; sync it whenever the server announces mail."""

    config: MailboxConfig
    engine: Engine
    on_new: Callable[[FolderResult], Any] | None = None
    folder: str | None = None  # default: the mailbox's first folder
    enqueue: bool = True
    locks: SourceLocks | None = None  # the poll locks; None syncs without taking one
    lock_ttl_seconds: float = 120.0
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    connector: Callable[[MailboxConfig], IMAPClient] = connect
    # What happened, for logs, health details and tests.
    idle_commands: int = 0
    connects: int = 0
    syncs: int = 0
    failures: int = 0
    client: IMAPClient | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def watched_folder(self) -> str:
        return self.folder or self.config.folders[0]

    def run(self, stop_event: threading.Event) -> None:
        """Watch until `stop_event` is set. Returns early only if the server lacks IDLE."""
        if self.locks is not None:
            guard_checkpoint_writes()
        while not stop_event.is_set():
            try:
                self.client = self.connector(self.config)
                self.connects += 1
                if not self.client.has_capability("IDLE"):
                    log.info("server has no IDLE; interval polling only", extra={"source": self.name})
                    return
                self._session(self.client, stop_event)
            except Exception as exc:  # noqa: BLE001 - network, server or database: reconnect after backoff
                if stop_event.is_set():
                    break
                self._failed(exc)
                stop_event.wait(backoff_delay(self.failures, self.backoff_base_seconds, self.backoff_cap_seconds))
            finally:
                self._close()

    def _session(self, client: IMAPClient, stop_event: threading.Event) -> None:
        folder = self.watched_folder
        # IDLE watches the selected folder (RFC 2177), selected here even if the first sync must wait.
        client.select_folder(folder, readonly=self.config.after_fetch == "keep")
        pending = True  # catch up first: whatever arrived while no one was watching
        while not stop_event.is_set():
            if pending:
                pending = not self._sync(client, folder)
            client.idle()  # RFC 2177: the folder selected by the sync is the one watched
            self.idle_commands += 1
            log.debug("IDLE", extra={"source": self.name, "folder": folder})
            # RFC 2177: re-issue IDLE before the server's inactivity timeout.
            deadline = time.monotonic() + self.config.idle_timeout_seconds
            while not stop_event.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wake = min(remaining, LOCKED_RETRY_SECONDS if pending else WAKE_SECONDS)
                if any(announces_new_mail(r) for r in wait_for_responses(client, wake)):
                    pending = True
                if pending:
                    break
            # (a lost connection raised above: no DONE is sent on a dead socket)
            _text, late = client.idle_done()
            pending = pending or any(announces_new_mail(r) for r in late)

    def _sync(self, client: IMAPClient, folder: str) -> bool:
        """Run the incremental sync under the source's lock; False when the lock was busy."""
        if self.locks is None:
            result = sync_folder(client, self.engine, self.config, folder, enqueue=self.enqueue)
        else:
            lease = self.locks.acquire(self.name, self.lock_ttl_seconds)
            if lease is None:
                return False
            with holding(lease):
                result = sync_folder(client, self.engine, self.config, folder, enqueue=self.enqueue)
                lease.ensure_current()
        self.syncs += 1
        self.failures = 0
        _record_success(self.engine, self.name, {"idle": {"folder": folder, "connects": self.connects, "last_fetched": result.fetched}})
        if result.new:
            log.info("new mail via IDLE", extra={"source": self.name, "folder": folder, "fetched": result.fetched, "new": result.new})
            if self.on_new is not None:
                self.on_new(result)
        return True

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        error = f"{type(exc).__name__}: {exc}"
        delay = backoff_delay(self.failures, self.backoff_base_seconds, self.backoff_cap_seconds)
        log.warning("IDLE connection failed; reconnecting", extra={"source": self.name, "folder": self.watched_folder, "error": error,
                                                                  "consecutive_failures": self.failures, "retry_in_seconds": delay})
        _record_failure(self.engine, self.name, error)

    def _close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - the connection may already be gone
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass


def _record_success(engine: Engine, name: str, details: dict[str, Any]) -> None:
    from tiepnhan.scheduler import record_poll_success

    try:
        record_poll_success(engine, name, KIND, details)
    except Exception:  # noqa: BLE001 - health is informative; intake already committed
        log.exception("could not record source health", extra={"source": name})


def _record_failure(engine: Engine, name: str, error: str) -> None:
    from tiepnhan.scheduler import record_poll_failure

    try:
        record_poll_failure(engine, name, KIND, error)
    except Exception:  # noqa: BLE001
        log.exception("could not record source health", extra={"source": name})


def idle_watchers(settings: Settings, engine: Engine) -> list[ImapIdleWatcher]:
    """One watcher per folder of every mailbox with `idle = true`."""
    locks = source_locks(settings.redis_url)
    return [
        ImapIdleWatcher(mailbox, engine, folder=folder, locks=locks, lock_ttl_seconds=settings.scheduler.poll_lock_ttl_seconds,
                        backoff_cap_seconds=min(300.0, settings.scheduler.max_poll_backoff_seconds))
        for mailbox in settings.mailboxes if mailbox.idle
        for folder in mailbox.folders
    ]  # fmt: skip


def start_idle_watchers(settings: Settings, engine: Engine, stop_event: threading.Event) -> list[threading.Thread]:
    """Start a daemon thread per watcher; they end when `stop_event` is set."""
    threads = []
    for watcher in idle_watchers(settings, engine):
        thread = threading.Thread(target=watcher.run, args=(stop_event,), name=f"idle-{watcher.name}-{watcher.watched_folder}", daemon=True)
        thread.start()
        threads.append(thread)
    if threads:
        log.info("IMAP IDLE watchers started", extra={"watchers": len(threads)})
    return threads
