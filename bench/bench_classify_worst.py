"""Worst time for one message over generated hostile inputs (issue 12: no message over 50 ms).

Each kind (long runs of one word, thousands of place names, dotted runs, repeated punctuation,
very long lines, capitals, long words without spaces, tone-mark soup, many lines, shorthand) is
generated at several sizes up to 1 MB, as subject and as body. Prints the worst time per kind and
overall, and, as a baseline measured in the same run, an ordinary dev-set message's time.
Run: uv run python bench/bench_classify_worst.py
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "dev.jsonl"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
LIMIT_MS = 50.0


def hostile_texts(size: int, rng: random.Random) -> dict[str, str]:
    tone_marks = "àáảãạăằắẳẵặâầấẩẫậơớờởỡợ\u0300\u0301\u0303\u0309\u0323 "
    places = ["Hà Nội", "huyện Năm Căn", "tỉnh Cà Mau", "Long An", "Q.7", "TP.HCM", "thị xã Sơn Tây", "KCN VSIP"]
    return {
        "one word repeated": "bảo hiểm " * (size // 9),
        "place names": ", ".join(rng.choice(places) for _ in range(size // 9)),
        "place names, no commas": " ".join(rng.choice(places) for _ in range(size // 9)),
        "dotted run": "a." * (size // 2) + " bhxh.gov.vn",
        "dotted run with hyphens": "ab.cd-" * (size // 6) + ".com",
        "at signs": "a@" * (size // 2),
        "repeated punctuation": "?!.,;:()" * (size // 8),
        "one long line": "x" * size,
        "capitals": "HÀ NỘI BHXH KHIẾU NẠI " * (size // 22),
        "word without spaces": "đóngbảohiểmxãhội" * (size // 16),
        "tone-mark soup": "".join(rng.choice(tone_marks) for _ in range(size)),
        "many lines": "Trân trọng,\nHà Nội\n> trích\n" * (size // 26),
        "shorthand": "ko ntn k dc ad oi " * (size // 18),
    }


def main() -> None:
    from classifiers import classify
    from classifiers.lexicon import lexicon

    lexicon()
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    for row in rows:
        classify(row.get("subject"), row["body"])
    ordinary_ms = (time.perf_counter() - started) / len(rows) * 1000

    rng = random.Random(12)
    worst: dict[str, float] = {}
    worst_cpu: dict[str, float] = {}  # CPU time of this thread: steadier when the machine is shared
    for size in SIZES:
        for kind, text in hostile_texts(size, rng).items():
            for subject, body in ((text, ""), (None, text), (text, text)):
                started, cpu_started = time.perf_counter(), time.thread_time()
                classify(subject, body)
                elapsed = (time.perf_counter() - started) * 1000
                worst[kind] = max(worst.get(kind, 0.0), elapsed)
                worst_cpu[kind] = max(worst_cpu.get(kind, 0.0), (time.thread_time() - cpu_started) * 1000)
    for kind, elapsed in sorted(worst.items(), key=lambda item: -item[1]):
        print(f"{kind:26s} worst {elapsed:7.1f} ms (CPU {worst_cpu[kind]:6.1f} ms)")
    overall = max(worst.values())
    print(f"worst per message in CPU time: {max(worst_cpu.values()):.1f} ms")
    print(f"inputs: {len(SIZES) * len(worst) * 3} (sizes {', '.join(f'{s:,}' for s in SIZES)} characters)")
    print(f"worst per message: {overall:.1f} ms (limit {LIMIT_MS:.0f} ms)")
    print(f"baseline (a dev-set message, mean): {ordinary_ms:.2f} ms; worst/baseline ratio {overall / ordinary_ms:.0f}")


if __name__ == "__main__":
    main()
