"""`tiepnhan status` is the health check: with Redis, no live worker means unhealthy (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.workers.conftest import REPO, wait_for, worker_env
from tests.workers.redis_server import RedisServer
from tiepnhan.status import live_workers

pytestmark = [pytest.mark.redis]


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tiepnhan.cli", "status", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_status_reports_missing_workers_and_is_healthy_once_one_runs(tmp_path: Path, redis_server: RedisServer, start_worker: Callable[..., Any]) -> None:
    env = worker_env(f"sqlite:///{tmp_path / 'status.db'}", redis_server.url)

    alone = status(env, "--json")
    assert alone.returncode == 1, alone.stdout + alone.stderr
    report = json.loads(alone.stdout)
    assert report["healthy"] is False and report["live_workers"] == 0
    assert any("worker" in problem for problem in report["problems"])
    text = status(env)
    assert text.returncode == 1
    assert "không có worker nào đang hoạt động" in text.stdout
    assert "Hoạt động bình thường" not in text.stdout

    start_worker(env)
    wait_for(lambda: live_workers(redis_server.client(), 3000) > 0, 60, "the worker's heartbeat")
    running = status(env, "--json")
    assert running.returncode == 0, running.stdout + running.stderr
    report = json.loads(running.stdout)
    assert report["healthy"] is True and report["problems"] == [] and report["live_workers"] >= 1
