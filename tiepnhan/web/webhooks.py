"""GET/POST /webhooks/facebook: the subscription handshake and verified page events.

A POST's body is read within `settings.webhooks` (size: 413 before reading when Content-Length
says so, or as soon as the stream passes it; time: 408 for a body that trickles), see
`tiepnhan.web.body_limit`. A bad or missing signature is refused with 403 before anything is
stored. A signed body is then never answered with 500: its events are stored (`accept`, in a
thread so the event loop never waits on the database) and what cannot be read, even a body
that is JSON of another shape, is kept whole and quarantined (`tiepnhan failures`); a body
that is not JSON at all is kept the same way and answered 400. Normalizing, threading and
tagging are left to the workers.
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
from ingest.facebook.webhook import (
    SIGNATURE_HEADER, NotJson, UnreadableJson, WebhookItems, handshake_challenge, parse_body, raw_inputs_from_webhook, signature_matches, unreadable_delivery,
)
from tickets.db import session_scope
from tickets.models import Message, RawItem
from tickets.store import RawInput
from tiepnhan.web.body_limit import BodyRefused, read_limited_body, refusal

log = logging.getLogger(__name__)

PATH = "/webhooks/facebook"


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def pages_signed_for(body: bytes, header: str | None, pages: list[FacebookPageConfig]) -> dict[str, str]:
    """page id → source name, for the pages whose app secret signed this body."""
    return {p.page_id: p.name for p in pages if signature_matches(body, header, _secret(p.app_secret))}


REMOVALS_PER_QUERY = 200  # SQLite parses a long OR of LIKEs as one deep expression (at most 1,000)


def known_removals(engine: Engine, found: WebhookItems) -> list[RawInput]:
    """The items to store: a removal only of a comment we hold (never a ticket for a deleted,
    unseen comment); everything else as it came."""
    if not found.removals:
        return found.items
    known: set[str] = set()
    with session_scope(engine) as session:
        for start in range(0, len(found.removals), REMOVALS_PER_QUERY):
            chunk = found.removals[start : start + REMOVALS_PER_QUERY]
            stored = set(session.execute(select(Message.external_id).where(Message.channel == "facebook_comment", Message.external_id.in_(chunk))).scalars())  # type: ignore[attr-defined]
            # Ids never hold '%' (ingest.facebook.webhook.ID_PATTERN); '_' may match any character, so
            # the exact test follows.
            raw = session.execute(select(RawItem.external_id).where(or_(*(RawItem.external_id.like(f"{c}%") for c in chunk)))).scalars()  # type: ignore[attr-defined]
            versions = {r.partition("@")[0] for r in raw}
            known.update(c for c in chunk if c in stored or c in versions)
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

    def store(found: WebhookItems, extra: list[RawInput]) -> int:
        if enqueue:
            _ensure_broker(settings)
        from tiepnhan.intake import accept

        db = get_engine()
        # The unreadable body first: it is the delivery exactly as it came.
        items = [*extra, *known_removals(db, found)]
        saved = accept(db, items, enqueue=enqueue) if items else []
        return sum(1 for s in saved if s.is_new)

    async def handshake(request: Request) -> Response:
        challenge = handshake_challenge(request.query_params, [_secret(p.verify_token) for p in settings.facebook_pages])
        if challenge is None:
            log.warning("webhook handshake refused")
            return PlainTextResponse("Forbidden", status_code=403)
        return PlainTextResponse(challenge)

    async def receive(request: Request) -> Response:
        limits = settings.webhooks
        try:  # the raw bytes: the signature is over exactly these
            body = await read_limited_body(request, limits.max_body_bytes, limits.body_timeout_seconds)
        except BodyRefused as problem:
            log.warning("webhook body refused", extra={"status": problem.status_code, "problem": str(problem)})
            return refusal(problem)
        pages = pages_signed_for(body, request.headers.get(SIGNATURE_HEADER), settings.facebook_pages)
        if not pages:
            log.warning("webhook refused: bad or missing signature", extra={"signed": SIGNATURE_HEADER in request.headers})
            return PlainTextResponse("Forbidden", status_code=403)
        source = pages[min(pages)]
        status = 200
        try:
            found = raw_inputs_from_webhook(parse_body(body), pages)
        except NotJson as exc:
            found, status = WebhookItems([], [], 0, [str(exc)]), 400
        except UnreadableJson as exc:
            found = WebhookItems([], [], 0, [str(exc)])
        except Exception as exc:  # noqa: BLE001 - a signed body is kept whatever it holds
            found = WebhookItems([], [], 0, [f"{type(exc).__name__} while reading"])
            log.exception("webhook body could not be read")
        extra = [unreadable_delivery(body, source, found.problems, pages.values())] if found.problems else []
        new = await run_in_threadpool(store, found, extra) if found.items or extra else 0
        log.info("webhook received", extra={"items": len(found.items), "new": new, "ignored": found.ignored, "quarantined": len(extra)})
        if status == 400:
            return PlainTextResponse("Bad Request: not JSON", status_code=400)
        return JSONResponse({"received": len(found.items), "new": new, "ignored": found.ignored, "quarantined": len(extra)})

    return [Route(PATH, handshake, methods=["GET"]), Route(PATH, receive, methods=["POST"]), zalo_webhook_route(settings, get_engine, enqueue)]


# --- Zalo Official Account (issue 18): POST /webhooks/zalo ---------------------------------------
ZALO_PATH = "/webhooks/zalo"


def zalo_webhook_route(settings: Settings, get_engine: Callable[[], Engine], enqueue: bool = True) -> Route:
    """Signed Zalo events (ingest/zalo/events.py): 403 before anything is stored for a missing,
    wrong or stale signature; else stored (raw first) and answered 200 at once, the sender's name
    asked for after the answer."""
    import time as _time

    from starlette.background import BackgroundTasks

    from ingest.zalo import events as zalo_events
    from ingest.zalo.attachments import ATTACHMENT_EVENTS, fetch_attachments
    from ingest.zalo.intake import name_the_sender, store_event

    def signed_by(body: bytes, payload: Any, header: str | None) -> list[Any]:
        stamp = zalo_events.event_timestamp(payload)
        return [a for a in settings.zalo_accounts if zalo_events.signature_matches(body, header, a.app_id, stamp, _secret(a.oa_secret_key))]

    async def receive_zalo(request: Request) -> Response:
        limits = settings.webhooks
        try:
            body = await read_limited_body(request, limits.max_body_bytes, limits.body_timeout_seconds)
        except BodyRefused as problem:
            log.warning("zalo webhook body refused", extra={"status": problem.status_code, "problem": str(problem)})
            return refusal(problem)
        try:  # the signed string holds the event's own timestamp: no JSON, nothing can be verified
            payload: Any = parse_body(body)
        except (NotJson, UnreadableJson):
            payload = None
        accounts = signed_by(body, payload, request.headers.get(zalo_events.SIGNATURE_HEADER))
        if not accounts:
            log.warning("zalo webhook refused: bad or missing signature", extra={"signed": zalo_events.SIGNATURE_HEADER in request.headers})
            return PlainTextResponse("Forbidden", status_code=403)
        account = accounts[0]
        stamp = zalo_events.event_timestamp(payload)
        assert stamp is not None  # a signature matched, so the timestamp was read
        if not zalo_events.is_fresh(stamp, int(_time.time() * 1000), account.max_event_age_seconds):
            log.warning("zalo webhook refused: stale timestamp", extra={"source": account.name})
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            event = zalo_events.read_event(payload, account.name, account.oa_id, body)
        except Exception as exc:  # noqa: BLE001 - a signed body is kept whatever it holds
            event = zalo_events.ZaloEvent([], problems=[f"{type(exc).__name__} while reading"])
            log.exception("zalo webhook body could not be read")
        extra = [zalo_events.unreadable_delivery(body, account.name, event.problems)] if event.problems else []
        if enqueue:
            _ensure_broker(settings)
        new, raw_ids = await run_in_threadpool(store_event, get_engine(), account, event, extra, enqueue=enqueue)
        log.info("zalo webhook received", extra={"source": account.name, "items": len(event.items), "new": new, "quarantined": len(extra),
                                                 "follow": event.follow[0] if event.follow else None, "ignored": event.ignored})
        tasks = BackgroundTasks()
        inbound = [item for item in event.items if item.origin.get("event_name", "").startswith("user_")]
        if new and inbound and enqueue:
            tasks.add_task(run_in_threadpool, name_the_sender, get_engine(), account, str(inbound[0].origin["user_id"]), raw_ids)
        if new and enqueue and any(item.origin.get("event_name") in ATTACHMENT_EVENTS for item in event.items):
            tasks.add_task(run_in_threadpool, fetch_attachments, get_engine(), account, raw_ids, settings.max_attachment_bytes)  # after the 200
        return JSONResponse({"received": len(event.items), "new": new, "quarantined": len(extra)}, background=tasks)

    return Route(ZALO_PATH, receive_zalo, methods=["POST"])
