"""Question-bank speed: suggestions for one ticket against a bank of 2,000 entries, and loading
(indexing) that bank.

The 2,000 entries are variants of the 80 sample entries (tests/data/qbank/bank.jsonl): each
variant drops one word of its question in turn and carries another entry's question as an
alternative phrasing, so the vocabulary and lengths stay those of a real bank.
Baselines measured in the same run: the classifier alone on the same messages (suggest runs it
when the ticket's tags are not given), and the 80-entry sample bank.
Targets (issue 14): one ticket under 20 ms, the bank loaded in under 1 s: cold (nothing cached),
after one entry changed (each entry's reading is cached, qbank/index_cache.py), and unchanged
(the built index is cached). Baseline for loading: bm25s indexing the raw texts (split on
spaces) alone, the least any BM25 index of this bank costs.
Run: uv run python bench/bench_qbank.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "qbank"
SIZE = 2_000
ROUNDS = 3


def variants(entries: list, size: int) -> list:  # type: ignore[type-arg]
    out = []
    for n in range(size):
        base = entries[n % len(entries)]
        other = entries[(n * 7 + 3) % len(entries)]
        words = base.question.split()
        drop = (n // len(entries)) % len(words)
        question = " ".join(words[:drop] + words[drop + 1 :]) if n >= len(entries) else base.question
        out.append(replace(base, id=f"v{n:05d}", question=question, alternatives=(other.question,)))
    return out


def timed(func) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall, cpu) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def per_query_ms(func, queries: list[dict]) -> list[float]:  # type: ignore[no-untyped-def, type-arg]
    times = []
    for _ in range(ROUNDS):
        for q in queries:
            started = time.perf_counter()
            func(q)
            times.append((time.perf_counter() - started) * 1000)
    return times


def describe(name: str, times: list[float]) -> str:
    times = sorted(times)
    return f"{name:<44} mean {statistics.fmean(times):7.2f} ms   median {statistics.median(times):7.2f} ms   p95 {times[int(len(times) * 0.95)]:7.2f} ms"


def main() -> None:
    import bm25s

    from classifiers import classify
    from qbank.entry import load_jsonl_bank
    from qbank.index_cache import cached_index
    from qbank.retrieve import build_index, entry_text, entry_tokens, index_of_tokens, suggest

    sample = load_jsonl_bank(str(DATA / "bank.jsonl"))
    queries = [json.loads(line) for line in (DATA / "queries_dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    classify(None, "khởi động")  # the classifier's tables load once, outside every figure

    small_load = timed(lambda: build_index(sample))
    small = build_index(sample)
    bank = variants(sample, SIZE)

    def raw_bm25() -> None:  # the baseline: bm25s indexing the raw texts, split on spaces
        for texts in ([entry_text(e).lower().split() for e in bank], [e.answer.lower().split() for e in bank]):
            bm25s.BM25().index(texts, show_progress=False)

    baseline_load = timed(raw_bm25)
    big_load = timed(lambda: build_index(bank))
    # The cold build's two parts: reading every entry (tokens and topics), indexing the tokens.
    read: list = []  # type: ignore[type-arg]
    reading_load = timed(lambda: read.extend(entry_tokens(e) for e in bank))
    indexing_load = timed(lambda: index_of_tokens(bank, read))
    big = build_index(bank)
    changed = [replace(e, answer=e.answer + " Xem thêm tại cổng Dịch vụ công.") if n == 7 else e for n, e in enumerate(bank)]
    with tempfile.TemporaryDirectory() as cache_dir:
        first_load = timed(lambda: cached_index(bank, Path(cache_dir)))  # nothing cached: read, built, written
        change_load = timed(lambda: cached_index(changed, Path(cache_dir)))  # one entry changed
        warm = [timed(lambda: cached_index(bank, Path(cache_dir))) for _ in range(ROUNDS)]  # unchanged bank
    warm_load = min(warm, key=lambda t: t[1])

    tags = {q["id"]: classify(q.get("subject"), q["body"]) for q in queries}
    classify_only = per_query_ms(lambda q: classify(q.get("subject"), q["body"]), queries)
    small_times = per_query_ms(lambda q: suggest(small, q.get("subject"), q["body"]), queries)
    big_times = per_query_ms(lambda q: suggest(big, q.get("subject"), q["body"]), queries)

    def with_tags(q: dict) -> None:  # type: ignore[type-arg]
        t = tags[q["id"]]
        suggest(big, q.get("subject"), q["body"], insurance_types=t.insurance_types, topics=t.topics, category=t.category)

    ticket_times = per_query_ms(with_tags, queries)

    def figure(name: str, load: tuple[float, float]) -> str:
        return f"{name:<52} wall {load[0] * 1000:7.1f} ms   cpu {load[1] * 1000:7.1f} ms   ({load[1] / baseline_load[1]:.2f}x the baseline's cpu)"

    print(figure(f"baseline: bm25s.index of the raw texts, {SIZE} entries", baseline_load))
    print(figure(f"bank load (build_index), {len(sample)} entries", small_load))
    print(figure(f"bank load (build_index), {SIZE} entries, cold", big_load))
    print(figure("  of which: reading the entries (tokens, topics)", reading_load))
    print(figure("  of which: indexing the read tokens (bm25s)", indexing_load))
    print(figure(f"cached_index, {SIZE}, nothing cached (read + written)", first_load))
    print(figure(f"cached_index, {SIZE}, one entry changed", change_load))
    print(figure(f"cached_index, {SIZE}, unchanged (best of {ROUNDS})", warm_load))
    print("target: the bank loaded in < 1000 ms (cpu is this process's time: the machine is shared, wall time waits for others)")
    print(describe("baseline: classify() alone", classify_only))
    print(describe(f"suggest, {len(sample)} entries (classifies too)", small_times))
    print(describe(f"suggest, {SIZE} entries (classifies too)", big_times))
    print(describe(f"suggest, {SIZE} entries, ticket's tags given", ticket_times))
    base = statistics.fmean(classify_only)
    print(f"ratios to classify(): {statistics.fmean(small_times) / base:.2f}x ({len(sample)} entries), "
          f"{statistics.fmean(big_times) / base:.2f}x ({SIZE}), {statistics.fmean(ticket_times) / base:.2f}x (ticket, tags given)")
    print(f"one ticket against {SIZE} entries: {statistics.fmean(ticket_times):.2f} ms mean (target < 20 ms)")


if __name__ == "__main__":
    main()
