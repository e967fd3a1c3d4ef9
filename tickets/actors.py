"""The pipeline stages as Dramatiq actors: each does its stage, then enqueues the next.

    normalize_raw_item → thread_message → classify_ticket → route_ticket

Retries (with exponential backoff, capped) cover transient errors: a lost database or network
connection, a lock timeout. An item that is itself at fault raises PermanentFailure inside the
stage, is quarantined there with its reason, and is not retried.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

from tickets import pipeline
from tickets.store import record_raw_failure
from tiepnhan import runtime
from tiepnhan.broker import remember

log = logging.getLogger(__name__)
QUEUE = "pipeline"


def _broker() -> dramatiq.Broker:
    # Never let dramatiq pick a default broker on its own (it would try RabbitMQ, then a
    # local Redis): until tiepnhan installs the configured one, actors live on a stub.
    import dramatiq.broker as broker_module

    if broker_module.global_broker is None:
        dramatiq.set_broker(StubBroker())
    return dramatiq.get_broker()


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker(), throws=(pipeline.PermanentFailure,))
def normalize_raw_item(raw_item_id: int) -> None:
    settings = runtime.settings()
    engine = runtime.engine()
    try:
        outcome = pipeline.normalize_raw_item(engine, raw_item_id, settings.max_attachment_bytes)
    except pipeline.PermanentFailure:
        return  # quarantined by the stage: kept, visible in `tiepnhan failures`, not retried
    except Exception as exc:
        record_raw_failure(engine, raw_item_id, "normalize", f"{type(exc).__name__}: {exc}", permanent=False)
        raise
    if outcome.message_id is not None:
        thread_message.send(outcome.message_id)


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def thread_message(message_id: int) -> None:
    engine = runtime.engine()
    outcome = pipeline.thread_stored_message(engine, message_id)
    if outcome.ticket_id is None:
        return
    unit_reply = pipeline.handle_unit_reply(engine, message_id)  # acknowledgements and bounces of escalations
    if outcome.inbound and not unit_reply:
        classify_ticket.send(outcome.ticket_id)


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def classify_ticket(ticket_id: int) -> None:
    if pipeline.classify_ticket(runtime.engine(), ticket_id):
        route_ticket.send(ticket_id)


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def route_ticket(ticket_id: int) -> None:
    from notifiers.dispatch import request_delivery

    for escalation_id in pipeline.route_ticket(runtime.engine(), ticket_id):
        request_delivery(escalation_id)


def enqueue_raw_items(raw_item_ids: list[int]) -> None:
    for raw_item_id in raw_item_ids:
        normalize_raw_item.send(raw_item_id)
