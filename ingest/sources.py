"""Every configured source as a poller with `name`, `kind` and `poll_once(engine, enqueue)`."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.engine import Engine

from config.settings import Settings


class SourcePoller(Protocol):
    name: str
    kind: str

    def poll_once(self, engine: Engine, enqueue: bool = True) -> Any: ...


def build_pollers(settings: Settings) -> list[SourcePoller]:
    from ingest.facebook.poller import FacebookPagePoller
    from ingest.imap.poller import ImapPoller

    pollers: list[SourcePoller] = [ImapPoller(mailbox) for mailbox in settings.mailboxes]
    pollers += [FacebookPagePoller(page) for page in settings.facebook_pages]
    return pollers
