"""How retrieval reads a message: folding, marks, shorthand, abbreviations, quoted history."""

from __future__ import annotations

from qbank.entry import BankEntry
from qbank.represent import read_words, tokens_of
from qbank.retrieve import build_index, suggest


def _folded(subject: str | None, body: str) -> list[str]:
    return [w.folded for w in read_words(subject, body)]


def test_tone_marks_and_d_are_folded_and_the_marked_form_kept() -> None:
    tokens = tokens_of(read_words(None, "Đổi thẻ bảo hiểm"))
    assert {"doi", "đổi", "the", "thẻ", "doi_the", "đổi_thẻ"} <= set(tokens)
    unmarked = tokens_of(read_words(None, "doi the bao hiem"))
    assert "doi_the" in unmarked and "thẻ" not in unmarked


def test_shorthand_and_abbreviations_read_as_their_words() -> None:
    words = _folded(None, "ko biet dc bhyt dung ntn")
    assert words[:2] == ["khong", "biet"]
    assert "duoc" in words and words[words.index("duoc") + 1 : words.index("duoc") + 5] == ["bao", "hiem", "y", "te"]
    assert words[-3:] == ["nhu", "the", "nao"]


def test_quoted_history_greeting_and_signature_are_not_read() -> None:
    body = (
        "Kính gửi BHXH quận Hai Bà Trưng,\n"
        "Tôi muốn hỏi thủ tục cấp lại thẻ.\n"
        "Trân trọng,\n"
        "Phạm Thị Lan\n"
        "0987 654 321\n"
        "\n"
        "Vào 10:15 ngày 2/12/2026, BHXH <hotro@example.vn> đã viết:\n"
        "> Về lương hưu hằng tháng của ông\n"
    )
    words = _folded(None, body)
    assert "thu" in words and "tuc" in words
    for absent in ("trung", "lan", "luong", "huu", "quan"):
        assert absent not in words, absent


def test_a_marked_message_prefers_the_entry_written_with_the_same_marks() -> None:
    entries = [
        BankEntry("so", "Mất sổ thì làm lại ở đâu", "a"),
        BankEntry("so2", "Mất số thì làm lại ở đâu", "b"),
    ]
    index = build_index(entries)
    marked = suggest(index, None, "mất sổ làm lại ở đâu", threshold=0.0, insurance_types=[], topics=[], category="question")
    assert [s.entry_id for s in marked][0] == "so"
    assert marked[0].score > marked[1].score
    unmarked = suggest(index, None, "mat so lam lai o dau", threshold=0.0, insurance_types=[], topics=[], category="question")
    assert unmarked[0].score == unmarked[1].score  # without marks both fit as well


def test_quoted_history_does_not_decide_the_suggestion() -> None:
    entries = [BankEntry("pension", "Lương hưu được tính thế nào", "a"), BankEntry("card", "Mất thẻ bảo hiểm y tế cấp lại ở đâu", "b")]
    index = build_index(entries)
    body = "Em bị mất thẻ bảo hiểm y tế, cấp lại ở đâu ạ?\n\nOn Mon, 1 Dec 2026 at 09:00, BHXH <a@example.vn> wrote:\n> lương hưu lương hưu được tính thế nào"
    got = suggest(index, None, body, threshold=0.0)
    assert got[0].entry_id == "card"
    assert all(s.entry_id != "pension" for s in got)  # the history's words match nothing


def test_matched_words_are_as_written_without_greetings() -> None:
    index = build_index([BankEntry("card", "Mất thẻ BHYT thì xin cấp lại ở đâu?", "a")])
    got = suggest(index, None, "ad ơi cho em hỏi mat the bhyt thi cap lai o dau a", threshold=0.0)
    assert got and set(got[0].matched) >= {"mat", "the", "bhyt", "cap", "lai"}
    assert not {"ad", "ơi", "em"} & set(got[0].matched)


def test_the_chat_pronoun_e_says_nothing_like_em() -> None:
    # "cho e hỏi" is "cho em hỏi": neither pronoun is a token, so neither matches an entry.
    assert tokens_of(read_words(None, "cho e hỏi thẻ bhyt")) == tokens_of(read_words(None, "cho em hỏi thẻ bhyt"))
    assert "e" not in tokens_of(read_words(None, "e muốn rút bhxh"))
