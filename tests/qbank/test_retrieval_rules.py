"""Retrieval rules that could fail: everyday phrases read as insurance terms, the classifier's tags
as a prior, the own-file and outside-matter signals, silence on questions no entry answers, and
evaluate-bank's figures on a small fixture computed by hand."""

from __future__ import annotations

import pytest

from qbank.entry import BankEntry
from qbank.evaluate import evaluate_bank, score_runs
from qbank.represent import read_words, tokens_of
from qbank.retrieve import BankIndex, Suggestion, build_index, suggest

NO_TAGS = {"insurance_types": [], "topics": [], "category": "question"}


def test_an_everyday_phrase_adds_the_term_it_means_and_keeps_its_own_words() -> None:
    words = [w.folded for w in read_words(None, "Tôi bị bỏng tay ở xưởng")]
    assert words[:5] == ["toi", "bi", "bong", "tay", "o"]
    assert words[-4:] == ["tai", "nan", "lao", "dong"]
    tokens = tokens_of(read_words(None, "Tôi bị bỏng tay ở xưởng"))
    assert "tai_nan" in tokens and "lao_dong" in tokens
    assert not any(t.startswith("xuong_") for t in tokens)  # no bigram across the added term


def test_a_term_met_twice_is_added_once() -> None:
    words = [w.folded for w in read_words(None, "mẹ em mang thai, chị em cũng đang có thai")]
    assert words.count("thai") == 3  # twice as written, once for the term "thai sản"
    assert words.count("san") == 1


def test_an_everyday_phrase_finds_the_entry_that_uses_the_term() -> None:
    index = build_index(
        [
            BankEntry("accident", "Bị tai nạn lao động thì được hưởng quyền lợi gì?", "Trợ cấp tai nạn lao động."),
            BankEntry("card", "Thẻ bị rách thì đổi ở xưởng in nào?", "Đổi tại cơ quan BHXH."),
        ]
    )
    got = suggest(index, None, "chồng em bị máy cắt vào tay ở xưởng", threshold=0.0, calibrator=None, **NO_TAGS)
    assert got[0].entry_id == "accident"
    assert "máy cắt" in got[0].matched


def test_the_insurance_type_the_message_names_is_preferred() -> None:
    question = "Bị mất thì xin cấp lại ở đâu?"
    index = build_index([BankEntry("si", question, "a", insurance_type="BHXH"), BankEntry("hi", question, "a", insurance_type="BHYT")])
    as_health = suggest(index, None, "mất cấp lại ở đâu", threshold=0.0, calibrator=None, insurance_types=["BHYT"], topics=[], category="question")
    as_social = suggest(index, None, "mất cấp lại ở đâu", threshold=0.0, calibrator=None, insurance_types=["BHXH"], topics=[], category="question")
    untyped = suggest(index, None, "mất cấp lại ở đâu", threshold=0.0, calibrator=None, **NO_TAGS)
    assert [s.entry_id for s in as_health] == ["hi", "si"] and as_health[0].score > as_health[1].score
    assert [s.entry_id for s in as_social] == ["si", "hi"] and as_social[0].score > as_social[1].score
    assert untyped[0].score == untyped[1].score
    # A complaint is less often answered by a general entry than a question is.
    complaint = suggest(index, None, "mất cấp lại ở đâu", threshold=0.0, calibrator=None, insurance_types=[], topics=[], category="complaint")
    assert complaint[0].score < untyped[0].score


def test_a_message_about_ones_own_file_is_less_sure_than_the_same_question(sample_index: BankIndex) -> None:
    general = suggest(sample_index, None, "hồ sơ hưởng thai sản gồm những gì, nộp cho ai", threshold=0.0)
    own = suggest(sample_index, None, "hồ sơ hưởng thai sản em đã nộp cho công ty, nay vẫn chưa nhận được tiền", threshold=0.0)
    assert general and own
    assert own[0].score < general[0].score


@pytest.mark.parametrize(
    "body",
    [
        "Cho hỏi giá vé xe khách từ Hà Nội đi Sa Pa bao nhiêu tiền",
        "Bảo hiểm thân vỏ ô tô có đền khi xe bị ngập nước không ạ",
        "Người bán hàng online phải nộp thuế thu nhập cá nhân thế nào",
        "quán phở nào gần cơ quan ngon vậy mọi người",
        "Tôi muốn vay tiền ngân hàng mua nhà thì cần thế chấp gì",
    ],
)
def test_no_suggestion_for_a_question_no_entry_answers(sample_index: BankIndex, body: str) -> None:
    assert suggest(sample_index, None, body) == []


