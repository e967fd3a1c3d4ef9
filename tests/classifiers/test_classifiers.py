"""Classifier behaviour on messages written for these tests (not from the dev set)."""

from __future__ import annotations

import pytest

from classifiers import classify

CASES = [
    # (subject, body, insurance types, province, category)
    (None, "cho em hoi em dong bhxh tu nguyen o Hai Duong duoc 7 nam, gio muon dong tiep thi muc dong thap nhat la bao nhieu a?", ["BHXH"], "31", "question"),
    (None, "Tôi ở Phủ Lý, thẻ BHYT của mẹ tôi in sai ngày sinh, đã lên làm lại 2 lần vẫn sai. Đề nghị BHXH kiểm tra.", ["BHYT"], "37", "complaint"),
    (None, "ad oi cty e o Di An no dong bhxh 6 thang roi, e nghi viec ma ko chot so dc", ["BHXH"], "79", "complaint"),
    (None, "Cảm ơn BHXH đã hỗ trợ gia đình tôi rất nhiệt tình!", [], None, "other"),
    (None, "Tôi quên mật khẩu VssID, lấy lại mật khẩu thế nào ạ?", [], None, "question"),
    ("Hỏi về thai sản", "Vợ tôi sinh con ở bệnh viện Hội An ngày 2/10. Tôi là chồng có được nhận tiền thai sản không?", ["BHXH"], "48", "question"),
    (None, "Chị Hà Nam bên phòng nhân sự bảo tôi hỏi: lương hưu được tính thế nào khi đóng 25 năm?", ["BHXH"], None, "question"),
    (None, "Công ty TNHH Long An Food chậm đóng BHXH cho công nhân ở Củ Chi, đề nghị xử lý.", ["BHXH"], "79", "complaint"),
    (None, "Mọi thứ vẫn bình thường, cho hỏi khi nào có lương hưu tháng 11?", ["BHXH"], None, "question"),
    (None, "Quê tôi ở Nghệ An nhưng tôi làm việc tại Bình Dương, muốn rút BHXH 1 lần thì nộp ở đâu?", ["BHXH"], "79", "question"),
    (None, "Bệnh viện ở Buôn Ma Thuột không cho tôi thông tuyến, bắt trả viện phí dịch vụ.", ["BHYT"], "66", "complaint"),
    (None, "Tuyển CTV online, thu nhập 500k/ngày, liên hệ Zalo 0909xxxxxx, hỗ trợ rút BHXH nhanh gọn", [], None, "other"),
    (None, "toi dang huong tro cap that nghiep o Quy Nhon, thang nay chua nhan duoc tien, sao cham vay?", ["BHTN"], "52", "complaint"),
    (None, "Xin hỏi thủ tục hưởng chế độ tai nạn lao động khi bị tai nạn trên đường đi làm ở Vũng Tàu?", ["BHXH"], "79", "question"),
]


@pytest.mark.parametrize(("subject", "body", "types", "province", "category"), CASES, ids=[c[1][:40] for c in CASES])
def test_fresh_messages(subject: str | None, body: str, types: list[str], province: str | None, category: str) -> None:
    result = classify(subject, body, "facebook_message")
    assert result.insurance_types == types
    assert result.province_code == province
    assert result.category == category


def test_evidence_points_at_the_words_as_written() -> None:
    body = "Tôi ở thị xã Dĩ An, Bình Dương, công ty nợ đóng BHXH."
    result = classify(None, body)
    province = [e for e in result.evidence if e.tag == "province:79"]
    assert province
    for evidence in province:
        assert body[evidence.start : evidence.end] == evidence.phrase
    assert any(e.tag.startswith("topic:nợ đóng") for e in result.evidence)
    assert set(result.confidence) == {"insurance_types", "province", "category"}


def test_quoted_history_does_not_decide() -> None:
    body = "Cảm ơn anh chị đã trả lời.\n\nVào Th 2, 6 thg 10, 2025 lúc 08:15 BHXH <cskh@bhxh.example> đã viết:\n> Thẻ BHYT của bạn tại Đồng Nai..."
    result = classify("Re: hỏi thẻ", body)
    assert result.province_code is None
    assert result.category == "other"


def test_same_tags_with_and_without_diacritics() -> None:
    with_marks = classify(None, "Tôi ở Hải Dương, thẻ BHYT hết hạn, gia hạn thế nào?")
    without = classify(None, "Toi o Hai Duong, the BHYT het han, gia han the nao?")
    assert (with_marks.insurance_types, with_marks.province_code, with_marks.category) == (
        without.insurance_types, without.province_code, without.category)
    assert with_marks.province_code == "31"


def test_words_that_fold_like_places_are_not_places() -> None:
    # "làm đồng" folds like "Lâm Đồng"; "chữ" like "Chũ"
    result = classify(None, "Tôi làm đồng ở quê, biết chữ ít, muốn hỏi về BHXH tự nguyện.")
    assert result.province_code is None
