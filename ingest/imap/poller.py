"""One configured mailbox as a source: poll every folder, reconcile on demand."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from config.settings import MailboxConfig
from ingest.imap.connection import connect
from ingest.imap.sync import reconcile_folder, sync_folder

log = logging.getLogger(__name__)


@dataclass
class ImapPoller:
    config: MailboxConfig
    kind: str = "imap"

    @property
    def name(self) -> str:
        return self.config.name

    def poll_once(self, engine: Engine, enqueue: bool = True) -> dict[str, Any]:
        client = connect(self.config)
        try:
            results = [sync_folder(client, engine, self.config, folder, enqueue=enqueue) for folder in self.config.folders]
        finally:
            _logout(client)
        summary = {"fetched": sum(r.fetched for r in results), "new": sum(r.new for r in results),
                   "resynced": [r.folder for r in results if r.resynced]}
        log.info("mailbox polled", extra={"source": self.name, **summary})
        return summary

    def reconcile(self, engine: Engine, enqueue: bool = True) -> dict[str, int]:
        client = connect(self.config)
        try:
            totals = {"checked": 0, "missing": 0, "repaired": 0}
            for folder in self.config.folders:
                for key, value in reconcile_folder(client, engine, self.config, folder, enqueue=enqueue).items():
                    totals[key] += value
        finally:
            _logout(client)
        log.info("mailbox reconciled", extra={"source": self.name, **totals})
        return totals


def _logout(client: Any) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        pass
