"""POST /webhooks/calls: the call center's CTI events (ingest/calls/cti.py), signed with the shared secret.

403 before anything is stored for a missing or wrong X-CTI-Signature (and always when no
[call_center] secret is configured). A signed body that cannot be read is kept whole and
quarantined (`tiepnhan failures`) and answered 400 with the reason; readable events are folded
into their call (call_record, one row per call: a replayed event changes nothing) and a hang-up
with the agent's summary enters through `tiepnhan.intake.accept`. Answered 200 with counts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from config.settings import Settings
from ingest.calls.cti import SIGNATURE_HEADER, CtiEvent, CtiEventError, read_events, signature_matches
from tickets.models import utcnow
from tickets.store import RawInput
from tiepnhan.web.body_limit import BodyRefused, read_limited_body, refusal
from web.responses import json_error, json_ok

log = logging.getLogger(__name__)

PATH = "/webhooks/calls"


def calls_webhook_routes(settings: Settings, engine: Callable[[], Engine] | None = None, enqueue: bool = True) -> list[Route]:
    config = settings.call_center
    secret = config.secret.get_secret_value() if config.secret is not None else ""

    def get_engine() -> Engine:
        if engine is not None:
            return engine()
        from tiepnhan import runtime

        return runtime.engine()

    def keep_unreadable(body: bytes, reason: str) -> None:
        from tiepnhan.intake import UNREADABLE_KIND, accept

        accept(get_engine(), [RawInput(source=config.name, kind=UNREADABLE_KIND, external_id=f"cti-webhook:sha256:{hashlib.sha256(body).hexdigest()}",
                                       content=body, origin={"via": "webhook", "reason": f"CTI event not read: {reason}"})], enqueue=False)

    def store(events: list[CtiEvent]) -> dict[str, int]:
        from ingest.calls.intake import record_cti_event

        if enqueue:
            from tiepnhan.web.webhooks import _ensure_broker

            _ensure_broker(settings)
        counts = {"new": 0, "updated": 0, "replayed": 0}
        for event in events:
            counts[record_cti_event(get_engine(), config, event, enqueue=enqueue)] += 1
        return counts

    async def receive(request: Request) -> Response:
        limits = settings.webhooks
        try:
            body = await read_limited_body(request, limits.max_body_bytes, limits.body_timeout_seconds)
        except BodyRefused as problem:
            return refusal(problem)
        if not signature_matches(body, request.headers.get(SIGNATURE_HEADER), secret):
            log.warning("calls webhook refused: bad or missing signature", extra={"signed": SIGNATURE_HEADER in request.headers, "configured": bool(secret)})
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            events = read_events(body, utcnow())
        except CtiEventError as exc:
            await run_in_threadpool(keep_unreadable, body, str(exc))
            log.warning("calls webhook body not read", extra={"problem": str(exc)})
            return json_error(400, str(exc))
        counts = await run_in_threadpool(store, events)
        log.info("calls webhook received", extra={"events": len(events), **counts})
        return json_ok({"received": len(events), **counts})

    return [Route(PATH, receive, methods=["POST"])]
