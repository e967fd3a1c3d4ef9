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
