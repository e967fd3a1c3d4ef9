"""The portal's pure checks: fields, attachments, the raw item and its parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.phone import mask_phone, normalize_phone
from ingest.portal.attachments import AttachmentRefused, UploadedFile, check_attachments
from ingest.portal.normalize import parse_portal_item
from ingest.portal.question import QuestionError, validate_question
from ingest.portal.raw import api_external_id, portal_raw_input
from ingest.registry import ParseContext, parser_for
from tickets.normalized import Channel

PDF = b"%PDF-1.4 giay xac nhan\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
CONTEXT = ParseContext(source="portal", arrived_at=datetime(2025, 11, 24, 1, tzinfo=UTC), max_attachment_bytes=10_000)


def test_a_full_question_is_checked_and_normalized() -> None:
    question = validate_question({"client_id": "q-1", "name": "Nguyễn Văn An", "email": "An@Dan.localhost", "phone": "+84 912 345 678",
                                  "province_code": "1", "insurance_type": "bhyt", "subject": "Cấp lại thẻ", "body": "Tôi bị mất thẻ BHYT, xin cấp lại thế nào?"})
    assert (question.phone, question.province_code, question.insurance_type) == ("0912345678", "01", "BHYT")
    assert question.contact_address == "an@dan.localhost"


@pytest.mark.parametrize(("fields", "reason"), [
    ({}, "thiếu nội dung"),
    ({"body": "ngắn"}, "quá ngắn"),
    ({"body": "Câu hỏi về BHXH một lần", "email": "khong-phai-thu"}, "thư điện tử không hợp lệ"),
    ({"body": "Câu hỏi về BHXH một lần", "phone": "12345"}, "số điện thoại không hợp lệ"),
    ({"body": "Câu hỏi về BHXH một lần", "province_code": "99"}, "34 tỉnh"),
    ({"body": "Câu hỏi về BHXH một lần", "insurance_type": "XYZ"}, "loại bảo hiểm"),
    ({"body": "Xin hỏi <script>alert(1)</script> về BHXH"}, "mã HTML"),
    ({"body": "Câu hỏi về BHXH một lần", "subject": "<b>gấp</b>"}, "mã HTML"),
    ({"body": 12345678901}, "chuỗi"),
    ({"body": "Câu hỏi về BHXH một lần", "extra": "x"}, "không được nhận"),
    ({"body": "x" * 10_001}, "dài quá"),
])  # fmt: skip
def test_bad_fields_are_refused_in_vietnamese(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(QuestionError, match=reason):
        validate_question(fields)


def test_ordinary_angle_brackets_are_text_not_html() -> None:
    assert validate_question({"body": "Lương < 5 triệu thì đóng BHXH bao nhiêu? <3"}).body.startswith("Lương < 5")


def test_client_id_and_contact_when_required() -> None:
    with pytest.raises(QuestionError, match="client_id"):
        validate_question({"body": "Câu hỏi về BHXH một lần"}, require_client_id=True)
    with pytest.raises(QuestionError, match="thư điện tử hoặc số điện thoại"):
        validate_question({"body": "Câu hỏi về BHXH một lần"}, require_contact=True)


def test_attachments_by_their_bytes_not_their_names() -> None:
    kept = check_attachments([UploadedFile("giay.PDF", PDF), UploadedFile("anh", PNG)], max_files=3, max_bytes=1000)
    assert [(f.filename, f.content_type) for f in kept] == [("giay.PDF", "application/pdf"), ("anh.png", "image/png")]
    with pytest.raises(AttachmentRefused, match="không phải PDF"):
        check_attachments([UploadedFile("hoa-don.pdf", b"MZ\x90\x00 program")], max_files=3, max_bytes=1000)
    with pytest.raises(AttachmentRefused, match="tối đa 3"):
        check_attachments([UploadedFile(f"{i}.pdf", PDF) for i in range(4)], max_files=3, max_bytes=1000)
    with pytest.raises(AttachmentRefused, match="lớn quá"):
        check_attachments([UploadedFile("to.pdf", PDF + b"x" * 2000)], max_files=3, max_bytes=1000)
    assert check_attachments([UploadedFile("", b"")], max_files=3, max_bytes=1000) == []


def test_the_raw_item_parses_into_a_portal_message_with_its_context() -> None:
    question = validate_question({"name": "Trần Thị Bình", "phone": "0912 345 678", "province_code": "79", "insurance_type": "BHXH",
                                  "body": "Tôi muốn hỏi điều kiện hưởng BHXH một lần."})
    files = check_attachments([UploadedFile("so-bhxh.pdf", PDF)], max_files=3, max_bytes=1000)
    raw = portal_raw_input(question, files, source="cong-bhxh", external_id=api_external_id("cong-bhxh", "q-9"), via="api", submitted_at=CONTEXT.arrived_at)
    assert raw.kind == "portal_question"
    message = parser_for(raw.kind)(raw.content, CONTEXT)
    assert message.channel is Channel.PORTAL
    assert message.sender_address == "0912345678" and message.sender_name == "Trần Thị Bình"
    assert "Tỉnh/thành phố: Thành phố Hồ Chí Minh" in message.clean_text and "bảo hiểm xã hội" in message.clean_text
    assert "0912345678" not in message.clean_text and "0912345678" in message.full_text
    assert message.own_key == message.external_id == "portal:cong-bhxh:api:cong-bhxh:q-9"
    assert [(a.filename, a.content) for a in message.attachments] == [("so-bhxh.pdf", PDF)]


def test_an_unreadable_raw_item_is_an_error_not_a_message() -> None:
    from ingest.portal.normalize import PortalItemError

    for content in (b"not json", json.dumps({"question": {}}).encode(), json.dumps({"question": {"body": "x"}, "external_id": "e",
                                                                                    "attachments": [{"content_b64": "%%%"}]}).encode()):
        with pytest.raises(PortalItemError):
            parse_portal_item(content, CONTEXT)


@pytest.mark.parametrize(("text", "number"), [("0912345678", "0912345678"), ("+84 912.345.678", "0912345678"), ("84912345678", "0912345678"),
                                              ("(024) 3936 1234", "02439361234"), ("12345", None), ("0912 345 67a", None)])
def test_phone_numbers_in_one_form(text: str, number: str | None) -> None:
    assert normalize_phone(text) == number


def test_a_masked_number_hides_the_middle() -> None:
    assert mask_phone("0912345678") == "0912***678"
