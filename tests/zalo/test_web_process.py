"""A real `tiepnhan web` process on the embedded default (no Redis, no worker): signed Zalo events
become one ticket, and the sender's name arrives later from the Zalo stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, select

from tests.servers import free_port
from tests.web.test_web_embedded import wait_until_serving
from tests.zalo.conftest import OA_ID, OA_SECRET, USER, sign, user_event
from tests.zalo.zalo_server import ZaloServer
from tickets.models import Message, Ticket


def test_tiepnhan_web_alone_turns_zalo_events_into_one_named_ticket(tmp_path: Path, zalo: ZaloServer) -> None:
    zalo.state.users[USER] = {"display_name": "Phạm Minh Tuấn", "avatar": "https://s120.avatar.talk.zdn.vn/t.jpg"}
    database = tmp_path / "web.db"
    config = tmp_path / "tiepnhan.toml"
    config.write_text(f'database_url = "sqlite:///{database}"\n\n[[zalo_accounts]]\nname = "zalo-oa"\noa_id = "{OA_ID}"\n'
                      f'app_id = "{zalo.state.app_id}"\napp_secret_env = "ZALO_APP_SECRET"\noa_secret_key_env = "ZALO_OA_SECRET"\n'
                      f'refresh_token_env = "ZALO_REFRESH"\napi_url = "{zalo.url}"\noauth_url = "{zalo.url}"\n', encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIEPNHAN_")}
    env.update({"TIEPNHAN_CONFIG": str(config), "ZALO_APP_SECRET": zalo.state.app_secret, "ZALO_OA_SECRET": OA_SECRET,
                "ZALO_REFRESH": zalo.state.issue_refresh_token()})
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tiepnhan.cli", "web", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(process, port)
        texts = ["Tôi ở Cà Mau", "xin hỏi thủ tục hưởng BHXH một lần", "cần những giấy tờ gì ạ?"]
        for index, text in enumerate(texts):
            payload = user_event("user_send_text", f"w-{index}", text, seconds_ago=10 - index)
            body = json.dumps(payload, ensure_ascii=False).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/zalo", data=body, method="POST",
                                             headers={"Content-Type": "application/json", "X-ZEvent-Signature": sign(body, payload)})
            with urllib.request.urlopen(request, timeout=20) as response:
                assert response.status == 200 and json.loads(response.read())["new"] == 1
        engine = create_engine(f"sqlite:///{database}")
        deadline = time.monotonic() + 30
        rows: list[tuple[int, str | None, int]] = []
        while not rows or rows[0][1] is None or rows[0][2] < 3:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, f"not processed and named in time: {rows}"
            time.sleep(0.2)
            with engine.connect() as connection:
                rows = [(int(r[0]), r[1], int(r[2])) for r in connection.execute(select(Ticket.id, Ticket.sender_name, Ticket.message_count))]
        with engine.connect() as connection:
            stored = [str(r[0]) for r in connection.execute(select(Message.clean_text).order_by(Message.sent_at))]
        engine.dispose()
        assert len(rows) == 1 and rows[0][1] == "Phạm Minh Tuấn"
        assert stored == texts
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