@pytest.mark.parametrize(
    "body",
    [
        "Tôi đã nộp hồ sơ hưởng trợ cấp thất nghiệp từ tháng 8 mà đến nay vẫn chưa nhận được tiền, nhờ kiểm tra giúp",
        "hồ sơ rút bhxh 1 lần của em nộp từ tháng 10, có giấy hẹn rồi mà chưa thấy tiền về",
        "Đề nghị kiểm tra giúp tôi lương hưu tháng này bị thiếu",
        "Bảo hiểm nhân thọ có được trừ thuế không",
        "công ty cho thôi việc thì trợ cấp thôi việc tính sao",
    ],
)
def test_no_suggestion_about_ones_own_file_or_a_matter_the_agency_does_not_handle(sample_index: BankIndex, body: str) -> None:
    # They reuse the entries' words (nộp hồ sơ, trợ cấp, lương hưu), so only the signals of
    # qbank/data/signals.toml tell them apart.
    assert suggest(sample_index, None, body) == []


def test_a_question_the_bank_answers_is_still_suggested(sample_index: BankIndex) -> None:
    got = suggest(sample_index, None, "bị bỏng tay khi đang làm ở công ty thì bảo hiểm có trả gì không")
    assert got and got[0].entry_id == "q31"


def _s(*ids: str) -> list[Suggestion]:
    return [Suggestion(i, 1.0, ()) for i in ids]


def test_figures_computed_by_hand() -> None:
    report = score_runs(
        [
            ("1", ["a"], _s("a", "b")),  # first: reciprocal rank 1
            ("2", ["b"], _s("a", "c", "b")),  # third: 1/3
            ("3", ["c", "d"], _s("d")),  # the second answering entry, first: 1
            ("4", ["c"], _s("a", "b")),  # missed: 0
            ("5", [], []),  # silent: right
            ("6", [], _s("a")),  # suggested though nothing answers it
        ]
    )
    assert (report.answerable, report.unanswerable) == (4, 2)
    assert report.hit_at_1 == pytest.approx(2 / 4)
    assert report.hit_at_3 == pytest.approx(3 / 4)
    assert report.mrr == pytest.approx((1 + 1 / 3 + 1 + 0) / 4)
    assert report.no_suggestion_when_none == pytest.approx(1 / 2)
    assert [m[0] for m in report.misses] == ["2", "4", "6"]


def test_evaluate_bank_on_a_small_bank_computed_by_hand() -> None:
    index = build_index(
        [
            BankEntry("pension", "Lương hưu hằng tháng được tính thế nào?", "Theo số năm đóng."),
            BankEntry("card", "Mất thẻ bảo hiểm y tế thì cấp lại ở đâu?", "Tại cơ quan BHXH.", insurance_type="BHYT"),
            BankEntry("vssid", "Quên mật khẩu VssID thì làm sao?", "Dùng chức năng quên mật khẩu."),
        ]
    )
    queries = [
        {"id": "1", "body": "lương hưu tính thế nào", "answer_ids": ["pension"]},
        {"id": "2", "body": "mất thẻ bhyt cấp lại ở đâu", "answer_ids": ["card"]},
        {"id": "3", "body": "quên mật khẩu vssid", "answer_ids": ["pension"]},  # labeled wrongly on purpose: a miss
        {"id": "4", "body": "giá vàng hôm nay", "answer_ids": []},  # no word of any entry: silent
    ]
    report = evaluate_bank(index, queries, threshold=0.0)
    # 1 and 2 first; 3's labeled entry shares no word with it, so it is not among the suggestions.
    assert report.hit_at_1 == pytest.approx(2 / 3)
    assert report.hit_at_3 == pytest.approx(2 / 3)
    assert report.mrr == pytest.approx(2 / 3)
    assert report.no_suggestion_when_none == 1.0


def test_english_words_never_rewrite_a_vietnamese_syllable(sample_bank: list[BankEntry]) -> None:
    # An English key that is also a folded Vietnamese syllable ("thai" of thai sản) would rewrite
    # Vietnamese messages; the bank's own words show which syllables are Vietnamese.
    import tomllib

    from classifiers.text import fold, words_and_bounds
    from qbank.represent import TERMS_FILE

    english = tomllib.loads(TERMS_FILE.read_text(encoding="utf-8"))["english"]
    bank_words: set[str] = set()
    for entry in sample_bank:
        bank_words |= set(words_and_bounds(fold(f"{entry.question} {entry.answer}"))[0])
    collisions = {key for key in english if " " not in key and fold(key) in bank_words}
    assert collisions <= {"app"}  # the bank itself writes "app" for ứng dụng
    assert [w.folded for w in read_words(None, "nghỉ thai sản")] == ["nghi", "thai", "san"]


def test_a_foreign_worker_writing_in_english_finds_the_entry_for_foreigners(sample_index: BankIndex) -> None:
    got = suggest(sample_index, None, "Hello, I'm a Japanese engineer in Da Nang on a work permit. Must I pay social insurance here?", threshold=0.0)
    assert "q47" in [s.entry_id for s in got[:2]]
