"""Offline import: turn files on disk into raw items.

Accepts `.eml` files, folders of them, Maildir folders, mbox files, and JSON files holding
fanpage data in the Graph API's own shapes. Reading a file never parses the messages in it
beyond the one header needed for its stable id; parsing is the pipeline's job.
"""

from __future__ import annotations

import json
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tickets.store import RawInput, sha256_hex

EMAIL_SUFFIXES = {".eml", ".msg", ".txt", ".raw"}
MBOX_SUFFIXES = {".mbox", ".mbx"}


@dataclass(frozen=True)
class UnreadableFile:
    """A file that cannot even be split into items. It is still kept, as one raw item."""

    path: Path
    reason: str
    content: bytes


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def looks_like_mbox(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in MBOX_SUFFIXES or head.startswith(b"From ")


def expand_paths(paths: list[Path]) -> Iterator[Path]:
    """Files and Maildir folders under the given paths, in a stable order."""
    for path in paths:
        if is_maildir(path):
            yield path
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.name in {"INDEX.jsonl"}:
                    continue
                yield from expand_paths([child])
        else:
            yield path


def email_raw_input(content: bytes, source: str, origin: dict[str, object]) -> RawInput:
    from ingest.email import email_external_id

    return RawInput(source=source, kind="email", external_id=email_external_id(content), content=content, origin=origin)


def read_path(path: Path, source: str) -> Iterator[RawInput | UnreadableFile]:
    """The raw items in one file or Maildir folder."""
    if is_maildir(path):
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield email_raw_input(box.get_bytes(key), source, {"path": str(path), "maildir_key": key})
        return
    if not path.exists():
        yield UnreadableFile(path, "no such file or folder", b"")
        return
    content = path.read_bytes()
    if path.suffix.lower() == ".json":
        yield from _read_graph_json(path, content, source)
    elif looks_like_mbox(path, content[:5]):
        box = mailbox.mbox(path, factory=None, create=False)
        for index, key in enumerate(box.keys()):
            yield email_raw_input(box.get_bytes(key, from_=False), source, {"path": str(path), "mbox_index": index})
    elif path.suffix.lower() in EMAIL_SUFFIXES or not path.suffix:
        yield email_raw_input(content, source, {"path": str(path)})
    else:
        yield UnreadableFile(path, f"unknown file type {path.suffix!r} (expected .eml, mbox, Maildir or .json)", content)


def _read_graph_json(path: Path, content: bytes, source: str) -> Iterator[RawInput | UnreadableFile]:
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield UnreadableFile(path, f"not valid JSON: {exc}", content)
        return
    from ingest.facebook.export import raw_inputs_from_graph_export
    try:
        items = raw_inputs_from_graph_export(data, source)
    except ValueError as exc:
        yield UnreadableFile(path, f"not fanpage data in the Graph API's shapes: {exc}", content)
        return
    for item in items:
        yield RawInput(item.source, item.kind, item.external_id, item.content, {"path": str(path), **item.origin})


def unreadable_raw_input(problem: UnreadableFile, source: str) -> RawInput:
    return RawInput(
        source=source,
        kind="unreadable_file",
        external_id=f"sha256:{sha256_hex(problem.content)}",
        content=problem.content,
        origin={"path": str(problem.path), "reason": problem.reason},
    )
