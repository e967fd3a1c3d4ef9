"""How fast POST /webhooks/zalo answers (Zalo disables a webhook that is slow to answer: 2 s).

    uv run python bench/bench_zalo_webhook.py [DELIVERIES]     (default 300)

Measured in one run, on this machine, on a real uvicorn server on loopback with a SQLite store
and the in-process broker (messages queued, not processed: the answer never waits for them):
  zalo      DELIVERIES signed Zalo text events, each: signature (SHA-256) + freshness + shape
            checks + raw item stored (one transaction), sender-name lookup queued after the answer;
  baseline  the same number of single-message fanpage deliveries to /webhooks/facebook (HMAC
            signature, shape checks, raw item stored), the existing endpoint doing the same work.
Printed: median and 95th percentile time to the answer for each, and the ratio zalo / baseline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DELIVERIES = int(sys.argv[1]) if len(sys.argv) > 1 else 300
PAGE_ID, OA_ID, APP_ID = "1001", "388613280878808645", "3608465249409039"
FB_SECRET, OA_SECRET = "fb-secret", "oa-secret"


def zalo_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    payload = {"app_id": APP_ID, "event_name": "user_send_text", "timestamp": str(int(time.time() * 1000)), "sender": {"id": f"7{n % 50:017d}"},
               "recipient": {"id": OA_ID}, "message": {"msg_id": f"bench-{n}", "text": f"Cho tôi hỏi về BHXH tự nguyện, lần {n}"}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    mac = "mac=" + hashlib.sha256(APP_ID.encode() + body + payload["timestamp"].encode() + OA_SECRET.encode()).hexdigest()
    return body, {"X-ZEvent-Signature": mac, "Content-Type": "application/json"}


def facebook_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    now = int(time.time() * 1000)
    payload = {"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [
        {"sender": {"id": f"9{n % 50:06d}"}, "recipient": {"id": PAGE_ID}, "timestamp": now,
         "message": {"mid": f"m_bench_{n}", "text": f"Cho tôi hỏi về BHXH tự nguyện, lần {n}"}}]}]}
    body = json.dumps(payload).encode()
    return body, {"X-Hub-Signature-256": "sha256=" + hmac.new(FB_SECRET.encode(), body, hashlib.sha256).hexdigest(), "Content-Type": "application/json"}


def main() -> None:
    import httpx
    import uvicorn

    from config.settings import load_settings
    from tests.servers import free_port
    from tiepnhan import runtime
    from tiepnhan.broker import install_broker
    from tiepnhan.web.app import create_app

    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-zalo-"))
    unreachable = f"http://127.0.0.1:{free_port()}/"  # the name lookup fails at once; it runs after the answer anyway
    settings = runtime.configure(load_settings(
        None, database_url=f"sqlite:///{tmp / 'b.db'}", redis_url=None, data_dir=str(tmp),
        facebook_pages=[{"name": "fanpage", "page_id": PAGE_ID, "access_token": "t", "app_secret": FB_SECRET}],
        zalo_accounts=[{"name": "zalo-oa", "oa_id": OA_ID, "app_id": APP_ID, "app_secret": "a", "oa_secret_key": OA_SECRET,
                        "refresh_token": "r", "api_url": unreachable, "oauth_url": unreachable}]))
    install_broker(settings)
    import tickets.actors  # noqa: F401

    runtime.engine()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, list[float]] = {"baseline": [], "zalo": []}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for n in range(DELIVERIES):  # interleaved, so both see the same machine load
                for name, path, make in (("baseline", "/webhooks/facebook", facebook_delivery), ("zalo", "/webhooks/zalo", zalo_delivery)):
                    body, headers = make(n)
                    start = time.perf_counter()
                    response = client.post(path, content=body, headers=headers)
                    results[name].append(time.perf_counter() - start)
                    assert response.status_code == 200 and response.json()["new"] == 1, (name, response.status_code, response.text)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    for name, times in results.items():
        ordered = sorted(times)
        print(f"{name:8} {DELIVERIES} deliveries: median {statistics.median(ordered) * 1e3:.2f} ms, "
              f"p95 {ordered[int(len(ordered) * 0.95) - 1] * 1e3:.2f} ms, worst {ordered[-1] * 1e3:.2f} ms")
    ratio = statistics.median(results["zalo"]) / statistics.median(results["baseline"])
    print(f"zalo / baseline (median): {ratio:.2f}×")


if __name__ == "__main__":
    main()
