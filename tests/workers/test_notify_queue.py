"""With Redis, escalations are sent by the worker processes from the "notify" queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingest.files import email_raw_input
from notifiers.dispatch import request_delivery
from tests.escalation.conftest import COMPLAINT, INTAKE_ADDRESS, citizen_email, units_file
from tests.escalation.smtp_server import SmtpCapture, smtp_capture
from tests.workers.conftest import wait_for, worker_env
from tests.workers.redis_server import RedisServer
from tickets.escalations import approve, list_escalations
from tiepnhan import runtime
from tiepnhan.intake import accept

pytestmark = [pytest.mark.redis]


@pytest.fixture
def smtp() -> Any:
    capture = smtp_capture()
    yield capture
    capture.stop()


def test_an_approved_escalation_is_sent_by_a_worker_through_the_notify_queue(
    tmp_path: Path, redis_server: RedisServer, redis_settings: Callable[..., Any], start_worker: Callable[..., Any], smtp: SmtpCapture
) -> None:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    units = units_file(tmp_path)
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        f'units_file = "{units}"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\nfrom_address = "{INTAKE_ADDRESS}"\n'
        f'[intake]\nreply_address = "{INTAKE_ADDRESS}"\n',
        encoding="utf-8",
    )
    redis_settings(url, redis_server.url, units_file=str(units), smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS})
    engine = runtime.engine()
    start_worker(worker_env(url, redis_server.url, TIEPNHAN_CONFIG=str(config)))
    accept(engine, [email_raw_input(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"), "hotro", {})], enqueue=True)
    wait_for(lambda: len(list_escalations(engine)) == 1, 60, "the complaint to be proposed to its office")
    [proposal] = list_escalations(engine)
    approve(engine, proposal.id, "dpv")
    assert request_delivery(proposal.id) is None  # enqueued, not sent here
    wait_for(lambda: list_escalations(engine)[0].status == "sent", 60, "a worker to send the escalation")
    assert len(smtp.wait_for(1)) == 1
    assert smtp.received[0].recipients == ["bhxh.dongnai@donvi.localhost"]
