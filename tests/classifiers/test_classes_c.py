"""Issue 17, brief C: more of the issue's classes, each with sentences written for these tests
(not taken from any labeled or held-out set)."""

from __future__ import annotations

import pytest

from classifiers import classify

ENGLISH_WORDS = [
    # (body, insurance types, category): English question openings and insurance words
    ("Is it possible to get sickness benefit for my child's illness?", ["BHXH"], "question"),
    ("Which hospital can I register for initial health care?", ["BHYT"], "question"),
    ("Is there a death benefit for the family of a worker who passed away?", ["BHXH"], "question"),
    ("Please tell me how long the sick pay lasts after an operation.", ["BHXH"], "question"),
    ("Does health insurance pay for glasses?", ["BHYT"], "question"),
]


@pytest.mark.parametrize(("body", "types", "category"), ENGLISH_WORDS)
def test_english_openings_and_insurance_words(body: str, types: list[str], category: str) -> None:
    result = classify(None, body, "facebook_message")
    assert (result.insurance_types, result.category) == (types, category)


def test_english_does_not_is_not_a_question() -> None:
    body = "The clinic in our district does not accept my health insurance card and I had to pay everything. Please look into it."
    assert classify(None, body, "email").category == "complaint"


VENT_THEN_QUESTION = [
    "Tôi bức xúc quá, đóng bao nhiêu năm rồi. Vậy giờ tôi muốn rút một lần thì cần giấy tờ gì?",
    "Thật thất vọng, chờ mãi mới đến lượt. Cho em hỏi hồ sơ thai sản gồm những gì ạ?",
    "bực mình ghê, giờ nghỉ việc rồi thì đóng tự nguyện tiếp được không ad?",
]


@pytest.mark.parametrize("body", VENT_THEN_QUESTION)
def test_a_venting_message_that_ends_in_a_real_question_is_a_question(body: str) -> None:
    assert classify(None, body, "facebook_message").category == "question"


VENT_ONLY = [
    "Đi lại 4 lần vẫn không xong hồ sơ hưu, mệt mỏi quá!",
    "Bức xúc quá, công ty nợ BHXH cả năm nay mà không ai xử lý.",
]


@pytest.mark.parametrize("body", VENT_ONLY)
def test_venting_about_what_went_wrong_stays_a_complaint(body: str) -> None:
    assert classify(None, body, "facebook_comment").category == "complaint"


def test_asking_whether_a_scam_is_real_is_a_question() -> None:
    body = "Có người gọi giả danh cơ quan BHXH bảo cập nhật thẻ BHYT, tôi có nên tin không?"
    result = classify(None, body, "facebook_message")
    assert (result.insurance_types, result.category) == ([], "question")


def test_reporting_a_scam_and_asking_an_office_to_act_stays_a_complaint() -> None:
    body = "Kẻ gian giả danh BHXH lừa mẹ tôi chuyển 5 triệu. Đề nghị cơ quan BHXH cảnh báo người dân, có cách nào lấy lại tiền không?"
    assert classify(None, body, "facebook_message").category == "complaint"


def test_a_page_that_does_not_answer_is_a_complaint() -> None:
    assert classify(None, "Đã gửi câu hỏi 3 lần mà page không trả lời", "facebook_comment").category == "complaint"


HELD_TYPE = [
    # (body, insurance types): a type the writer only says they hold is context
    ("Tôi có thẻ BHYT rồi, giờ muốn hỏi cách tính lương hưu", ["BHXH"]),
    ("Em đã có thẻ BHYT hộ gia đình, giờ em muốn đóng BHXH tự nguyện thì mức thấp nhất bao nhiêu?", ["BHXH"]),
    ("I already have a health insurance card. How do I claim unemployment benefit?", ["BHTN"]),
]


@pytest.mark.parametrize(("body", "types"), HELD_TYPE)
def test_an_insurance_only_held_is_not_tagged_beside_the_one_asked_about(body: str, types: list[str]) -> None:
    assert classify(None, body, "facebook_message").insurance_types == types


def test_a_held_card_that_is_the_matter_is_still_tagged() -> None:
    body = "Tôi đã có thẻ BHYT rồi mà đi khám vẫn bị bắt trả tiền như người không có thẻ, như vậy là sao?"
    assert classify(None, body, "facebook_message").insurance_types == ["BHYT"]


