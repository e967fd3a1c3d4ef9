"""Fixtures for the worker tests: Redis servers, worker processes, a backlog of raw emails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from config.settings import Settings, load_settings
from tests.workers.redis_server import RedisServer
from tickets.db import dispose_engines, session_scope
from tickets.models import Message, RawItem, Ticket
from tickets.store import RawInput
from tiepnhan import runtime

REPO = Path(__file__).resolve().parents[2]

# Redelivery of a dead worker's messages within seconds, not the 73 s of the defaults.
FAST_BROKER_ENV = {
    "TIEPNHAN_WORKER__HEARTBEAT_TIMEOUT_MS": "3000",
    "TIEPNHAN_WORKER__MAINTENANCE_CHANCE": "1000000",
    "TIEPNHAN_WORKER__MIN_BACKOFF_MS": "100",
    "TIEPNHAN_WORKER__MAX_BACKOFF_MS": "1000",
    "TIEPNHAN_WORKER__MAX_RETRIES": "3",
}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def durable_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Redis with the append-only file on, so queued messages survive a restart."""
    server = RedisServer(tmp_path / "redis-aof", appendonly=True)
    server.start()
    yield server
    server.stop()


def worker_env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")}
    env.update(FAST_BROKER_ENV)
    env["TIEPNHAN_DATABASE_URL"] = database_url
    if redis_url:
        env["TIEPNHAN_REDIS_URL"] = redis_url
    env["TIEPNHAN_LOG_FORMAT"] = "text"
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


class WorkerProcess:
    """One `dramatiq tiepnhan.worker` process group (the CLI master and its worker process)."""

    def __init__(self, env: dict[str, str], log_path: Path, threads: int = 4) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115
        argv = [sys.executable, "-m", "dramatiq", "tiepnhan.worker", "--processes", "1", "--threads", str(threads)]
        self.process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the whole group: no acknowledgement, no requeue, like a machine dying."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def _start(env: dict[str, str], threads: int = 4) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log", threads)
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()


@pytest.fixture
def redis_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Settings]]:
    """Configure this process to enqueue on a Redis broker; the stub broker comes back after."""
    for name in list(os.environ):
        if name.startswith("TIEPNHAN_"):
            monkeypatch.delenv(name)

    def _configure(database_url: str, redis_url: str | None, **overrides: Any) -> Settings:
        from tiepnhan.actor_setup import setup

        settings = load_settings(None, database_url=database_url, redis_url=redis_url, data_dir=str(tmp_path / "var"), **overrides)
        setup(settings)
        return settings

    yield _configure
    from tiepnhan.actor_setup import setup

    setup(load_settings(None, database_url=f"sqlite:///{tmp_path / 'after.db'}", redis_url=None))
    runtime.configure(None)  # type: ignore[arg-type]
    dispose_engines()


def make_email(number: int, *, domain: str = "example.vn") -> bytes:
    """A small, realistic citizen email (unique Message-ID, Vietnamese text, no ID numbers)."""
    body = (
        f"Kính gửi BHXH Việt Nam,\n\nTôi là người lao động số {number} tại Hà Nội. Công ty tôi chậm đóng "
        "bảo hiểm xã hội ba tháng nay, tôi không chốt được sổ BHXH. Đề nghị cơ quan xem xét giúp.\n\nTrân trọng.\n"
    )
    headers = (
        f"From: Nguyen Van {number} <citizen{number}@{domain}>\r\n"
        "To: tiepnhan@baohiemxahoi.gov.vn\r\n"
        f"Subject: =?utf-8?b?{__import__('base64').b64encode(f'Phản ánh chậm đóng BHXH #{number}'.encode()).decode()}?=\r\n"
        f"Message-ID: <backlog-{number}@{domain}>\r\n"
        "Date: Mon, 24 Nov 2025 08:00:00 +0700\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return headers.encode() + body.replace("\n", "\r\n").encode()


def backlog(count: int, source: str = "backlog", start: int = 0) -> list[RawInput]:
    return [RawInput(source=source, kind="email", external_id=f"<backlog-{n}@example.vn>", content=make_email(n)) for n in range(start, start + count)]


def counts(database_url: str) -> dict[str, int]:
    from tickets.db import get_engine

    engine = get_engine(database_url)
    with session_scope(engine) as session:
        def scalar(query: Any) -> int:
            return int(session.execute(query).scalar_one())

        return {
            "raw": scalar(select(func.count()).select_from(RawItem)),
            "processed": scalar(select(func.count()).select_from(RawItem).where(RawItem.state == "processed")),
            "messages": scalar(select(func.count()).select_from(Message)),
            "threaded": scalar(select(func.count()).select_from(Message).where(Message.ticket_id.is_not(None))),  # type: ignore[union-attr]
            "tickets": scalar(select(func.count()).select_from(Ticket)),
            "tagged": scalar(select(func.count()).select_from(Ticket).where(Ticket.tagged_at.is_not(None))),  # type: ignore[union-attr]
            "multi_message_tickets": scalar(select(func.count()).select_from(Ticket).where(Ticket.message_count != 1)),
        }


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
