"""Reply trimming rules, each on a small text: what is history, and what is not."""

from __future__ import annotations

import pytest

from ingest.email.quotes import split_reply
from ingest.email.mime_policy import message_policy

NEW = "Tôi ở Hải Phòng, xin hỏi thủ tục cấp lại thẻ BHYT."


@pytest.mark.parametrize(
    "history",
    [
        "Vào 10:15, Th 2, 6 thg 10, 2025 BHXH Việt Nam <hotro@bhxh.gov.vn> đã viết:\n> Kính gửi ông/bà",
        # Gmail's attribution wrapped over lines, with the address at the end
        "2025-10-06 10:15 GMT+07:00 BHXH Việt Nam <\nhotro@bhxh.gov.vn>:\n> Kính gửi ông/bà",
        # cut short by the client, without "wrote"
        "2025-10-06 10:15 GMT+07:00 BHXH Việt Nam\n\nKính gửi ông/bà",
        # the verb inside, the line ending in the date
        "BHXH Việt Nam <hotro@bhxh.gov.vn> schrieb am Mo., 6. Okt. 2025\num 10:15 Uhr:\n> Kính gửi",
        # the address split from its name over blank lines
        "On Mon, 6 Oct 2025 at 10:15 BHXH Việt Nam\n\n<\nmailto:hotro@bhxh.gov.vn\n> wrote:\n\nKính gửi",
        # Zoho
        "---- On Mon, 06 Oct 2025 10:15:00 +0700 BHXH <hotro@bhxh.gov.vn> wrote ----\nKính gửi",
        # a date-first line naming the author, then a quote
        "2025/10/6 BHXH Việt Nam <hotro@bhxh.gov.vn>\n\n| Kính gửi ông/bà",
        # Italian Outlook headers
        "Da: BHXH Việt Nam\nData: lunedì 6 ottobre 2025 10:15\nA: Dân\nOggetto: Thẻ BHYT\n\nKính gửi",
        "*-------- Original Message --------*\nKính gửi",
    ],
)
def test_history_is_cut(history: str) -> None:
    new, rest = split_reply(f"{NEW}\n\n{history}")
    assert new == NEW
    assert "Kính gửi" in rest


@pytest.mark.parametrize("signature", ["Sent from my Verizon Wireless BlackBerry", "Envoyé depuis mon iPhone", "Sendt fra min iPad", "Gửi từ iPhone của tôi"])
def test_mobile_signatures_are_dropped(signature: str) -> None:
    assert split_reply(f"{NEW}\n\n{signature}")[0] == NEW


@pytest.mark.parametrize(
    "text",
    [
        # a sentence that starts like a signature
        f"{NEW}\n\nSent from my desk, because the form would not open on my phone.",
        # a date, an address and a colon that introduce what the citizen sent, not a quote
        f"{NEW}\nNgày 5/3/2025 tôi đã gửi thư tới hotro@bhxh.gov.vn:\nĐề nghị cấp lại thẻ.",
        f"{NEW}\nNgày 5/3/2025 lúc 9:30 tôi nộp hồ sơ tại BHXH quận Lê Chân.",
        # a mention is not an address
        f"Chị @Lan ở bộ phận một cửa đã viết giấy hẹn\ncho tôi ngày 5/3/2025, xin hỏi đã xong chưa?\n{NEW}",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert split_reply(text)[0] == text


def test_trailing_rule_lines_are_dropped() -> None:
    assert split_reply(f"{NEW}\n\nᐧ\n ------------------------------")[0] == NEW


def test_one_parse_policy_gives_what_policy_default_gives() -> None:
    from email import policy
    from email.parser import BytesParser

    raw = (
        b"From: =?utf-8?b?QkhYSCBWaeG7h3QgTmFt?= <hotro@bhxh.gov.vn>\r\nSubject: =?utf-8?q?Th=E1=BA=BB?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
        b"Content-Type: text/plain; charset=\"UTF-8\"; format=flowed\r\n\r\nxin ch\xc3\xa0o\r\n--b1\r\n"
        b"Content-Type: application/pdf; name*=utf-8''%C4%91%C6%A1n.pdf\r\nContent-Disposition: attachment\r\n\r\nPDF\r\n--b1--\r\n"
    )
    ours, theirs = BytesParser(policy=message_policy()).parsebytes(raw), BytesParser(policy=policy.default).parsebytes(raw)
    for a, b in zip(ours.walk(), theirs.walk(), strict=True):
        assert (a.get_content_type(), a.get_content_charset(), a.get_filename(), a.get_param("format")) == (
            b.get_content_type(), b.get_content_charset(), b.get_filename(), b.get_param("format"))  # fmt: skip
        assert a.get_content_type() == a.get_content_type()  # cached: the same answer again
    assert str(ours["From"]) == str(theirs["From"]) and str(ours["Subject"]) == str(theirs["Subject"])
