"""Incremental, crash-safe sync of one IMAP folder into raw items.

Order of effects, so that a crash at any point loses nothing and duplicates nothing:
  1. fetch a bounded batch with BODY.PEEK[] (never sets \\Seen, RFC 3501 section 6.4.5);
  2. store the raw items and commit (tiepnhan.intake.accept);
  3. record UID → raw item and advance the checkpoint, in one transaction;
  4. only then apply `after_fetch` (mark seen, or move).
A restart repeats at most the last batch, and the raw items' unique keys absorb it. A changed
UIDVALIDITY (RFC 3501 section 2.3.1.1) restarts the folder from UID 1; the same keys make that
resync add nothing already stored. Nothing relies on \\Seen flags or dates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.engine import Engine

from config.settings import MailboxConfig
from ingest.email import email_external_id
from ingest.imap.models import MailboxUid
from tickets.db import session_scope
from tickets.models import Checkpoint, SourceHealth, utcnow
from tickets.store import RawInput, insert_ignoring_duplicates
from tiepnhan.intake import accept

log = logging.getLogger(__name__)
FETCH_ITEMS = ["BODY.PEEK[]", "INTERNALDATE", "RFC822.SIZE"]


@dataclass
class FolderResult:
    folder: str
    fetched: int = 0
    new: int = 0
    resynced: bool = False
    missing: list[int] = field(default_factory=list)


def checkpoint_scope(folder: str) -> str:
    return f"imap:{folder}"


def read_checkpoint(engine: Engine, source: str, folder: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (source, checkpoint_scope(folder)))
        return dict(row.value) if row else {}


def _save_progress(engine: Engine, source: str, folder: str, uidvalidity: int, mapping: list[tuple[int, int]], last_uid: int | None) -> None:
    with session_scope(engine) as session:
        rows = [{"source": source, "folder": folder, "uidvalidity": uidvalidity, "uid": uid, "raw_item_id": raw_id} for uid, raw_id in mapping]
        insert_ignoring_duplicates(session, MailboxUid, rows, ["source", "folder", "uidvalidity", "uid"])
        if last_uid is None:
            return
        row = session.get(Checkpoint, (source, checkpoint_scope(folder)))
        value = {"uidvalidity": uidvalidity, "last_uid": last_uid}
        if row is None:
            session.add(Checkpoint(source=source, scope=checkpoint_scope(folder), value=value))
        elif row.value.get("uidvalidity") != uidvalidity or int(row.value.get("last_uid", 0)) < last_uid:
            row.value = value
            row.updated_at = utcnow()
            session.add(row)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _raw_inputs(source: str, folder: str, uidvalidity: int, data: dict[int, dict[bytes, Any]]) -> list[tuple[int, RawInput]]:
    items = []
    for uid, fields in sorted(data.items()):
        raw = fields.get(b"BODY[]")
        if raw is None:
            continue  # expunged between SEARCH and FETCH
        internal = fields.get(b"INTERNALDATE")
        arrived = internal if isinstance(internal, datetime) and internal.tzinfo else None
        origin = {"folder": folder, "uidvalidity": uidvalidity, "uid": uid, "internaldate": internal.isoformat() if isinstance(internal, datetime) else None}
        items.append((uid, RawInput(source=source, kind="email", external_id=email_external_id(raw), content=raw, origin=origin, arrived_at=arrived)))
    return items


def record_progress(engine: Engine, source: str, folder: str, fetched: int, total: int) -> None:
    """Log a large sync's progress and keep it in SourceHealth.details["sync_progress"][folder]."""
    log.info("sync progress", extra={"source": source, "folder": folder, "fetched": fetched, "total": total})
    with session_scope(engine) as session:
        row = session.get(SourceHealth, source) or SourceHealth(source=source, kind="imap")
        progress = dict((row.details or {}).get("sync_progress", {}))
        progress[folder] = {"fetched": fetched, "total": total, "at": utcnow().isoformat()}
        row.details = {**(row.details or {}), "sync_progress": progress}
        session.add(row)


