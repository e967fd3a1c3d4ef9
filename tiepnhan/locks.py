"""Per-source poll locks with a TTL and a fencing token, so no two polls of a source overlap.

With Redis (several processes, perhaps several schedulers started by mistake) the lock is a key
`tiepnhan:lock:<name>` set with NX and a TTL, holding a fencing token taken from a counter
(`INCR tiepnhan:fence:<name>`), which only ever increases. The holder renews the TTL while it
works; if it stalls past the TTL, another poller may take the lock with a larger token. The
stalled one then finds its token is no longer current and must not advance the checkpoint:
`guard_checkpoint_writes` refuses any write to the checkpoint table from a thread whose lease
was lost, whatever code the poller uses to write it.

Without Redis (`tiepnhan run`, one process) the same interface is backed by an in-process table.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase

PREFIX = "tiepnhan"


class LeaseLost(RuntimeError):
    """This poll's lock expired and another poller took over: stop without advancing."""


@dataclass
class Lease:
    name: str
    token: int
    ttl_seconds: float
    locks: SourceLocks = field(repr=False)

    def is_current(self) -> bool:
        return self.locks.is_current(self)

    def ensure_current(self) -> None:
        if not self.is_current():
            raise LeaseLost(f"lock on {self.name!r} lost (token {self.token} is no longer current)")


class SourceLocks(Protocol):
    def acquire(self, name: str, ttl_seconds: float) -> Lease | None: ...
    def renew(self, lease: Lease) -> bool: ...
    def is_current(self, lease: Lease) -> bool: ...
    def release(self, lease: Lease) -> None: ...


# Compare-and-act scripts: only the holder of the current token may renew or release.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisSourceLocks:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str) -> RedisSourceLocks:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10))

    @staticmethod
    def lock_key(name: str) -> str:
        return f"{PREFIX}:lock:{name}"

    @staticmethod
    def fence_key(name: str) -> str:
        return f"{PREFIX}:fence:{name}"

    def acquire(self, name: str, ttl_seconds: float) -> Lease | None:
        if self.client.exists(self.lock_key(name)):
            return None
        token = int(self.client.incr(self.fence_key(name)))
        if not self.client.set(self.lock_key(name), token, nx=True, px=int(ttl_seconds * 1000)):
            return None
        return Lease(name, token, ttl_seconds, self)

    def renew(self, lease: Lease) -> bool:
        return bool(self._renew(keys=[self.lock_key(lease.name)], args=[lease.token, int(lease.ttl_seconds * 1000)]))

    def is_current(self, lease: Lease) -> bool:
        value = self.client.get(self.lock_key(lease.name))
        return value is not None and int(value) == lease.token

    def release(self, lease: Lease) -> None:
        self._release(keys=[self.lock_key(lease.name)], args=[lease.token])


class InProcessSourceLocks:
    """The same semantics inside one process, for the embedded default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fences: dict[str, int] = {}
        self._held: dict[str, tuple[int, float]] = {}  # name -> (token, expires at, monotonic)

    def _holder(self, name: str) -> int | None:
        held = self._held.get(name)
        if held is None or held[1] <= time.monotonic():
            return None
        return held[0]

    def acquire(self, name: str, ttl_seconds: float) -> Lease | None:
        with self._lock:
            if self._holder(name) is not None:
                return None
            token = self._fences[name] = self._fences.get(name, 0) + 1
            self._held[name] = (token, time.monotonic() + ttl_seconds)
            return Lease(name, token, ttl_seconds, self)

    def renew(self, lease: Lease) -> bool:
        with self._lock:
            if self._holder(lease.name) != lease.token:
                return False
            self._held[lease.name] = (lease.token, time.monotonic() + lease.ttl_seconds)
            return True

    def is_current(self, lease: Lease) -> bool:
        with self._lock:
            return self._holder(lease.name) == lease.token

    def release(self, lease: Lease) -> None:
        with self._lock:
            if self._holder(lease.name) == lease.token:
                del self._held[lease.name]


_in_process = InProcessSourceLocks()
_redis_locks: dict[str, RedisSourceLocks] = {}
_factory_lock = threading.Lock()


def source_locks(redis_url: str | None) -> SourceLocks:
    """Redis locks when Redis is configured, else the process-wide in-process table."""
    if not redis_url:
        return _in_process
    with _factory_lock:
        locks = _redis_locks.get(redis_url)
        if locks is None:
            locks = _redis_locks[redis_url] = RedisSourceLocks.from_url(redis_url)
        return locks


# --- holding a lease while working -------------------------------------------------------

_current: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("tiepnhan_poll_lease", default=None)


def current_lease() -> Lease | None:
    return _current.get()


@contextmanager
def holding(lease: Lease) -> Iterator[Lease]:
    """Renew `lease` in the background while the block runs; release it at the end.

    Inside the block, checkpoint writes on this thread are refused once the lease is lost.
    """
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease.ttl_seconds / 3):
            try:
                if not lease.locks.renew(lease):
                    return
            except Exception:  # noqa: BLE001 - Redis briefly away: the next renewal retries
                continue

    renewer = threading.Thread(target=renew, name=f"lease-{lease.name}", daemon=True)
    renewer.start()
    reset = _current.set(lease)
    try:
        yield lease
    finally:
        _current.reset(reset)
        stop.set()
        renewer.join(timeout=5)
        try:
            lease.locks.release(lease)
        except Exception:  # noqa: BLE001 - it expires on its own
            pass


CHECKPOINT_TABLE = "checkpoint"


def _before_execute(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
    lease = _current.get()
    if lease is None or not isinstance(clauseelement, UpdateBase):
        return
    table = getattr(clauseelement, "table", None)
    if getattr(table, "name", None) == CHECKPOINT_TABLE:
        lease.ensure_current()


def _before_flush(session: Any, flush_context: Any, instances: Any) -> None:
    lease = _current.get()
    if lease is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if getattr(getattr(obj, "__table__", None), "name", None) == CHECKPOINT_TABLE:
            lease.ensure_current()
            return


_guard_installed = False


def guard_checkpoint_writes() -> None:
    """Make every checkpoint write (ORM or Core) check the thread's lease first (idempotent)."""
    global _guard_installed
    if _guard_installed:
        return
    from sqlalchemy.orm import Session

    event.listen(Engine, "before_execute", _before_execute)
    event.listen(Session, "before_flush", _before_flush)
    _guard_installed = True
