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
    (None, "Bố tôi mất tháng 8, đóng BHXH 25 năm. Gia đình được nhận tiền mai táng và tuất thế nào?", ["BHXH"], None, "question"),
    (None, "Em bị tai nạn khi đang làm ở xưởng tại KCN Quế Võ, công ty không làm hồ sơ TNLĐ cho em.", ["BHXH"], "24", "complaint"),
    (None, "Hello, I work in Binh Duong and my company has not paid social insurance for 4 months. What should I do?", ["BHXH"], "79", "complaint"),
    (None, "Cán bộ BHXH huyện Hóc Môn hẹn đi hẹn lại hồ sơ hưởng một lần của tôi, hơn 2 tháng rồi.", ["BHXH"], "79", "complaint"),
    (None, "Xin cảm ơn BHXH tỉnh Gia Lai đã giải quyết hồ sơ hưu của bố tôi rất nhanh.", ["BHXH"], "52", "other"),
    (None, "Con tôi sinh viên năm 2 ở Cần Thơ, trường bắt mua BHYT nhưng đã có thẻ hộ gia đình ở quê, có phải mua nữa không?", ["BHYT"], "92", "question"),
    (None, "Tôi có 2 sổ BHXH, một ở Hải Phòng một ở Quảng Ninh, gộp sổ làm ở đâu?", ["BHXH"], None, "question"),
    # teencode, no tone marks
    (None, "ad oi e dong bh tn 1 nam r, gio nghi thi dc nhan tien k a", ["BHTN"], None, "question"),
    (None, "cty e no bh 8 thang roi, gio e nghi thi lam sao lay so", ["BHXH"], None, "complaint"),
    (None, "ck e mat r, e dc nhan tien tuat k ad", ["BHXH"], None, "question"),
    (None, "e dang huong tctn thang thu 2 ma chua thay tien ve tk", ["BHTN"], None, "complaint"),
    (None, "Có ai bị nhắn tin giả danh BHXH bảo cập nhật dữ liệu không, mình vừa bị lừa mất 5 triệu.", [], None, "complaint"),
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