def fetch_uids(client: IMAPClient, engine: Engine, mailbox: MailboxConfig, folder: str, uidvalidity: int, uids: list[int], *, enqueue: bool, advance: bool) -> tuple[int, int]:
    fetched = new = 0
    # A sync of more than one batch (a first sync, a resync, a long outage) reports progress
    # after every batch, so a large mailbox is visibly moving.
    report = len(uids) > mailbox.batch_size
    for batch in _chunks(uids, mailbox.batch_size):
        data = client.fetch(batch, FETCH_ITEMS)
        items = _raw_inputs(mailbox.name, folder, uidvalidity, data)
        saved = accept(engine, [item for _uid, item in items], enqueue=enqueue)
        _save_progress(engine, mailbox.name, folder, uidvalidity, [(uid, s.raw_item_id) for (uid, _i), s in zip(items, saved, strict=True)], max(batch) if advance else None)
        apply_after_fetch(client, mailbox.after_fetch, [uid for uid, _item in items])
        fetched += len(items)
        new += sum(1 for s in saved if s.is_new)
        if report:
            record_progress(engine, mailbox.name, folder, fetched, len(uids))
    return fetched, new


def apply_after_fetch(client: IMAPClient, after_fetch: str, uids: list[int]) -> None:
    if not uids or after_fetch == "keep":
        return
    if after_fetch == "seen":
        client.add_flags(uids, [b"\\Seen"], silent=True)
        return
    target = after_fetch.removeprefix("move:")
    if not client.folder_exists(target):
        client.create_folder(target)
    if client.has_capability("MOVE"):  # RFC 6851
        client.move(uids, target)
    else:
        client.copy(uids, target)
        client.delete_messages(uids, silent=True)
        client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()


def sync_folder(client: IMAPClient, engine: Engine, mailbox: MailboxConfig, folder: str, *, enqueue: bool = True) -> FolderResult:
    info = client.select_folder(folder, readonly=mailbox.after_fetch == "keep")
    uidvalidity = int(info[b"UIDVALIDITY"])
    checkpoint = read_checkpoint(engine, mailbox.name, folder)
    result = FolderResult(folder)
    last_uid = int(checkpoint.get("last_uid", 0))
    if checkpoint and checkpoint.get("uidvalidity") != uidvalidity:
        log.warning("UIDVALIDITY changed: resyncing the folder", extra={"source": mailbox.name, "folder": folder})
        last_uid, result.resynced = 0, True
    # imapclient cannot fetch "n:*" ranges: search, then fetch explicit UID lists. "n:*" always
    # matches the highest UID even when it is below n, so filter (RFC 3501 section 6.4.8).
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    if len(uids) > mailbox.batch_size:
        log.info("first sync of a large folder", extra={"source": mailbox.name, "folder": folder, "messages": len(uids)})
    result.fetched, result.new = fetch_uids(client, engine, mailbox, folder, uidvalidity, uids, enqueue=enqueue, advance=True)
    return result


def reconcile_folder(client: IMAPClient, engine: Engine, mailbox: MailboxConfig, folder: str, *, enqueue: bool = True) -> dict[str, int]:
    """Fetch every message present in the folder but not recorded, whatever made the gap."""
    info = client.select_folder(folder, readonly=True)
    uidvalidity = int(info[b"UIDVALIDITY"])
    present = set(client.search(["ALL"]))
    with session_scope(engine) as session:
        known = set(session.execute(select(MailboxUid.uid).where(
            MailboxUid.source == mailbox.name, MailboxUid.folder == folder, MailboxUid.uidvalidity == uidvalidity)).scalars())  # type: ignore[arg-type]
    missing = sorted(present - known)
    repaired = 0
    if missing:
        keep = mailbox.model_copy(update={"after_fetch": "keep"})  # repair only; never move here
        fetched, _new = fetch_uids(client, engine, keep, folder, uidvalidity, missing, enqueue=enqueue, advance=False)
        repaired = fetched
    return {"checked": len(present), "missing": len(missing), "repaired": repaired}


__all__ = ["FolderResult", "IMAPClientError", "reconcile_folder", "sync_folder"]
