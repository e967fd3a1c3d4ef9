"""The pipeline stages as Dramatiq actors on queue "pipeline", each taking a batch of ids:

    normalize_batch(raw item ids) → classify_batch(ticket ids)

`normalize_batch` normalizes and threads its raw items in one transaction and sends ONE
`classify_batch` message for the tickets it touched; `classify_batch` tags and routes them in
one transaction. Intake sends one `normalize_batch` per batch it accepted (an IMAP fetch batch,
a webhook burst); small sends made within `LINGER_SECONDS` of each other are joined into one
message of at most `BATCH_CAP` ids (`enqueue_raw_items`).

Failures: an item at fault (a parser error, a row the database refuses) is quarantined inside
the stage and its batch goes on. An item that failed for another reason (its savepoint rolled
back) is re-sent alone, to the single-id actor of its stage (`normalize_raw_item`,
`thread_message`, `classify_ticket`), counting the batch's attempt as its first; so is every item
of a batch that failed as a whole. Single-id actors are retried by dramatiq with exponential
backoff (capped) and dead-lettered as that one item (`tiepnhan failures`). They are also what
reconcile and `tiepnhan retry` send.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.time_limit import TimeLimitExceeded

from tickets import pipeline
from tickets.store import describe_error, record_raw_failure
from tiepnhan import runtime
from tiepnhan.broker import remember

log = logging.getLogger(__name__)
QUEUE = "pipeline"
BATCH_CAP = pipeline.BATCH_CAP
LINGER_SECONDS = 0.05


def _broker() -> dramatiq.Broker:
    # Never let dramatiq pick a default broker on its own (it would try RabbitMQ, then a
    # local Redis): until tiepnhan installs the configured one, actors live on a stub.
    import dramatiq.broker as broker_module

    if broker_module.global_broker is None:
        dramatiq.set_broker(StubBroker())
    return dramatiq.get_broker()


def chunks(ids: Sequence[int], size: int = BATCH_CAP) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _retry_alone(actor: dramatiq.Actor, ids: Sequence[int]) -> None:  # type: ignore[type-arg]
    """Re-send items of a batch one by one; the batch's attempt counts as each one's first."""
    delay = runtime.settings().worker.min_backoff_ms
    for item_id in ids:
        actor.send_with_options(args=(item_id,), delay=delay, retries=1)


def _split_after_batch_failure(stage: str, actor: dramatiq.Actor, ids: list[int], exc: BaseException) -> None:  # type: ignore[type-arg]
    log.warning("pipeline batch failed; its items are retried one by one", extra={"stage": stage, "items": len(ids), "error": describe_error(exc)})
    _retry_alone(actor, ids)


# --- normalize + thread -------------------------------------------------------------------


def _after_intake(outcome: pipeline.IntakeOutcome) -> None:
    for batch in chunks(outcome.to_classify):
        classify_batch.send(batch)


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def normalize_batch(raw_item_ids: list[int]) -> None:
    if len(raw_item_ids) == 1:
        normalize_raw_item.fn(raw_item_ids[0])
        return
    engine = runtime.engine()
    try:
        outcome = pipeline.normalize_and_thread(engine, raw_item_ids, runtime.settings().max_attachment_bytes)
    except (Exception, TimeLimitExceeded) as exc:  # noqa: BLE001 - the whole batch failed (or ran out of time): each item alone
        _split_after_batch_failure("normalize", normalize_raw_item, raw_item_ids, exc)
        return
    _after_intake(outcome)
    for raw_item_id, error in outcome.retry_raw.items():
        record_raw_failure(engine, raw_item_id, "normalize", describe_error(error), permanent=False)
    _retry_alone(normalize_raw_item, list(outcome.retry_raw))
    _retry_alone(thread_message, list(outcome.retry_messages))


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker(), throws=(pipeline.PermanentFailure,))
def normalize_raw_item(raw_item_id: int) -> None:
    engine = runtime.engine()
    try:
        outcome = pipeline.normalize_and_thread(engine, [raw_item_id], runtime.settings().max_attachment_bytes)
    except Exception as exc:
        record_raw_failure(engine, raw_item_id, "normalize", describe_error(exc), permanent=False)
        raise
    if raw_item_id in outcome.quarantined:
        return  # quarantined by the stage: kept, visible in `tiepnhan failures`, not retried
    if raw_item_id in outcome.retry_raw:
        error = outcome.retry_raw[raw_item_id]
        record_raw_failure(engine, raw_item_id, "normalize", describe_error(error), permanent=False)
        raise error
    _after_intake(outcome)
    for error in outcome.retry_messages.values():
        raise error  # normalized; threading it is retried with this message


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def thread_batch(message_ids: list[int]) -> None:
    try:
        outcome = pipeline.thread_messages(runtime.engine(), message_ids)
    except (Exception, TimeLimitExceeded) as exc:  # noqa: BLE001
        if len(message_ids) == 1:
            raise
        _split_after_batch_failure("thread", thread_message, message_ids, exc)
        return
    _after_intake(outcome)
    if len(message_ids) == 1:
        for error in outcome.retry_messages.values():
            raise error
    _retry_alone(thread_message, list(outcome.retry_messages))


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def thread_message(message_id: int) -> None:
    thread_batch.fn([message_id])


# --- classify + route ---------------------------------------------------------------------


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def classify_batch(ticket_ids: list[int]) -> None:
    try:
        outcome = pipeline.classify_and_route(runtime.engine(), ticket_ids)
    except (Exception, TimeLimitExceeded) as exc:  # noqa: BLE001
        if len(ticket_ids) == 1:
            raise
        _split_after_batch_failure("classify", classify_ticket, ticket_ids, exc)
        return
    if len(ticket_ids) == 1:
        for error in outcome.retry.values():
            raise error
    _retry_alone(classify_ticket, list(outcome.retry))


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def classify_ticket(ticket_id: int) -> None:
    classify_batch.fn([ticket_id])


@remember
@dramatiq.actor(queue_name=QUEUE, broker=_broker())
def route_ticket(ticket_id: int) -> None:
    """Route one ticket again (its tags as they are), as `classify_batch` routes."""
    from notifiers.dispatch import request_delivery

    for escalation_id in pipeline.route_ticket(runtime.engine(), ticket_id):
        request_delivery(escalation_id)


# --- enqueueing ---------------------------------------------------------------------------


class Coalescer:
    """Joins ids sent close together into messages of at most `cap` ids.

    A send of `cap` ids or more goes out at once, in full messages. The first small send opens
    a window: that caller waits `linger` seconds (so a single new email still goes through at
    once, 50 ms later), then sends everything added meanwhile by any thread as one message.
    The send happens in a caller's thread, so a broker that cannot take it raises there
    (`BrokerUnavailable`, tiepnhan/broker.py), as an unbatched send would.
    """

    def __init__(self, send: Callable[[list[int]], None], cap: int = BATCH_CAP, linger: float = LINGER_SECONDS) -> None:
        self._send, self.cap, self.linger = send, cap, linger
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._window_open = False

    def add(self, ids: Sequence[int]) -> None:
        full: list[list[int]] = []
        with self._lock:
            self._pending.extend(ids)
            while len(self._pending) >= self.cap:
                full.append(self._pending[: self.cap])
                del self._pending[: self.cap]
            lead = bool(self._pending) and not self._window_open
            if lead:
                self._window_open = True
        for batch in full:
            self._send(batch)
        if lead:
            time.sleep(self.linger)
            self.flush()

    def flush(self) -> None:
        """Send whatever is waiting now (drain, shutdown)."""
        with self._lock:
            waiting, self._pending = self._pending, []
            self._window_open = False
        for batch in chunks(waiting, self.cap):
            self._send(batch)


_raw_items = Coalescer(lambda ids: normalize_batch.send(ids))


def enqueue_raw_items(raw_item_ids: Sequence[int]) -> None:
    """Send stored raw items to the pipeline, in batches (see `Coalescer`)."""
    _raw_items.add(list(raw_item_ids))


def flush_enqueued() -> None:
    _raw_items.flush()


def single_jobs(actor_name: str, args: tuple[object, ...]) -> list[tuple[str, tuple[object, ...]]]:
    """A queued pipeline job as the single-id jobs it stands for (reconcile compares those)."""
    batch_of = {"normalize_batch": "normalize_raw_item", "thread_batch": "thread_message", "classify_batch": "classify_ticket"}
    if actor_name in batch_of and args and isinstance(args[0], list):
        return [(batch_of[actor_name], (item,)) for item in args[0]]
    return [(actor_name, tuple(tuple(a) if isinstance(a, list) else a for a in args))]
