"""A coordinator's decision made with the CLI reaches the Redis workers at once (issue 12).

The CLI process only configures the runtime (`load`); the broker it enqueues on must still be
the configured Redis one, not an in-memory stub nobody reads. Without the scheduler running,
the unit's mail must arrive within seconds of `tiepnhan escalation approve`. With Redis
unreachable the command fails clearly, and the periodic pass sends the escalation later.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from notifiers.reminders import send_reminders
from tests.escalation.conftest import COMPLAINT, INTAKE_ADDRESS, citizen_email, escalation_settings, ingest_email, smtp  # noqa: F401
from tests.escalation.smtp_server import SmtpCapture
from tests.servers import free_port
from tests.workers.conftest import REPO, wait_for, worker_env
from tests.workers.redis_server import RedisServer
from tickets.escalations import list_escalations
from tiepnhan import runtime
from tiepnhan.status import live_workers

pytestmark = [pytest.mark.redis]


def config_file(tmp_path: Path, settings: Any, smtp_port: int) -> Path:
    path = tmp_path / "tiepnhan.toml"
    path.write_text(
        f'units_file = "{settings.units_file}"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "plain"\n'
        f'from_address = "{INTAKE_ADDRESS}"\n[intake]\nreply_address = "{INTAKE_ADDRESS}"\n',
        encoding="utf-8",
    )
    return path


def proposed_escalation(escalation_settings: Callable[..., Any]) -> tuple[Any, int]:  # noqa: F811
    settings = escalation_settings()
    ingest_email(citizen_email(*COMPLAINT, message_id="approve-cli@dan.localhost"))
    [proposal] = list_escalations(runtime.engine())
    assert proposal.status == "proposed"
    return settings, int(proposal.id or 0)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tiepnhan.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_approve_from_the_cli_is_sent_by_a_redis_worker_without_the_periodic_job(
    tmp_path: Path, escalation_settings: Callable[..., Any], smtp: SmtpCapture, redis_server: RedisServer, start_worker: Callable[..., Any]  # noqa: F811
) -> None:
    settings, escalation_id = proposed_escalation(escalation_settings)
    env = worker_env(settings.database_url, redis_server.url, TIEPNHAN_CONFIG=str(config_file(tmp_path, settings, smtp.port)))
    worker = start_worker(env)  # the worker runs the "notify" queue; no scheduler, so no periodic pass
    wait_for(lambda: live_workers(redis_server.client(), 3000) > 0, 60, "the worker to connect to Redis")

    started = time.monotonic()
    result = cli(env, "escalation", "approve", str(escalation_id), "--by", "dpv")
    assert result.returncode == 0, result.stderr + result.stdout
    received = smtp.wait_for(1, timeout=30)
    delay = time.monotonic() - started
    assert len(received) == 1, worker.output()[-3000:]
    assert received[0].recipients == ["bhxh.dongnai@donvi.localhost"]
    wait_for(lambda: list_escalations(runtime.engine())[0].status == "sent", 30, "the escalation to be recorded as sent")
    print(f"approve → mail (CLI start to SMTP DATA, Redis worker): {delay:.2f} s")


def test_approve_with_redis_unreachable_fails_clearly_and_the_periodic_pass_sends_it(
    tmp_path: Path, escalation_settings: Callable[..., Any], smtp: SmtpCapture  # noqa: F811
) -> None:
    settings, escalation_id = proposed_escalation(escalation_settings)
    closed_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = worker_env(settings.database_url, closed_url, TIEPNHAN_CONFIG=str(config_file(tmp_path, settings, smtp.port)))

    result = cli(env, "escalation", "approve", str(escalation_id), "--by", "dpv")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "không kết nối được Redis" in result.stderr
    assert "Traceback" not in result.stderr
    assert "notify" not in result.stdout  # it does not claim the mail was handed to the queue
    [escalation] = list_escalations(runtime.engine())
    assert escalation.status == "approved"  # the decision is kept, ready to send
    assert smtp.received == []

    summary = send_reminders(runtime.settings(), runtime.engine())  # the scheduler's sla_reminders job
    assert summary["deliveries"] == {"sent": 1}
    assert [r.recipients for r in smtp.wait_for(1)] == [["bhxh.dongnai@donvi.localhost"]]
    assert list_escalations(runtime.engine())[0].status == "sent"
