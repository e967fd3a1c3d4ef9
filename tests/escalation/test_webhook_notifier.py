"""Units that integrate by API receive a signed JSON POST; a failing endpoint is retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from notifiers.delivery import Outcome, deliver_escalation
from tests.escalation.conftest import COMPLAINT, citizen_email, ingest_email, units_file
from tests.servers import free_port
from tickets.escalations import approve, list_escalations
from tiepnhan import runtime

SECRET = "bi-mat-cua-don-vi"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, port
    server.shutdown()


def test_a_webhook_unit_receives_a_signed_payload(escalation_settings: Callable[..., Settings], receiver: tuple[Receiver, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, port = receiver
    monkeypatch.setenv("DONGNAI_WEBHOOK_SECRET", SECRET)
    path = units_file(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            'emails = ["bhxh.dongnai@donvi.localhost"]',
            f'webhook_url = "http://127.0.0.1:{port}/tiepnhan"\nwebhook_secret_env = "DONGNAI_WEBHOOK_SECRET"',
        ),
        encoding="utf-8",
    )
    settings = escalation_settings(units_file=str(path))
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    [proposal] = list_escalations(runtime.engine(), ticket_id=ticket_id)
    approve(runtime.engine(), proposal.id, "dpv")
    state.status = 503
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.RETRY
    state.status = 200
    [retrying] = list_escalations(runtime.engine(), ticket_id=ticket_id)
    assert retrying.status == "approved" and "503" in (retrying.last_error or "")
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.SENT
    assert len(state.requests) == 2
    headers, body = state.requests[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-tiepnhan-signature-256"], expected)
    assert headers["x-tiepnhan-delivery"] == state.requests[0][0]["x-tiepnhan-delivery"]  # same id on a retry
    payload = json.loads(body)
    assert payload["escalation"]["ticket"] == f"TN-{ticket_id:06d}"
    assert payload["escalation"]["unit"] == "province-75"
    assert payload["ticket"]["province"] == "Đồng Nai" and payload["ticket"]["category"] == "complaint"
    assert "lương hưu" in payload["ticket"]["messages"][0]["text"]
    assert f"+TN-{ticket_id:06d}." in payload["escalation"]["reply_address"]
    # A 4xx other than 408/429 means the endpoint refuses the request: a permanent failure.
    state.status = 410
    second = ingest_email(citizen_email("Khiếu nại chậm cấp sổ BHXH", "Công ty ở Biên Hòa, Đồng Nai chưa trả sổ BHXH cho tôi.", message_id="c9@dan.localhost", sender="B <b@dan.localhost>"))
    [other] = list_escalations(runtime.engine(), ticket_id=second)
    approve(runtime.engine(), other.id, "dpv")
    assert deliver_escalation(settings, runtime.engine(), other.id) is Outcome.FAILED
    assert list_escalations(runtime.engine(), ticket_id=second)[0].status == "failed"