# Province: what issue 4 says must be recognised, one group per requirement. Each sentence
# was written for this test; the expected code is the province on the 2025 map.
OLD_PROVINCES = [
    ("Bà ngoại tôi ở Quảng Nam, năm nay 82 tuổi, thẻ BHYT người cao tuổi có được cấp lại không?", "48"),
    ("em đóng bhxh ở nam định 12 năm, giờ chuyển vào nam làm thì sổ có cộng nối được k ạ", "37"),
    ("Công ty em ở Bình Thuận chưa chốt sổ BHXH cho em dù đã nghỉ 3 tháng.", "68"),
    ("Mình làm công nhân ở Long An, nghỉ việc rồi muốn lãnh trợ cấp thất nghiệp thì làm sao?", "80"),
    ("Tôi ở Kiên Giang, mẹ tôi mất tháng trước, xin hỏi chế độ tử tuất cho gia đình.", "91"),
    ("toi o ha giang, the bhyt cua con toi bi sai ten", "08"),
    ("Tôi đang ở Quảng Bình, hỏi về thủ tục rút BHXH một lần.", "44"),
    ("Bố tôi nghỉ hưu ở Thái Bình, tháng này chưa nhận được lương hưu.", "33"),
]
BELOW_PROVINCE = [  # old districts, towns, provincial cities, current wards
    ("Tôi làm việc ở Thủ Dầu Một, muốn biết thời gian chờ duyệt hồ sơ thai sản.", "79"),
    ("Con tôi học ở Tuy Hòa, thẻ BHYT học sinh mua ở đâu?", "66"),
    ("Em đi khám ở bệnh viện tại Phan Thiết mà không được hưởng đúng tuyến.", "68"),
    ("Nhà tôi ở Rạch Giá, cho hỏi mức đóng BHXH tự nguyện thấp nhất?", "91"),
    ("Tôi làm ở quận Gò Vấp, công ty nợ BHXH 5 tháng rồi.", "79"),
    ("em o huyen Cu Chi, xin hoi ve tro cap that nghiep", "79"),
    ("Tôi sống ở thành phố Quy Nhơn, hỏi về chế độ ốm đau.", "52"),
    ("Con tôi đi học ở Hội An, mua BHYT học sinh ở đâu?", "48"),
    ("Ở Vũng Tàu có được khám BHYT trái tuyến không?", "79"),
    ("Tôi nộp hồ sơ thất nghiệp ở trung tâm dịch vụ việc làm Đồng Nai được 3 tuần rồi.", "75"),  # "làm Đồng" is not Lâm Đồng
    ("Tôi ở phường Bến Thành, thẻ BHYT của tôi bị sai ngày sinh.", "79"),
]
OFFICE_NAMES = [
    ("BHXH tỉnh Nam Định giải quyết hồ sơ hưu của tôi quá chậm, đã 2 tháng.", "37"),
    ("Hôm qua tôi lên BHXH quận 7 nộp hồ sơ thai sản nhưng bị trả về.", "79"),
    ("Tôi nộp hồ sơ ở BHXH khu vực Bình Dương cũ mà chưa thấy phản hồi về BHXH một lần.", "79"),
    ("Cho hỏi BHXH khu vực II làm việc thứ bảy không?", None),  # a region number alone names no province
    ("BHXH cơ sở Vinh chưa trả kết quả hồ sơ hưu của tôi.", "40"),  # grassroots office (from 1 October 2025)
]
ABBREVIATIONS = [
    ("Em ở HCM, thẻ BHYT hết hạn gia hạn online được không?", "79"),
    ("Mình ở TP.HCM, hỏi về chốt sổ BHXH khi công ty giải thể.", "79"),
    ("e lam o SG, cty ko dong bhxh cho e", "79"),
    ("minh o HN, cho hoi thu tuc huong thai san", "01"),
    ("Nhà em ở BRVT, cho em hỏi thẻ BHYT hộ gia đình.", "79"),
    ("tp hcm: bv không cho tôi thông tuyến", "79"),
    ("Tôi ở Sài Gòn, công ty nợ BHXH của tôi nửa năm nay.", "79"),
    ("Mình làm ở Q7, hỏi thủ tục hưởng thai sản.", "79"),
    ("Tôi ở Hà Tây cũ, năm nay đủ tuổi nghỉ hưu chưa?", "01"),
    ("Ông tôi ở Buôn Mê Thuột, thẻ BHYT bị in sai tên.", "66"),
]
TONE_STYLES = [  # "Hòa" and "Hoà", "Thủy" and "Thuỷ" are the same name
    ("Tôi ở Thanh Hoá, hỏi chế độ thai sản.", "38"),
    ("Nhà tôi ở Khánh Hoà, thẻ BHYT hết hạn.", "56"),
    ("Cty tôi ở huyện Thuỷ Nguyên nợ BHXH.", "31"),
    ("Tôi ở Thanh Hóa, hỏi chế độ thai sản.", "38"),
]
NOT_PLACES = [  # names of people and companies, and words that fold like place names
    ("Em là Hà Nam, năm nay 30 tuổi, muốn hỏi về lương hưu khi đóng 20 năm.", None),
    ("Bạn Hà Nam của tôi nói đóng BHXH tự nguyện được hỗ trợ, có đúng không?", None),
    ("Chị Hòa Bình ở phòng kế toán nói tôi được hưởng thai sản, đúng không?", None),
    ("Sức khỏe bình thường thì có được nghỉ ốm hưởng BHXH không?", None),
    ("Suc khoe binh thuong thi co duoc nghi om huong bhxh khong", None),
    ("Con tôi đi học bình thường, thẻ BHYT học sinh năm nay mua ở đâu?", None),
    ("Tôi làm cho Công ty CP Long An Foods, công ty nợ đóng BHXH 4 tháng.", None),
    ("Lương hưu có cao bằng lương lúc đi làm không ạ?", None),  # "cao bằng" = as high as
    ("Mong đất nước hòa bình, cho hỏi lương hưu tăng khi nào?", None),
    ("hn e di kham bv bi tu choi the bhyt", None),  # "hn" = hôm nay
]
SEVERAL_PLACES = [  # the matter's place wins over birthplace, hometown, head office, signature
    ("Tôi sinh ra ở Nghệ An, hiện làm việc tại Đồng Nai, công ty chậm đóng BHXH.", "75"),
    ("Công ty tôi có trụ sở chính ở Hà Nội nhưng tôi làm ở chi nhánh tại Đà Nẵng, xin hỏi nộp hồ sơ thai sản ở đâu?", "48"),
    ("Tôi là người Bình Dương nhưng nay làm việc tại Thanh Hóa, nộp hồ sơ hưởng thất nghiệp ở đâu?", "38"),
    ("Tôi đóng BHXH ở Sài Gòn 10 năm, giờ về Cần Thơ thì rút BHXH một lần ở đâu?", "92"),  # where the sender is now
    ("Em làm ở Đà Nẵng 3 năm, hiện ở Quảng Ngãi, muốn nhận trợ cấp thất nghiệp thì nộp ở đâu?", "51"),
    ("Công ty chưa trả sổ BHXH cho tôi sau khi nghỉ việc ở Đà Nẵng.\n\n-- \nNguyễn Văn Hòa\nPhường Bến Thành, TP.HCM", "48"),
    ("Cho tôi hỏi cách tra cứu quá trình đóng BHXH.\n\nTrân trọng,\n-- \nLê Thị Mai\nHà Nội", None),
    # a signature under a closing line, without the "-- " delimiter
    ("Công ty ở Đà Nẵng nợ BHXH của tôi 4 tháng, đề nghị kiểm tra.\nTrân trọng,\nLê Văn Nam\nĐịa chỉ: phường Vĩnh Ninh, TP Huế\nĐT: 09xx", "48"),
    ("Xin hỏi thủ tục hưởng lương hưu khi đủ 20 năm đóng.\n\nTrân trọng,\nTrần Thị Hoa\nHà Nội", None),
    ("Xin hỏi thủ tục hưởng lương hưu khi đủ 20 năm đóng.\n\nXin cảm ơn,\nTrần Thị Hoa\nPhòng nhân sự, Công ty May Hưng Yên", None),
    ("Ngân hàng Quân đội chi nhánh Hải Phòng không trả lương hưu qua thẻ cho bố tôi.", "31"),  # a branch is a place
    ("Cảm ơn, tôi sẽ làm theo.\n\nVào Th 3, 7 thg 10, 2025 lúc 9:00 BHXH <cskh@bhxh-cskh.vn> đã viết:\n> Hồ sơ của bạn tại BHXH tỉnh Nghệ An đã được duyệt.", None),
]
NAMES_AND_PLACES = [  # a word that can open a person's name, and a place right after it
    ("Mẹ tôi được chuyển lên Bệnh viện Bạch Mai (Hà Nội) nhưng bị từ chối thanh toán BHYT.", "01"),  # punctuation cuts a name
    ("Ông Trần Văn Dương, Bình Dương, hỏi về lương hưu.", "79"),
    ("toi lam o cong ty giay, ho so that nghiep nop o trung tam viec lam Dong Nai thi bao thieu giay", "75"),  # "lam" is "làm"
    ("nop ho so huu tai buu dien roi ma mai thanh hoa van chua tra loi", "38"),  # "mai" is "tomorrow"/"still", not Mai
    ("Chi Lam Dong Nai hoi ve BHXH tu nguyen", None),  # "Lam" capitalised: a family name
]
OVERLAPPING_NAMES = [  # a district's name running into a province's yields to the province
    ("e nop ho so o trung tam dich vu viec lam Binh Duong ma bi tu choi, mat quyen loi tro cap that nghiep", "79"),
]
ADDRESSES = [  # a hometown's address goes on after its first place: all of it is the hometown
    ("Quê tôi ở xã Hải Đông, huyện Hải Hậu, Nam Định. Nay tôi làm ở quận Long Biên, Hà Nội, công ty nợ BHXH 3 tháng.", "01"),
]
ONLY_PLACE_GIVEN = [  # a head office or hometown named alone is the only location there is
    ("Doanh nghiệp chúng tôi có trụ sở tại TP Tuy Hòa, xin hướng dẫn đăng ký tham gia BHXH lần đầu.", "66"),
    ("Quê tôi ở Nghệ An, năm nay 61 tuổi, đóng BHXH được 18 năm thì có lương hưu không?", "40"),
]
ASCII_CASE = [  # no tone marks, but capitals: a lower-case place name is a common word
    ("Toi o ap 3, xa Luong Hoa, tinh Tra Vinh. Muc dong thap nhat cua BHXH tu nguyen la bao nhieu?", "86"),  # "đóng thấp", not Đồng Tháp
    ("BHXH Q.12 tiếp dân chậm quá, bấm số lúc 8h mà 15h vẫn chưa tới lượt làm hồ sơ hưởng một lần", "79"),
]
WEAK = [  # no real place: null rather than a guess
    ("Tôi muốn về quê làm ăn, có được rút BHXH một lần không?", None),
    ("Vinh nghỉ việc rồi thì có được nhận trợ cấp thất nghiệp không?", None),  # a name, not the city
    ("Anh An Giang cho em hỏi về BHXH tự nguyện", None),
]


