"""A local HTTP server answering like the Graph API, for polling tests.

Shapes follow https://developers.facebook.com/docs/graph-api/results (data + paging with
cursors and `next`), https://developers.facebook.com/docs/graph-api/guides/error-handling
(error objects) and the rate-limiting usage headers. `paging.next` points at the real
graph.facebook.com host, as Facebook's own does: the client must send its query to its base URL.

State is plain data the test edits between polls: conversations (each with messages), posts
(each with comments; a reply has "parent"), tokens, and queued failures.

Answers (POST, form-encoded as pyfacebook sends them, JSON values in `recipient` and `message`):
  * POST /{page-id}/messages, the Send API
    (https://developers.facebook.com/docs/messenger-platform/reference/send-api/):
    recipient {"id": PSID} with messaging_type RESPONSE (or MESSAGE_TAG + tag HUMAN_AGENT), or
    recipient {"comment_id"} for a private reply (one per comment,
    https://developers.facebook.com/docs/messenger-platform/discovery/private-replies/)
    → {"recipient_id", "message_id"}; the message joins the person's conversation as the page's.
  * POST /{comment-id}/comments with `message`, a public reply → {"id"}; it joins the post's comments.
Every POST is recorded in `sent` (path and decoded form); failures queued with method="POST"
answer instead, so tests can ask for an error on demand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
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
    method: str = "GET"  # only requests with this method fail
    delay_seconds: float = 0.0  # answer this late (a client timeout)
    raw_body: bytes | None = None  # answer these bytes (text/html) instead of a Graph error object


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
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # POSTs: path, decoded form
    private_replies: set[str] = field(default_factory=set)  # comment ids already answered privately
    posted: int = 0

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


    # --- receiving answers ------------------------------------------------------------------

    def _token_error(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        info = self.tokens.get(token)
        if info is None or not info.get("is_valid", True):
            return _error(190, "Error validating access token: Session has expired.", "OAuthException", 463)
        if self.app_secret is not None:
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(str(args.get("appsecret_proof", "")), expected):
                return _error(100, "Invalid appsecret_proof provided in the API argument", "GraphMethodException")
        return None

    def _find_comment(self, comment_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for post in self.posts:
            for comment in post["comments"]:
                if comment["id"] == comment_id:
                    return post, comment
        return None

    def _conversation_of(self, psid: str) -> dict[str, Any]:
        for conversation in self.conversations:
            for message in conversation["messages"]:
                people = [message["from"], *message["to"]["data"]]
                if any(person["id"] == psid for person in people):
                    return conversation
        conversation = {"id": f"t_{psid}", "messages": []}
        self.conversations.append(conversation)
        return conversation

    def receive(self, path: str, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or not parts[0].startswith("v"):
            return 400, _error(2500, "Unknown path components", "OAuthException")
        problem = self._token_error(str(form.get("access_token", "")), form)
        if problem is not None:
            return 400, problem
        node, edge = parts[1], parts[2]
        self.posted += 1
        now = graph_time(datetime.now(UTC))
        if node == self.page_id and edge == "messages":
            recipient, message = form.get("recipient"), form.get("message")
            if not isinstance(recipient, dict) or not isinstance(message, dict) or not isinstance(message.get("text"), str):
                return 400, _error(100, "(#100) param recipient and message must be objects", "OAuthException")
            if form.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG") and "comment_id" not in recipient:
                return 400, _error(100, "(#100) messaging_type is required", "OAuthException")
            if form.get("messaging_type") == "MESSAGE_TAG" and form.get("tag") != "HUMAN_AGENT":
                return 400, _error(100, "(#100) Invalid tag", "OAuthException")
            if "comment_id" in recipient:
                found = self._find_comment(str(recipient["comment_id"]))
                if found is None:
                    return 400, _error(100, "(#100) No matching comment found", "OAuthException")
                if recipient["comment_id"] in self.private_replies:
                    return 400, _error(10, "(#10) This comment has already been replied to privately", "OAuthException", 2018108)
                self.private_replies.add(str(recipient["comment_id"]))
                psid = found[1]["from"]["id"]
            else:
                psid = str(recipient.get("id") or "")
                if not psid:
                    return 400, _error(100, "(#100) No matching user found", "OAuthException", 2018001)
            message_id = f"m_answer{self.posted:04d}"
            conversation = self._conversation_of(psid)
            conversation["messages"].append({"id": message_id, "created_time": now, "from": self.page(),
                                             "to": {"data": [{"id": psid}]}, "message": message["text"]})
            return 200, {"recipient_id": psid, "message_id": message_id}
        if edge == "comments":
            found = self._find_comment(node)
            if found is None:
                return 400, _error(100, f"Unsupported post request. Object with ID '{node}' does not exist", "GraphMethodException", 33)
            if not isinstance(form.get("message"), str) or not form["message"]:
                return 400, _error(100, "(#100) The message is empty", "OAuthException")
            post, comment = found
            new_id = f"{post['id'].split('_')[-1]}_{9000 + self.posted}"
            post["comments"].append({"id": new_id, "message": form["message"], "created_time": now, "from": self.page(),
                                     "parent": {"id": (comment.get("parent") or {}).get("id") or comment["id"]}})
            return 200, {"id": new_id}
        return 400, _error(100, f"Unsupported post request. Object with ID '{node}' does not exist", "GraphMethodException", 33)


def decoded_form(body: bytes) -> dict[str, Any]:
    """A form body as the Graph API reads it: a value that is a JSON object is that object."""
    form: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        form[key] = value
        if value.startswith("{"):
            try:
                form[key] = json.loads(value)
            except ValueError:
                pass
    return form


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
            failure = self._failure("GET", url.path)
            if failure is not None:
                status, body = failure.status, _error(failure.code, failure.message, failure.type, failure.subcode)
            else:
                status, body = self.state.answer(url.path, args)
            usage = dict(self.state.usage)
        self._reply(status, body, usage)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        form = {**dict(parse_qsl(url.query)), **decoded_form(self.rfile.read(int(self.headers.get("Content-Length") or 0)))}
        with self.lock:
            self.state.sent.append((url.path, {k: v for k, v in form.items() if k not in ("access_token", "appsecret_proof")}))
            failure = self._failure("POST", url.path)
            if failure is not None:
                status, body = failure.status, _error(failure.code, failure.message, failure.type, failure.subcode)
            else:
                status, body = self.state.receive(url.path, form)
            usage = dict(self.state.usage)
        if failure is not None and failure.delay_seconds:
            time.sleep(failure.delay_seconds)
        try:
            if failure is not None and failure.raw_body is not None:
                self.send_response(failure.status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(failure.raw_body)))
                self.end_headers()
                self.wfile.write(failure.raw_body)
                return
            self._reply(status, body, usage)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
            return

    def _failure(self, method: str, path: str) -> Failure | None:
        failure = next((f for f in self.state.failures if f.times > 0 and f.method == method and f.path_contains in path), None)
        if failure is not None:
            failure.times -= 1
        return failure

    def _reply(self, status: int, body: dict[str, Any], usage: dict[str, Any]) -> None:
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
