"""The polled sources a configuration names (mailboxes, fanpages), with their intervals.

Plain data over the settings, so `tiepnhan status` lists them without loading the scheduler,
the broker or the actors (tiepnhan/scheduler.py polls them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: str  # "imap" | "facebook"
    interval_seconds: float


def source_specs(settings: Settings) -> list[SourceSpec]:
    return [SourceSpec(m.name, "imap", m.poll_interval_seconds) for m in settings.mailboxes] + [
        SourceSpec(p.name, "facebook", p.poll_interval_seconds) for p in settings.facebook_pages
    ]
