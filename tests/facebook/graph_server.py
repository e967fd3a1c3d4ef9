"""A local HTTP server answering like the Graph API, for polling tests.

Shapes follow https://developers.facebook.com/docs/graph-api/results (data + paging with
cursors and `next`), https://developers.facebook.com/docs/graph-api/guides/error-handling
(error objects) and the rate-limiting usage headers. `paging.next` points at the real
graph.facebook.com host, as Facebook's own does: the client must send its query to its base URL.

State is plain data the test edits between polls: conversations (each with messages), posts
(each with comments; a reply has "parent"), tokens, and queued failures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from tests.servers import free_port

REAL_HOST = "https://graph.facebook.com/"


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def ago(**delta: float) -> str:
    return graph_time(datetime.now(UTC) - timedelta(**delta))


@dataclass
class Failure:
    code: int
    status: int = 400
    message: str = "failure"
    subcode: int | None = None
    type: str = "OAuthException"
    path_contains: str = ""  # only requests whose path contains this fail
    times: int = 1


@dataclass
class GraphState:
    page_id: str = "1001"
    page_name: str = "Bảo hiểm xã hội Việt Nam"
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # token → debug_token data
    app_secret: str | None = None
    conversations: list[dict[str, Any]] = field(default_factory=list)  # {"id", "messages": [...]}
    posts: list[dict[str, Any]] = field(default_factory=list)  # {"id","message","created_time","comments":[...]}
    failures: list[Failure] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)  # header name → JSON value
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    nested_limit: int = 2  # messages per conversation in the first, nested page

    # --- building data ----------------------------------------------------------------------

    def user(self, index: int) -> dict[str, str]:
        return {"id": f"90{index:04d}", "name": f"Người dân {index}"}

    def page(self) -> dict[str, str]:
        return {"id": self.page_id, "name": self.page_name}

    def add_message(self, conversation_id: str, message_id: str, text: str, created: str, *, from_page: bool = False, user: int = 1,
                    attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        conversation = next((c for c in self.conversations if c["id"] == conversation_id), None)
        if conversation is None:
            conversation = {"id": conversation_id, "messages": []}
            self.conversations.append(conversation)
        sender, recipient = (self.page(), self.user(user)) if from_page else (self.user(user), self.page())
        message: dict[str, Any] = {"id": message_id, "created_time": created, "from": sender, "to": {"data": [recipient]}, "message": text}
        if attachments:
            message["attachments"] = {"data": attachments}
        conversation["messages"].append(message)
        return message

    def add_post(self, post_id: str, text: str, created: str) -> dict[str, Any]:
        post = {"id": f"{self.page_id}_{post_id}", "message": text, "created_time": created, "comments": []}
        self.posts.append(post)
        return post

    def add_comment(self, post: dict[str, Any], comment_id: str, text: str, created: str, *, user: int = 1, from_page: bool = False,
                    parent: str | None = None) -> dict[str, Any]:
        comment: dict[str, Any] = {"id": comment_id, "message": text, "created_time": created,
                                   "from": self.page() if from_page else self.user(user)}
        if parent:
            comment["parent"] = {"id": parent}
        post["comments"].append(comment)
        return comment

    # --- answering --------------------------------------------------------------------------

    def _conversation_view(self, conversation: dict[str, Any], base_args: dict[str, str]) -> dict[str, Any]:
        messages = sorted(conversation["messages"], key=lambda m: m["created_time"], reverse=True)
        updated = messages[0]["created_time"] if messages else None
        nested = _page(messages, self.nested_limit, None, f"{conversation['id']}/messages",
                       {"access_token": base_args.get("access_token", ""), "fields": "id,created_time,from,to,message,attachments"}, self)
        return {"id": conversation["id"], "updated_time": updated, "messages": nested}

    def answer(self, path: str, args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if len(parts) < 2 or not parts[0].startswith("v"):
            return 400, _error(2500, "Unknown path components", "OAuthException")
        token = args.get("access_token", "")
        node, edge = parts[1], (parts[2] if len(parts) > 2 else None)
        if node == "debug_token":
            data = self.tokens.get(args.get("input_token", ""))
            if token not in self.tokens and token.count("|") != 1:
                return 400, _error(190, "Invalid OAuth access token.", "OAuthException")
            if data is None:
                return 200, {"data": {"is_valid": False, "error": {"code": 190, "message": "Invalid OAuth access token."}}}
            return 200, {"data": data}
        info = self.tokens.get(token)
        if info is None or not info.get("is_valid", True):
            return 400, _error(190, "Error validating access token: Session has expired.", "OAuthException", 463)
        if self.app_secret is not None:
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(args.get("appsecret_proof", ""), expected):
                return 400, _error(100, "Invalid appsecret_proof provided in the API argument", "GraphMethodException")
        limit = int(args.get("limit", "25"))
        after = args.get("after")
        if node in ("me", self.page_id) and edge is None:
            return 200, self.page()
        if node == self.page_id and edge == "conversations":
            views = [self._conversation_view(c, args) for c in self.conversations]
            views.sort(key=lambda c: c["updated_time"] or "", reverse=True)
            return 200, _page(views, limit, after, f"{node}/{edge}", args, self)
        if edge == "messages":
            conversation = next((c for c in self.conversations if c["id"] == node), None)
            if conversation is None:
                return 400, _error(100, "Unsupported get request.", "GraphMethodException", 33)
            messages = sorted(conversation["messages"], key=lambda m: m["created_time"], reverse=True)
            return 200, _page(messages, limit, after, f"{node}/{edge}", args, self)
        if node == self.page_id and edge == "feed":
            views = []
            for post in self.posts:
                times = [post["created_time"], *(c["created_time"] for c in post["comments"])]
                views.append({"id": post["id"], "message": post["message"], "created_time": post["created_time"], "updated_time": max(times)})
            views.sort(key=lambda p: p["created_time"], reverse=True)
            return 200, _page(views, limit, after, f"{node}/{edge}", args, self)
        if edge == "comments":
            post = next((p for p in self.posts if p["id"] == node), None)
            if post is None:
                return 400, _error(100, "Unsupported get request.", "GraphMethodException", 33)
            comments = list(post["comments"]) if args.get("filter") == "stream" else [c for c in post["comments"] if "parent" not in c]
            comments.sort(key=lambda c: c["created_time"], reverse=args.get("order") == "reverse_chronological")
            return 200, _page(comments, limit, after, f"{node}/{edge}", args, self)
        return 400, _error(100, f"Unsupported get request. Object with ID '{node}' does not exist", "GraphMethodException", 33)


def _error(code: int, message: str, kind: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def _cursor(index: int) -> str:
    return base64.b64encode(str(index).encode()).decode()


def _page(items: list[dict[str, Any]], limit: int, after: str | None, path: str, args: dict[str, str], state: GraphState) -> dict[str, Any]:
    start = int(base64.b64decode(after).decode()) if after else 0
    chunk = items[start : start + limit]
    result: dict[str, Any] = {"data": chunk}
    if chunk:
        result["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk) - 1 + 1)}}
        if start + limit < len(items):
            query = {k: v for k, v in args.items() if k not in ("after", "appsecret_proof")}
            query.update({"limit": str(limit), "after": _cursor(start + limit)})
            result["paging"]["next"] = f"{REAL_HOST}v21.0/{path}?{urlencode(query)}"
    return result


class _Handler(BaseHTTPRequestHandler):
    state: GraphState
    lock: threading.Lock

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        args = dict(parse_qsl(url.query))
        with self.lock:
            self.state.requests.append((url.path, args))
            failure = next((f for f in self.state.failures if f.times > 0 and f.path_contains in url.path), None)
            if failure is not None:
                failure.times -= 1
                status, body = failure.status, _error(failure.code, failure.message, failure.type, failure.subcode)
            else:
                status, body = self.state.answer(url.path, args)
            usage = dict(self.state.usage)
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in usage.items():
            self.send_header(name, json.dumps(value))
        self.end_headers()
        self.wfile.write(payload)


class GraphServer:
    def __init__(self, state: GraphState) -> None:
        self.state = state
        self.port = free_port()
        handler = type("Handler", (_Handler,), {"state": state, "lock": threading.Lock()})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> GraphServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> Iterator[str]:
        return (path for path, _ in self.state.requests)
