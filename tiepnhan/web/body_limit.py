"""Reading a request body within a size limit and a deadline, for every webhook.

A caller may declare a huge body, stream one without Content-Length (chunked transfer coding,
RFC 9112 §7.1), or send its headers and then trickle the body a byte at a time to hold a
connection (slowloris). `read_limited_body` refuses the first from the header before reading
anything, counts the second while streaming and stops at the limit, and gives up on the third
when the whole body has not arrived by the deadline. uvicorn stops reading a socket while the
app has not taken what it buffered, so memory stays bounded by the limit.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response


class BodyRefused(Exception):
    """The body was not read: answer with `status_code` and close the connection."""

    status_code = 400
    text = "Yêu cầu không hợp lệ"


class BodyTooLarge(BodyRefused):
    status_code = 413  # RFC 9110 §15.5.14 Content Too Large
    text = "Nội dung quá lớn"


class BodyTooSlow(BodyRefused):
    status_code = 408  # RFC 9110 §15.5.9 Request Timeout
    text = "Hết thời gian chờ nội dung"


class BodyIncomplete(BodyRefused):
    """The client went away before the body ended."""


def declared_length(request: Request) -> int | None:
    """The Content-Length the client declared, or None (absent; uvicorn rejects malformed ones)."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BodyRefused(f"Content-Length is not a number: {value[:40]!r}") from None


async def read_limited_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, at most `limit` bytes, arrived within `timeout` seconds, else BodyRefused."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"declared {declared} bytes, limit {limit}")
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                received += chunk
                if len(received) > limit:
                    raise BodyTooLarge(f"more than {limit} bytes")
    except TimeoutError:
        raise BodyTooSlow(f"{len(received)} bytes in {timeout:g} s") from None
    except ClientDisconnect:
        raise BodyIncomplete(f"client left after {len(received)} bytes") from None
    return bytes(received)


def refusal(problem: BodyRefused) -> Response:
    """The answer to a refused body; the connection is closed, the rest of the body never read."""
    return PlainTextResponse(problem.text, status_code=problem.status_code, headers={"Connection": "close"})
