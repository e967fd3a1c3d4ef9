"""What a verified Zalo delivery does to the store (side effects; the reading is in events.py).

Messages enter through `tiepnhan.intake.accept` (raw first, then the pipeline); follow/unfollow
are recorded per user (Checkpoint scope "follower:<user id>") and open no ticket. The sender's
display name and avatar come from the user-detail API afterwards, cached per user (scope
"user:<user id>"): a ticket never waits for it, its name is filled in when the answer comes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from config.settings import ZaloAccountConfig
from ingest.zalo.client import UserProfile, ZaloClient, ZaloError
from ingest.zalo.events import ZaloEvent
from ingest.zalo.normalize import SUBJECT
from ingest.zalo.tokens import access_token
from tickets.db import session_scope
from tickets.models import Checkpoint, Message, RawItem, RawState, Ticket, utcnow
from tiepnhan.intake import accept

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=7)


def store_event(engine: Engine, account: ZaloAccountConfig, event: ZaloEvent, extra: Sequence[object] = (), *, enqueue: bool = True) -> tuple[int, list[int]]:
    """(new items, their raw ids). A replayed delivery adds nothing."""
    if event.follow is not None:
        name, user = event.follow
        with session_scope(engine) as session:
            row = session.get(Checkpoint, (account.name, f"follower:{user}")) or Checkpoint(source=account.name, scope=f"follower:{user}")
            row.value = {"event": name, "at": utcnow().isoformat()}
            row.updated_at = utcnow()
            session.add(row)
        log.info("zalo follower event recorded", extra={"source": account.name, "event": name})
    items = [*extra, *event.items]
    saved = accept(engine, items, enqueue=enqueue) if items else []  # type: ignore[arg-type]
    fresh = [s.raw_item_id for s in saved if s.is_new]
    return len(fresh), fresh


def cached_profile(engine: Engine, source: str, user_id: str, now: datetime) -> UserProfile | None:
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (source, f"user:{user_id}"))
        if row is None or now - datetime.fromisoformat(row.value["fetched_at"]) > PROFILE_MAX_AGE:
            return None
        return UserProfile(user_id, row.value.get("display_name"), row.value.get("avatar"))


def _cache(engine: Engine, source: str, profile: UserProfile, now: datetime) -> None:
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (source, f"user:{profile.user_id}")) or Checkpoint(source=source, scope=f"user:{profile.user_id}")
        row.value = {"display_name": profile.display_name, "avatar": profile.avatar, "fetched_at": now.isoformat()}
        row.updated_at = utcnow()
        session.add(row)


def fill_sender_name(engine: Engine, source: str, profile: UserProfile) -> int:
    """Put the display name on the user's messages and tickets that have none yet. Returns tickets named."""
    if not profile.display_name:
        return 0
    with session_scope(engine) as session:
        session.execute(update(Message).where(Message.channel == "zalo", Message.source == source, Message.sender_address == profile.user_id,  # type: ignore[arg-type]
                                              Message.direction == "inbound", Message.sender_name.is_(None)).values(sender_name=profile.display_name))  # type: ignore[union-attr]
        tickets = list(session.execute(select(Ticket).where(Ticket.channel == "zalo", Ticket.source == source, Ticket.sender_address == profile.user_id,  # type: ignore[arg-type]
                                                            Ticket.sender_name.is_(None))).scalars())  # type: ignore[union-attr]
        for ticket in tickets:
            if ticket.subject == SUBJECT.format(name="người dùng"):
                ticket.subject = SUBJECT.format(name=profile.display_name)
            ticket.sender_name = profile.display_name
            session.add(ticket)
        return len(tickets)


def wait_processed(engine: Engine, raw_ids: Sequence[int], wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while raw_ids and time.monotonic() < deadline:
        with session_scope(engine) as session:
            pending = session.execute(select(RawItem.id).where(RawItem.id.in_(list(raw_ids)), RawItem.state == RawState.PENDING.value)).first()  # type: ignore[attr-defined, arg-type]
        if pending is None:
            return
        time.sleep(0.2)


def name_the_sender(engine: Engine, account: ZaloAccountConfig, user_id: str, raw_ids: Sequence[int], *, wait_seconds: float = 30.0) -> None:
    """After the answer to Zalo: the profile (cached, or asked for), then the name on the ticket
    once the pipeline has made it. A failure only leaves the name empty (logged)."""
    now = utcnow()
    profile = cached_profile(engine, account.name, user_id, now)
    if profile is None:
        client = ZaloClient(account)
        try:
            profile = client.user_detail(user_id, access_token(engine, account, client, now))
        except ZaloError as exc:
            log.warning("zalo user detail failed", extra={"source": account.name, "error": str(exc), "code": exc.code})
            return
        finally:
            client.close()
        _cache(engine, account.name, profile, now)
    wait_processed(engine, raw_ids, wait_seconds)
    fill_sender_name(engine, account.name, profile)
