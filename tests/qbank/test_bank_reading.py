"""The bank's entries are read for the index by qbank.represent.question_tokens / answer_tokens
(parallel lists of forms, no object per word: the cold build of a large bank is several times
quicker, bench/bench_qbank.py). They must give exactly the tokens of the message reader
(read_words / read_bank_words + tokens_of), so the index, and every ranking, stays the same."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from qbank.entry import BankEntry
from qbank.index_cache import cached_index
from qbank.retrieve import BankIndex, IndexedEntry, Ranker, build_index, entry_text, entry_tokens, suggest, topics_of_fields
from qbank.represent import answer_tokens, question_tokens, read_bank_words, read_words, tokens_of
from classifiers.classify import classify
from classifiers.fields import read_fields
from classifiers.insurance import longest_cues, tag_insurance
from classifiers.lexicon import lexicon

from .conftest import DATA

# Texts that take every branch of the reader: a greeting line, a closing with a signature,
# quoted history, chat shorthand, abbreviations, English, concepts, stopwords, no marks at all.
EDGE_TEXTS = (
    "Kính gửi BHXH quận 3,\nCho em hỏi mất thẻ bhyt thì xin cấp lại ở đâu ạ?\nXin cảm ơn.\nNguyễn Văn A\n0912345678",
    "Chào anh chị\nko biết e bị bỏng ở xưởng thì có được hưởng tnld ko",
    "Hello, my work permit expired, can I get a refund of social insurance?",
    "dong bhtn 11 thang thi co duoc huong that nghiep ko",
    "Tôi có bầu 5 tháng, công ty nợ BHXH thì có được thai sản không?\n\n> On Mon, someone wrote:\n> trích dẫn cũ",
    "",
    "ạ ạ ạ",
    # Letters whose lower case is not one letter for one ("İ" → "i̇") or depends on the next
    # letter (final sigma): the entry reader lowers the whole text at once only without them.
    "ΣΟΦΙΑ ΣΑΣ đóng BHXH ở İstanbul",
    "ΣΟΦΙΑ đóng BHXH",
    # Selling phrases: the classifier keeps no topic of an advertisement.
    "Nhận làm dịch vụ rút BHXH 1 lần nhanh gọn, bao đậu, giá rẻ, liên hệ zalo 0912345678 để được tư vấn miễn phí, cam kết hoàn tiền",
)


def _query_texts() -> list[str]:
    from qbank.fit_calibrator import read_queries

    out: list[str] = []
    for name in ("queries_dev.jsonl", "queries_heldout.jsonl", "queries_heldout2.jsonl"):
        out += [q["body"] for q in read_queries(DATA / name)]
    return out


@pytest.fixture(scope="module")
def texts(sample_bank: list[BankEntry]) -> list[str]:
    return [entry_text(e) for e in sample_bank] + [e.answer for e in sample_bank] + _query_texts() + list(EDGE_TEXTS)


def test_question_tokens_are_the_message_readers(texts: list[str]) -> None:
    differing = [text[:60] for text in texts if Counter(question_tokens(text)) != Counter(tokens_of(read_words(None, text)))]
    assert differing == []
    assert question_tokens(EDGE_TEXTS[0])  # something is read (an empty reader would also agree on "")


def test_answer_tokens_are_the_bank_readers(texts: list[str]) -> None:
    differing = [text[:60] for text in texts if Counter(answer_tokens(text)) != Counter(tokens_of(read_bank_words(text)))]
    assert differing == []


def test_topics_read_from_the_entrys_fields_are_the_classifiers(texts: list[str]) -> None:
    """An entry's fields are read once for its tokens and its topics (qbank.retrieve.topics_of_fields):
    the topics must be classify()'s."""
    lex = lexicon()
    differing = [text[:60] for text in texts if topics_of_fields(read_fields(None, text, lex)) != tuple(classify(None, text).topics)]
    assert differing == []
    advert = EDGE_TEXTS[-1]
    fields = read_fields(None, advert, lex)
    assert tag_insurance(fields, lex, [], longest_cues(fields))[1]  # the insurance rules alone find a topic …
    assert topics_of_fields(fields) == ()  # … which the spam rule takes away, as classify() does
    assert sum(1 for text in texts if topics_of_fields(read_fields(None, text, lex))) > len(texts) // 3


def test_an_entry_read_once_is_read_as_each_reader_reads_it(sample_bank: list[BankEntry]) -> None:
    for entry in sample_bank:
        read = entry_tokens(entry)
        assert Counter(read.question) == Counter(question_tokens(entry_text(entry)))
        assert Counter(read.answer) == Counter(answer_tokens(entry.answer))
        assert read.topics == tuple(classify(None, entry_text(entry)).topics)


def _reference_index(entries: list[BankEntry]) -> BankIndex:
    """The index as built before the fast readers: a Word per word, through the message reader."""
    questions = [tokens_of(read_words(None, entry_text(e))) for e in entries]
    answers = [tokens_of(read_bank_words(e.answer)) for e in entries]
    indexed = [
        IndexedEntry(e, " ".join(sorted(set(q) | set(a))), frozenset(classify(None, entry_text(e)).topics))
        for e, q, a in zip(entries, questions, answers, strict=True)
    ]
    return BankIndex(indexed, Ranker.of(questions), Ranker.of(answers))


def _rankings(index: BankIndex, queries: list[dict[str, Any]]) -> list[list[tuple[str, float, tuple[str, ...]]]]:
    return [
        [(s.entry_id, s.score, s.matched) for s in suggest(index, q.get("subject"), q["body"], threshold=0.0)] for q in queries
    ]


def test_the_index_ranks_as_the_reference_reading_does(sample_bank: list[BankEntry], sample_index: BankIndex, dev_queries: list[dict[str, Any]]) -> None:
    reference = _reference_index(sample_bank)
    assert reference.questions.document_frequency == sample_index.questions.document_frequency
    assert reference.answers.document_frequency == sample_index.answers.document_frequency
    assert [item.tokens for item in reference.entries] == [item.tokens for item in sample_index.entries]
    got = _rankings(sample_index, dev_queries)
    assert got == _rankings(reference, dev_queries)
    assert sum(1 for ranking in got if ranking) > len(dev_queries) // 2  # the comparison compares something


def test_cold_built_and_cache_loaded_indexes_rank_the_dev_queries_alike(
    sample_bank: list[BankEntry], dev_queries: list[dict[str, Any]], tmp_path: Path
) -> None:
    cold = cached_index(sample_bank, tmp_path)  # built: nothing cached yet
    loaded = cached_index(sample_bank, tmp_path)
    assert loaded is not cold
    assert _rankings(loaded, dev_queries) == _rankings(cold, dev_queries) == _rankings(build_index(sample_bank), dev_queries)
