"""The pure parts of an answer: greeting and signature, the bank entry's draft, the reply's
subject and threading headers, the HTML part, the checks on the text and the mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from config.settings import ConfigError, Settings, load_settings
from notifiers.answer_email import html_part, reply_subject, thread_ids
from notifiers.answer_templates import compose_answer_text, entry_draft
from tickets.answering import AnswerRefused, answer_modes, check_answerable, check_text, choose_mode
from tickets.models import Message, Ticket


def _ticket(channel: str = "email", name: str | None = "Phạm Thị Hoa", status: str = "triaged", ticket_id: int = 123) -> Ticket:
    return Ticket(id=ticket_id, channel=channel, source="hotro", subject="Hỏi", sender_name=name, status=status, message_count=1)


@dataclass
class Entry:
    answer: str


def test_greeting_and_signature_per_channel_with_name_and_reference() -> None:
    settings = Settings()
    email = compose_answer_text(settings, _ticket(), "  Nội dung.  ", "email")
    assert email == "Kính gửi Phạm Thị Hoa,\n\nNội dung.\n\nTrân trọng,\nTrung tâm Chăm sóc khách hàng BHXH Việt Nam\n(Mã phiếu TN-000123)"
    chat = compose_answer_text(settings, _ticket("facebook_message", name=None), "Nội dung.", "messenger")
    assert chat.startswith("Chào Quý ông/bà,\n\nNội dung.") and chat.endswith("(mã phiếu TN-000123)")


def test_a_citizens_name_is_a_value_never_a_template() -> None:
    settings = Settings(answers={"greeting_email": "Kính gửi {name} ({reference}),"})
    text = compose_answer_text(settings, _ticket(name="{reference} {0} \x1b[2J Hoa"), "x", "email")
    assert text.startswith("Kính gửi {reference} {0} Hoa (TN-000123),")


def test_configured_templates_are_checked_at_start_up(tmp_path: Path) -> None:
    config = tmp_path / "tiepnhan.toml"
    config.write_text('[answers]\ngreeting_email = "Kính gửi {ten},"\nsignature_chat = "Mã {reference"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    problems = "\n".join(raised.value.problems)
    assert "greeting_email" in problems and "{ten}" in problems and "{name}" in problems
    assert "signature_chat" in problems and "ngoặc" in problems


def test_entry_draft_fills_name_and_reference() -> None:
    draft = entry_draft(Settings(), _ticket(), Entry("  Ông/bà {name} tra cứu phiếu {reference} trên VssID.\n"))
    assert draft == "Ông/bà Phạm Thị Hoa tra cứu phiếu TN-000123 trên VssID."


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Hỏi về thẻ BHYT", "Re: Hỏi về thẻ BHYT [TN-000123]"),
        ("Re: RE: re : Hỏi về thẻ BHYT", "Re: Hỏi về thẻ BHYT [TN-000123]"),
        ("Re: [TN-000123] Hỏi về thẻ BHYT", "Re: Hỏi về thẻ BHYT [TN-000123]"),
        ("Trả lời: Fwd: Hỏi", "Re: Hỏi [TN-000123]"),
        ("", "Re: (không có tiêu đề) [TN-000123]"),
        ("Hỏi\r\nBcc: x@y", "Re: Hỏi Bcc: x@y [TN-000123]"),
    ],
)
def test_reply_subject_has_one_re_and_the_reference(original: str, expected: str) -> None:
    assert reply_subject(original, "TN-000123") == expected


def _message(external_id: str, direction: str = "inbound", parents: tuple[str, ...] = (), auto: bool = False) -> Message:
    return Message(raw_item_id=1, channel="email", source="hotro", external_id=external_id, direction=direction, subject="", clean_text="", full_text="",
                   parent_keys=[f"msgid:{p}" for p in parents], is_auto_reply=auto)


def test_in_reply_to_is_the_citizens_last_message_and_references_the_thread() -> None:
    messages = [
        _message("c2@dan", parents=("c1@dan", "c0@dan")),  # In-Reply-To c1, References c0 c1
        _message("tiepnhan.answer.1@bhxh", direction="outbound"),
        _message("c3@dan", parents=("tiepnhan.answer.1@bhxh",)),
        _message("ooo@dan", parents=("c3@dan",), auto=True),  # an out-of-office reply is not answered
        _message("sha256:abcd"),  # no Message-ID: not an id
    ]
    answered, references = thread_ids(messages)
    assert answered == "c3@dan"
    assert references == ["c0@dan", "c1@dan", "c2@dan", "tiepnhan.answer.1@bhxh", "ooo@dan", "c3@dan"]


def test_references_are_trimmed_keeping_the_first_and_the_latest() -> None:
    messages = [_message(f"m{i}@dan") for i in range(40)]
    answered, references = thread_ids(messages)
    assert answered == "m39@dan" and len(references) == 20 and references[0] == "m0@dan" and references[-2:] == ["m38@dan", "m39@dan"]


def test_html_part_escapes_everything() -> None:
    part = html_part('<script>alert(1)</script> & "x"\nhai\x07')
    assert "<script>" not in part and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;<br>\nhai" in part and "\x07" not in part


def test_text_and_mode_checks() -> None:
    assert check_text(" a\x1b[31mb \n") == "ab"
    with pytest.raises(AnswerRefused, match="trống"):
        check_text("\x00 \n")
    with pytest.raises(AnswerRefused, match="10000"):
        check_text("a" * 10_001)
    assert answer_modes(_ticket("facebook_comment")) == ["comment_public", "comment_private"]
    assert choose_mode(_ticket("facebook_comment"), None) == "comment_public"
    with pytest.raises(AnswerRefused, match="'email'"):
        choose_mode(_ticket("zalo"), "email")
    with pytest.raises(AnswerRefused, match="rác"):
        check_answerable(_ticket(status="spam"))
    with pytest.raises(AnswerRefused, match="gộp"):
        check_answerable(Ticket(id=5, channel="email", source="hotro", subject="", status="closed", message_count=0))


def test_the_citizens_address_is_their_last_own_message_and_ascii() -> None:
    from notifiers.answer_email import citizen_address
    from notifiers.answer_errors import AnswerPermanentError

    ticket = Ticket(id=9, channel="email", source="hotro", subject="", sender_address="cu@dan.vn")
    first, later = _message("a@dan"), _message("b@dan")
    first.sender_address, later.sender_address = "An <cu@dan.vn>", "An <moi@dan.vn>"
    away = _message("c@dan", auto=True)
    away.sender_address = "robot@dan.vn"
    assert citizen_address(ticket, [first, later, away]) == "moi@dan.vn"
    assert citizen_address(ticket, []) == "cu@dan.vn"
    with pytest.raises(AnswerPermanentError, match="ASCII"):
        citizen_address(Ticket(id=9, channel="email", source="hotro", subject="", sender_address="nguyễn@dân.vn"), [])
    with pytest.raises(AnswerPermanentError, match="không có địa chỉ thư"):
        citizen_address(Ticket(id=9, channel="email", source="hotro", subject="", sender_address="không phải địa chỉ"), [])


def test_a_mailbox_address_that_is_not_one_is_a_start_up_error() -> None:
    mailbox = {"name": "hotro", "host": "imap.localhost", "username": "hotro", "password": "x"}
    with pytest.raises(ConfigError) as raised:
        load_settings(None, mailboxes=[mailbox | {"address": "hộp thư chung"}])
    assert "mailboxes[0].address" in raised.value.problems[0] and "địa chỉ thư" in raised.value.problems[0]
    assert load_settings(None, mailboxes=[mailbox | {"address": " hoidap@bhxh.gov.vn "}]).mailboxes[0].address == "hoidap@bhxh.gov.vn"
