"""The shipped Redis broker settings bound the redelivery of a dead worker's messages, reach
dramatiq's RedisBroker, and are validated with a Vietnamese message."""

from __future__ import annotations

import pytest

from config.settings import ConfigError, load_settings
from tiepnhan.broker import build_broker

# dramatiq's consumers fetch at least once per worker timeout when idle (dramatiq.worker.WORKER_TIMEOUT)
IDLE_FETCH_MS = 1_000


def test_shipped_settings_hand_a_dead_workers_messages_out_within_10_s() -> None:
    worker = load_settings(None, database_url="sqlite://", redis_url=None).worker
    # Dead once silent for heartbeat_timeout_ms; requeued by the next command on the queue,
    # which a live consumer sends within IDLE_FETCH_MS, when every command does maintenance.
    assert worker.maintenance_chance == 1_000_000
    assert worker.heartbeat_timeout_ms + IDLE_FETCH_MS <= 7_000
    # ...while a live worker, heartbeating every IDLE_FETCH_MS, has a wide margin.
    assert worker.heartbeat_timeout_ms >= 3 * IDLE_FETCH_MS


def test_the_settings_reach_the_redis_broker() -> None:
    settings = load_settings(
        None, database_url="sqlite://", redis_url="redis://127.0.0.1:1/0",
        worker={"heartbeat_timeout_ms": 7_000, "maintenance_chance": 500_000, "dead_message_ttl_ms": 3_600_000},
    )  # fmt: skip
    broker = build_broker(settings)  # no connection is made until a command is sent
    assert (broker.heartbeat_timeout, broker.maintenance_chance, broker.dead_message_ttl) == (7_000, 500_000, 3_600_000)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [("heartbeat_timeout_ms", 1_000, "lớn hơn hoặc bằng 3000"), ("maintenance_chance", 2_000_000, "nhỏ hơn hoặc bằng 1000000"), ("dead_message_ttl_ms", 5, "lớn hơn hoặc bằng")],
)
def test_a_broker_setting_out_of_range_is_refused_in_vietnamese(key: str, value: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, database_url="sqlite://", redis_url=None, worker={key: value})
    assert any(f"worker.{key}" in problem and words in problem for problem in caught.value.problems), caught.value.problems