def _ids(cases: list[tuple[str, str | None]]) -> list[str]:
    return [text[:40] for text, _code in cases]


@pytest.mark.parametrize(("body", "province"), OLD_PROVINCES, ids=_ids(OLD_PROVINCES))
def test_old_provinces_map_to_the_2025_province(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), BELOW_PROVINCE, ids=_ids(BELOW_PROVINCE))
def test_old_districts_towns_and_wards(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), OFFICE_NAMES, ids=_ids(OFFICE_NAMES))
def test_office_names(body: str, province: str | None) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), ABBREVIATIONS, ids=_ids(ABBREVIATIONS))
def test_abbreviations(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), TONE_STYLES, ids=_ids(TONE_STYLES))
def test_either_tone_placement(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), NOT_PLACES, ids=_ids(NOT_PLACES))
def test_words_that_look_like_places_do_not_win(body: str, province: None) -> None:
    result = classify(None, body)
    assert result.province_code == province
    assert result.insurance_types  # the message is still tagged by its topic


@pytest.mark.parametrize(("body", "province"), SEVERAL_PLACES, ids=_ids(SEVERAL_PLACES))
def test_the_matters_place_wins(body: str, province: str | None) -> None:
    assert classify("Hỏi về BHXH", body).province_code == province


@pytest.mark.parametrize(("body", "province"), NAMES_AND_PLACES, ids=_ids(NAMES_AND_PLACES))
def test_a_place_after_a_name_like_word(body: str, province: str | None) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), OVERLAPPING_NAMES + ADDRESSES, ids=_ids(OVERLAPPING_NAMES + ADDRESSES))
def test_overlapping_names_and_address_lists(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), ONLY_PLACE_GIVEN, ids=_ids(ONLY_PLACE_GIVEN))
def test_a_place_named_alone_counts_even_if_it_is_a_hometown_or_head_office(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), ASCII_CASE, ids=_ids(ASCII_CASE))
def test_case_and_short_office_names(body: str, province: str) -> None:
    assert classify(None, body).province_code == province