NO_MATTER_WITH_ADDRESS = [
    # (subject, body): an acknowledgement or notice whose only place is in its closing lines
    ("Re: hồ sơ", "Dạ em đã nhận được email, em cảm ơn chị.\n\nNguyễn Văn A\nKCN Yên Phong, Bắc Ninh"),
    ("Acknowledgement", "We acknowledge receipt of your letter and will process it shortly.\nHR Dept, Binh Duong"),
    (None, "Mọi người đọc bài này nhé: lương hưu sẽ tăng từ tháng 7, chi tiết tại báo Lao Động."),
]


@pytest.mark.parametrize(("subject", "body"), NO_MATTER_WITH_ADDRESS)
def test_no_matter_and_no_province_from_closing_lines(subject: str | None, body: str) -> None:
    result = classify(subject, body, "email")
    assert (result.insurance_types, result.province_code, result.category) == ([], None, "other")


def test_a_question_keeps_the_province_of_its_closing_lines() -> None:
    result = classify("Hỏi thủ tục", "Cho tôi hỏi thủ tục hưởng lương hưu gồm những gì.\nNguyễn Văn Bình\nPhủ Lý, Hà Nam", "email")
    assert (result.province_code, result.category) == ("37", "question")


def test_an_off_topic_message_keeps_a_place_it_names_in_its_text() -> None:
    result = classify(None, "Cho hỏi làm căn cước ở Ninh Bình thì đến đâu?", "facebook_message")
    assert (result.province_code, result.category) == ("37", "other")


def test_money_that_has_not_arrived_is_a_complaint_though_asked() -> None:
    body = "Cho hỏi sao tháng này lương hưu của mẹ tôi chưa về, mọi tháng ngày 5 đã có?"
    assert classify(None, body, "facebook_message").category == "complaint"


WHY_QUESTIONS = [
    # asking the reason for a rule is a question
    "Tại sao mức hưởng thai sản lại tính theo bình quân 6 tháng?",
    "Tại sao BHYT không chi trả cho thuốc này, có quy định nào không?",
]


@pytest.mark.parametrize("body", WHY_QUESTIONS)
def test_asking_why_a_rule_is_so_is_a_question(body: str) -> None:
    assert classify(None, body, "facebook_message").category == "question"


def test_asking_why_something_went_wrong_is_a_complaint() -> None:
    body = "Tại sao tôi nộp hồ sơ thất nghiệp 2 tháng rồi mà vẫn chưa nhận được tiền?"
    assert classify(None, body, "facebook_message").category == "complaint"


def test_a_message_the_page_has_not_answered_is_a_complaint() -> None:
    body = "Em nhắn tin cho page từ tuần trước đến giờ vẫn chưa thấy rep ạ"
    assert classify(None, body, "facebook_message").category == "complaint"


STATUS_BESIDE_THE_MATTER = [
    # (body, insurance types): a status or a settled bill is context beside the type asked about
    ("Tôi bị tai nạn lao động, bệnh viện đã thanh toán BHYT, giờ làm hồ sơ hưởng trợ cấp TNLĐ thế nào?", ["BHXH"]),
    ("Bố tôi đang nhận lương hưu, muốn đổi nơi khám ban đầu sang bệnh viện tỉnh", ["BHYT"]),
    ("I have a health insurance card from my company. How many days of sick leave can I take?", ["BHXH"]),
    ("Công ty em đóng đủ BHXH, BHYT, BHTN. Em muốn hỏi về chế độ thai sản khi sinh đôi", ["BHXH"]),
]


@pytest.mark.parametrize(("body", "types"), STATUS_BESIDE_THE_MATTER)
def test_a_status_beside_the_matter_is_not_tagged(body: str, types: list[str]) -> None:
    assert classify(None, body, "facebook_message").insurance_types == types


def test_a_pension_that_is_the_matter_is_still_tagged() -> None:
    body = "Bố tôi đang nhận lương hưu, sao tháng này chưa thấy tiền về?"
    assert classify(None, body, "facebook_message").insurance_types == ["BHXH"]


def test_going_home_to_file_is_not_sent_to_the_former_workplace() -> None:
    # "về quê Nghệ An" is where the file goes, at least as much as where the sender worked:
    # a wrong office is worse than none.
    result = classify(None, "Tôi làm ở Bình Dương, về quê Nghệ An nộp hồ sơ thất nghiệp được không?", "facebook_message")
    assert result.province_code != "79"
