"""Dramatiq workers on a real Redis: scale-out, crash recovery, Redis restarts, poison items.

The worker processes are real `dramatiq tiepnhan.worker` processes sharing one PostgreSQL
database with this test process, which stores the raw items and enqueues them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.workers.conftest import REPO, backlog, counts, wait_for, worker_env
from tests.workers.redis_server import RedisServer
from tickets.db import get_engine, session_scope
from tickets.models import Message
from tickets.store import RawInput
from tiepnhan import runtime
from tiepnhan.intake import accept

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

BACKLOG = 300


def _queue_empty(server: RedisServer) -> bool:
    client = server.client()
    return all(client.hlen(f"tiepnhan:{q}.msgs") == 0 for q in ("pipeline", "pipeline.DQ"))


def _assert_exactly_once(url: str, expected: int) -> None:
    found = counts(url)
    assert found["raw"] == expected
    assert found["processed"] == expected, found
    assert found["messages"] == expected, found
    assert found["tickets"] == expected, found  # no duplicate tickets
    assert found["threaded"] == expected, found
    assert found["multi_message_tickets"] == 0, found
    assert found["tagged"] == expected, found
    with session_scope(get_engine(url)) as session:
        duplicated = session.execute(
            select(Message.external_id).group_by(Message.external_id).having(func.count() > 1)
        ).all()
    assert duplicated == []


def test_backlog_processed_by_two_worker_processes_without_duplicates(
    postgres_url: str, redis_server: RedisServer, redis_settings: Callable[..., Any], start_worker: Callable[..., Any]
) -> None:
    settings = redis_settings(postgres_url, redis_server.url)
    engine = runtime.engine()
    env = worker_env(postgres_url, redis_server.url)
    for start in range(0, BACKLOG, 10):  # one pipeline message per accepted batch: 30 to share
        accept(engine, backlog(10, start=start), enqueue=True)
    workers = [start_worker(env), start_worker(env)]
    consumers: set[str] = set()

    def done() -> bool:
        # Which broker connections hold unacknowledged messages: each worker process has one.
        client = redis_server.client()
        consumers.update(k.decode().split(".")[1] for k in client.scan_iter("tiepnhan:__acks__.*") if client.scard(k))
        return counts(postgres_url)["tagged"] >= BACKLOG

    wait_for(done, 180, "the backlog to be tagged", interval=0.05)
    wait_for(lambda: _queue_empty(redis_server), 30, "the queue to drain")
    _assert_exactly_once(postgres_url, BACKLOG)
    for worker in workers:
        assert worker.process.poll() is None, worker.output()[-2000:]
    assert len(consumers) == 2, f"the backlog was not shared by both processes: {consumers}"
    from tiepnhan.status import live_workers

    assert live_workers(redis_server.client(), settings.worker.heartbeat_timeout_ms) >= 2


def test_worker_killed_mid_batch_survivor_finishes_nothing_lost_or_duplicated(
    postgres_url: str, redis_server: RedisServer, redis_settings: Callable[..., Any], start_worker: Callable[..., Any]
) -> None:
    redis_settings(postgres_url, redis_server.url)
    engine = runtime.engine()
    env = worker_env(postgres_url, redis_server.url)
    accept(engine, backlog(BACKLOG), enqueue=True)
    victim = start_worker(env, threads=8)
    wait_for(lambda: counts(postgres_url)["processed"] >= 40, 120, "the first items to be processed")
    victim.kill()  # mid-batch: it holds unacknowledged messages
    unacked_by_dead = sum(
        redis_server.client().scard(key) for key in redis_server.client().scan_iter("tiepnhan:__acks__.*")
    )
    before = counts(postgres_url)
    assert before["tagged"] < BACKLOG, "the victim finished everything before it was killed; test proves nothing"
    start_worker(env)
    wait_for(lambda: counts(postgres_url)["tagged"] >= BACKLOG, 180, "the survivor to finish the backlog")
    wait_for(lambda: _queue_empty(redis_server), 30, "the queue to drain")
    _assert_exactly_once(postgres_url, BACKLOG)
    assert unacked_by_dead > 0, "the killed worker held no messages; redelivery was not exercised"


def test_redis_restarted_mid_run_and_the_system_recovers(
    postgres_url: str, durable_redis_server: RedisServer, redis_settings: Callable[..., Any], start_worker: Callable[..., Any]
) -> None:
    server = durable_redis_server
    redis_settings(postgres_url, server.url)
    engine = runtime.engine()
    # A stage takes milliseconds: a short time limit lets the reconcile job tell work a worker
    # lost in the restart from work still in its hands within the test's patience.
    env = worker_env(postgres_url, server.url, TIEPNHAN_WORKER__TIME_LIMIT_MS="5000")
    accept(engine, backlog(BACKLOG), enqueue=True)
    workers = [start_worker(env), start_worker(env)]
    wait_for(lambda: counts(postgres_url)["processed"] >= 30, 120, "the first items to be processed")
    server.stop()
    time.sleep(2)  # workers fail to fetch, acknowledge and enqueue meanwhile
    server.start()  # same port, same append-only file: the queued messages are back
    # The scheduler's reconcile job re-sends any stage whose next message was lost while
    # Redis was down (sent after the stage committed): work with no message left in Redis.
    scheduler = subprocess.Popen(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", "scheduler"],
        env={**env, "TIEPNHAN_SCHEDULER__RECONCILE_INTERVAL_MINUTES": "0.05"},
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: counts(postgres_url)["tagged"] >= BACKLOG, 240, "the backlog to finish after the restart")
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
    wait_for(lambda: _queue_empty(server), 30, "the queue to drain")
    _assert_exactly_once(postgres_url, BACKLOG)
    assert scheduler.returncode == 0
    for worker in workers:
        assert worker.process.poll() is None, "a worker died when Redis went away:\n" + worker.output()[-2000:]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_poison_items_end_in_failures_while_the_rest_flows(
    postgres_url: str, redis_server: RedisServer, redis_settings: Callable[..., Any], start_worker: Callable[..., Any]
) -> None:
    redis_settings(postgres_url, redis_server.url)
    engine = runtime.engine()
    env = worker_env(postgres_url, redis_server.url)
    good = backlog(50)
    # An item no parser understands: quarantined at once, never retried.
    unknown = RawInput(source="backlog", kind="carrier_pigeon", external_id="pigeon-1", content=b"coo")
    saved = accept(engine, [*good[:25], unknown, *good[25:]], enqueue=True)
    unknown_id = saved[25].raw_item_id
    # A message that fails every time (its raw item does not exist): retried, then dead-lettered.
    from tickets.actors import normalize_raw_item

    normalize_raw_item.send(987654)
    start_worker(env)
    wait_for(lambda: counts(postgres_url)["tagged"] >= 50, 120, "the good items to flow")

    def listed() -> list[dict[str, Any]]:
        result = _cli(env, "failures", "--json")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    wait_for(lambda: any(r["kind"] == "job" for r in listed()), 60, "the poison message to be dead-lettered", interval=1)
    rows = {r["id"]: r for r in listed()}
    raw = rows[f"raw-{unknown_id}"]
    assert raw["state"] == "quarantined" and raw["stage"] == "normalize" and "carrier_pigeon" in raw["error"]
    assert raw["count"] == 1  # not retried
    jobs = [r for r in rows.values() if r["kind"] == "job"]
    assert len(jobs) == 1 and "normalize_raw_item(987654)" in jobs[0]["what"] and "LookupError" in jobs[0]["error"]
    assert counts(postgres_url)["tickets"] == 50

    # Retrying re-runs them: the pigeon fails again (attempts 2), the job is dead-lettered again.
    result = _cli(env, "retry", "--all")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: any(r["id"] == f"raw-{unknown_id}" and r["count"] == 2 for r in listed()), 60, "the retried item", interval=1)
    wait_for(lambda: any(r["kind"] == "job" and r["count"] == 2 for r in listed()), 60, "the retried job", interval=1)
