"""A local HTTP server answering like Zalo's OAuth and OA APIs, for the client and token tests.

Shapes: https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new
(POST /v4/oa/access_token with the app's secret_key header; a refresh token works once) and
https://developers.zalo.me/docs/official-account/quan-ly/quan-ly-thong-tin-nguoi-dung/lay-thong-tin-nguoi-dung
(GET /v3.0/oa/user/detail?data={"user_id"} with the access_token header), and
https://developers.zalo.me/docs/official-account/tin-nhan/tin-tu-van/gui-tin-tu-van-dang-van-ban
(POST /v3.0/oa/message/cs, header access_token, JSON {"recipient": {"user_id"}, "message": {"text"}}
→ {"error": 0, "message": "Success", "data": {"message_id", "user_id"}}; -216 for a bad token,
-213 for a user who does not follow the OA, -201 for one who blocked it, queued `send_errors`
on demand). Files (attachment URLs as Zalo's CDN gives them) are served from `files`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.servers import free_port


@dataclass
class ZaloState:
    app_id: str = "3608465249409039"
    app_secret: str = "app-secret-for-zalo-tests"
    access_lifetime_seconds: int = 90000
    refresh_tokens: set[str] = field(default_factory=set)  # usable (each once)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch seconds)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_calls: int = 0
    detail_calls: int = 0
    # When set, user detail answers only once this event is set (proves nobody waits for it).
    detail_gate: threading.Event | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)  # CS message bodies received (each try)
    send_errors: list[int] = field(default_factory=list)  # error codes answered to the next sends, in order
    blocked: set[str] = field(default_factory=set)  # users who blocked the OA
    delivered: list[tuple[str, str, str]] = field(default_factory=list)  # (message_id, user_id, text) accepted
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path → (content type, bytes)
    file_calls: int = 0
    file_gate: threading.Event | None = None  # when set, files are served only once it is set
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_refresh_token(self) -> str:
        token = "rt-" + secrets.token_hex(8)
        self.refresh_tokens.add(token)
        return token


ERROR_MESSAGES = {-32: "Exceeded the request limit", -124: "Access token is expired", -201: "User has blocked the OA",
                  -213: "User has not followed OA or the interaction time has expired", -216: "Access token is invalid"}


class _Handler(BaseHTTPRequestHandler):
    state: ZaloState

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _answer(self, payload: dict[str, Any], status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_message(self, raw: bytes) -> None:
        state = self.state
        try:
            body = json.loads(raw)
        except ValueError:
            return self._answer({"error": -201, "message": "Body is not valid JSON"})
        with state.lock:
            state.sent.append(body)
            if state.send_errors:
                code = state.send_errors.pop(0)
                return self._answer({"error": code, "message": ERROR_MESSAGES.get(code, "error")})
            expiry = state.access_tokens.get(self.headers.get("access_token") or "")
            if expiry is None or expiry < time.time():
                return self._answer({"error": -216, "message": "Access token is invalid"})
            recipient = body.get("recipient") if isinstance(body, dict) else None
            message = body.get("message") if isinstance(body, dict) else None
            user_id = str(recipient.get("user_id")) if isinstance(recipient, dict) else ""
            if not isinstance(message, dict) or not isinstance(message.get("text"), str) or not message["text"]:
                return self._answer({"error": -201, "message": "Parameter message is invalid"})
            if user_id in state.blocked:
                return self._answer({"error": -201, "message": "User has blocked the OA"})
            if user_id not in state.users:
                return self._answer({"error": -213, "message": "User has not followed OA"})
            message_id = secrets.token_hex(16)
            state.delivered.append((message_id, user_id, message["text"]))
        self._answer({"error": 0, "message": "Success", "data": {"message_id": message_id, "user_id": user_id}})

    def do_POST(self) -> None:  # noqa: N802
        state = self.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlparse(self.path).path == "/v3.0/oa/message/cs":
            return self._send_message(raw)
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if urlparse(self.path).path != "/v4/oa/access_token":
            return self._answer({"error": 404, "message": "not found"}, 404)
        with state.lock:
            state.refresh_calls += 1
            if self.headers.get("secret_key") != state.app_secret or form.get("app_id") != state.app_id:
                return self._answer({"error": -14001, "error_name": "Invalid app", "error_description": "secret_key or app_id is wrong"})
            token = form.get("refresh_token", "")
            if form.get("grant_type") != "refresh_token" or token not in state.refresh_tokens:
                return self._answer({"error": -14014, "error_name": "Invalid refresh token", "error_description": "Refresh token is invalid"})
            state.refresh_tokens.discard(token)  # works once
            access = "at-" + secrets.token_hex(8)
            state.access_tokens[access] = time.time() + state.access_lifetime_seconds
            new_refresh = state.issue_refresh_token()
        self._answer({"access_token": access, "refresh_token": new_refresh, "expires_in": str(state.access_lifetime_seconds)})

    def do_GET(self) -> None:  # noqa: N802
        state = self.state
        url = urlparse(self.path)
        if url.path in state.files:
            with state.lock:
                state.file_calls += 1
            if state.file_gate is not None:
                state.file_gate.wait(timeout=30)
            content_type, content = state.files[url.path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            return None
        if url.path != "/v3.0/oa/user/detail":
            return self._answer({"error": 404, "message": "not found"}, 404)
        with state.lock:
            state.detail_calls += 1
        if state.detail_gate is not None:
            state.detail_gate.wait(timeout=30)
        expiry = state.access_tokens.get(self.headers.get("access_token") or "")
        if expiry is None or expiry < time.time():
            return self._answer({"error": -216, "message": "Access token is invalid"})
        user_id = json.loads(parse_qs(url.query).get("data", ["{}"])[0]).get("user_id")
        user = state.users.get(str(user_id))
        if user is None:
            return self._answer({"error": -213, "message": "User has not followed OA"})
        self._answer({"error": 0, "message": "Success", "data": {"user_id": user_id, **user}})


class ZaloServer:
    def __init__(self, state: ZaloState) -> None:
        self.state = state
        handler = type("Handler", (_Handler,), {"state": state})
        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> ZaloServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
