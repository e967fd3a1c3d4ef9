"""The province on the 2025 map that a message's matter belongs to, or None.

Every place name found in the text is weighed by what stands around it: a locative word ("ở",
"tại", "BHXH", "bưu điện") makes it count more; a person's or a company's name, a hometown, a
head office or a signature makes it count little or not at all. Without a clear winner the
answer is None: a wrong province sends a complaint to the wrong office.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from classifiers.fields import Field, evidence_for, names_any, written_name
from classifiers.lexicon import Lexicon, PlaceGroup, phrase_key
from classifiers.result import Evidence
from classifiers.text import fold, phrase_finder, spaced

# Words before a place that say "this is where": the office, the workplace, the hospital.
LOCATIVE = {("tinh",), ("thanh", "pho"), ("tp",), ("q",), ("p",), ("huyen",), ("quan",), ("thi", "xa"), ("tx",), ("phuong",), ("xa",),
            ("o",), ("tai",), ("bhxh",), ("khu", "vuc"), ("kcn",), ("benh", "vien"), ("bv",), ("tinh", "thanh"), ("ve",), ("thuoc",),
            ("chi", "nhanh"), ("co", "so"), ("buu", "dien"), ("ttyt",), ("ve", "que")}  # "bưu điện Võ Nhai": the district's post office
# Words before a place that say it is somebody's name or a company's.
# Written with tone marks: "việc làm Đồng Nai" is a job centre, "Lâm Đồng Nai" would be a name.
TITLES_WRITTEN = {"anh", "chị", "em", "ông", "bà", "cô", "chú", "bác", "bạn", "tên", "là"}
NAMES_WRITTEN = {"nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ", "hồ", "ngô", "dương", "lý", "thị", "văn",
                 "đinh", "trịnh", "mai", "lương", "lâm"}
PERSON_WRITTEN = TITLES_WRITTEN | NAMES_WRITTEN
PERSON = {fold(word) for word in PERSON_WRITTEN}
TITLES = {fold(word) for word in TITLES_WRITTEN}
COMPANY = {("cong", "ty"), ("cty",), ("tnhh",), ("tap", "doan"), ("ngan", "hang"), ("thuong", "hieu"), ("doanh", "nghiep"), ("hop", "tac", "xa"), ("cua", "hang")}
COMPANY_FIRST_WORDS = {phrase[0] for phrase in COMPANY}
# Places named for where someone comes from, or a head office elsewhere, count little.
ELSEWHERE = {("truoc",), ("que", "quan"), ("nguyen", "quan"), ("sinh", "ra"), ("goc",), ("tru", "so"), ("tru", "so", "chinh"), ("tong", "cong", "ty"), ("truoc", "day"), ("hoi", "truoc")}


ELSEWHERE_FINDER = phrase_finder(ELSEWHERE)
# Words just before a place that say it is where the sender is now.
NOW = {"gio", "hien", "nay"}
NOW_WINDOW = 3
NOW_WEIGHT = 1.5
MIN_PROVINCE_SCORE = 1.0
ELSEWHERE_WEIGHT = 0.3
SIGNATURE_WEIGHT = 0.5
LOWER_CASE_WEIGHT = 0.5
SHORT_ALIAS = 3


def _as_written(field: Field, start: int, end: int, group: PlaceGroup) -> PlaceGroup | None:
    """The places whose name matches the text with its tone marks, when the text has them.

    Folding makes "làm đồng" look like "Lâm Đồng" and "chữ" like "Chũ"; a writer who uses
    diacritics writes the place's own. Text without diacritics matches by folded form.
    """
    span = field.written(start, end)
    if span.isascii():
        return group
    written = written_name(span)
    kept = [place for place in group.places if written_name(place.name) == written]
    return group if len(kept) == len(group.places) else PlaceGroup.of(kept)


def _is_person_word(field: Field, index: int) -> bool:
    """A title or family name ("chị", "Nguyễn") right before the next word, judged with its
    tone marks when it has them."""
    if field.words[index] not in PERSON:
        return False
    if field.text[field.end_of(index) : field.start_of(index + 1)].strip():
        return False  # "Bạch Mai (Hà Nội)", "Dương, Bình Dương": a name is not cut by punctuation
    as_written = field.written(index, index + 1)
    written = written_name(as_written)
    if not written.isascii():
        return written in PERSON_WRITTEN
    # Without tone marks a family or middle name is also a common word ("lam" is "làm",
    # "thi" is "thì", "mai" is "tomorrow"): it is told by its capital letter.
    return written in TITLES or as_written[:1].isupper()


BEFORE_WINDOW = 6  # words before a place that are searched for a company or an "elsewhere" word


def _words_before(field: Field, start: int) -> str:
    """The few words before word `start`, as " w1 w2 … " (a phrase is found as " a b ")."""
    return spaced(field.words[max(0, start - BEFORE_WINDOW) : start])


def _in_company_name(field: Field, start: int) -> bool:
    """A company word shortly before the place, with no locative word between ("Công ty TNHH
    Long An", but not "cty em ở KCN VSIP Thuận An")."""
    window = field.words[max(0, start - BEFORE_WINDOW) : start]
    for index in range(len(window) - 1, -1, -1):
        if (window[index],) in LOCATIVE:
            return False
        if window[index] in COMPANY_FIRST_WORDS and any(tuple(window[index : index + size]) in COMPANY for size in (1, 2, 3)):
            return True
    return False


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
    for later in range(index + 1, len(spans)):  # not a slice: that copies the rest of the spans for every name
        later_start, later_end, later_places = spans[later]
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

# What stands before a mention, for the confidence (not the score): an office that acts on the
# matter, a hospital (often a place of incidental treatment), a company.
OFFICE_BEFORE = {("bhxh",), ("buu", "dien"), ("ttyt",), ("chi", "nhanh"), ("trung", "tam"), ("co", "so"), ("khu", "vuc")}
HOSPITAL_BEFORE = {("benh", "vien"), ("bv",)}
OLD_DISTRICT_KINDS = {"district", "district_full", "city"}  # the pre-2025 districts and towns (vietnamadminunits)


@dataclass(frozen=True)
class ProvinceFeatures:
    """What carries the risk of a province given, for the calibrated confidence
    (`classifiers.calibration.province_confidence`). Shares are over the winner's mentions."""

    margin: float  # 1 - second / best score: 1 when one province is named
    strength: float  # the winner's score, capped at 4 and scaled to 0..1
    candidates: int  # distinct provinces scored
    acting_office: float  # after an office word: "BHXH Dĩ An", "bưu điện Sầm Sơn"
    address: float  # after a locative ("ở", "tại", "huyện") or continuing an address
    signature_only: bool  # every mention of the winner is under the closing line
    company: float  # inside a few words after a company word
    hospital: float  # after "bệnh viện", "BV"
    old_province: float  # a pre-2025 province ("Bình Dương", "Quảng Nam") mapped by the gazetteer
    old_district: float  # a pre-2025 district or town mapped by the gazetteer
    elsewhere: float  # a hometown, a former workplace, a head office

    def vector(self) -> tuple[float, ...]:
        return (self.margin, self.strength, float(self.candidates - 1), self.acting_office, self.address, float(self.signature_only),
                self.company, self.hospital, self.old_province, self.old_district, self.elsewhere)


FEATURE_NAMES = ("margin", "strength", "extra_candidates", "acting_office", "address", "signature_only", "company", "hospital", "old_province", "old_district", "elsewhere")
STRENGTH_CAP = 4.0


PROVINCE_PREFIXES = ("tỉnh ", "thành phố ")


def _age(group: PlaceGroup, lex: Lexicon) -> str:
    """"old_province" for a pre-2025 province ("Bình Dương", "tỉnh Quảng Nam"), "old_district"
    for a pre-2025 district or town ("Dĩ An"), else "current" (a province or ward of the 2025
    map: "tỉnh Nghệ An" is a province of both)."""
    kinds = {place.kind for place in group.places}
    if kinds & {"province", "ward_full"}:
        return "current"
    if "old_province" in kinds:
        names = {place.name.removeprefix(PROVINCE_PREFIXES[0]).removeprefix(PROVINCE_PREFIXES[1]) for place in group.places if place.kind == "old_province"}
        current = any(place.kind == "province" for name in names for place in lex.places.get(phrase_key(name), ()))
        return "current" if current else "old_province"
    return "old_district" if kinds & OLD_DISTRICT_KINDS else "current"


def _after_any(field: Field, start: int, phrases: set[tuple[str, ...]]) -> bool:
    words = field.words
    return any(tuple(words[max(0, start - size) : start]) in phrases for size in (1, 2))


def _features(counted: list[tuple[str, float, Field, int, int]], kinds: list[tuple[str, bool, bool]], scores: dict[str, float], best_code: str) -> ProvinceFeatures:
    ranked = sorted(scores.values(), reverse=True)
    best, second = ranked[0], (ranked[1] if len(ranked) > 1 else 0.0)
    won = [(mention, kind) for mention, kind in zip(counted, kinds, strict=True) if mention[0] == best_code]
    n = len(won)

    def share(test: Callable[[tuple[tuple[str, float, Field, int, int], tuple[str, bool, bool]]], bool]) -> float:
        return round(sum(1 for item in won if test(item)) / n, 4)

    return ProvinceFeatures(
        margin=round(1 - second / best, 4),
        strength=round(min(best, STRENGTH_CAP) / STRENGTH_CAP, 4),
        candidates=len(scores),
        acting_office=share(lambda item: _after_any(item[0][2], item[0][3], OFFICE_BEFORE)),
        address=share(lambda item: item[1][1]),
        signature_only=all(field.start_of(start) >= field.signature_at for (_c, _w, field, start, _e), _k in won),
        company=share(lambda item: any(word in COMPANY_FIRST_WORDS for word in item[0][2].words[max(0, item[0][3] - BEFORE_WINDOW) : item[0][3]])),
        hospital=share(lambda item: _after_any(item[0][2], item[0][3], HOSPITAL_BEFORE)),
        old_province=share(lambda item: item[1][0] == "old_province"),
        old_district=share(lambda item: item[1][0] == "old_district"),
        elsewhere=share(lambda item: item[1][2]),
    )


def _continues_address(previous: Mention, field: Field, start: int) -> bool:
    """The place follows the previous one with only punctuation between: one address
    ("xã A, huyện B, tỉnh C")."""
    *_head, previous_field, _previous_start, previous_end = previous
    return previous_field is field and previous_end == start and not field.text[field.end_of(start - 1) : field.start_of(start)].strip(" ,-–()")


def find_province(fields: list[Field], lex: Lexicon, evidence: list[Evidence]) -> tuple[str | None, float]:
    code, confidence, _features = find_province_with_features(fields, lex, evidence)
    return code, confidence


def find_province_with_features(fields: list[Field], lex: Lexicon, evidence: list[Evidence]) -> tuple[str | None, float, ProvinceFeatures | None]:
    """The province, its raw score and, when a province is given, the features its calibrated
    confidence is computed from."""
    scores: dict[str, float] = defaultdict(float)
    mentions: list[Mention] = []
    kinds: list[tuple[str, bool, bool]] = []  # per mention: old or current name, locative or address, elsewhere
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
            elsewhere = names_any(before, ELSEWHERE_FINDER) or (" que " in before and " ve que " not in before)
            continues = bool(mentions) and _continues_address(mentions[-1], field, start)
            if continues:
                elsewhere = elsewhere or mentions[-1][2]  # "quê ở huyện Hải Hậu, Nam Định": the same hometown
            mentions.append((code, weight, elsewhere, field, start, end))
            kinds.append((_age(group, lex), locative or continues, elsewhere))
    # Such places count little beside another place; named alone, they are the only location given.
    competing = any(not elsewhere for _c, _w, elsewhere, *_rest in mentions)
    counted = [(code, weight * ELSEWHERE_WEIGHT if elsewhere and competing else weight, field, start, end) for code, weight, elsewhere, field, start, end in mentions]
    for code, weight, *_where in counted:
        scores[code] += weight
    if not scores:
        return None, 0.8, None
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best_code, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best < MIN_PROVINCE_SCORE or best < 1.25 * runner_up:
        return None, 0.4, None
    evidence.extend(evidence_for(field, start, end, f"province:{code}", weight) for code, weight, field, start, end in counted if code == best_code)
    confidence = min(0.99, 0.5 + 0.15 * best) * (1 - runner_up / (best + runner_up))
    return best_code, round(confidence, 2), _features(counted, kinds, scores, best_code)
