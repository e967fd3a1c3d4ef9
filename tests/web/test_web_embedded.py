"""`tiepnhan web` on the embedded default (no Redis) processes what its webhooks accept."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, select

from tests.servers import free_port
from tickets.models import Message, Ticket

SECRET = "app-secret-for-the-web-process"
PAGE_ID = "1001"


def wait_until_serving(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                assert response.status == 200
                return
        except OSError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "tiepnhan web did not start"
            time.sleep(0.2)


def test_a_signed_event_becomes_a_ticket_without_a_separate_worker(tmp_path: Path) -> None:
    database = tmp_path / "web.db"
    config = tmp_path / "tiepnhan.toml"
    config.write_text(f'database_url = "sqlite:///{database}"\n\n[[facebook_pages]]\nname = "fanpage"\npage_id = "{PAGE_ID}"\n'
                      f'access_token = "EAAtokenforthewebprocess"\napp_secret = "{SECRET}"\nverify_token = "verify"\n', encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIEPNHAN_")}
    env["TIEPNHAN_CONFIG"] = str(config)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tiepnhan.cli", "web", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(process, port)
        now = int(time.time() * 1000)
        body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [
            {"sender": {"id": "900001"}, "recipient": {"id": PAGE_ID}, "timestamp": now,
             "message": {"mid": "m_embedded", "text": "Tôi ở Cà Mau, xin hỏi thủ tục hưởng BHXH một lần"}}]}]}).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/facebook", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 200 and json.loads(response.read())["new"] == 1
        engine = create_engine(f"sqlite:///{database}")
        deadline = time.monotonic() + 30
        found: list[tuple[int, str]] = []
        while not found:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the accepted event was never processed"
            time.sleep(0.2)
            with engine.connect() as connection:
                query = select(Ticket.id, Message.clean_text).join(Message, Message.ticket_id == Ticket.id).where(Message.external_id == "m_embedded")  # type: ignore[arg-type]
                found = [(int(row[0]), str(row[1])) for row in connection.execute(query)]
        engine.dispose()
        assert found[0][1] == "Tôi ở Cà Mau, xin hỏi thủ tục hưởng BHXH một lần"
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
