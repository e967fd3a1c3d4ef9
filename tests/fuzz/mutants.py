"""Hostile variants of the test emails, built by generators from a seeded random source.

Each mutator takes one email's bytes and a `random.Random` and returns new bytes; `mutants`
applies one to three of them to emails drawn from the corpus. Nothing here is a copy of one
file: every case is computed from the seed.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterator

Mutator = Callable[[bytes, random.Random], bytes]
ESCAPES = ["\x1b[2J", "\x1b]0;title\x07", "\x1b]8;;http://evil.example\x1b\\", "\x9b31m", "\u202e", "\x00", "\x85", "\r"]


def _split(raw: bytes) -> tuple[bytes, bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index != -1:
            return raw[: index + len(separator) // 2], raw[index + len(separator) // 2 :]
    return raw, b""


def _add_header(raw: bytes, line: bytes) -> bytes:
    head, body = _split(raw)
    return line + b"\r\n" + head + body


def _replace_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    head, body = _split(raw)
    lines = [ln for ln in head.splitlines(keepends=True) if not ln.lower().startswith(name.lower() + b":")]
    return name + b": " + value + b"\r\n" + b"".join(lines) + body


def encoded_word_flood(raw: bytes, rng: random.Random) -> bytes:
    text = rng.choice(["Tôi cần hỗ trợ BHXH ", "sổ bảo hiểm ", "=?x?= ", "\x1b[2J"])
    word = "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="
    if rng.random() < 0.3:
        word = "=?utf-8?q?" + "".join(f"={b:02X}" for b in text.encode()) + "?="
    return _replace_header(raw, rng.choice([b"Subject", b"From", b"To"]), "\r\n ".join([word] * rng.randint(300, 3_000)).encode())


def header_bomb(raw: bytes, rng: random.Random) -> bytes:
    long_line = b"a" * rng.randint(10_000, 100_000)
    many = b"".join(b"X-Junk-%d: %s\r\n" % (i, b"v" * 50) for i in range(rng.randint(500, 3_000)))
    return _add_header(raw, rng.choice([b"Subject: " + long_line, many.rstrip(b"\r\n")]))


def nested_multiparts(raw: bytes, rng: random.Random) -> bytes:
    depth = rng.randint(30, 600)
    head, body = _split(raw)
    head = b"".join(ln for ln in head.splitlines(keepends=True) if not ln.lower().startswith(b"content-"))
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i) for i in range(depth))
    closing = b"".join(b"--n%d--\r\n" % i for i in reversed(range(depth))) if rng.random() < 0.7 else b""
    return head.rstrip(b"\r\n") + b"\r\n" + opening + b"Content-Type: text/plain\r\n\r\n" + body + b"\r\n" + closing


def broken_address(raw: bytes, rng: random.Random) -> bytes:
    value = rng.choice([
        b'"Nguy\xe1\xbb\x85n\r <dan@exa\rmple.vn>', b"undisclosed-recipients:;", b"nhom: a@b.vn, <c@d.vn;", b'"Tran <tran@',
        b"<>", b"@@@", b"=?utf-8?q?a=0D=0A?= <x@y.vn>", "a@b.vn (chú thích (lồng) chưa đóng".encode(), b"<a@b.vn>>",
    ])  # fmt: skip
    return _replace_header(raw, rng.choice([b"From", b"To", b"Cc", b"Reply-To", b"Sender"]), value)


def broken_ids(raw: bytes, rng: random.Random) -> bytes:
    value = rng.choice([b"<>", b"<", b"<@>", b"<a@b", b"<<a@b>>", b"<a\x00b@c>", b"x" * 2_000])
    return _replace_header(raw, rng.choice([b"Message-ID", b"In-Reply-To", b"References"]), value)


def bad_charset(raw: bytes, rng: random.Random) -> bytes:
    label = rng.choice([b"utf\x00-8", b'"', b"x-unknown", b"utf-7", b"\xff\xfe", b"viscii", b"a" * 300, b"utf-8'vi'"])
    return _replace_header(raw, b"Content-Type", b"text/plain; charset=" + label)


def control_characters(raw: bytes, rng: random.Random) -> bytes:
    head, body = _split(raw)
    escapes = "".join(rng.choice(ESCAPES) for _ in range(rng.randint(1, 8))).encode("utf-8", "surrogatepass")
    where = rng.choice(["subject", "name", "body"])
    if where == "subject":
        return _replace_header(raw, b"Subject", b"Ph\xe1\xba\xa3n \xc3\xa1nh" + escapes)
    if where == "name":
        return _replace_header(raw, b"From", b'"Dan' + escapes.replace(b"\r", b"") + b'" <dan@example.vn>')
    at = rng.randint(0, len(body))
    return head + body[:at] + escapes + body[at:]


def nul_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 20)):
        data.insert(rng.randint(min(1024, len(data)), len(data)), 0)
    return bytes(data)


def truncated(raw: bytes, rng: random.Random) -> bytes:
    return raw[: rng.randint(1, max(1, len(raw) - 1))]


def byte_flips(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 40)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def deep_html(raw: bytes, rng: random.Random) -> bytes:
    depth = rng.randint(500, 6_000)
    html = b"<div>" * depth + b"T\xc3\xb4i c\xe1\xba\xa7n h\xe1\xbb\x97 tr\xe1\xbb\xa3" + b"</div>" * rng.choice([0, depth])
    head, _body = _split(raw)
    head = b"".join(ln for ln in head.splitlines(keepends=True) if not ln.lower().startswith(b"content-"))
    return head.rstrip(b"\r\n") + b"\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html


MUTATORS: tuple[Mutator, ...] = (
    encoded_word_flood, header_bomb, nested_multiparts, broken_address, broken_ids, bad_charset,
    control_characters, nul_bytes, truncated, byte_flips, deep_html,
)  # fmt: skip


def mutants(corpus: list[bytes], count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """(the mutators applied, the mutant) for `count` mutants of emails from the corpus."""
    rng = random.Random(seed)
    for _ in range(count):
        raw = rng.choice(corpus)
        chosen = rng.sample(MUTATORS, rng.choice([1, 1, 2, 3]))
        for mutate in chosen:
            raw = mutate(raw, rng) or raw
        yield "+".join(m.__name__ for m in chosen), raw
