"""The built index kept on disk, keyed by the bank's content and the reading rules, so loading an
unchanged bank skips reading, classifying and indexing every entry (docs/qbank.md, "Speed").

The key is a SHA-256 of every entry's fields (in order) and of the files that decide how text is
read and scored (this package's retrieval code and data, the classifiers' data): a changed entry,
rule or keyword gives a new key, never a stale index. The cache directory is the process owner's
(`$XDG_CACHE_HOME/tiepnhan/qbank`, or `~/.cache/...`); files are written whole then renamed, so a
reader never sees half a file. A file that cannot be read is rebuilt and replaced.

Beside the indexes, each entry's reading (its tokens and topics, qbank.retrieve.EntryReading) is
kept keyed by the entry's text and the same rules: the first load after a bank change reads only
the entries that changed, and indexes the readings (bm25s) for the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from qbank.entry import BankEntry, entry_to_mapping
from qbank.retrieve import BankIndex, EntryReading, EntryTokens, entry_text, entry_tokens, index_of_tokens, tokens_of_reading

log = logging.getLogger(__name__)

FORMAT = "qbank-index-3"
KEEP_FILES = 8  # older indexes (of earlier versions of the bank) are removed beyond this many
_QBANK = Path(__file__).resolve().parent
_CLASSIFIERS = _QBANK.parent / "classifiers"
# The files whose content changes what build_index makes of the same entries.
RULE_FILES: tuple[Path, ...] = (
    _QBANK / "retrieve.py",
    _QBANK / "represent.py",
    *sorted((_QBANK / "data").glob("*")),
    *sorted((_CLASSIFIERS / "data").glob("*")),
)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tiepnhan" / "qbank"


@cache
def _rules_digest() -> str:
    digest = hashlib.sha256(FORMAT.encode())
    for path in RULE_FILES:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def bank_key(entries: Sequence[BankEntry]) -> str:
    """A SHA-256 of the entries' fields and of the reading rules."""
    digest = hashlib.sha256(_rules_digest().encode())
    for entry in entries:
        digest.update(json.dumps(entry_to_mapping(entry), ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _load(path: Path) -> object | None:
    try:
        with path.open("rb") as handle:
            # Only files this module wrote, in the owner's own cache directory, are unpickled.
            return pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as error:  # a truncated or foreign file: rebuilt below
        log.warning("qbank index cache unreadable, rebuilding", extra={"path": str(path), "error": type(error).__name__})
        return None


def _read(path: Path) -> BankIndex | None:
    index = _load(path)
    return index if isinstance(index, BankIndex) else None


def _write(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
        _prune(path.parent)
    except OSError as error:  # a read-only home: the index still serves this process
        log.warning("qbank index cache not written", extra={"path": str(path), "error": str(error)})


def _prune(directory: Path) -> None:
    files = sorted(directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP_FILES:]:
        old.unlink(missing_ok=True)


def reading_key(entry: BankEntry) -> str:
    """What an entry's reading depends on: its question, phrasings and answer (the rules are in
    the readings file's name)."""
    return hashlib.sha256(f"{entry_text(entry)}\x00{entry.answer}".encode()).hexdigest()


def _readings_path(directory: Path) -> Path:
    return directory / f"readings-{_rules_digest()[:32]}.readings"


def _readings(directory: Path, entries: Sequence[BankEntry]) -> list[EntryTokens]:
    """Each entry's reading: from the readings file when its text was read before, else read now;
    the file is rewritten with this bank's readings when any was new."""
    path = _readings_path(directory)
    stored = _load(path)
    known: dict[str, EntryReading] = (
        {key: value for key, value in stored.items() if isinstance(value, EntryReading)} if isinstance(stored, dict) else {}
    )
    keys = [reading_key(entry) for entry in entries]
    fresh = {key: entry_tokens(entry) for key, entry in zip(keys, entries, strict=True) if key not in known}
    read = [fresh[key] if key in fresh else tokens_of_reading(known[key]) for key in keys]
    if fresh:
        for old in directory.glob("readings-*.readings"):  # those of earlier rules
            if old != path:
                old.unlink(missing_ok=True)
        known.update((key, tokens.reading()) for key, tokens in fresh.items())
        _write(path, {key: known[key] for key in keys})
    return read


def cached_index(entries: Sequence[BankEntry], cache_dir: Path | None = None) -> BankIndex:
    """build_index(entries), read from the cache when this bank was built before; after a change,
    only the entries whose text changed are read again."""
    directory = cache_dir or default_cache_dir()
    path = directory / f"{bank_key(entries)}.pickle"
    index = _read(path)
    if index is None or len(index.entries) != len(entries):
        index = index_of_tokens(entries, _readings(directory, entries))
        _write(path, index)
    return index