@pytest.mark.parametrize(("body", "province"), WEAK, ids=_ids(WEAK))
def test_weak_evidence_gives_no_province(body: str, province: None) -> None:
    assert classify(None, body).province_code == province


# Insurance types: empty when no insurance matter is raised, whatever words appear.
NO_INSURANCE = [
    ("Tôi không đăng nhập được VssID, báo sai mật khẩu dù đã đổi.", "complaint"),
    ("Mình quên mật khẩu tài khoản VssID, lấy lại kiểu gì ạ?", "question"),
    ("Cảm ơn cán bộ BHXH đã nhiệt tình hỗ trợ em hôm qua!", "other"),
    ("Chúc BHXH Việt Nam năm mới an khang thịnh vượng", "other"),
    ("Cảm ơn ad nhé", "other"),
    ("Ad ơi có ai trực không?", "other"),
    ("Dịch vụ rút BHXH 1 lần nhanh, ứng trước 80%, liên hệ zalo 09xx", "other"),
    ("Vay tiền nhanh không thế chấp, giải ngân trong ngày, inbox ngay", "other"),
    ("Nhận làm thẻ BHYT giá rẻ, hotline 0912xxx, phí dịch vụ thấp", "other"),
    ("Nhận đáo hạn thẻ tín dụng, rút tiền BHXH 1 lần hồ sơ nhanh, ib để được tư vấn", "other"),
    ("Dịch vụ làm lại sổ BHXH, thẻ BHYT nhanh, uy tín, LH 0987xxxxxx", "other"),
    ("Mình có nhóm Zalo hỗ trợ rút bảo hiểm xã hội, ai cần thì kết bạn", "other"),
]


