"""Webhook reading and body limits: what the shape checks cost, what a refused body costs.

    uv run python bench/bench_webhook.py [EVENTS]     (default 1,000 Messenger events + 1,000 comments)

Measured in one run, on this machine:
  reading   one signed delivery of EVENTS events of each kind: `parse_body` + `raw_inputs_from_webhook`
            (every value's shape checked) against the baseline `json.loads` of the same bytes;
  refusing  a 10 MB chunked body to /webhooks/facebook (default limit: 4 MiB) on a real uvicorn
            server on loopback, against the baseline of the same body read whole by
            `await request.body()` (what the endpoint did before the limit): the Python memory
            allocated at peak (tracemalloc, server and client in this process) and the time to
            the answer.
"""

from __future__ import annotations

import json
import logging
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
BODY_BYTES = 10 * 1024 * 1024
PAGE_ID = "1001"


def delivery(events: int) -> bytes:
    messaging = [{"sender": {"id": f"9{n:06d}"}, "recipient": {"id": PAGE_ID}, "timestamp": 1760000000000 + n,
                  "message": {"mid": f"m_{n}", "text": f"Cho tôi hỏi về BHXH tự nguyện, lần {n}"}} for n in range(events)]
    changes = [{"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": f"{PAGE_ID}_p1_c{n}", "post_id": f"{PAGE_ID}_p1",
                                           "from": {"id": f"8{n:06d}", "name": "Lê Văn Nam"}, "message": "Sổ BHYT sai năm sinh", "created_time": 1760000000}}
               for n in range(events)]
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": 1760000000000, "messaging": messaging, "changes": changes}]}).encode()


def best_of(runs: int, work: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def reading() -> None:
    from ingest.facebook.webhook import parse_body, raw_inputs_from_webhook

    body = delivery(EVENTS)
    pages = {PAGE_ID: "fanpage"}
    assert len(raw_inputs_from_webhook(parse_body(body), pages).items) == 2 * EVENTS
    baseline = best_of(5, lambda: json.loads(body))
    checked = best_of(5, lambda: raw_inputs_from_webhook(parse_body(body), pages))
    print(f"reading  {2 * EVENTS} events, {len(body) / 1e6:.1f} MB: json.loads {baseline * 1e3:.1f} ms; "
          f"shape-checked items {checked * 1e3:.1f} ms ({checked / baseline:.1f}×), {checked / (2 * EVENTS) * 1e6:.1f} µs per event")


def send_chunked(port: int, path: str) -> tuple[float, int]:
    """Stream BODY_BYTES in 64 KiB chunks until the server answers; (seconds, status)."""
    piece = b"x" * 65_536
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Hub-Signature-256: sha256=00\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        sent = 0
        try:
            while sent < BODY_BYTES:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return time.perf_counter() - start, int(status_line.split(b" ")[1])


def refusing() -> None:
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from config.settings import load_settings
    from tests.servers import free_port
    from tiepnhan import runtime
    from tiepnhan.web.webhooks import webhook_routes

    async def read_whole(request: Request) -> PlainTextResponse:
        body = await request.body()  # the endpoint before the limit
        return PlainTextResponse(str(len(body)), status_code=403)

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    settings = runtime.configure(load_settings(None, database_url=f"sqlite:///{tmp / 'b.db'}", redis_url=None, data_dir=str(tmp),
                                               facebook_pages=[{"name": "fanpage", "page_id": PAGE_ID, "access_token": "t", "app_secret": "s"}]))
    runtime.engine()
    app = Starlette(routes=[*webhook_routes(settings), Route("/baseline", read_whole, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, tuple[float, float, int]] = {}
    try:
        for name, path in (("baseline", "/baseline"), ("limited", "/webhooks/facebook")):
            seconds, peaks, status = [], [], 0
            for _ in range(3):
                tracemalloc.start()
                elapsed, status = send_chunked(port, path)
                peaks.append(tracemalloc.get_traced_memory()[1] / 1e6)
                tracemalloc.stop()
                seconds.append(elapsed)
            results[name] = (statistics.median(seconds), statistics.median(peaks), status)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    for name, (elapsed, peak, status) in results.items():
        print(f"refusing {name:8} 10 MB chunked body: answer {status} after {elapsed * 1e3:.0f} ms, peak Python memory {peak:.1f} MB")
    base, limited = results["baseline"], results["limited"]
    print(f"refusing limited / baseline: time {limited[0] / base[0]:.2f}×, memory {limited[1] / base[1]:.2f}× "
          f"(limit {settings.webhooks.max_body_bytes / 2**20:.0f} MiB)")


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # one "body refused" line per request otherwise
    reading()
    refusing()
