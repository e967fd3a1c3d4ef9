"""Loads the data files once: keyword lists and the province gazetteer, as phrase tables.

Every phrase is stored as a tuple of folded tokens (blind to diacritics and punctuation). At
load, cue phrases and place names go into one word trie, so a message is matched in a single
pass over its tokens: at each token, walk the trie as far as the text allows.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from classifiers.text import NOTHING, fold, phrase_finder, words_of, written_form

DATA = Path(__file__).resolve().parent / "data"
WEAK_CUE_WEIGHT = 0.4
WEAK_NAME_WEIGHT = 0.6

# How much a bare mention of each kind of place counts, before context.
PLACE_KIND_WEIGHT = {
    "province": 1.0,
    "old_province": 1.0,
    "alias": 1.0,
    "district_full": 1.0,
    "city": 1.0,
    "ward_full": 1.0,
    "district": 0.55,
}


Shorthand = dict[str, tuple[str, ...]]  # chat shorthand token → the words it stands for


def phrase_key(text: str, shorthand: Shorthand | None = None) -> tuple[str, ...]:
    words = words_of(fold(text))
    if shorthand and not shorthand.keys().isdisjoint(words):
        return tuple(word for token in words for word in shorthand.get(token, (token,)))
    return tuple(words)


@dataclass(frozen=True)
class Cue:
    family: str  # "topic" | "insurance" | "category"
    label: str  # topic name, insurance type or category
    insurance: str  # for topics: the insurance they belong to ("" when none)
    weight: float = 1.0
    names_insurance: bool = False  # the phrase spells out its insurance's name ("thẻ BHYT")
    written: str = ""  # for a phrase written with tone marks: the form a text with tone marks must have
    tag: str = field(init=False)  # the evidence tag it supports: "topic:thai sản", "insurance:BHYT"
    insurance_tag: str = field(init=False)  # "insurance:BHXH" for a topic of that insurance, else ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", f"{self.family}:{self.label}")
        object.__setattr__(self, "insurance_tag", f"insurance:{self.insurance}" if self.insurance else "")


@dataclass(frozen=True)
class Place:
    code: str
    kind: str
    name: str  # as written in the data, lower case with tone marks ("lâm đồng")


# A trie node: next word → child node; the END key (never a token: tokens are [a-z0-9]+) holds
# what a phrase ending at this node means, as (all cues, subject cues, places). Subject cues
# (topics, insurance names, neutral and spam phrases) are matched apart from category cues, so
# "không trả sổ" is both a complaint and, inside it, the social-insurance book.
END = ""
TriePayload = tuple[tuple["Cue", ...], tuple["Cue", ...], "PlaceGroup | None"]
TrieNode = dict[str, Any]  # word → TrieNode, END → TriePayload


@dataclass(frozen=True)
class PlaceGroup:
    """The places one name can be, with what the classifier asks of them computed once: the
    weight of the strongest kind, and the provinces of the places of that kind."""

    places: tuple[Place, ...]
    weight: float
    codes: frozenset[str]

    @classmethod
    def of(cls, places: tuple[Place, ...] | list[Place]) -> PlaceGroup | None:
        if not places:
            return None
        weight = max(PLACE_KIND_WEIGHT[place.kind] for place in places)
        return cls(tuple(places), weight, frozenset(place.code for place in places if PLACE_KIND_WEIGHT[place.kind] == weight))


@dataclass(frozen=True)
class Lexicon:
    cues: dict[tuple[str, ...], list[Cue]]
    places: dict[tuple[str, ...], list[Place]]
    agency_before: frozenset[tuple[str, ...]]
    agency_after: frozenset[tuple[str, ...]]
    trie: TrieNode
    closings: frozenset[tuple[str, ...]] = frozenset()
    shorthand: Shorthand = field(default_factory=dict)
    subject_openings: dict[tuple[str, ...], str] = field(default_factory=dict)  # opening words → category
    service: re.Pattern[str] = NOTHING  # finds " bhxh ", " mot cua ": a message within the service
    hypothetical: re.Pattern[str] = NOTHING  # finds " neu ", " co bi ": words that make a complaint word a supposition
    scam_pretext: re.Pattern[str] = NOTHING  # finds " gia danh ", " ke gian ": a scam whose pretext is the insurance
    legality_questions: re.Pattern[str] = NOTHING  # finds " co vi pham ", " co dung luat ": asking whether something is lawful
    action_requests: re.Pattern[str] = NOTHING  # finds " de nghi ", " khieu nai ": asking an office to act

    @cached_property
    def closing_first_words(self) -> frozenset[str]:
        return frozenset(closing[0] for closing in self.closings)

    @cached_property
    def longest_opening(self) -> int:
        return max(map(len, self.subject_openings), default=0)

    @cached_property
    def longest_closing(self) -> int:
        return max(map(len, self.closings), default=0)


def build_trie(cues: dict[tuple[str, ...], list[Cue]], places: dict[tuple[str, ...], list[Place]]) -> TrieNode:
    """One word trie over cue phrases and place names."""
    root: TrieNode = {}
    no_cues: tuple[Cue, ...] = ()
    for key in cues.keys() | places.keys():
        node = root
        for word in key:
            child = node.get(word)
            if child is None:
                child = node[word] = {}
            node = child
        # Cues with a tone-marked form first: one look at the first tells whether to compare forms.
        found = tuple(sorted(cues[key], key=lambda cue: not cue.written)) if key in cues else no_cues
        subject = tuple(cue for cue in found if cue.family != "category") if found else no_cues
        # A held insurance ("đã có thẻ BHYT") is read with the topics only: it must not hide a category cue inside it.
        found = tuple(cue for cue in found if cue.family != "context")
        node[END] = (found, subject, PlaceGroup.of(places.get(key, ())))
    return root


@cache
def lexicon() -> Lexicon:
    keywords = tomllib.loads((DATA / "keywords.toml").read_text(encoding="utf-8"))
    shorthand: Shorthand = {token: tuple(words_of(fold(words))) for token, words in keywords["shorthand"].items()}
    cues: dict[tuple[str, ...], list[Cue]] = {}

    def key_of(phrase: str) -> tuple[str, ...]:
        return phrase_key(phrase, shorthand)

    def add_cue(phrase: str, cue: Cue) -> None:
        key = key_of(phrase)
        if key and cue not in cues.setdefault(key, []):
            cues[key].append(cue)

    # Inside a topic phrase even the bare "bhxh" is the insurance, not the agency ("sổ BHXH").
    strong_names = {insurance: [key_of(p) for p in phrases] for insurance, phrases in keywords["insurance_names"].items()}
    for insurance, phrases in keywords["weak_insurance_names"].items():
        strong_names.setdefault(insurance, []).extend(key_of(p) for p in phrases)

    def spells_out(phrase: str, insurance: str) -> bool:
        key = key_of(phrase)
        return any(key[i : i + len(name)] == name for name in strong_names.get(insurance, []) for i in range(len(key)))

    def written(phrase: str) -> str:
        """A phrase written with tone marks must keep them in a text that has them."""
        return "" if phrase.isascii() else written_form(phrase)

    for topic, spec in keywords["topics"].items():
        for phrase in spec["phrases"]:
            add_cue(phrase, Cue("topic", topic, spec["insurance"], 1.0, spells_out(phrase, spec["insurance"]), written=written(phrase)))
        for phrase in spec.get("weak", []):
            add_cue(phrase, Cue("topic", topic, spec["insurance"], WEAK_CUE_WEIGHT))
    for insurance, phrases in keywords["insurance_names"].items():
        for phrase in phrases:
            add_cue(phrase, Cue("insurance", insurance, insurance))
    for insurance, phrases in keywords["weak_insurance_names"].items():
        for phrase in phrases:
            add_cue(phrase, Cue("insurance", insurance, insurance, WEAK_NAME_WEIGHT))
    for phrase in keywords["neutral"]["phrases"]:
        add_cue(phrase, Cue("neutral", "neutral", ""))
    for phrase in keywords["spam"]["phrases"]:
        add_cue(phrase, Cue("spam", "spam", ""))
    for phrase in keywords["no_matter"]["phrases"]:
        add_cue(phrase, Cue("spam", "no_matter", ""))  # one is enough: see category.spam_score
    for phrase in keywords["insurance_context"]["phrases"]:
        spelled = [insurance for insurance in strong_names if spells_out(phrase, insurance)]
        held = keywords["insurance_context"]["held"].get(phrase, "")
        add_cue(phrase, Cue("context", "context", spelled[0] if len(spelled) == 1 else held))  # a list of types holds none alone
    for category, spec in keywords["category"].items():
        for phrase in spec["phrases"]:
            add_cue(phrase, Cue("category", category, "", written=written(phrase)))

    gazetteer = json.loads((DATA / "gazetteer.json").read_text(encoding="utf-8"))
    places: dict[tuple[str, ...], list[Place]] = {}
    for kind, table in gazetteer.items():
        if kind.startswith("_"):
            continue
        for phrase, codes in table.items():
            key = key_of(phrase)
            if key:
                places.setdefault(key, []).extend(Place(code, kind, phrase) for code in codes)
    aliases = tomllib.loads((DATA / "aliases.toml").read_text(encoding="utf-8"))
    for code, phrases in aliases.items():
        for phrase in phrases:
            places.setdefault(key_of(phrase), []).append(Place(code, "alias", phrase))
    return Lexicon(
        cues=cues,
        places=places,
        agency_before=frozenset(key_of(p) for p in keywords["agency"]["before"]),
        agency_after=frozenset(key_of(p) for p in keywords["agency"]["after"]),
        trie=build_trie(cues, places),
        closings=frozenset(key_of(p) for p in keywords["signature"]["closings"]),
        shorthand=shorthand,
        service=phrase_finder(key_of(phrase) for phrase in keywords["service"]["words"]),
        hypothetical=phrase_finder(key_of(phrase) for phrase in keywords["hypothetical"]["before"]),
        scam_pretext=phrase_finder(key_of(phrase) for phrase in keywords["scam_pretext"]["words"]),
        legality_questions=phrase_finder(key_of(phrase) for phrase in keywords["legality"]["questions"]),
        action_requests=phrase_finder(key_of(phrase) for phrase in keywords["legality"]["requests"]),
        subject_openings={key_of(phrase): label for label, phrases in keywords["subject_opening"].items() for phrase in phrases},
    )