@pytest.mark.parametrize(("body", "category"), NO_INSURANCE, ids=[text[:40] for text, _c in NO_INSURANCE])
def test_no_insurance_type_without_an_insurance_matter(body: str, category: str) -> None:
    result = classify(None, body, "facebook_message")
    assert result.insurance_types == []
    assert result.category == category
    if category == "other":
        assert result.province_code is None


def test_vssid_login_problem_is_tagged_vssid_only() -> None:
    result = classify(None, "App VssID cứ báo lỗi khi đăng nhập, làm sao khắc phục?")
    assert result.insurance_types == []
    assert result.topics == ["VssID"]


@pytest.mark.parametrize(
    "body",
    ["Một dòng duy nhất, không có gì trích dẫn  ", "> chỉ có trích dẫn", "Vào Th 2, 6 thg 10, 2025 BHXH <a@b.vn> đã viết:", "", "-- "],
)
def test_one_line_text_is_cut_as_the_reply_splitter_would(body: str) -> None:
    from classifiers.fields import new_text
    from ingest.email.quotes import split_reply

    assert new_text(body) == split_reply(body)[0]


# Insurance types from what the message is about, not from every word that names one.
ABOUT = [
    ("nghỉ việc 3 tháng rồi mà công ty vẫn ôm sổ không trả, gọi không ai nghe máy", ["BHXH"], "complaint"),  # "sổ" alone
    ("Bố tôi làm mỏ đá 20 năm, nay bị bệnh bụi phổi, công ty không chịu làm hồ sơ giám định", ["BHXH"], "complaint"),  # occupational disease
    ("Kính gửi Ban Giám đốc Bảo hiểm xã hội, gia đình tôi xin cảm ơn cán bộ một cửa đã tận tình hướng dẫn", [], "other"),  # the agency
    ("Cho hỏi mức đóng BHYT hộ gia đình năm nay cho 4 người là bao nhiêu?", ["BHYT"], "question"),  # contribution words fit BHYT too
    ("chi em bi say thai 8 tuan, cong ty noi ko duoc huong gi, dung ko ad", ["BHXH"], "complaint"),  # sẩy thai: maternity
    ("Kính gửi Bảo hiểm xã hội Việt Nam,\nThẻ BHYT của tôi bị ghi sai ngày sinh, tôi phải sửa ở đâu?", ["BHYT"], "complaint"),  # the agency's name
    ("Công ty tôi đóng BHXH cho tôi 10 năm. Tháng trước tôi nằm viện điều trị gãy chân 2 tuần ở bệnh viện, có giấy ra viện. "
     "Xin hỏi chế độ ốm đau được hưởng bao nhiêu?", ["BHXH"], "question"),  # the hospital is context of a sickness claim
    # chat shorthand ("dc", "r", "j", "k", "ko") read as its words; a greeting before the matter is politeness
    ("chao ad, e dong bhxh dc 5 nam, nghi viec r, gio muon rut 1 lan thi can giay to j, lam tren vssid dc k", ["BHXH"], "question"),
    ("ad oi e nop ho so that nghiep 20 ngay r ma goi len trung tam ko ai nghe may", ["BHTN"], "complaint"),
    ("Mua BHYT hộ gia đình cho bố em 65 tuổi, bố em không có lương hưu, giá bao nhiêu?", ["BHYT"], "question"),
    ("Công ty không trả sổ BHXH cho tôi nên tôi chưa nộp được hồ sơ hưởng thất nghiệp.", ["BHTN", "BHXH"], "complaint"),
    ("Tôi nghỉ hưu rồi, thẻ BHYT hưu trí có được cấp tự động không?", ["BHXH", "BHYT"], "question"),
    ("Em tham gia BHXH tự nguyện được 2 năm, có được cấp thẻ BHYT miễn phí không?", ["BHXH", "BHYT"], "question"),
    ("My employer deducted social insurance from my salary but never paid it to the agency.", ["BHXH"], "complaint"),
    ("Tôi bị mất thẻ BHYT, cấp lại mất bao lâu?", ["BHYT"], "question"),  # a lost card: how to replace it
    ("Công ty tôi chưa đóng BHYT nên tôi đi khám phải trả toàn bộ tiền.", ["BHYT"], "complaint"),
    ("I submitted my health insurance reimbursement claim to the social insurance office in Da Nang two months ago and got no reply.", ["BHYT"], "complaint"),
]


