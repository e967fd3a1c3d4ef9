"""How fast call logs are read and stored (tiepnhan import-calls), without the pipeline.

    uv run python bench/bench_calls_import.py [CALLS]     (default 20000)

Measured in one run, on this machine, on a fresh SQLite store:
  read      ingest.calls.log_file.read_call_log over a generated CSV of CALLS rows (column mapping,
            phone numbers, times, durations, outcomes, per-line checks);
  baseline  csv.reader over the same bytes (the file read and split, nothing checked);
  store     ingest.calls.intake.store_calls of those calls without summaries (call_record rows,
            500 per transaction, the known ones looked up first);
  baseline  tickets.store.save_raw_items of the same number of raw items (the one way every
            item enters, 500 per transaction).
Printed: seconds and rows per second for each, and the ratios against their baseline.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000


def main() -> None:
    from config.settings import CallCenterConfig, load_settings
    from ingest.calls.intake import store_calls
    from ingest.calls.log_file import read_call_log
    from tests.calls.generated import HEADER, as_csv, generated_rows
    from tickets.db import dispose_engines
    from tickets.store import RawInput, save_raw_items
    from tiepnhan import runtime

    content = as_csv(HEADER, [r.cells for r in generated_rows(CALLS, seed=3)])
    started = time.perf_counter()
    rows = sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))) - 1
    split = time.perf_counter() - started
    started = time.perf_counter()
    log = read_call_log(content, "bench.csv", ZoneInfo("Asia/Ho_Chi_Minh"))
    read = time.perf_counter() - started
    assert rows == CALLS and len(log.calls) == CALLS and not log.errors
    calls = [replace(c, summary="") for c in log.calls]  # records only: the pipeline is measured elsewhere
    with tempfile.TemporaryDirectory() as folder:
        runtime.configure(load_settings(None, database_url=f"sqlite:///{folder}/bench.db", data_dir=folder, redis_url=None))
        engine = runtime.engine()
        items = [RawInput(source="bench", kind="email", external_id=f"raw-{n}", content=f"raw item {n}".encode()) for n in range(CALLS)]
        started = time.perf_counter()
        for start in range(0, len(items), 500):
            save_raw_items(engine, items[start : start + 500])
        raw = time.perf_counter() - started
        started = time.perf_counter()
        result = store_calls(engine, CallCenterConfig(), calls, enqueue=False)
        stored = time.perf_counter() - started
        assert result.new_calls == CALLS
        dispose_engines()
    print(f"{CALLS} calls")
    print(f"read   {read:7.3f} s  {CALLS / read:9.0f} rows/s   baseline csv.reader {split:6.3f} s   ratio {read / split:5.1f}x")
    print(f"store  {stored:7.3f} s  {CALLS / stored:9.0f} rows/s   baseline save_raw_items {raw:6.3f} s   ratio {stored / raw:5.2f}x")


if __name__ == "__main__":
    main()
