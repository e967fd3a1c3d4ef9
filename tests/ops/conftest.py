"""Fixtures of the operations tests: those of the worker tests (Redis, worker settings)."""

from tests.workers.conftest import durable_redis_server, redis_server, redis_settings  # noqa: F401
