"""One configured fanpage as a source: its Messenger conversations and its posts' comments.

Incremental by `updated_time`, one checkpoint per (page, "conversations") and (page, "feed"):
  * /{page-id}/conversations?platform=messenger is ordered by updated_time, newest first
    (https://developers.facebook.com/docs/graph-api/reference/page/conversations/): read pages
    until a conversation older than the checkpoint, with each conversation's messages expanded
    through `fields` (newest first, followed through their own paging while still new).
  * /{page-id}/feed gives the page's posts; a post's updated_time moves when "a user comments
    on a post" (https://developers.facebook.com/docs/graph-api/reference/post/). For each post
    updated since the checkpoint, /{post-id}/comments?filter=stream lists comments and replies
    flat (a reply names its top-level comment in `parent`), newest first.
Raw items are stored with `accept` (one per Graph object, so a webhook and a poll of the same
message are one item); the checkpoint moves only after they are committed, so a poll cut short
(throttled, killed) resumes from where the last complete one ended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from config.settings import FacebookPageConfig
from ingest.facebook.envelope import comment_item, message_item
from ingest.facebook.graph import GraphClient
from ingest.facebook.normalize import graph_time
from tickets.db import session_scope
from tickets.models import Checkpoint, utcnow
from tickets.store import RawInput
from tiepnhan.intake import accept

log = logging.getLogger(__name__)

CONVERSATIONS = "conversations"
FEED = "feed"
ATTACHMENT_FIELDS = "id,mime_type,name,size,file_url,image_data{url},video_data{url}"
MESSAGE_FIELDS = f"id,created_time,from,to,message,attachments{{{ATTACHMENT_FIELDS}}}"
CONVERSATION_FIELDS = f"id,updated_time,messages{{{MESSAGE_FIELDS}}}"
POST_FIELDS = "id,message,created_time,updated_time"
COMMENT_FIELDS = "id,message,created_time,from,parent{id},attachment"
# With no checkpoint yet, polling starts this far back (older history: `tiepnhan import`).
INITIAL_LOOKBACK = timedelta(days=30)
# Posts created this long before the checkpoint are still checked for new comments; older
# posts are left to webhooks (the feed is ordered by creation, not by last comment).
FEED_LOOKBACK = timedelta(days=30)


@dataclass
class PollSummary:
    conversations: int = 0
    posts: int = 0
    fetched: int = 0
    new: int = 0
    calls: int = 0
    usage_percent: float = 0.0
    since: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def read_since(engine: Engine, source: str, scope: str) -> datetime | None:
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (source, scope))
        return graph_time(row.value.get("since")) if row is not None else None


def save_since(engine: Engine, source: str, scope: str, since: datetime) -> None:
    value = {"since": since.isoformat()}
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (source, scope))
        if row is None:
            session.add(Checkpoint(source=source, scope=scope, value=value))
        elif (graph_time(row.value.get("since")) or since) <= since:
            row.value = value
            row.updated_at = utcnow()
            session.add(row)


def _older(value: str | None, bound: datetime) -> bool:
    moment = graph_time(value)
    return moment is not None and moment < bound


def _chronological(items: list[tuple[str | None, RawInput]]) -> list[RawInput]:
    return [item for _, item in sorted(items, key=lambda pair: graph_time(pair[0]) or utcnow())]


@dataclass
class FacebookPagePoller:
    config: FacebookPageConfig
    kind: str = "facebook"
    client_factory: Callable[[FacebookPageConfig], GraphClient] = GraphClient
    now: Callable[[], datetime] = utcnow

    @property
    def name(self) -> str:
        return self.config.name

    def poll_once(self, engine: Engine, enqueue: bool = True) -> dict[str, Any]:
        client = self.client_factory(self.config)
        summary = PollSummary()
        self.poll_conversations(client, engine, summary, enqueue)
        self.poll_feed(client, engine, summary, enqueue)
        summary.calls = client.calls
        summary.usage_percent = client.usage.max_percent
        log.info("fanpage polled", extra={"source": self.name, **summary.as_dict()})
        return summary.as_dict()

    def _store(self, engine: Engine, items: list[RawInput], summary: PollSummary, enqueue: bool) -> None:
        if items:
            saved = accept(engine, items, enqueue=enqueue)
            summary.fetched += len(items)
            summary.new += sum(1 for s in saved if s.is_new)

    def poll_conversations(self, client: GraphClient, engine: Engine, summary: PollSummary, enqueue: bool) -> None:
        page_id = self.config.page_id
        stored_since = read_since(engine, self.name, CONVERSATIONS)
        since = stored_since or self.now() - INITIAL_LOOKBACK
        newest = stored_since
        for conversations in client.pages(page_id, CONVERSATIONS, platform="messenger", fields=CONVERSATION_FIELDS):
            items: list[tuple[str | None, RawInput]] = []
            reached_old = False
            for conversation in conversations:
                if _older(conversation.get("updated_time"), since):
                    reached_old = True
                    break
                conversation_id = str(conversation["id"])
                summary.conversations += 1
                for messages in client.follow(conversation.get("messages"), conversation_id, "messages", fields=MESSAGE_FIELDS):
                    fresh = [m for m in messages if m.get("id") and not _older(m.get("created_time"), since)]
                    items += [(m.get("created_time"), message_item(self.name, page_id, conversation_id, m, "poll")) for m in fresh]
                    if len(fresh) < len(messages):
                        break  # newest first: the rest was seen by an earlier poll
                updated = graph_time(conversation.get("updated_time"))
                if updated is not None and (newest is None or updated > newest):
                    newest = updated
            self._store(engine, _chronological(items), summary, enqueue)
            if reached_old:
                break
        if newest is not None:
            save_since(engine, self.name, CONVERSATIONS, newest)
            summary.since[CONVERSATIONS] = newest.isoformat()

    def poll_feed(self, client: GraphClient, engine: Engine, summary: PollSummary, enqueue: bool) -> None:
        page_id = self.config.page_id
        stored_since = read_since(engine, self.name, FEED)
        since = stored_since or self.now() - INITIAL_LOOKBACK
        oldest_post = since - FEED_LOOKBACK if stored_since else since
        newest = stored_since
        for posts in client.pages(page_id, FEED, fields=POST_FIELDS):
            items: list[tuple[str | None, RawInput]] = []
            reached_old = False
            for post in posts:
                updated = post.get("updated_time") or post.get("created_time")
                if _older(post.get("created_time"), oldest_post) and _older(updated, since):
                    reached_old = True
                    break
                if _older(updated, since):
                    continue
                summary.posts += 1
                post_id = str(post["id"])
                for comments in client.pages(post_id, "comments", filter="stream", order="reverse_chronological", fields=COMMENT_FIELDS):
                    fresh = [c for c in comments if c.get("id") and not _older(c.get("created_time"), since)]
                    for comment in fresh:
                        top = str((comment.get("parent") or {}).get("id") or comment["id"])
                        items.append((comment.get("created_time"), comment_item(self.name, page_id, post_id, top, comment, "poll", post.get("message"))))
                    if len(fresh) < len(comments):
                        break  # newest first: the rest was seen by an earlier poll
                moment = graph_time(updated)
                if moment is not None and (newest is None or moment > newest):
                    newest = moment
            self._store(engine, _chronological(items), summary, enqueue)
            if reached_old:
                break
        if newest is not None:
            save_since(engine, self.name, FEED, newest)
            summary.since[FEED] = newest.isoformat()
