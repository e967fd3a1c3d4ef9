"""The "notify" queue: deliveries run apart from the pipeline, so a slow SMTP server never
holds up intake. A transient failure is recorded by the delivery, then raised so Dramatiq
retries it with exponential backoff; the periodic pass (notifiers/reminders.py) catches
anything the retries gave up on.
"""

from __future__ import annotations

import dramatiq

from notifiers.delivery import Outcome, deliver_escalation
from tickets.actors import _broker
from tiepnhan import runtime
from tiepnhan.broker import remember

QUEUE = "notify"


class DeliveryDeferred(Exception):
    """Raised to make Dramatiq retry a delivery that failed transiently (already recorded)."""


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def send_escalation(escalation_id: int) -> None:
    outcome = deliver_escalation(runtime.settings(), runtime.engine(), escalation_id)
    if outcome is Outcome.RETRY:
        raise DeliveryDeferred(f"escalation {escalation_id}: delivery will be retried")


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def send_answer(answer_id: int) -> None:
    """An answer to a citizen (notifiers/answer_delivery.py); retried like an escalation."""
    from notifiers.answer_delivery import deliver_answer

    outcome = deliver_answer(runtime.settings(), runtime.engine(), answer_id)
    if outcome is Outcome.RETRY:
        raise DeliveryDeferred(f"answer {answer_id}: delivery will be retried")
