"""A worker SIGKILLed while it holds a message: with the SHIPPED broker settings the message is
handed out again and finished by the other worker within 10 s of the death; a live worker
whose stage runs longer than the heartbeat timeout is not mistaken for dead.

Two real `python -m tiepnhan.worker` processes on a real redis-server and PostgreSQL; the
first pipeline message is held deterministically by tests/ops/slow_first_message.py (loaded
into the workers as an extra dramatiq module; no tiepnhan code knows about it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import load_settings
from tests.ops.slow_first_message import CLAIM_FILE, STARTS_FILE
from tests.workers.conftest import REPO, backlog, counts, wait_for
from tests.workers.redis_server import RedisServer
from tiepnhan import runtime
from tiepnhan.intake import accept

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SHIPPED = load_settings(None, database_url="sqlite://", redis_url=None).worker


def _env(database_url: str, redis_url: str, directory: Path, slow_seconds: float) -> dict[str, str]:
    """The workers' environment: nothing of the broker settings overridden (shipped defaults)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIEPNHAN_", "OPS_TEST_"))}
    env.update(
        TIEPNHAN_DATABASE_URL=database_url, TIEPNHAN_REDIS_URL=redis_url, TIEPNHAN_LOG_FORMAT="text",
        PYTHONPATH=str(REPO), OPS_TEST_DIR=str(directory), OPS_TEST_SLOW_SECONDS=str(slow_seconds),
    )  # fmt: skip
    return env


class Worker:
    """`python -m tiepnhan.worker` (dramatiq's parent process and one worker process)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "tiepnhan.worker", "tests.ops.slow_first_message", "--processes", "1", "--threads", "1"]
        self.process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def children(self) -> set[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True).stdout
        return {int(p) for p in out.split()}

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], list[Worker]]]:
    started: list[Worker] = []

    def _start(env: dict[str, str]) -> list[Worker]:
        started.extend(Worker(env, tmp_path / f"worker-{n}.log") for n in range(2))
        return started

    yield _start
    for worker in started:
        worker.stop()


def _claim(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / CLAIM_FILE).read_text())  # type: ignore[no-any-return]
    except (FileNotFoundError, ValueError):
        return None


def _starts(directory: Path) -> list[dict[str, Any]]:
    path = directory / STARTS_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _worker_heartbeats(server: RedisServer) -> int:
    return int(server.client().zcard("tiepnhan:__heartbeats__"))


def _start_and_send(
    postgres_url: str, server: RedisServer, directory: Path, slow_seconds: float,
    redis_settings: Callable[..., Any], two_workers: Callable[[dict[str, str]], list[Worker]],
) -> tuple[list[Worker], dict[str, Any]]:  # fmt: skip
    directory.mkdir()
    redis_settings(postgres_url, server.url)  # migrates the database, this process enqueues on Redis
    workers = two_workers(_env(postgres_url, server.url, directory, slow_seconds))
    # Both worker processes heartbeat before anything is sent: either may take the message.

    def connected() -> bool:
        assert all(w.alive() for w in workers), [w.output() for w in workers]
        return _worker_heartbeats(server) >= 2

    wait_for(connected, 120, "both workers to connect to Redis", interval=0.1)
    accept(runtime.engine(), backlog(1), enqueue=True)
    wait_for(lambda: _claim(directory) is not None, 60, "a worker to take the first pipeline message", interval=0.02)
    claim = _claim(directory)
    assert claim is not None
    return workers, claim


def test_a_sigkilled_workers_message_is_finished_by_the_other_within_10_s(
    postgres_url: str, redis_server: RedisServer, redis_settings: Callable[..., Any],
    two_workers: Callable[[dict[str, str]], list[Worker]], tmp_path: Path,
) -> None:  # fmt: skip
    directory = tmp_path / "hook"
    workers, claim = _start_and_send(postgres_url, redis_server, directory, 600, redis_settings, two_workers)
    holder = next(w for w in workers if claim["pid"] in w.children())
    survivor = next(w for w in workers if w is not holder)
    client = redis_server.client()
    assert sum(client.scard(key) for key in client.scan_iter("tiepnhan:__acks__.*")) == 1  # held, unacknowledged
    killed_at, killed_at_wall = time.monotonic(), time.time()
    os.kill(claim["pid"], signal.SIGKILL)  # the process holding the message, unacknowledged
    wait_for(lambda: counts(postgres_url)["tagged"] >= 1, 60, "the survivor to finish the message", interval=0.05)
    recovered_in = time.monotonic() - killed_at
    again = [s for s in _starts(directory) if s["message_id"] == claim["message_id"]][1:]
    handed_out_in = again[0]["at"] - killed_at_wall if again else float("nan")
    print(f"\nrecovery after SIGKILL (shipped settings: heartbeat_timeout_ms={SHIPPED.heartbeat_timeout_ms}, "
          f"maintenance_chance={SHIPPED.maintenance_chance}): handed out again after {handed_out_in:.2f} s, "
          f"finished (ticket tagged) after {recovered_in:.2f} s")  # fmt: skip
    assert survivor.alive(), survivor.output()
    assert recovered_in <= 10.0, f"the killed worker's message took {recovered_in:.1f} s to be finished"
    found = counts(postgres_url)
    assert found["tickets"] == 1 and found["messages"] == 1 and found["processed"] == 1, found
    redelivered = [s for s in _starts(directory) if s["message_id"] == claim["message_id"]]
    assert [s["pid"] for s in redelivered][0] == claim["pid"]
    assert len(redelivered) == 2 and redelivered[1]["pid"] in survivor.children(), redelivered


def test_a_live_worker_slower_than_the_heartbeat_timeout_is_not_duplicated(
    postgres_url: str, redis_server: RedisServer, redis_settings: Callable[..., Any],
    two_workers: Callable[[dict[str, str]], list[Worker]], tmp_path: Path,
) -> None:  # fmt: skip
    slow = SHIPPED.heartbeat_timeout_ms / 1000 * 2.5
    directory = tmp_path / "hook"
    workers, claim = _start_and_send(postgres_url, redis_server, directory, slow, redis_settings, two_workers)
    client = redis_server.client()
    holder_key = next(k.decode() for k in client.scan_iter("tiepnhan:__acks__.*") if client.scard(k))
    holder_broker_id = holder_key.split(".")[1]
    # While its only actor thread sleeps, its consumer threads keep its heartbeat fresh.
    oldest_heartbeat_ms = 0.0
    while _claim(directory) is not None and counts(postgres_url)["tagged"] == 0:
        score = client.zscore("tiepnhan:__heartbeats__", holder_broker_id)
        assert score is not None, "the live worker was dropped from the heartbeats"
        oldest_heartbeat_ms = max(oldest_heartbeat_ms, time.time() * 1000 - score)
        time.sleep(0.1)
    wait_for(lambda: counts(postgres_url)["tagged"] >= 1, 60, "the slow worker to finish", interval=0.1)
    print(f"\nslow stage of {slow:.1f} s; the holder's heartbeat was at most {oldest_heartbeat_ms:.0f} ms old")
    assert oldest_heartbeat_ms < SHIPPED.heartbeat_timeout_ms
    started = [s for s in _starts(directory) if s["message_id"] == claim["message_id"]]
    assert len(started) == 1, f"the live slow worker's message was handed out again: {started}"
    found = counts(postgres_url)
    assert found["tickets"] == 1 and found["messages"] == 1, found
    assert all(w.alive() for w in workers), [w.output() for w in workers]
