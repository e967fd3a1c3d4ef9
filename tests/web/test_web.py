"""`tiepnhan web` serves /healthz and /metrics over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.servers import free_port


def test_web_process_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TIEPNHAN_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    env.pop("TIEPNHAN_REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "tiepnhan.cli", "web", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200 and b"ok" in response.read()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "web did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.status == 200
            assert b"# TYPE" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
