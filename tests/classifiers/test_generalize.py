"""Issue 17: classes of messages the rules missed, each with sentences written for these tests
(not taken from any labeled set)."""

from __future__ import annotations

import pytest

from classifiers import classify

ENGLISH = [
    # (body, insurance types, category)
    ("How can I claim an occupational accident benefit? I cut my hand at the factory.", ["BHXH"], "question"),
    ("Can I get a lump sum when I leave Vietnam for good?", ["BHXH"], "question"),
    ("Am I entitled to paternity leave pay? My wife gave birth yesterday.", ["BHXH"], "question"),
    ("How do I renew my health insurance card online?", ["BHYT"], "question"),
    ("Do I have to pay unemployment insurance as a foreign employee?", ["BHTN"], "question"),
    ("What is the monthly contribution for voluntary social insurance?", ["BHXH"], "question"),
    ("Where can I collect my social insurance book after I resign?", ["BHXH"], "question"),
]


@pytest.mark.parametrize(("body", "types", "category"), ENGLISH)
def test_english_messages_from_foreign_workers(body: str, types: list[str], category: str) -> None:
    result = classify(None, body, "facebook_message")
    assert (result.insurance_types, result.category) == (types, category)


NO_MATTER = [
    # (subject, body): mail with no matter of its own, whatever it names
    ("Trả lời tự động: Nghỉ phép", "Tôi đang nghỉ phép đến 15/1 và sẽ trả lời khi quay lại. Việc về BHXH xin gọi chị Hoa.\n\nLê Văn Tâm\nCông ty May Hưng Long, Hưng Yên"),
    ("Out of Office", "I am out of the office until 3 January. For social insurance matters contact our HR team in Da Nang."),
    ("Bản tin chính sách tháng 1", "Bản tin kỳ này: BHYT học sinh, lương hưu 2026, hướng dẫn VssID. Hủy nhận bản tin tại đây."),
    ("Thông báo bảo trì hệ thống", "Kính gửi Quý khách hàng, hệ thống kê khai BHXH điện tử tạm ngừng từ 23h ngày 9/1 để nâng cấp. Chi nhánh Đồng Nai."),
    ("Undeliverable: Hỏi thẻ BHYT", "Delivery has failed to these recipients: an.nguyen@example-mail.vn. The mailbox is full."),
    ("Thư mời hội thảo BHXH 2026", "Trân trọng kính mời Quý doanh nghiệp tham dự hội thảo về chính sách BHXH tại Cần Thơ ngày 20/1."),
    ("Fwd: bài báo hay", "Gửi mọi người đọc tham khảo bài báo về tăng lương hưu ở Nghệ An."),
]


@pytest.mark.parametrize(("subject", "body"), NO_MATTER)
def test_mail_with_no_matter_is_other_without_type_or_province(subject: str, body: str) -> None:
    result = classify(subject, body, "email")
    assert (result.insurance_types, result.province_code, result.category) == ([], None, "other")


def test_an_acknowledgement_keeps_no_province_from_its_signature() -> None:
    body = "Tôi đã nhận được giấy hẹn, xin cảm ơn anh chị.\n\nTrân trọng,\nPhan Thị Ngọc\nSố 8 Lê Lợi, phường Vĩnh Ninh, thành phố Huế, tỉnh Thừa Thiên Huế"
    result = classify("Re: giấy hẹn", body, "email")
    assert (result.province_code, result.category) == (None, "other")
    assert not [item for item in result.evidence if item.tag.startswith("province:")]


LAWFUL = [
    # asking whether something is lawful: a question, whatever wrong it describes
    ("Cty trừ lương em đóng bảo hiểm mà không nộp thì có vi phạm pháp luật không?", "question"),
    ("Công ty nợ BHXH nửa năm rồi mà vẫn không chốt sổ cho người nghỉ, vậy có trái luật không ạ?", "question"),
    ("cty tru luong dong bh nhung ko dong cho nv, bi tru ca tien bhyt, vay co vi pham ko", "question"),
    # …unless an office is asked to act
    ("Trạm y tế từ chối thẻ BHYT của mẹ tôi, như vậy có đúng quy định không? Đề nghị BHXH kiểm tra.", "complaint"),
]


@pytest.mark.parametrize(("body", "category"), LAWFUL)
def test_asking_whether_something_is_lawful(body: str, category: str) -> None:
    assert classify(None, body, "facebook_message").category == category


UNANSWERED = [
    # a message left unanswered by the page or the agency is a complaint about the service
    "Nhắn page cả tuần không ai rep, làm ăn kiểu gì vậy?",
    "Gửi câu hỏi từ thứ hai đến giờ chưa ai trả lời, ad có đọc tin nhắn không vậy?",
    "I sent three messages to this page last week and nobody replied.",
]


@pytest.mark.parametrize("body", UNANSWERED)
def test_no_answer_from_the_page_is_a_complaint(body: str) -> None:
    assert classify(None, body, "facebook_message").category == "complaint"


def test_an_off_topic_question_to_the_page_stays_other() -> None:
    assert classify(None, "page có bán sách luật không?", "facebook_comment").category == "other"


SCAMS = [
    # an insurance named as a scam's pretext is not the matter
    "Kẻ gian giả danh nhân viên bảo hiểm thất nghiệp lừa chuyển tiền, mọi người cẩn thận",
    "Có người mạo danh BHXH gọi bảo tôi nộp 2 triệu để được hoàn tiền bảo hiểm y tế, tôi đã chuyển rồi",
    "Beware: a scammer called me pretending to be from social insurance and asked for my bank OTP to pay my pension.",
]


@pytest.mark.parametrize("body", SCAMS)
def test_an_insurance_named_as_a_scams_pretext_is_not_tagged(body: str) -> None:
    assert classify(None, body, "facebook_comment").insurance_types == []


def test_a_real_matter_that_mentions_a_transfer_keeps_its_insurance() -> None:
    body = "Công ty chưa chuyển tiền đóng BHXH cho tôi 4 tháng, đề nghị kiểm tra."
    assert classify(None, body, "facebook_message").insurance_types == ["BHXH"]
