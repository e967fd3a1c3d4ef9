"""Tag a message: insurance types, province (2025 map), category, topics — with evidence.

Pure functions over the subject and the clean text. Matching runs on folded tokens (see
classifiers/text.py); every tag keeps the phrases that support it, with their offsets in the
original text, and a confidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TypeVar

from classifiers.lexicon import END, Cue, Lexicon, PlaceGroup, Shorthand, TrieNode, TriePayload, lexicon
from classifiers.result import Classification, Evidence
from classifiers.text import first_word, first_words, fold, words_and_bounds, written_form
from ingest.email.quotes import split_reply

INSURANCE_ORDER = ("BHTN", "BHXH", "BHYT")
# Words before a place that say "this is where": the office, the workplace, the hospital.
LOCATIVE = {("tinh",), ("thanh", "pho"), ("tp",), ("q",), ("p",), ("huyen",), ("quan",), ("thi", "xa"), ("tx",), ("phuong",), ("xa",),
            ("o",), ("tai",), ("bhxh",), ("khu", "vuc"), ("kcn",), ("benh", "vien"), ("bv",), ("tinh", "thanh"), ("ve",), ("thuoc",),
            ("chi", "nhanh"), ("co", "so"), ("buu", "dien"), ("ttyt",)}  # "bưu điện Võ Nhai": the district's post office
# Words before a place that say it is somebody's name or a company's.
# Written with tone marks: "việc làm Đồng Nai" is a job centre, "Lâm Đồng Nai" would be a name.
TITLES_WRITTEN = {"anh", "chị", "em", "ông", "bà", "cô", "chú", "bác", "bạn", "tên", "là"}
NAMES_WRITTEN = {"nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ", "hồ", "ngô", "dương", "lý", "thị", "văn",
                 "đinh", "trịnh", "mai", "lương", "lâm"}
PERSON_WRITTEN = TITLES_WRITTEN | NAMES_WRITTEN
PERSON = {fold(word) for word in PERSON_WRITTEN}
TITLES = {fold(word) for word in TITLES_WRITTEN}
COMPANY = {("cong", "ty"), ("cty",), ("tnhh",), ("tap", "doan"), ("ngan", "hang"), ("thuong", "hieu"), ("doanh", "nghiep"), ("hop", "tac", "xa"), ("cua", "hang")}
# Places named for where someone comes from, or a head office elsewhere, count little.
ELSEWHERE = {("truoc",), ("que", "quan"), ("nguyen", "quan"), ("sinh", "ra"), ("goc",), ("tru", "so"), ("tru", "so", "chinh"), ("tong", "cong", "ty"), ("truoc", "day"), ("hoi", "truoc")}


def _phrase_finder(phrases: set[tuple[str, ...]] | tuple[tuple[str, ...], ...]) -> re.Pattern[str]:
    """Finds any of the phrases, as whole words, in " w1 w2 … " (see _words_before)."""
    return re.compile("|".join(re.escape(f" {' '.join(phrase)} ") for phrase in sorted(phrases)))


ELSEWHERE_FINDER = _phrase_finder(ELSEWHERE)
# Words just before a place that say it is where the sender is now.
NOW = {"gio", "hien", "nay"}
NOW_WINDOW = 3
NOW_WEIGHT = 1.5
QUESTION_MARK = re.compile(r"\?")
MIN_PROVINCE_SCORE = 1.0
ELSEWHERE_WEIGHT = 0.3
SIGNATURE_WEIGHT = 0.5
LOWER_CASE_WEIGHT = 0.5
SHORT_ALIAS = 3
MAX_SIGNATURE_LINES = 6
MAX_SIGNATURE_LINE = 120
INSURANCE_SHARE = 0.45
SPAM_THRESHOLD = 2
T = TypeVar("T")


Span = tuple[int, int, T]  # (first token index, index after the last token, what matched)
CueSpan = tuple[int, int, tuple[Cue, ...]]
PlaceSpan = tuple[int, int, PlaceGroup]


@dataclass  # not frozen: built twice per message, and a frozen dataclass of 11 fields costs 4 µs to build
class Field:
    name: str  # "subject" | "body"
    text: str
    folded: str  # fold(text) with addresses blanked: same offsets as text
    words: list[str]
    bounds: list[int]  # word i runs from bounds[2*i] to bounds[2*i + 1] (see words_and_bounds)
    cue_spans: list[tuple[int, int, tuple[Cue, ...]]]  # the longest cue phrase at each token that starts one
    subject_spans: list[tuple[int, int, tuple[Cue, ...]]]  # the same for topic, insurance, neutral and spam cues
    place_spans: list[tuple[int, int, PlaceGroup]]  # the longest place name at each token that starts one
    closing_at: int  # offset of a closing line ("Trân trọng,", "Xin cảm ơn."); len(text) when none
    signature_at: int  # offset where a signature below a closing line starts; len(text) when none


    @cached_property
    def capitalised(self) -> bool:
        """The writer uses capital letters (so a place name written in lower case is a common word)."""
        return any(word[:1].isupper() for word in self.text.split())

    def start_of(self, index: int) -> int:
        """Offset where word `index` starts."""
        return self.bounds[2 * index]

    def end_of(self, index: int) -> int:
        """Offset where word `index` ends."""
        return self.bounds[2 * index + 1]

    def written(self, start: int, end: int) -> str:
        """Words start…end-1 as the text has them."""
        return self.text[self.bounds[2 * start] : self.bounds[2 * end - 1]]


_ADDRESSES = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|\b[\w-]+(\.[\w-]+)+\.(vn|com|net|org|gov|edu|info)\b", re.IGNORECASE)
# What each alternative of _ADDRESSES must contain: most texts have none, and skip the scan.
_TOP_LEVEL_DOMAIN = re.compile(r"\.(?:vn|com|net|org|gov|edu|info)\b")


def _mask_addresses(folded: str) -> str:
    """Blank out email addresses, URLs and host names ("mx1.bhxh-cskh.vn"), keeping offsets.

    Most texts have none: the cheap tests of what each alternative of _ADDRESSES must contain
    (in folded, so lower-case, text) skip the scan.
    """
    if not ("@" in folded or "://" in folded or "www." in folded or _TOP_LEVEL_DOMAIN.search(folded)):
        return folded
    return _ADDRESSES.sub(lambda m: " " * len(m.group()), folded)


def _scan(words: list[str], trie: TrieNode) -> tuple[list[CueSpan], list[CueSpan], list[PlaceSpan]]:
    """One pass over the tokens: at each token, the longest cue phrase (any, and subject cues
    only) and the longest place name starting there."""
    cue_spans: list[CueSpan] = []
    subject_spans: list[CueSpan] = []
    place_spans: list[PlaceSpan] = []
    count = len(words)
    head = trie.get
    for index in range(count):
        node = head(words[index])
        if node is None:
            continue
        cue_hit: CueSpan | None = None
        subject_hit: CueSpan | None = None
        place_hit: PlaceSpan | None = None
        after = index
        while True:
            after += 1
            payload: TriePayload | None = node.get(END)
            if payload is not None:
                cues, subject_cues, places = payload
                if cues:
                    cue_hit = (index, after, cues)
                if subject_cues:
                    subject_hit = (index, after, subject_cues)
                if places:
                    place_hit = (index, after, places)
            if after == count:
                break
            node = node.get(words[after])
            if node is None:
                break
        if cue_hit:
            cue_spans.append(cue_hit)
        if subject_hit:
            subject_spans.append(subject_hit)
        if place_hit:
            place_spans.append(place_hit)
    return cue_spans, subject_spans, place_spans


def _longest_only(spans: list[Span[T]]) -> list[Span[T]]:
    """Left to right, each match consumes its words: no match starts inside an earlier one."""
    out = []
    reach = 0
    for span in spans:
        if span[0] >= reach:
            out.append(span)
            reach = span[1]
    return out


def _new_text(body: str) -> str:
    """What the author wrote now: quoted history and signature cut off.

    One line has no history or signature below it (split_reply gives it back stripped), so
    most chat messages skip the line-by-line scan.
    """
    if "\n" not in body and "\r" not in body:
        return body.strip()
    new_text, _history = split_reply(body)
    return new_text


def _fields(subject: str | None, body: str, lex: Lexicon) -> list[Field]:
    # Classifiers see only what the author wrote now: quoted history and signatures out.
    new_text = _new_text(body or "")
    out = []
    for name, raw in (("subject", subject or ""), ("body", new_text)):
        text = unicodedata.normalize("NFC", raw)  # offsets in the folded text are offsets in this
        folded = _mask_addresses(fold(text))
        words, bounds = words_and_bounds(folded)
        if not lex.shorthand.keys().isdisjoint(words):
            words, bounds = _expand_shorthand(words, bounds, lex.shorthand)
        cue_spans, subject_spans, place_spans = _scan(words, lex.trie)
        if not text.isascii():
            cue_spans, subject_spans = _as_written_cues(text, bounds, cue_spans), _as_written_cues(text, bounds, subject_spans)
        closing_at, signature_at = _closing(folded, lex) if name == "body" else (len(text), len(text))
        out.append(Field(name, text, folded, words, bounds, cue_spans, subject_spans, place_spans, closing_at, signature_at))
    return out


def _expand_shorthand(words: list[str], bounds: list[int], shorthand: Shorthand) -> tuple[list[str], list[int]]:
    """Chat shorthand read as its words ("ko" → "khong", "ntn" → "nhu the nao"); each word of
    an expansion keeps the offsets of the token it came from, so evidence shows "ko"."""
    expanded_words: list[str] = []
    expanded_bounds: list[int] = []
    for index, word in enumerate(words):
        start, end = bounds[2 * index], bounds[2 * index + 1]
        for part in shorthand.get(word, (word,)):
            expanded_words.append(part)
            expanded_bounds += (start, end)
    return expanded_words, expanded_bounds


def _closing(folded: str, lex: Lexicon) -> tuple[int, int]:
    """(start of the closing line, start of the signature) of a letter, or (len, len).

    The closing is the last line that is only a formula ("Trân trọng,", "Xin cảm ơn.") with at
    most a few short lines below it (name, job, company, address, phone); otherwise the
    formula was a thank-you in the middle of the letter. Without lines below, there is no
    signature.
    """
    lines = folded.split("\n")
    offset = len(folded)
    below = 0
    for line in reversed(lines):
        offset -= len(line)
        if _is_closing(line, lex):
            return offset, (offset + len(line) if below else len(folded))
        if line.strip():
            below += 1
            if below > MAX_SIGNATURE_LINES or len(line) > MAX_SIGNATURE_LINE:
                break
        offset -= 1  # the newline
    return len(folded), len(folded)


def _is_closing(line: str, lex: Lexicon) -> bool:
    """The line is only a closing formula. Its first word, or its length in words, rules most
    lines out before they are read whole."""
    if first_word(line) not in lex.closing_first_words:
        return False
    words = first_words(line, lex.longest_closing + 1)
    return len(words) <= lex.longest_closing and tuple(words) in lex.closings


def _evidence(field: Field, start: int, end: int, tag: str, weight: float) -> Evidence:
    bounds = field.bounds
    first, last = bounds[2 * start], bounds[2 * end - 1]  # see words_and_bounds
    return Evidence(tag, field.text[first:last], field.name, first, last, weight)  # type: ignore[arg-type]


def _as_written(field: Field, start: int, end: int, group: PlaceGroup) -> PlaceGroup | None:
    """The places whose name matches the text with its tone marks, when the text has them.

    Folding makes "làm đồng" look like "Lâm Đồng" and "chữ" like "Chũ"; a writer who uses
    diacritics writes the place's own. Text without diacritics matches by folded form.
    """
    span = field.written(start, end)
    if span.isascii():
        return group
    written = _written_name(span)
    kept = [place for place in group.places if _written_name(place.name) == written]
    return group if len(kept) == len(group.places) else PlaceGroup.of(kept)


_written_name = lru_cache(maxsize=8192)(written_form)


def _as_written_cues(text: str, bounds: list[int], spans: list[CueSpan]) -> list[CueSpan]:
    """Drop the cues written with tone marks that the words, written with theirs, are not:
    "Quất" is not "quát", "có thẻ" is not "có thể", "hồ sơ BHXH" is not "sổ BHXH". Words
    without tone marks match either way. (Cues with a written form come first in a span.)"""
    out = []
    for start, end, cues in spans:
        if cues[0].written:
            span = text[bounds[2 * start] : bounds[2 * end - 1]]
            if not span.isascii():
                written = _written_name(span)
                cues = tuple(cue for cue in cues if not cue.written or cue.written == written)
                if not cues:
                    continue
        out.append((start, end, cues))
    return out


def _is_person_word(field: Field, index: int) -> bool:
    """A title or family name ("chị", "Nguyễn") right before the next word, judged with its
    tone marks when it has them."""
    if field.words[index] not in PERSON:
        return False
    if field.text[field.end_of(index) : field.start_of(index + 1)].strip():
        return False  # "Bạch Mai (Hà Nội)", "Dương, Bình Dương": a name is not cut by punctuation
    as_written = field.written(index, index + 1)
    written = _written_name(as_written)
    if not written.isascii():
        return written in PERSON_WRITTEN
    # Without tone marks a family or middle name is also a common word ("lam" is "làm",
    # "thi" is "thì", "mai" is "tomorrow"): it is told by its capital letter.
    return written in TITLES or as_written[:1].isupper()


BEFORE_WINDOW = 6  # words before a place that are searched for a company or an "elsewhere" word


def _words_before(field: Field, start: int) -> str:
    """The few words before word `start`, as " w1 w2 … " (a phrase is found as " a b ")."""
    return f" {' '.join(field.words[max(0, start - BEFORE_WINDOW) : start])} "


def _in_company_name(field: Field, start: int) -> bool:
    """A company word shortly before the place, with no locative word between ("Công ty TNHH
    Long An", but not "cty em ở KCN VSIP Thuận An")."""
    window = field.words[max(0, start - BEFORE_WINDOW) : start]
    for index in range(len(window) - 1, -1, -1):
        if (window[index],) in LOCATIVE:
            return False
        if any(tuple(window[index : index + size]) in COMPANY for size in (1, 2, 3)):
            return True
    return False


def _names_any(words: str, finder: re.Pattern[str]) -> bool:
    return finder.search(words) is not None


def _immediately_before(field: Field, start: int, n: int) -> tuple[str, ...]:
    return tuple(field.words[max(0, start - n) : start])


def _is_agency_mention(field: Field, start: int, end: int, lex: Lexicon) -> bool:
    """'Kính gửi BHXH', 'BHXH tỉnh Nam Định': the agency, not the insurance."""
    for n in (1, 2):
        if _immediately_before(field, start, n) in lex.agency_before:
            return True
    after = field.words[end : end + 2]
    if not after:
        return True  # "... xin cảm ơn BHXH" at the very end
    return tuple(after[:1]) in lex.agency_after or tuple(after[:2]) in lex.agency_after


# The insurance whose name is also the agency's ("Bảo hiểm xã hội Việt Nam", "BHXH tỉnh …").
AGENCY_INSURANCE = "BHXH"
# Words after the insurance's full name that make it an office's name.
OFFICE_AFTER = {("viet", "nam"), ("vn",), ("tinh",), ("thanh", "pho"), ("tp",), ("huyen",), ("quan",), ("thi", "xa"), ("khu", "vuc"), ("co", "so"), ("trung", "uong")}


def _is_agency_by_name(field: Field, start: int, end: int, lex: Lexicon) -> bool:
    """'Kính gửi Bảo hiểm xã hội', 'Bảo hiểm xã hội Việt Nam', 'Bảo hiểm xã hội tỉnh …'."""
    after = field.words[end : end + 2]
    if tuple(after[:1]) in OFFICE_AFTER or tuple(after) in OFFICE_AFTER:
        return True
    return any(_immediately_before(field, start, n) in lex.agency_before for n in (1, 2))


Matches = dict[str, list[tuple[int, int, tuple[Cue, ...]]]]


def _longest_cues(fields: list[Field]) -> Matches:
    """Longest cue matches per field, computed once for topics, insurance and spam."""
    return {field.name: _longest_only(field.subject_spans) for field in fields}


def _topics_and_insurance(fields: list[Field], lex: Lexicon, evidence: list[Evidence], longest: Matches) -> tuple[list[str], list[str], float]:
    topics: dict[str, float] = defaultdict(float)
    insurance: dict[str, float] = defaultdict(float)
    named: set[str] = set()  # types the text spells out ("BHYT", "thẻ BHYT", "bảo hiểm thất nghiệp")
    strong: set[str] = set()  # types with at least one full-weight cue
    for field in fields:
        for start, end, cues in longest[field.name]:
            for cue in cues:
                if cue.family == "topic":
                    if cue.names_insurance:
                        named.add(cue.insurance)
                    topics[cue.label] += cue.weight
                    if cue.insurance:
                        insurance[cue.insurance] += cue.weight
                        if cue.weight >= 1:
                            strong.add(cue.insurance)
                    evidence.append(_evidence(field, start, end, cue.tag, cue.weight))
                    if cue.insurance:
                        evidence.append(_evidence(field, start, end, cue.insurance_tag, cue.weight))
                elif cue.family == "insurance":
                    if cue.weight < 1 and _is_agency_mention(field, start, end, lex):
                        continue
                    if cue.label == AGENCY_INSURANCE and cue.weight >= 1 and _is_agency_by_name(field, start, end, lex):
                        continue  # "Kính gửi Bảo hiểm xã hội Việt Nam": the agency
                    weight = 1.5 * cue.weight
                    if cue.weight >= 1:
                        named.add(cue.label)
                        strong.add(cue.label)
                    insurance[cue.label] += weight
                    evidence.append(_evidence(field, start, end, cue.tag, weight))
    # A type the message only touches in passing (a hospital in an accident claim, the
    # social-insurance book in an unemployment claim) does not count beside its main subject,
    # unless the text spells the insurance out ("thẻ BHYT hưu trí": the card is asked about).
    # A type supported only by loose words ("bệnh viện", "điều trị" in a sickness-benefit claim)
    # is context beside a type the message names or asks about in so many words.
    top = max(insurance.values(), default=0.0)
    chosen = sorted(
        label
        for label, score in insurance.items()
        if score >= 1 and (score >= INSURANCE_SHARE * top or label in named) and (label in strong or not strong)
    )
    topics = {label: score for label, score in topics.items() if score >= 1}
    confidence = min(1.0, 0.5 + 0.15 * sum(insurance.values())) if chosen else (0.7 if not insurance else 0.4)
    return chosen, sorted(topics), round(confidence, 2)


# What may stand between the words of one place name: spaces, and the marks of "TP.HCM",
# "Bà Rịa - Vũng Tàu", "Đắk R'lấp", "BR/VT".
_INSIDE_A_NAME = re.compile(r"[ \t.\-–/']*")


def _crosses_punctuation(field: Field, start: int, end: int) -> bool:
    """The words run across a comma, a bracket or a line break: they are not one name."""
    for index in range(start, end - 1):
        if not _INSIDE_A_NAME.fullmatch(field.text, field.end_of(index), field.start_of(index + 1)):
            return True
    return False


def _overlapped_by_stronger(field: Field, index: int) -> bool:
    """A place name that runs into a stronger one starting inside it and ending after it: a
    province's own name against a district's, or a capitalised name against one that starts
    with a lower-case word ("việc làm Đồng Nai": "làm Đồng" folds like Lâm Đồng)."""
    spans = field.place_spans
    start, end, places = spans[index]
    if index + 1 == len(spans) or spans[index + 1][0] >= end:
        return False  # nothing starts inside this name: the usual case
    for later_start, later_end, later_places in spans[index + 1 :]:
        if later_start >= end:
            return False
        if later_end <= end or _crosses_punctuation(field, later_start, later_end):
            continue
        weight, later_weight = places.weight, later_places.weight
        if later_weight > weight or (later_weight == weight and _capitalised_word(field, later_start) and not _capitalised_word(field, start)):
            return True
    return False


def _capitalised_word(field: Field, index: int) -> bool:
    return field.text[field.start_of(index) : field.start_of(index) + 1].isupper()


Mention = tuple[str, float, bool, Field, int, int]  # code, weight, elsewhere, field, first word, word after


def _continues_address(previous: Mention, field: Field, start: int) -> bool:
    """The place follows the previous one with only punctuation between: one address
    ("xã A, huyện B, tỉnh C")."""
    *_head, previous_field, _previous_start, previous_end = previous
    return previous_field is field and previous_end == start and not field.text[field.end_of(start - 1) : field.start_of(start)].strip(" ,-–()")


def _province(fields: list[Field], lex: Lexicon, evidence: list[Evidence]) -> tuple[str | None, float]:
    scores: dict[str, float] = defaultdict(float)
    mentions: list[Mention] = []
    for field in fields:
        reach = 0
        for index, (start, end, found) in enumerate(field.place_spans):
            if start < reach:
                continue  # inside a place name already read
            if _overlapped_by_stronger(field, index):
                continue  # "việc làm Bình Dương": "làm Bình" (Lâm Bình) yields to Bình Dương
            if _crosses_punctuation(field, start, end):
                continue  # "Hà Đông, Hà Nội": "Đông, Hà" is not Đông Hà
            group = _as_written(field, start, end, found)
            if group is None:
                continue  # "việc làm Đồng Nai": "làm Đồng" is not Lâm Đồng, and "Đồng Nai" is still read
            reach = end
            # A province's own name outranks a district or ward that shares it.
            if len(group.codes) != 1:
                continue  # a name shared by places in several provinces says nothing alone
            (code,) = group.codes
            kind = group.places[0].kind
            words = field.words
            locative = tuple(words[start - 1 : start]) in LOCATIVE or tuple(words[max(0, start - 2) : start]) in LOCATIVE
            before = _words_before(field, start)
            if not locative and start > 0 and _is_person_word(field, start - 1):
                continue  # "chị Hà Nam", "Nguyễn Thị Long An": a person
            if not locative and _in_company_name(field, start):
                continue  # "Công ty Long An": a company's name
            if field.text[field.start_of(start) - 1 : field.start_of(start)] == "@":
                continue  # "@Hà Giang Lê": a person tagged in a comment
            if end - start == 1 and not locative and kind not in ("alias", "province", "old_province"):
                continue  # a one-word district name ("Vinh", "Chũ") needs "ở", "tại", "huyện"...
            written = field.written(start, end)
            if not locative and kind == "alias" and len(written) <= SHORT_ALIAS and not written.isupper():
                continue  # "hn e đi khám": chat shorthand for "hôm nay", not Hà Nội ("HN" is)
            weight = group.weight + (1.0 if locative else 0.0)
            if not NOW.isdisjoint(words[max(0, start - NOW_WINDOW) : start]):
                weight *= NOW_WEIGHT  # "giờ về Cần Thơ", "hiện ở Tây Ninh": where the matter is now
            if not locative and written.islower() and field.capitalised:
                weight *= LOWER_CASE_WEIGHT  # "lương hưu cao bằng lương cũ", "đất nước hòa bình": common words
            if field.name == "subject":
                weight *= 1.2
            if field.start_of(start) >= field.signature_at:
                weight *= SIGNATURE_WEIGHT  # the sender's address under "Trân trọng,"
            # a hometown ("quê tôi ở …", but not "về quê ở …"), a former workplace or a head office
            elsewhere = _names_any(before, ELSEWHERE_FINDER) or (" que " in before and " ve que " not in before)
            if mentions and _continues_address(mentions[-1], field, start):
                elsewhere = elsewhere or mentions[-1][2]  # "quê ở huyện Hải Hậu, Nam Định": the same hometown
            mentions.append((code, weight, elsewhere, field, start, end))
    # Such places count little beside another place; named alone, they are the only location given.
    competing = any(not elsewhere for _c, _w, elsewhere, *_rest in mentions)
    counted = [(code, weight * ELSEWHERE_WEIGHT if elsewhere and competing else weight, field, start, end) for code, weight, elsewhere, field, start, end in mentions]
    for code, weight, *_where in counted:
        scores[code] += weight
    if not scores:
        return None, 0.8
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best_code, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best < MIN_PROVINCE_SCORE or best < 1.25 * runner_up:
        return None, 0.4
    evidence.extend(_evidence(field, start, end, f"province:{code}", weight) for code, weight, field, start, end in counted if code == best_code)
    confidence = min(0.99, 0.5 + 0.15 * best) * (1 - runner_up / (best + runner_up))
    return best_code, round(confidence, 2)


def _category(fields: list[Field], lex: Lexicon, insurance: list[str], topics: list[str], evidence: list[Evidence]) -> tuple[str, float]:
    scores: dict[str, float] = defaultdict(float)
    greeting = thanks = 0.0
    declared = _declared_category(fields[0], lex) if fields[0].name == "subject" else None
    for field in fields:
        for start, end, cues in _longest_only(field.cue_spans):
            for cue in cues:
                if cue.family == "category":
                    if cue.label == "complaint" and _supposed(field, start, lex):
                        continue  # "nếu không đóng thì …", "có bị mất … không?": nothing went wrong yet
                    weight = 1.5 if field.name == "subject" else 1.0
                    if cue.label == "greeting" or (cue.label == "other" and field.start_of(start) >= field.closing_at):
                        # "Chào ad,", "Xin cảm ơn.": politeness, unless that is all there is
                        if cue.label == "greeting":
                            greeting += weight
                        else:
                            thanks += weight
                        evidence.append(_evidence(field, start, end, "category:other", weight))
                        continue
                    scores[cue.label] += weight
                    evidence.append(_evidence(field, start, end, cue.tag, weight))
        marks = len(QUESTION_MARK.findall(field.text))
        if marks:
            scores["question"] += min(marks, 2) * 0.5
    substantive = bool(insurance or topics)
    if scores["complaint"] < 1 and scores["question"] < 1:
        # A greeting before an insurance matter is only politeness; a closing thank-you after
        # one ("… đã được cấp lại rồi. Cảm ơn ad.") is a thank-you note.
        scores["other"] += thanks + (0.0 if substantive else greeting)
    complaint, question, other = scores["complaint"], scores["question"], scores["other"]
    if declared and substantive:
        label = declared  # "Hỏi cách tính lãi chậm đóng": the employer asks, whatever went wrong
    elif not substantive and not _within_the_service(fields, lex):
        label = "other"  # "làm căn cước ở đâu?", "page có bán sách không?": not for this service
    elif other >= 1 and complaint < 1 and (question < 1 or (not substantive and question <= other)):
        label = "other"  # thanks, greetings, "is anyone there?"
    elif not substantive and complaint < 1 and question < 1:
        label = "other"
    elif complaint >= 1.5 or (complaint >= 1 and complaint >= question - 0.5):
        label = "complaint"  # complaints often end in a rhetorical question
    elif question > 0 or substantive:
        label = "question"
    else:
        label = "other"
    total = complaint + question + other
    confidence = 0.5 if total == 0 else max(0.34, scores[label] / total if label in scores else 0.5)
    return label, round(min(confidence, 0.99), 2)


def _within_the_service(fields: list[Field], lex: Lexicon) -> bool:
    """The message names the agency, its offices, its app or its papers."""
    return any(lex.service.search(f" {' '.join(field.words)} ") for field in fields)


HYPOTHETICAL_WINDOW = 4  # words before a complaint word searched for "nếu", "giả sử" …


def _supposed(field: Field, start: int, lex: Lexicon) -> bool:
    """A complaint word inside a supposition or a yes-no question: the words before it (and its
    own first word, for "có bị …") hold one of the hypothetical phrases."""
    window = f" {' '.join(field.words[max(0, start - HYPOTHETICAL_WINDOW) : start + 1])} "
    return _names_any(window, lex.hypothetical)


# Markers before a subject's own words: a reply's ("Re:", "TL:" = trả lời, "AW:", "SV:"), and
# others ("Fwd:", "TR:" = chuyển tiếp, "V/v" = về việc).
REPLY_MARKERS = {"re", "tl", "aw", "sv"}
OTHER_MARKERS = {"fw", "fwd", "tr", "v"}


def _declared_category(subject: Field, lex: Lexicon) -> str | None:
    """What a subject says the letter is, by its opening words ("Hỏi về …", "Khiếu nại …").
    A reply's subject ("Re: Hướng dẫn …") is the first letter's, not this one's."""
    index = 0
    while index < len(subject.words) and subject.words[index] in REPLY_MARKERS | OTHER_MARKERS:
        if subject.words[index] in REPLY_MARKERS:
            return None
        index += 1
    opening = subject.words[index : index + lex.longest_opening]
    for size in range(len(opening), 0, -1):  # the longest opening that matches
        label = lex.subject_openings.get(tuple(opening[:size]))
        if label:
            return label
    return None


def _spam_score(fields: list[Field], longest: Matches, evidence: list[Evidence]) -> float:
    score = 0.0
    for field in fields:
        for start, end, cues in longest[field.name]:
            if any(cue.family == "spam" for cue in cues):
                score += 1
                evidence.append(_evidence(field, start, end, "category:other", 1.0))
    return score


def classify(subject: str | None, body: str, channel: str | None = None) -> Classification:
    lex = lexicon()
    fields = _fields(subject, body, lex)
    evidence: list[Evidence] = []
    longest = _longest_cues(fields)
    insurance, topics, insurance_confidence = _topics_and_insurance(fields, lex, evidence, longest)
    if _spam_score(fields, longest, evidence) >= SPAM_THRESHOLD:
        # Selling something (even "rút BHXH 1 lần" services): no insurance matter, no office.
        return Classification([], None, "other", [], {"insurance_types": 0.8, "province": 0.8, "category": 0.8}, evidence)
    province, province_confidence = _province(fields, lex, evidence)
    category, category_confidence = _category(fields, lex, insurance, topics, evidence)
    return Classification(
        insurance_types=[t for t in INSURANCE_ORDER if t in insurance],
        province_code=province,
        category=category,  # type: ignore[arg-type]
        topics=topics,
        confidence={"insurance_types": insurance_confidence, "province": province_confidence, "category": category_confidence},
        evidence=evidence,
    )