@pytest.mark.parametrize(("body", "types", "category"), ABOUT, ids=[text[:40] for text, _t, _c in ABOUT])
def test_insurance_types_follow_the_matter(body: str, types: list[str], category: str) -> None:
    result = classify(None, body)
    assert result.insurance_types == types
    assert result.category == category


# Category: words that fold like a category cue do not count as one; longer phrases win.
CATEGORY = [
    ("Bệnh viện huyện có khám BHYT ngoài giờ hành chính không ạ?", "question"),  # "hành chính", not "hành"
    ("Tôi là viên chức trường học, nghỉ hưu trước tuổi thì lương hưu tính thế nào?", "question"),  # not "chúc"
    ("Hồ sơ hưởng thai sản và giấy tờ kèm theo gồm những gì?", "question"),  # "kèm theo", not "kém"
    ("Tôi 58 tuổi, đóng BHXH 22 năm, đủ điều kiện nghỉ hưu chưa?", "question"),  # not "kiến nghị"
    ("Nộp hồ sơ hưởng thai sản 2 tháng rồi vẫn chưa có kết quả.", "complaint"),
    ("Đi khám bị tính tiền dịch vụ dù thẻ BHYT còn hạn, ad kiểm tra giúp em.", "complaint"),
    ("Chúc các anh chị cán bộ BHXH sức khỏe!", "other"),
    ("Nếu tôi không làm hồ sơ hưởng thất nghiệp bây giờ thì thời gian đóng có được bảo lưu không?", "question"),
    # greetings and closing formulas are politeness around a question, and "other" alone
    ("Chào Trung tâm,\nBộ phận một cửa BHXH ở đường Trần Phú có làm việc sáng thứ Bảy không?\nCảm ơn Trung tâm.\nLê Văn Hùng", "question"),
    ("Chào ad, cho mình xin địa chỉ BHXH cơ sở gần nhất với.\nXin cảm ơn.", "question"),
    ("Thẻ BHYT của mẹ em đã được cấp lại rồi.\nCảm ơn ad.", "other"),
    ("Công ty cũ giữ sổ của tôi, nghỉ 2 tháng rồi vẫn không trả.", "complaint"),
    ("Chào ad", "other"),
    ("Cảm ơn ad", "other"),
]


