"""GET/POST /webhooks/facebook: the subscription handshake and verified page events.

A POST is answered as soon as its raw items are durably stored (`accept`, in a thread so the
event loop never waits on the database); normalizing, threading and tagging are left to the
workers. A bad or missing signature is refused with 403 before anything is read or stored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from config.settings import FacebookPageConfig, Settings
from ingest.facebook.webhook import SIGNATURE_HEADER, WebhookItems, handshake_challenge, raw_inputs_from_webhook, signature_matches
from tickets.db import session_scope
from tickets.models import Message, RawItem
from tickets.store import RawInput

log = logging.getLogger(__name__)

PATH = "/webhooks/facebook"


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def pages_signed_for(body: bytes, header: str | None, pages: list[FacebookPageConfig]) -> dict[str, str]:
    """page id → source name, for the pages whose app secret signed this body."""
    return {p.page_id: p.name for p in pages if signature_matches(body, header, _secret(p.app_secret))}


def known_removals(engine: Engine, found: WebhookItems) -> list[RawInput]:
    """The items to store: a removal only of a comment we hold (never a ticket for a deleted,
    unseen comment); everything else as it came."""
    if not found.removals:
        return found.items
    with session_scope(engine) as session:
        stored = set(session.execute(select(Message.external_id).where(Message.channel == "facebook_comment", Message.external_id.in_(found.removals))).scalars())  # type: ignore[attr-defined]
        raw = set(session.execute(select(RawItem.external_id).where(or_(*(RawItem.external_id.like(f"{c}%") for c in found.removals)))).scalars())  # type: ignore[attr-defined]
    known = {c for c in found.removals if c in stored or any(r == c or r.startswith(f"{c}@") for r in raw)}
    kept = [item for item in found.items if not item.external_id.endswith("#deleted") or item.external_id.removesuffix("#deleted") in known]
    if len(kept) < len(found.items):
        log.info("removal of a comment never stored: nothing to mark", extra={"count": len(found.items) - len(kept)})
    return kept


_broker_lock = threading.Lock()
_broker_ready = False


def _ensure_broker(settings: Settings) -> None:
    """The standalone web process (Procfile `web`) sends to Redis like every other process."""
    global _broker_ready
    with _broker_lock:
        if _broker_ready or not settings.redis_url:
            return
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker

        if not isinstance(dramatiq.get_broker(), RedisBroker):
            from tiepnhan.actor_setup import setup

            setup(settings)
        _broker_ready = True


def webhook_routes(settings: Settings, engine: Callable[[], Engine] | None = None, enqueue: bool = True) -> list[Route]:
    def get_engine() -> Engine:
        if engine is not None:
            return engine()
        from tiepnhan import runtime

        return runtime.engine()

    def store(found: WebhookItems) -> int:
        if enqueue:
            _ensure_broker(settings)
        from tiepnhan.intake import accept

        db = get_engine()
        items = known_removals(db, found)
        saved = accept(db, items, enqueue=enqueue) if items else []
        return sum(1 for s in saved if s.is_new)

    async def handshake(request: Request) -> Response:
        challenge = handshake_challenge(request.query_params, [_secret(p.verify_token) for p in settings.facebook_pages])
        if challenge is None:
            log.warning("webhook handshake refused")
            return PlainTextResponse("Forbidden", status_code=403)
        return PlainTextResponse(challenge)

    async def receive(request: Request) -> Response:
        body = await request.body()  # the raw bytes: the signature is over exactly these
        pages = pages_signed_for(body, request.headers.get(SIGNATURE_HEADER), settings.facebook_pages)
        if not pages:
            log.warning("webhook refused: bad or missing signature", extra={"signed": SIGNATURE_HEADER in request.headers})
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        found = raw_inputs_from_webhook(payload if isinstance(payload, dict) else {}, pages)
        new = await run_in_threadpool(store, found) if found.items else 0
        log.info("webhook received", extra={"items": len(found.items), "new": new, "ignored": found.ignored})
        return JSONResponse({"received": len(found.items), "new": new})

    return [Route(PATH, handshake, methods=["GET"]), Route(PATH, receive, methods=["POST"])]
