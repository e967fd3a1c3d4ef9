"""Email parsing speed: tiepnhan's parse_email against the standard library's parser alone.

The messages are the shared email dataset (tests/data/emails) repeated to 10,000. The
baseline, measured in the same run, is `BytesParser(policy=policy.default).parsebytes` with
nothing else: the floor for any parser built on the `email` package.
Run: uv run python bench/bench_parse.py
"""

from __future__ import annotations

import resource
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

N = 10_000
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "emails"


def main() -> None:
    raws = [p.read_bytes() for p in sorted(DATA.glob("*.eml"))]
    messages = [raws[i % len(raws)] for i in range(N)]
    from ingest.email import parse_email

    parser = BytesParser(policy=policy.default)
    started = time.perf_counter()
    for raw in messages:
        parser.parsebytes(raw)
    baseline = N / (time.perf_counter() - started)

    started = time.perf_counter()
    for raw in messages:
        parse_email(raw)
    rate = N / (time.perf_counter() - started)
    print(f"messages: {N} (average {sum(map(len, messages)) // N} bytes)")
    print(f"baseline BytesParser(policy.default): {baseline:,.0f} messages/s")
    print(f"parse_email (decode, HTML, quotes, auto-reply, attachments): {rate:,.0f} messages/s; ratio {rate / baseline:.2f}")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
