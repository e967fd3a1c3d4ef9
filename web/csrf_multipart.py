"""asgi-csrf 0.11 with python-multipart ≥ 0.0.26: its multipart check passes `FileClass=` to
`FormParser`, which no longer takes it, so every multipart POST fails with a TypeError (a 500).
Known upstream: simonw/asgi-csrf issue #38 (fix proposed in PR #39, not released). python-multipart
cannot go back below 0.0.26 (CVE-2026-40347 and CVE-2026-42561 are fixed there).

`install()` replaces only that helper, `asgi_csrf._parse_multipart_form_data`, with one on
python-multipart's low-level `MultipartParser` that keeps asgi-csrf's contract exactly: read the
body until the `csrftoken` field, refuse (`FileBeforeToken`) when a file part comes first, and
give back a `receive` that replays what was read. The token is still verified by asgi-csrf
(signed cookie, constant-time comparison). Remove this module once a fixed asgi-csrf is released.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asgi_csrf
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD = b"csrftoken"
MAX_TOKEN_BYTES = 4096


class _Found(Exception):
    pass


async def parse_multipart_form_data(boundary: bytes, receive: Callable[[], Awaitable[dict[str, Any]]]) -> tuple[str | None, Callable[[], Awaitable[dict[str, Any]]]]:
    messages: list[dict[str, Any]] = []
    state: dict[str, Any] = {"header_field": b"", "header_value": b"", "headers": {}, "name": None, "is_file": False, "value": b""}

    async def replay_receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return await receive()

    def on_part_begin() -> None:
        state.update(headers={}, name=None, is_file=False, value=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"], state["header_value"] = b"", b""

    def on_headers_finished() -> None:
        _kind, options = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"], state["is_file"] = options.get(b"name"), b"filename" in options
        if state["is_file"]:
            raise asgi_csrf.FileBeforeToken

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["name"] == FIELD:
            state["value"] += data[start:end]
            if len(state["value"]) > MAX_TOKEN_BYTES:
                raise asgi_csrf.FileBeforeToken

    def on_part_end() -> None:
        if state["name"] == FIELD:
            raise _Found(state["value"].decode("utf-8", "replace"))

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })  # fmt: skip
    more_body = True
    try:
        while more_body:
            message = await receive()
            assert message["type"] == "http.request", message
            messages.append(message)
            parser.write(message.get("body", b""))
            more_body = message.get("more_body", False)
    except _Found as found:
        return found.args[0], replay_receive
    return None, replay_receive


def install() -> None:
    asgi_csrf._parse_multipart_form_data = parse_multipart_form_data  # type: ignore[attr-defined]
