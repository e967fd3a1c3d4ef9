"""The scheduler: per-source locks with fencing, two schedulers at once, per-source backoff."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from config.settings import Settings, load_settings
from tests.workers.redis_server import RedisServer
from tickets.db import dispose_engines, session_scope
from tickets.models import Checkpoint, SourceHealth, utcnow
from tiepnhan import runtime
from tiepnhan import scheduler as scheduler_module
from tiepnhan.locks import InProcessSourceLocks, LeaseLost, RedisSourceLocks, guard_checkpoint_writes, holding
from tiepnhan.scheduler import Scheduler, in_backoff, poll_source_now, read_health


def mailbox(name: str, interval: float) -> dict[str, Any]:
    return {"name": name, "host": "127.0.0.1", "security": "plain", "username": "u", "password": "p", "poll_interval_seconds": interval}


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[Settings, Engine]]]:
    monkeypatch.delenv("TIEPNHAN_REDIS_URL", raising=False)
    monkeypatch.delenv("TIEPNHAN_DATABASE_URL", raising=False)

    def _make(redis_url: str | None, mailboxes: list[dict[str, Any]], **overrides: Any) -> tuple[Settings, Engine]:
        settings = load_settings(
            None, database_url=f"sqlite:///{tmp_path / 'sched.db'}", redis_url=redis_url,
            data_dir=str(tmp_path / "var"), mailboxes=mailboxes, **overrides,
        )  # fmt: skip
        runtime.configure(settings)
        return settings, runtime.engine()

    yield _make
    dispose_engines()


class FakePoller:
    """Stands in for an IMAP poller: takes a while, advances its checkpoint, counts overlaps."""

    def __init__(self, name: str, engine: Engine, seconds: float, fail: bool = False) -> None:
        self.name = name
        self.engine = engine
        self.seconds = seconds
        self.fail = fail
        self.active = 0
        self.max_active = 0
        self.polls = 0
        self._lock = threading.Lock()

    def poll_once(self, engine: Engine) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.polls += 1
        try:
            time.sleep(self.seconds)
            if self.fail:
                raise ConnectionRefusedError("provider down")
            with session_scope(engine) as session:
                row = session.get(Checkpoint, (self.name, "INBOX")) or Checkpoint(source=self.name, scope="INBOX", value={"n": 0})
                row.value = {"n": int(row.value.get("n", 0)) + 1}
                session.add(row)
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["redis", "in_process"])
def test_fencing_token_refuses_a_stale_holders_checkpoint(
    backend: str, request: pytest.FixtureRequest, make_settings: Callable[..., tuple[Settings, Engine]]
) -> None:
    _settings, engine = make_settings(None, [])
    if backend == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        locks: Any = RedisSourceLocks(server.client())
    else:
        locks = InProcessSourceLocks()
    guard_checkpoint_writes()
    stale = locks.acquire("hop-thu", ttl_seconds=0.3)
    assert stale is not None
    assert locks.acquire("hop-thu", ttl_seconds=5) is None  # held: nobody else may poll
    time.sleep(0.5)  # the holder stalls past its TTL (a GC pause, a hung socket)
    fresh = locks.acquire("hop-thu", ttl_seconds=5)
    assert fresh is not None and fresh.token > stale.token
    with holding(fresh):
        with session_scope(engine) as session:
            session.add(Checkpoint(source="hop-thu", scope="INBOX", value={"last_uid": 200}))
    with holding(stale):  # the stalled poll wakes up and tries to advance the checkpoint
        with pytest.raises(LeaseLost):
            with session_scope(engine) as session:
                row = session.get(Checkpoint, ("hop-thu", "INBOX"))
                assert row is not None
                row.value = {"last_uid": 100}
                session.add(row)
        with pytest.raises(LeaseLost):  # also through a Core UPDATE
            with engine.begin() as connection:
                connection.execute(update(Checkpoint).values(value={"last_uid": 100}))
    with session_scope(engine) as session:
        row = session.get(Checkpoint, ("hop-thu", "INBOX"))
        assert row is not None and row.value == {"last_uid": 200}
    assert not fresh.is_current()  # released when its block ended


@pytest.mark.redis
def test_two_schedulers_never_poll_one_source_concurrently(
    redis_server: RedisServer, make_settings: Callable[..., tuple[Settings, Engine]], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["hop-thu-1", "hop-thu-2", "hop-thu-3"]
    settings, engine = make_settings(redis_server.url, [mailbox(n, 0.2) for n in names], scheduler={"tick_seconds": 0.02})
    # Each poll takes longer than the interval, so polls are requested while one still runs.
    pollers = {n: FakePoller(n, engine, seconds=0.35) for n in names}
    monkeypatch.setattr(scheduler_module, "pollers_by_name", lambda _settings: pollers)
    outcomes: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    threads: list[threading.Thread] = []

    def send_poll(name: str) -> None:  # what a worker does with the message, at once
        sent[name] += 1

        def work() -> None:
            outcomes[poll_source_now(settings, engine, name).status] += 1

        thread = threading.Thread(target=work)
        threads.append(thread)
        thread.start()

    stop = threading.Event()
    schedulers = [Scheduler(settings, engine, send_poll=send_poll, send_periodic=lambda _job: None) for _ in range(2)]
    # A scheduler that does not coordinate its enqueues at all (no shared slots): only the
    # per-source lock stands between its polls and the others'.
    schedulers[1].claims = scheduler_module.SlotClaims(None)
    runners = [threading.Thread(target=s.run, args=(stop,)) for s in schedulers]
    for runner in runners:
        runner.start()
    time.sleep(2.5)
    stop.set()
    for thread in runners + threads:
        thread.join(timeout=10)
    for name, poller in pollers.items():
        assert poller.max_active == 1, f"{name} was polled concurrently"
        assert poller.polls >= 4, f"{name} was polled only {poller.polls} times"
    assert outcomes["locked"] > 0, f"no overlapping poll was ever attempted: {outcomes}"
    assert outcomes["polled"] == sum(p.polls for p in pollers.values())
    with session_scope(engine) as session:
        for name, poller in pollers.items():
            checkpoint = session.get(Checkpoint, (name, "INBOX"))
            assert checkpoint is not None and checkpoint.value["n"] == poller.polls  # no lost update


@pytest.mark.redis
def test_shared_slots_enqueue_each_source_once_per_interval(
    redis_server: RedisServer, make_settings: Callable[..., tuple[Settings, Engine]]
) -> None:
    settings, engine = make_settings(redis_server.url, [mailbox("a", 1.0), mailbox("b", 1.0)], scheduler={"tick_seconds": 0.05})
    sent: list[str] = []
    schedulers = [Scheduler(settings, engine, send_poll=sent.append, send_periodic=lambda _job: None) for _ in range(3)]
    started = time.monotonic()
    while time.monotonic() - started < 2.2:
        for s in schedulers:
            s.tick()
        time.sleep(0.05)
    per_source = Counter(sent)
    # 2.2 s at a 1 s interval: 3 slots each (t=0, ~1, ~2), however many schedulers tick.
    assert set(per_source) == {"a", "b"}
    assert all(2 <= n <= 3 for n in per_source.values()), per_source


def test_a_failing_source_backs_off_alone(make_settings: Callable[..., tuple[Settings, Engine]], monkeypatch: pytest.MonkeyPatch) -> None:
    settings, engine = make_settings(None, [mailbox("good", 0.1), mailbox("bad", 0.1)], scheduler={"tick_seconds": 0.02})
    pollers = {"good": FakePoller("good", engine, 0.0), "bad": FakePoller("bad", engine, 0.0, fail=True)}
    monkeypatch.setattr(scheduler_module, "pollers_by_name", lambda _settings: pollers)
    scheduler = Scheduler(settings, engine, send_poll=lambda name: poll_source_now(settings, engine, name), send_periodic=lambda _job: None)
    stop = threading.Event()
    runner = threading.Thread(target=scheduler.run, args=(stop,))
    runner.start()
    time.sleep(2.0)
    stop.set()
    runner.join()
    # good: every 0.1 s. bad: after 0.1, 0.2, 0.4, 0.8 s... so a handful of attempts in 2 s.
    assert pollers["good"].polls >= 8  # ~19 on an idle machine
    assert 3 <= pollers["bad"].polls <= 6, pollers["bad"].polls
    with session_scope(engine) as session:
        bad = session.get(SourceHealth, "bad")
        good = session.get(SourceHealth, "good")
        assert bad is not None and good is not None
        assert bad.consecutive_errors == pollers["bad"].polls and bad.last_success_at is None
        assert bad.failing_since is not None and "provider down" in (bad.last_error or "")
        assert good.consecutive_errors == 0 and good.last_success_at is not None


def test_a_source_that_says_when_to_come_back_is_not_polled_before(make_settings: Callable[..., tuple[Settings, Engine]], monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.facebook.ratelimit import GraphThrottled

    settings, engine = make_settings(None, [mailbox("throttled", 0.1)])

    class Throttled:
        name, kind, polls = "throttled", "imap", 0

        def poll_once(self, engine: Engine, enqueue: bool = True) -> None:
            self.polls += 1
            raise GraphThrottled("(#4) Application request limit reached", code=4, retry_after_seconds=1800)

    poller = Throttled()
    monkeypatch.setattr(scheduler_module, "pollers_by_name", lambda _settings: {"throttled": poller})
    assert poll_source_now(settings, engine, "throttled").status == "failed"
    with session_scope(engine) as session:
        health = session.get(SourceHealth, "throttled")
        assert health is not None and health.details["retry_after_until"]
    # The exponential backoff after one error (0.1 s) has long passed; the source's own word holds.
    later = utcnow() + timedelta(minutes=5)
    assert in_backoff(read_health(engine)["throttled"], 0.1, 3600, later)
    assert not in_backoff(read_health(engine)["throttled"], 0.1, 3600, later + timedelta(minutes=30))
    time.sleep(0.3)
    assert poll_source_now(settings, engine, "throttled").status == "backing_off" and poller.polls == 1


def test_status_exits_non_zero_when_a_source_fails_too_long(
    make_settings: Callable[..., tuple[Settings, Engine]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from tickets.models import utcnow
    from tiepnhan.cli import app

    settings, engine = make_settings(None, [mailbox("good", 60), mailbox("bad", 60)], source_failing_threshold_minutes=30)
    from datetime import timedelta

    with session_scope(engine) as session:
        session.add(SourceHealth(source="good", kind="imap", last_success_at=utcnow(), last_attempt_at=utcnow()))
        session.add(
            SourceHealth(source="bad", kind="imap", consecutive_errors=7, failing_since=utcnow() - timedelta(minutes=10), last_error="AUTHENTICATIONFAILED")
        )
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", settings.database_url)
    config = tmp_path / "t.toml"
    config.write_text(
        "".join(
            f'[[mailboxes]]\nname = "{n}"\nhost = "127.0.0.1"\nsecurity = "plain"\nusername = "u"\npassword = "p"\n\n' for n in ("good", "bad")
        )
    )
    runner = CliRunner()
    result = runner.invoke(app, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output  # failing 10 minutes: below the 30-minute threshold
    data = json.loads(result.stdout.strip().splitlines()[-1])
    bad = next(s for s in data["sources"] if s["name"] == "bad")
    assert bad["consecutive_errors"] == 7 and bad["last_error"] == "AUTHENTICATIONFAILED" and not bad["failing_too_long"]
    with session_scope(engine) as session:
        row = session.get(SourceHealth, "bad")
        assert row is not None
        row.failing_since = utcnow() - timedelta(minutes=45)
        session.add(row)
    result = runner.invoke(app, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["healthy"] is False
    assert [s["name"] for s in data["sources"] if s["failing_too_long"]] == ["bad"]


def test_status_shows_a_large_sync_under_way() -> None:
    from tiepnhan.status import sync_in_progress

    assert sync_in_progress({"INBOX": {"fetched": 2400, "total": 10000}, "Đã xử lý": {"fetched": 5, "total": 5}}) == "đồng bộ INBOX: 2,400/10,000"
    assert sync_in_progress({"INBOX": {"fetched": 7, "total": 7}}) is None
    assert sync_in_progress(None) is None
