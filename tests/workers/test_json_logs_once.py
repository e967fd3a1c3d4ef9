"""Every process writes each event once, as one JSON object per line (issue 12).

The worker used to print each event twice (tiepnhan's JSON and dramatiq's text format) plus
Alembic's start-up lines. The real processes are run as the Procfile runs them (`tiepnhan
worker`, `tiepnhan scheduler`, `tiepnhan web`) and every line they write is parsed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.servers import free_port
from tests.workers.conftest import REPO, backlog, wait_for, worker_env
from tests.workers.redis_server import RedisServer
from tiepnhan import runtime
from tiepnhan.intake import accept

pytestmark = [pytest.mark.redis]


class Process:
    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "tiepnhan.cli", *args], env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> list[str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.log_path.read_text(errors="replace").splitlines()


def parse_json_lines(lines: list[str]) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(record, dict) and {"time", "level", "logger", "event"} <= set(record), line
        records.append(record)
    events = Counter((r["time"], r["logger"], r["event"]) for r in records)
    doubled = [event for event, n in events.items() if n > 1]
    assert not doubled, f"events written more than once: {doubled[:5]}"
    assert not [r for r in records if r["logger"].startswith("alembic")]
    return records


@pytest.fixture
def processes() -> Any:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def test_worker_scheduler_and_web_write_each_event_once_as_json(
    tmp_path: Path, redis_server: RedisServer, redis_settings: Callable[..., Any], processes: list[Process]
) -> None:
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    env = worker_env(url, redis_server.url, TIEPNHAN_LOG_FORMAT="json", TIEPNHAN_LOG_LEVEL="info")
    redis_settings(url, redis_server.url)
    worker = Process(env, tmp_path / "worker.log", "worker", "--processes", "1", "--threads", "2")
    processes.append(worker)

    accept(runtime.engine(), backlog(3), enqueue=True)
    from tiepnhan.scheduler import run_periodic

    run_periodic.send("no-such-job")  # fails, is retried by dramatiq (its warnings), then dead-lettered (ours)
    from tickets.db import session_scope
    from tickets.models import RawItem
    from tiepnhan.failures import FailedJob  # the dead-letter recorder's table

    def handled() -> bool:  # processed, or quarantined: either way the worker logged its work
        with session_scope(runtime.engine()) as session:
            return session.execute(select(func.count()).select_from(RawItem).where(RawItem.state == "pending")).scalar_one() == 0

    wait_for(handled, 90, "the worker to take the emails")

    def dead_lettered() -> bool:
        with session_scope(runtime.engine()) as session:
            return session.execute(select(func.count()).select_from(FailedJob)).scalar_one() > 0

    wait_for(dead_lettered, 60, "the failing job to be dead-lettered")

    scheduler = Process(env, tmp_path / "scheduler.log", "scheduler")
    processes.append(scheduler)
    port = free_port()
    web = Process(env, tmp_path / "web.log", "web", "--port", str(port))
    processes.append(web)

    def healthz() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return bool(response.status)
        except OSError:
            return False

    wait_for(healthz, 60, "the web process to answer")
    wait_for(lambda: "scheduler started" in scheduler.log_path.read_text(errors="replace"), 60, "the scheduler to start")
    time.sleep(1)

    worker_records = parse_json_lines(worker.stop())
    assert any(r["logger"] == "tiepnhan.middleware" and r["event"] == "job dead-lettered" for r in worker_records)
    assert any(r["logger"].startswith("dramatiq") for r in worker_records)  # dramatiq's own warnings, in JSON too
    scheduler_records = parse_json_lines(scheduler.stop())
    assert [r["event"] for r in scheduler_records if r["logger"] == "tiepnhan.scheduler"][:1] == ["scheduler started"]
    web_records = parse_json_lines(web.stop())
    assert any("/healthz" in r["event"] for r in web_records if r["logger"] == "uvicorn.access")
