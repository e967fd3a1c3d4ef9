"""The one way raw items enter the system: store durably, then enqueue for processing.

Sources (IMAP, Graph polling, webhooks, file import) call `accept`. The raw bytes are
committed before anything else happens, so a crash after this call loses nothing; an item
seen before is recognised by its (source, external id) and not processed again. The new items
of one call are enqueued together: one pipeline message per batch (tickets/actors.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from tickets.store import RawInput, SavedRaw, record_raw_failure, save_raw_items

# Items that could not even be split into messages: kept, and quarantined with their reason.
UNREADABLE_KIND = "unreadable_file"


def accept(engine: Engine, items: Sequence[RawInput], *, enqueue: bool = True) -> list[SavedRaw]:
    saved = save_raw_items(engine, items)
    fresh = []
    for item, result in zip(items, saved, strict=True):
        if not result.is_new:
            continue
        if item.kind == UNREADABLE_KIND:
            reason = str(item.origin.get("reason", "unreadable"))
            record_raw_failure(engine, result.raw_item_id, "read", reason, permanent=True)
        else:
            fresh.append(result.raw_item_id)
    if enqueue and fresh:
        from tickets.actors import enqueue_raw_items

        enqueue_raw_items(fresh)
    return saved