@pytest.mark.parametrize(("body", "category"), CATEGORY, ids=[text[:40] for text, _c in CATEGORY])
def test_category(body: str, category: str) -> None:
    assert classify(None, body).category == category


def test_decomposed_unicode_gets_the_same_tags() -> None:
    import unicodedata

    body = "Tôi ở thị xã Dĩ An, Bình Dương, công ty nợ đóng BHXH."
    composed, decomposed = classify(None, body), classify(None, unicodedata.normalize("NFD", body))
    assert (decomposed.insurance_types, decomposed.province_code, decomposed.category) == (
        composed.insurance_types, composed.province_code, composed.category)
    assert [e.phrase for e in decomposed.evidence] == [e.phrase for e in composed.evidence]


@pytest.mark.parametrize(
    ("body", "not_a_cue"),
    [
        ("Khu kinh tế Dung Quất: công ty chậm đóng BHXH 2 tháng, xin hỏi lãi chậm đóng tính thế nào?", "Quất"),  # not "quát"
        ("Mẹ tôi đã có thẻ BHYT hưu trí nhưng bệnh viện bắt trả tiền hết", "có thẻ"),  # not "có thể"
    ],
)
def test_a_cue_written_with_tone_marks_keeps_them(body: str, not_a_cue: str) -> None:
    phrases = [e.phrase for e in classify(None, body).evidence if e.tag.startswith("category:")]
    assert phrases and not_a_cue not in phrases
    # without tone marks the text cannot tell them apart, and the cue counts
    folded = body.replace("Quất", "Quat").replace("có thẻ", "co the")
    assert any(e.phrase in ("Quat", "co the") for e in classify(None, folded).evidence)


SUBJECTS = [  # (subject, body, category): a subject that opens by saying what the letter is
    ("Hỏi cách tính tiền lãi chậm đóng BHXH", "Công ty chúng tôi chậm đóng BHXH 2 tháng do khó khăn. Tiền lãi tính thế nào, nộp bù ra sao?", "question"),
    ("V/v hỏi thủ tục chốt sổ khi công ty đang nợ BHXH", "Công ty nợ BHXH 3 tháng, người lao động nghỉ việc thì chốt sổ thế nào?", "question"),
    ("Khiếu nại việc chi trả lương hưu", "Tháng này bố tôi nhận lương hưu ở bưu điện, xin hỏi vì sao số tiền ít hơn mọi tháng?", "complaint"),
    # a reply's subject is the first letter's: the reply is a thank-you
    ("Re: Hướng dẫn cấp lại mật khẩu VssID", "Dạ em cảm ơn anh chị nhiều, em đăng nhập được rồi ạ.", "other"),
]


@pytest.mark.parametrize(("subject", "body", "category"), SUBJECTS, ids=[s for s, _b, _c in SUBJECTS])
def test_a_subject_that_says_what_the_letter_is(subject: str, body: str, category: str) -> None:
    assert classify(subject, body, "email").category == category


SUPPOSITIONS = [  # a complaint word in a supposition or a yes-no question; the same word reported
    ("Nếu công ty không đóng BHXH thì tôi có bị mất quyền lợi thai sản không?", "question"),
    ("Em nộp hồ sơ thất nghiệp rồi thì có bị mất thời gian đóng BHXH không ạ?", "question"),
    ("Tôi bị mất thời gian đóng BHXH 2 năm do công ty cũ không báo tăng, có ai giúp không?", "complaint"),
    ("Bưu điện trả thiếu lương hưu tháng này cho mẹ tôi 500 nghìn, hỏi thì bảo chờ", "complaint"),
    ("trung tâm dịch vụ việc làm tạm dừng trợ cấp thất nghiệp của em dù em có giấy ra viện", "complaint"),
]


@pytest.mark.parametrize(("body", "category"), SUPPOSITIONS, ids=[text[:40] for text, _c in SUPPOSITIONS])
def test_a_supposition_is_not_a_complaint(body: str, category: str) -> None:
    assert classify(None, body).category == category


