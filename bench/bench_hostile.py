"""Hostile emails: time and peak memory of parse_email against the standard library's parser.

Cases, built here (never read from files): a Subject of 4,000 and 8,000 RFC 2047 encoded
words, a 20 MB HTML body, 1,000 nested multiparts, a 25 MB mail (text, HTML and a base64
attachment). Each case runs in its own child process, so its peak memory (max RSS above the
child's start) is its own; a child is limited to LIMIT_GB of address space and 300 s, and
a case that exceeds them is printed as such. The baseline, measured in the same run on the
same bytes, is `email.message_from_bytes(raw, policy=policy.default)` followed by reading
the Subject and walking the parts (what any parser built on `email` must at least do).
Run: uv run python bench/bench_hostile.py
"""

from __future__ import annotations

import base64
import multiprocessing
import resource
import time
from collections.abc import Callable

LIMIT_GB = 6
TIME_LIMIT_S = 300
HEAD = (
    "From: Nguyen Van A <a@example.vn>\r\nTo: hotro@example.vn\r\nMessage-ID: <bomb@example.vn>\r\n"
    "Date: Mon, 6 Oct 2025 08:00:00 +0700\r\nMIME-Version: 1.0\r\n"
)


def header_bomb(words: int) -> bytes:
    word = "=?UTF-8?B?" + base64.b64encode("Tôi cần hỗ trợ BHXH ".encode()).decode() + "?="
    subject = "Subject: " + "\r\n ".join([word] * words) + "\r\n"
    return (HEAD + subject + "Content-Type: text/plain; charset=utf-8\r\n\r\nXin chào\r\n").encode()


def html_bomb(size: int) -> bytes:
    row = "<tr><td>Tôi đề nghị</td><td><b>giải quyết</b> chế độ</td></tr>\r\n"
    body = "<html><body><table>" + row * (size // len(row.encode())) + "</table></body></html>"
    return (HEAD + "Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body).encode()


def nested_multiparts(depth: int) -> bytes:
    parts = [HEAD, "Subject: nested\r\n"]
    for level in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n')
    parts.append("Content-Type: text/plain; charset=utf-8\r\n\r\nNội dung ở tầng sâu nhất\r\n")
    for level in reversed(range(depth)):
        parts.append(f"--b{level}--\r\n")
    return "".join(parts).encode()


def big_mail(size: int) -> bytes:
    text = "Tôi đề nghị cơ quan bảo hiểm xã hội giải quyết chế độ ốm đau.\r\n" * 2000
    html = "<p>" + text.replace("\r\n", "<br>") + "</p>"
    attachment = base64.encodebytes(bytes(range(256)) * ((size * 3 // 4 - 2 * len(text.encode())) // 256)).decode()
    return (
        HEAD + 'Subject: lớn\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
        '--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        f"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
        f"--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--a--\r\n"
        '--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="ho-so.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--m--\r\n"
    ).encode()


def _stdlib(raw: bytes) -> None:
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    str(message.get("Subject"))
    for _part in message.walk():
        pass


def _tiepnhan(raw: bytes) -> None:
    from ingest.email import parse_email

    parse_email(raw)


def _child(builder: Callable[[], bytes], which: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_GB << 30, LIMIT_GB << 30))
    import email.policy  # noqa: F401 - imported before the measure, like the parser below
    import ingest.email  # noqa: F401

    raw = builder()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        (_tiepnhan if which == "tiepnhan" else _stdlib)(raw)
        outcome = "ok"
    except MemoryError:
        outcome = f"MemoryError (over {LIMIT_GB} GB)"
    except Exception as exc:  # noqa: BLE001 - reported, the bench goes on
        outcome = type(exc).__name__
    seconds = time.perf_counter() - started
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    queue.put((len(raw), seconds, peak_mb, outcome))


def measure(builder: Callable[[], bytes], which: str) -> tuple[int, float, float, str]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(target=_child, args=(builder, which, queue))
    started = time.perf_counter()
    process.start()
    process.join(TIME_LIMIT_S)
    if process.is_alive():
        process.kill()
        process.join()
        return 0, time.perf_counter() - started, float("nan"), f"killed after {TIME_LIMIT_S} s"
    if queue.empty():
        return 0, time.perf_counter() - started, float("nan"), f"child died (exit {process.exitcode})"
    return queue.get()  # type: ignore[no-any-return]


CASES: list[tuple[str, Callable[[], bytes]]] = [
    ("header bomb, 4,000 encoded words", lambda: header_bomb(4_000)),
    ("header bomb, 8,000 encoded words", lambda: header_bomb(8_000)),
    ("20 MB HTML body", lambda: html_bomb(20 << 20)),
    ("1,000 nested multiparts", lambda: nested_multiparts(1_000)),
    ("25 MB mail (text, HTML, attachment)", lambda: big_mail(25 << 20)),
]


def main() -> None:
    for name, builder in CASES:
        size, base_s, base_mb, base_outcome = measure(builder, "stdlib")
        _size, our_s, our_mb, our_outcome = measure(builder, "tiepnhan")
        print(f"{name} ({size / 1024:,.0f} KB)")
        print(f"  baseline email.message_from_bytes: {base_s:8.2f} s {base_mb:8.0f} MB peak  {base_outcome}")
        print(f"  parse_email:                       {our_s:8.2f} s {our_mb:8.0f} MB peak  {our_outcome}")
        print(f"  ratio parse_email / baseline: time {our_s / base_s:.1f}x, memory {our_mb / max(base_mb, 1):.2f}x")


if __name__ == "__main__":
    main()
