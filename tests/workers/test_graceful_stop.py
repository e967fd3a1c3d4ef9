"""`tiepnhan worker` under a Procfile runner: SIGTERM to the whole process group stops it gently."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.workers.conftest import REPO, backlog, counts, wait_for, worker_env
from tests.workers.redis_server import RedisServer
from tiepnhan import runtime
from tiepnhan.intake import accept

pytestmark = [pytest.mark.redis]


def test_group_sigterm_like_honcho_lets_workers_finish_their_messages(
    tmp_path: Path, redis_server: RedisServer, redis_settings: Callable[..., Any]
) -> None:
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    redis_settings(url, redis_server.url)
    for start in range(0, 200, 10):  # 20 pipeline messages (one per accepted batch), so it can stop part-way
        accept(runtime.engine(), backlog(10, start=start), enqueue=True)
    log = tmp_path / "worker.log"
    # honcho starts each Procfile line in its own process group and signals the group.
    worker = subprocess.Popen(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", "worker", "--processes", "1", "--threads", "2"],
        env=worker_env(url, redis_server.url), cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    wait_for(lambda: counts(url)["processed"] >= 10, 60, "the worker to start processing")
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, log.read_text()[-3000:]
    output = log.read_text()
    assert "Killing worker process" not in output  # dramatiq's hard stop on a second SIGTERM
    # It stopped part-way, and left nothing half-done: what it took, it finished and acknowledged.
    client = redis_server.client()
    assert not [k for k in client.scan_iter("tiepnhan:__acks__.*") if client.scard(k)]
    assert counts(url)["tagged"] < 200