PLACE_FORMS = [  # office types, punctuation inside addresses, the district post office that pays pensions
    ("BHXH QUẬN HOÀNG MAI GIẢI QUYẾT HỒ SƠ GỘP SỔ CHẬM NHƯ RÙA, 3 THÁNG CHƯA XONG", "01", "complaint"),  # a quận: Hà Nội's
    ("Cảm ơn cán bộ BHXH thị xã Hoàng Mai đã hướng dẫn tôi làm hồ sơ hưởng lương hưu", "40", "other"),  # the thị xã: Nghệ An's
    ("Bố tôi điều trị ở bệnh viện Quân y 103 (Hà Đông, Hà Nội), mức hưởng BHYT của cựu chiến binh là bao nhiêu?", "01", "question"),
    ("Bưu điện Võ Nhai chi trả lương hưu cho bà tôi chậm 10 ngày mà không thông báo gì", "19", "complaint"),
    # a central hospital is where it is, whatever province the patient comes from
    ("Mẹ tôi có giấy chuyển viện của tỉnh lên Bệnh viện Bạch Mai mà bị bắt khám dịch vụ", "01", "complaint"),
    # a locative word between a company word and the place: the place is where the company is
    ("cty e o KCN VSIP 1 Thuan An no bhxh 8 thang r, e nghi viec ma ko chot so dc", "79", "complaint"),
    ("@Hà Giang Lê vào đọc nè chị", None, "other"),  # a person tagged in a comment
]


@pytest.mark.parametrize(("body", "province", "category"), PLACE_FORMS, ids=[text[:40] for text, _p, _c in PLACE_FORMS])
def test_office_types_addresses_and_post_offices(body: str, province: str, category: str) -> None:
    result = classify(None, body)
    assert (result.province_code, result.category) == (province, category)


OUTSIDE_THE_SERVICE = [  # a question with no insurance matter and nothing of the agency is off-topic
    ("Cho mình hỏi đăng ký kết hôn ở phường cần mang giấy gì ạ?", "other"),
    ("shop ơi cái váy này còn size S không ạ", "other"),
    ("Cho tôi xin số điện thoại và địa chỉ BHXH Bình Dương sau sáp nhập. Cảm ơn.", "question"),  # the agency's office, with thanks
    ("gọi tổng đài cả sáng không ai nghe, toàn báo máy bận", "complaint"),  # the agency's hotline
    ("Chào anh chị, em gửi lại file ảnh sơ kết quý 3, anh chị tải về giúp em trước thứ Sáu nhé", "other"),  # "sơ" is not "sổ"
    ("Cho mình hỏi giờ làm việc của bộ phận một cửa ở phường mình có làm thứ Bảy không?", "question"),  # the one-stop desk
    ("cty tru tien bh hang thang ma tra tren app thay ko dong tu thang 3, e phai lam sao", "complaint"),  # "bh": arrears
    ("BV huyện bắt bệnh nhân tự ra ngoài mua thuốc dù có thẻ BHYT, ai kiểm tra dùm", "complaint"),
]


@pytest.mark.parametrize(("body", "category"), OUTSIDE_THE_SERVICE, ids=[text[:40] for text, _c in OUTSIDE_THE_SERVICE])
def test_questions_outside_the_service_are_other(body: str, category: str) -> None:
    assert classify(None, body).category == category


@pytest.mark.parametrize(
    ("body", "topics"),
    [
        ("Tôi nộp hồ sơ BHXH một lần ở bưu điện được không?", ["BHXH một lần"]),  # "hồ sơ", not "sổ"
        ("Công ty chưa trả sổ BHXH cho tôi", ["sổ BHXH"]),
        ("cong ty chua tra so bhxh cho toi", ["sổ BHXH"]),  # without tone marks the phrase matches either way
    ],
)
def test_topic_phrases_written_with_tone_marks_keep_them(body: str, topics: list[str]) -> None:
    assert classify(None, body).topics == topics
