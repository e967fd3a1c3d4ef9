"""Bounds applied to raw email bytes before the `email` package parses them.

The standard parser is quadratic in the length of a header field full of RFC 2047 encoded
words (4,000 words: 400 MB, 8,000 words: 1.5 GB) and recursive in the depth of nested
multiparts (1,000 levels: RecursionError). So, in one linear pass and before parsing:
- a header field longer than MAX_FIELD_BYTES is cut at a fold, and the header block keeps at
  most MAX_HEADER_BYTES of fields;
- a multipart nested deeper than MAX_MIME_DEPTH is relabelled as an opaque part
  (application/x-tiepnhan-too-deep), so every part above that depth is still read.
Each bound applied is returned as a note, kept on the message as a defect. Pure functions.
"""

from __future__ import annotations

import bisect
import re

MAX_FIELD_BYTES = 8 * 1024
MAX_HEADER_BYTES = 256 * 1024
MAX_MIME_DEPTH = 40
TOO_DEEP_TYPE = b"application/x-tiepnhan-too-deep"

_FIELD_NAME = re.compile(rb"[!-9;-~]+[ \t]*:")
_MULTIPART = re.compile(
    rb"(?im)^content-type[ \t]*:[ \t]*(multipart)/(?:[^\r\n]|\r?\n[ \t])*?boundary[ \t]*=[ \t]*(?:\"([^\"\r\n]+)\"|([^\s;\"]+))"
)
_DELIMITER = re.compile(rb"(?m)^--([^\r\n]+?)[ \t]*\r?$")


def _header_end(raw: bytes) -> int:
    """Index just after the blank line ending the header block (len(raw) when there is none)."""
    match = re.search(rb"\r?\n\r?\n", raw)
    return match.end() if match else len(raw)


def _cut_field(field: bytes) -> bytes:
    """A field cut to MAX_FIELD_BYTES at its last fold (or space) before the limit."""
    head = field[:MAX_FIELD_BYTES]
    cut = max(head.rfind(b"\n"), head.rfind(b" "))
    head = head[:cut] if cut > MAX_FIELD_BYTES // 2 else head
    return head.rstrip(b"\r\n \t") + b"\r\n"


def bound_header(raw: bytes) -> tuple[bytes, list[str]]:
    """The raw message with over-long header fields truncated; notes of what was cut."""
    end = _header_end(raw)
    block = raw[:end]
    if len(block) <= MAX_FIELD_BYTES:
        return raw, []
    notes: list[str] = []
    fields: list[bytes] = []
    kept = 0
    for line in block.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    out: list[bytes] = []
    for field in fields:
        name = field.split(b":", 1)[0].strip().decode("ascii", "replace")[:60] if _FIELD_NAME.match(field) else ""
        if len(field) > MAX_FIELD_BYTES:
            notes.append(f"HeaderTruncated: {name or '?'} ({len(field):,} bytes, kept {MAX_FIELD_BYTES:,})")
            field = _cut_field(field)
        if kept + len(field) > MAX_HEADER_BYTES and field.strip():
            notes.append(f"HeaderBlockTruncated: fields after {MAX_HEADER_BYTES:,} bytes dropped")
            out.append(b"\r\n")
            break
        kept += len(field)
        out.append(field)
    if not notes:
        return raw, []
    return b"".join(out) + raw[end:], notes


def bound_mime_depth(raw: bytes) -> tuple[bytes, list[str]]:
    """The raw message with multiparts deeper than MAX_MIME_DEPTH made opaque."""
    if raw.count(b"oundary") <= MAX_MIME_DEPTH:  # fewer multiparts than the limit: nothing to scan
        return raw, []
    openings = [(m.start(1), m.end(1), m.group(2) or m.group(3)) for m in _MULTIPART.finditer(raw)]
    if len(openings) <= MAX_MIME_DEPTH:
        return raw, []
    closes: dict[bytes, list[int]] = {}
    for match in _DELIMITER.finditer(raw):
        line = match.group(1)
        if line.endswith(b"--"):
            closes.setdefault(line[:-2], []).append(match.start())
    open_ends: list[int] = []  # where each open multipart ends, innermost last
    too_deep: list[tuple[int, int]] = []
    for start, end, boundary in openings:
        while open_ends and open_ends[-1] <= start:
            open_ends.pop()
        if len(open_ends) >= MAX_MIME_DEPTH:
            too_deep.append((start, end))
            continue  # everything inside stays opaque with it
        found = closes.get(boundary, [])
        index = bisect.bisect_right(found, start)
        open_ends.append(found[index] if index < len(found) else len(raw))
    if not too_deep:
        return raw, []
    out: list[bytes] = []
    previous = 0
    for start, end in too_deep:
        out += [raw[previous:start], TOO_DEEP_TYPE + b"; was="]
        previous = end + 1  # the "/" after "multipart"
    out.append(raw[previous:])
    return b"".join(out), [f"MimeTooDeep: {len(too_deep)} multiparts below depth {MAX_MIME_DEPTH} kept unread"]
