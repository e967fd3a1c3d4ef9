"""Classifier speed on one core: the dev set repeated to 20,000 messages.

Prints messages/s, start-up time (loading the gazetteer and keyword tables), peak memory, the
rules alone (no category model) per CPU second, and a baseline measured in the same run: lower-casing each message and one regular-expression
search, the least any keyword classifier must do.
Run: uv run python bench/bench_classify.py
"""

from __future__ import annotations

import json
import re
import resource
import time
from pathlib import Path

N = 20_000
DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "dev.jsonl"


def main() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    messages = [(rows[i % len(rows)].get("subject"), rows[i % len(rows)]["body"]) for i in range(N)]

    started = time.perf_counter()
    from classifiers import classify
    from classifiers.lexicon import lexicon

    lexicon()
    startup = time.perf_counter() - started

    pattern = re.compile(r"bhxh|bhyt|that nghiep|phan anh")
    started = time.perf_counter()
    for subject, body in messages:
        pattern.search(((subject or "") + " " + body).lower())
    baseline = N / (time.perf_counter() - started)

    started, cpu_started = time.perf_counter(), time.process_time()
    for subject, body in messages:
        classify(subject, body)
    rate = N / (time.perf_counter() - started)
    cpu_rate = N / (time.process_time() - cpu_started)
    from classifiers.classify import classify_raw

    cpu_started = time.process_time()
    for subject, body in messages:
        classify_raw(subject, body, use_model=False)
    rules_cpu_rate = N / (time.process_time() - cpu_started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"messages: {N}")
    print(f"start-up (load gazetteer and keywords): {startup * 1000:.0f} ms")
    print(f"classify: {rate:,.0f} messages/s on one core")
    print(f"classify per CPU second (steadier on a busy machine): {cpu_rate:,.0f} messages/s")
    print(f"rules alone, without the category model, per CPU second: {rules_cpu_rate:,.0f} messages/s; with the model {cpu_rate / rules_cpu_rate:.2f}×")
    print(f"baseline (lower() + one regex): {baseline:,.0f} messages/s; ratio {rate / baseline:.3f}")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
