"""Send an escalation now (the embedded default) or through the "notify" queue (Redis).

On the embedded default a coordinator's `approve` returns once the mail has been handed to the
SMTP server or its failure recorded; with Redis the workers send it, and retry it with backoff.
When Redis cannot take the message, `BrokerUnavailable` is raised; the escalation keeps its
state (approved / rerouted, ready to send), so the periodic pass (`notifiers/reminders.py`)
sends it once Redis is back.
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
        from tiepnhan.broker import ensure_configured_broker

        ensure_configured_broker(settings)
        send_escalation.send(escalation_id)
        return None
    return deliver_escalation(settings, engine or runtime.engine(), escalation_id)
