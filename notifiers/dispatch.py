"""Send an escalation now (the embedded default) or through the "notify" queue (Redis).

On the embedded default a coordinator's `approve` returns once the mail has been handed to the
SMTP server or its failure recorded; with Redis the workers send it, and retry it with backoff.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from config.settings import Settings
from notifiers.delivery import Outcome, deliver_escalation
from tiepnhan import runtime


def request_delivery(escalation_id: int, settings: Settings | None = None, engine: Engine | None = None) -> Outcome | None:
    settings = settings or runtime.settings()
    if settings.redis_url:
        from notifiers.actors import send_escalation

        send_escalation.send(escalation_id)
        return None
    return deliver_escalation(settings, engine or runtime.engine(), escalation_id)
