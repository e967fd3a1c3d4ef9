"""The portal's rate limits hold when many web processes count at once (threads here, each its own
connection), on SQLite and PostgreSQL: never more let through than the limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from config.settings import Settings
from tiepnhan import runtime
from web.portal_guard import Limits, address_allowed, record_attempt


def test_concurrent_attempts_never_pass_the_limits(configure: Callable[..., Settings], db_url: str) -> None:
    configure(db_url)
    engine = runtime.engine()
    for round_ in range(5):
        _race(engine, f"r{round_}")


def _race(engine: object, prefix: str) -> None:
    limits = Limits(max_per_ip=5, max_per_address=3, window=timedelta(hours=1))
    start = threading.Barrier(16)
    by_ip: list[bool] = []
    by_address: list[bool] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        start.wait()
        attempt_id, allowed = record_attempt(engine, f"{prefix}-ip-key", limits)  # type: ignore[arg-type]
        address_ok = address_allowed(engine, record_attempt(engine, f"{prefix}-other-ip-{n}", limits)[0], f"{prefix}-address-key", limits)  # type: ignore[arg-type]
        with lock:
            by_ip.append(allowed)
            by_address.append(address_ok)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert by_ip.count(True) == 5 and by_address.count(True) == 3
