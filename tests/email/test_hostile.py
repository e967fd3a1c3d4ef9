"""Broken and hostile mail is still a citizen's message: read as far as it goes, defects noted."""

from __future__ import annotations

import base64
import tracemalloc

import pytest

from ingest.email import parse_email
from ingest.email.limits import MAX_FIELD_BYTES, MAX_MIME_DEPTH

HEAD = "From: Dan <dan@example.vn>\r\nTo: hotro@example.vn\r\nSubject: thu\r\nMessage-ID: <m1@example.vn>\r\n"


def mail(headers: str = HEAD, body: str = "Xin chào, tôi cần hỗ trợ", ctype: str = "text/plain; charset=utf-8") -> bytes:
    return f"{headers}MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n{body}\r\n".encode()


BROKEN_HEADERS = {
    "empty message-id": HEAD.replace("<m1@example.vn>", "<>"),
    "CR inside an address": HEAD.replace("To: hotro@example.vn", 'To: "ho\rtro" <hotro@exa\rmple.vn>'),
    "address group": HEAD.replace("To: hotro@example.vn", "To: undisclosed-recipients:;, nhom: a@b.vn, c@d.vn;"),
    "truncated address": HEAD.replace("To: hotro@example.vn", 'To: "Nguyen <hotro@exa'),
    "truncated message-id": HEAD.replace("<m1@example.vn>", "<m1@exa"),
    "garbled references": HEAD + "References: <>, <<a@b>>, <@>\r\nIn-Reply-To: <\r\n",
}


@pytest.mark.parametrize("case", sorted(BROKEN_HEADERS))
def test_a_broken_header_still_gives_the_message(case: str) -> None:
    message = parse_email(mail(BROKEN_HEADERS[case]))
    assert "tôi cần hỗ trợ" in message.clean_text
    assert message.sender_address == "dan@example.vn"


def test_a_nul_in_the_charset_label_keeps_the_text() -> None:
    message = parse_email(mail(ctype="text/plain; charset=utf\x00-8"))
    assert "tôi cần hỗ trợ" in message.clean_text
    assert all("\x00" not in d for d in message.extra["defects"])  # type: ignore[attr-defined]


def test_nul_bytes_never_reach_the_text() -> None:
    body = "a" * 2000 + "\x00 Xin chào\x00"
    message = parse_email(mail(HEAD.replace("thu", "th\x00u"), body=body))
    assert "\x00" not in message.clean_text + message.full_text + message.subject
    assert "Xin chào" in message.clean_text


def test_terminal_escapes_are_stripped_from_every_field() -> None:
    escapes = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]8;;http://evil.example\x1b\\bấm\x1b]8;;\x1b\\\x9b31m\u202etxt.exe\x85"
    head = HEAD.replace("Subject: thu", f"Subject: =?utf-8?b?{base64.b64encode(('thu' + escapes).encode()).decode()}?=")
    head = head.replace("From: Dan", f"From: =?utf-8?b?{base64.b64encode(('Dan' + escapes).encode()).decode()}?=")
    raw = (
        f'{head}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nNội dung{escapes}\r\n--b\r\n"
        f"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''a%1B%5B2Jb.pdf\r\n\r\nx\r\n--b--\r\n"
    ).encode()
    message = parse_email(raw)
    shown = [message.subject, message.sender_name or "", message.clean_text, message.full_text] + [a.filename for a in message.attachments]
    for text in shown:
        assert not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in text), repr(text)
        assert "pwned" not in text and "evil.example" not in text
    assert message.subject.startswith("thu") and "bấm" in message.subject and "Nội dung" in message.clean_text


def _peak_bytes(raw: bytes) -> tuple[int, object]:
    tracemalloc.start()
    try:
        message = parse_email(raw)
        return tracemalloc.get_traced_memory()[1], message
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("words", [4_000, 8_000])
def test_a_header_bomb_is_truncated_with_a_note_in_bounded_memory(words: int) -> None:
    word = "=?UTF-8?B?" + base64.b64encode("Tôi cần hỗ trợ ".encode()).decode() + "?="
    raw = mail(HEAD.replace("Subject: thu", "Subject: " + "\r\n ".join([word] * words)))
    peak, message = _peak_bytes(raw)
    assert peak < 10 * len(raw) + 20 * 1024 * 1024
    assert message.subject.startswith("Tôi cần hỗ trợ") and len(message.subject) < MAX_FIELD_BYTES  # type: ignore[attr-defined]
    assert any(d.startswith("HeaderTruncated: Subject") for d in message.extra["defects"])  # type: ignore[attr-defined]
    assert "tôi cần hỗ trợ" in message.clean_text  # type: ignore[attr-defined]


def nested(depth: int, text: str) -> bytes:
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    return f"{HEAD}MIME-Version: 1.0\r\n{opening}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n{closing}".encode()


def test_deeply_nested_multiparts_keep_the_parts_above_the_limit() -> None:
    shallow = parse_email(nested(MAX_MIME_DEPTH - 5, "ở tầng nông"))
    assert "ở tầng nông" in shallow.clean_text and not any("MimeTooDeep" in d for d in shallow.extra["defects"])  # type: ignore[attr-defined]
    deep = nested(1_000, "ở tầng sâu")
    top = deep.replace(b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n--b0\r\n',
                       'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n--b0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nlời đầu thư\r\n--b0\r\n'.encode(), 1)
    message = parse_email(top)
    assert "lời đầu thư" in message.clean_text
    assert any(d.startswith("MimeTooDeep") for d in message.extra["defects"])  # type: ignore[attr-defined]


def test_deep_html_and_a_huge_html_body_are_read_with_notes() -> None:
    deep = parse_email(mail(body="<div>" * 5_000 + "chữ ở đáy" + "</div>" * 5_000, ctype="text/html; charset=utf-8"))
    assert "chữ ở đáy" in deep.clean_text
    row = "<tr><td>Tôi đề nghị</td><td><b>giải quyết</b></td></tr>"
    huge = parse_email(mail(body="<table>" + row * 12_000 + "</table>", ctype="text/html; charset=utf-8"))
    assert huge.clean_text.startswith("Tôi đề nghị")
    assert any(d.startswith("Html") and "Truncated" in d for d in huge.extra["defects"])  # type: ignore[attr-defined]
