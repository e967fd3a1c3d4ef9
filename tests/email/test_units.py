"""Charset repair, size cap, ids and tokens: each rule of the parser on a small message."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from ingest.email import NO_SUBJECT, email_external_id, parse_email
from ingest.email.charsets import decode_text

VIETNAMESE = "Tôi đề nghị cơ quan bảo hiểm xã hội giải quyết chế độ ốm đau"


def mail(body: bytes, headers: str = "", charset: str = "utf-8", cte: str = "8bit") -> bytes:
    head = (
        "From: Dan <dan@example.vn>\r\nTo: hotro@example.vn\r\nSubject: thu\r\n"
        f"Message-ID: <m1@example.vn>\r\nDate: Mon, 6 Oct 2025 08:00:00 +0700\r\n{headers}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body


def test_utf8_labelled_latin1_is_repaired() -> None:
    assert parse_email(mail(VIETNAMESE.encode("utf-8"), charset="iso-8859-1")).clean_text == VIETNAMESE


def test_mojibake_text_is_repaired() -> None:
    # UTF-8 decoded once as Latin-1 and saved again as UTF-8 (a broken relay)
    garbled = VIETNAMESE.encode("utf-8").decode("latin-1").encode("utf-8")
    assert decode_text(garbled, "utf-8") == VIETNAMESE


def to_cp1258(text: str) -> bytes:
    """As Windows writes Vietnamese: precomposed letters where cp1258 has them, tone marks combining."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tones = [c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323"]
            letter = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            out += letter.encode("cp1258") + "".join(tones).encode("cp1258")
    return out


def test_windows_1258_and_nfd_become_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", VIETNAMESE)
    text = parse_email(mail(to_cp1258(VIETNAMESE), charset="windows-1258")).clean_text
    assert text == VIETNAMESE and unicodedata.is_normalized("NFC", text)
    assert parse_email(mail(decomposed.encode("utf-8"))).clean_text == VIETNAMESE


def test_viscii_and_tcvn3_decode() -> None:
    # Bytes from glibc's iconv tables: VISCII 0xE0 is "à"; TCVN3 0xB5 is "à".
    assert decode_text(b"c\xe0 ph\xea", "viscii") == "cà phê"
    assert decode_text(b"c\xb5", "tcvn3") == "cà"


def test_unknown_charset_never_crashes() -> None:
    message = parse_email(mail(VIETNAMESE.encode("utf-8"), charset="x-no-such-charset"))
    assert message.clean_text == VIETNAMESE
    garbage = parse_email(mail(b"\xff\xfe\xfa abc \x81\x82", charset="x-unknown"))
    assert "abc" in garbage.clean_text


def test_missing_id_date_and_subject_are_filled_in() -> None:
    raw = b"From: dan@example.vn\r\nTo: hotro@example.vn\r\n\r\nHello"
    arrived = datetime(2025, 10, 6, 1, 0, tzinfo=UTC)
    message = parse_email(raw, received_at=arrived)
    assert message.subject == NO_SUBJECT
    assert message.sent_at == arrived
    assert message.external_id.startswith("sha256:") and email_external_id(raw).startswith("sha256:")


def test_same_message_id_different_content_gets_different_raw_ids() -> None:
    first, second = mail(b"one"), mail(b"two")
    assert email_external_id(first) != email_external_id(second)
    redelivered = b"Received: from mx2 by mx1\r\n" + first
    assert email_external_id(redelivered) == email_external_id(first)


def _with_attachment(size: int, name: str = "big.bin", ctype: str = "application/octet-stream") -> bytes:
    import base64

    payload = base64.encodebytes(b"x" * size).decode()
    return (
        "From: a@example.vn\r\nSubject: att\r\nMessage-ID: <a@x>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nxem tệp\r\n'
        f'--b\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename="{name}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{payload}\r\n--b--\r\n"
    ).encode("utf-8")


def test_attachment_over_the_cap_is_recorded_not_dropped() -> None:
    message = parse_email(_with_attachment(2048), max_attachment_bytes=1024)
    (attachment,) = message.attachments
    assert attachment.content is None and attachment.skipped_reason and attachment.size == 2048
    kept = parse_email(_with_attachment(512), max_attachment_bytes=1024).attachments[0]
    assert kept.content == b"x" * 512 and kept.sha256


def test_winmail_dat_is_kept() -> None:
    (attachment,) = parse_email(_with_attachment(100, "winmail.dat", "application/ms-tnef")).attachments
    assert attachment.filename == "winmail.dat" and attachment.content_type == "application/ms-tnef"


def test_ticket_reference_and_reply_token() -> None:
    raw = mail(b"da xu ly", headers="").replace(b"Subject: thu", b"Subject: Re: [TN-123] Phan anh").replace(
        b"To: hotro@example.vn", b"To: hotro+TN-000123.k3f9@example.vn"
    )
    message = parse_email(raw)
    assert message.ticket_ref == "TN-000123"
    assert message.reply_token == "TN-000123.k3f9"


def test_html_only_mail_becomes_text() -> None:
    html = "<html><head><style>p{color:red}</style><script>x()</script></head><body><p>Dòng một</p><p>Dòng&nbsp;hai &amp; ba<br>bốn</p></body></html>"
    raw = mail(html.encode("utf-8")).replace(b"text/plain", b"text/html")
    text = parse_email(raw).clean_text
    assert text.splitlines() == ["Dòng một", "", "Dòng hai & ba", "bốn"]
