"""Dramatiq middleware: record dead-lettered messages where operators can see them.

`DeadLetterRecorder` runs when a worker negatively acknowledges a message, which Dramatiq does
once a message has failed for good (retries exhausted, or an exception the actor declared in
`throws`). The message then sits in the broker's dead-letter queue, where nobody looks: the
recorder copies it into the FailedJob table, shown by `tiepnhan failures` and re-sent by
`tiepnhan retry`.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)


def _error_of(message: Any) -> str:
    exception = getattr(message, "_exception", None)
    if exception is not None:
        return f"{type(exception).__name__}: {exception}"
    traceback = message.options.get("traceback")
    if traceback:
        return str(traceback).strip().splitlines()[-1]
    return "unknown error"


class DeadLetterRecorder(Middleware):
    def after_nack(self, broker: dramatiq.Broker, message: Any) -> None:
        from tiepnhan import runtime
        from tiepnhan.failures import record_failed_job

        error = _error_of(message)
        try:
            record_failed_job(
                runtime.engine(),
                actor=message.actor_name,
                args=list(message.args),
                kwargs=dict(message.kwargs),
                queue=message.queue_name,
                error=error,
                message_id=message.message_id,
            )
        except Exception:  # the message stays in the broker's dead-letter queue regardless
            log.exception("could not record a dead-lettered message", extra={"actor": message.actor_name})
            return
        log.warning("job dead-lettered", extra={"actor": message.actor_name, "queue": message.queue_name, "error": error})


def install(broker: dramatiq.Broker) -> None:
    """Add tiepnhan's middleware to `broker` (once)."""
    present = {type(m) for m in broker.middleware}
    for middleware_class in (DeadLetterRecorder,):
        if middleware_class not in present:
            broker.add_middleware(middleware_class())
