"""Fuzzing the import: generated hostile mutants of the test emails, through the real path.

The mutants (tests/fuzz/mutants.py, fixed seed) are written as files and go the way of
`tiepnhan import`: read from disk (ingest.files), accepted as raw items (tiepnhan.intake), then
every pipeline stage (normalize, thread, classify, route) on SQLite, without a broker. Asserted:
nothing is lost (every file is a raw item, every raw item processed or quarantined with a
reason), quarantine only for input that is not an email, no unexpected exception, and each
message within a time bound (every stage) and a memory bound (the parser's tracemalloc peak). `TIEPNHAN_FUZZ_N=5000` runs longer;
`TIEPNHAN_FUZZ_SEED` picks another seed.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ingest.email import EmailParseError, parse_email
from tests.fuzz.mutants import mutants
from tickets.db import session_scope
from tickets.models import Message, RawItem, RawState, Ticket
from tickets.pipeline import process_raw_item_now
from tiepnhan.importer import read_inputs
from tiepnhan.intake import accept

EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
COUNT = int(os.environ.get("TIEPNHAN_FUZZ_N", "200"))
SEED = int(os.environ.get("TIEPNHAN_FUZZ_SEED", "20251203"))
MAX_SECONDS = 5.0  # per message, every stage, on a shared 2-core machine
BASE_BYTES = 32 * 1024 * 1024  # the parser's fixed share
# Quarantine is only for input that is not an email at all.
ALLOWED_QUARANTINE = ("EmailParseError",)


def _parse_peak(content: bytes) -> int:
    """The parser's peak memory on one item (tracemalloc, which slows it; so timed apart)."""
    tracemalloc.start()
    try:
        try:
            parse_email(content)
        except EmailParseError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.timeout(900)
def test_fuzzed_mails_are_never_lost_and_stay_bounded(sqlite_engine: Engine, tmp_path: Path) -> None:
    corpus = [p.read_bytes() for p in sorted(EMAILS.glob("*.eml"))]
    folder = tmp_path / "fuzz"
    folder.mkdir()
    kinds: dict[str, str] = {}
    for index, (kind, raw) in enumerate(mutants(corpus, COUNT, SEED)):
        path = folder / f"{index:05d}.eml"
        path.write_bytes(raw)
        kinds[str(path)] = kind
    # Warm up (imports, compiled patterns, the classifiers' lexicon) outside the measure.
    for warm in accept(sqlite_engine, list(read_inputs([EMAILS], "warm-up")), enqueue=False):
        if warm.is_new:
            process_raw_item_now(sqlite_engine, warm.raw_item_id, 25 << 20)
    items = list(read_inputs([folder], "fuzz"))
    assert {str(item.origin.get("path")) for item in items} == set(kinds), "a file gave no raw item"
    saved = accept(sqlite_engine, items, enqueue=False)
    worst_seconds, worst_ratio, worst_peak = 0.0, 0.0, 0
    for item, result in zip(items, saved, strict=True):
        if not result.is_new:
            continue
        started = time.perf_counter()
        try:
            process_raw_item_now(sqlite_engine, result.raw_item_id, 25 << 20)
        except Exception as exc:  # noqa: BLE001 - reported with the mutant that caused it
            raise AssertionError(f"{kinds[str(item.origin['path'])]} ({item.origin['path']}): {exc!r}") from exc
        seconds = time.perf_counter() - started
        peak = _parse_peak(item.content)
        where = f"{kinds[str(item.origin['path'])]} ({item.origin['path']}, {len(item.content):,} bytes)"
        assert seconds < MAX_SECONDS, f"{where}: {seconds:.1f} s"
        assert peak < 10 * len(item.content) + BASE_BYTES, f"{where}: peak {peak / 2**20:.0f} MB"
        worst_seconds, worst_peak = max(worst_seconds, seconds), max(worst_peak, peak)
        worst_ratio = max(worst_ratio, peak / max(len(item.content), 1))
    states: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    with session_scope(sqlite_engine) as session:
        query = select(RawItem).where(RawItem.source == "fuzz")  # type: ignore[arg-type]
        by_external_id = {raw.external_id: raw for raw in session.execute(query).scalars()}
        for item in items:
            raw = by_external_id.get(item.external_id)
            assert raw is not None, f"{item.origin['path']} is not stored"
        for raw in by_external_id.values():
            states[raw.state] += 1
            if raw.state != RawState.PROCESSED.value:
                assert raw.state == RawState.QUARANTINED.value, f"raw item {raw.id}: {raw.state}"
                assert raw.last_error and raw.last_error.startswith(ALLOWED_QUARANTINE), f"{raw.origin}: {raw.last_error}"
                reasons[raw.last_error[:60]] += 1
        tickets = session.execute(select(func.count()).select_from(Ticket)).scalar_one()
        messages = session.execute(select(func.count()).select_from(Message)).scalar_one()
        for text in session.execute(select(Ticket.subject)).scalars():
            assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
    print(
        f"\nfuzz: seed {SEED}, {COUNT} mutants, {len(items)} raw inputs, {len(by_external_id)} raw items "
        f"({dict(states)}), {messages} messages, {tickets} tickets, quarantined by reason {dict(reasons)}; "
        f"worst per message {worst_seconds:.2f} s, peak {worst_peak / 2**20:.1f} MB ({worst_ratio:.0f}x its size)"
    )
