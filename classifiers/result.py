"""What a classifier returns: tags, each with the evidence behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Category = Literal["complaint", "question", "other"]
InsuranceType = Literal["BHTN", "BHXH", "BHYT"]


@dataclass(slots=True)
class Evidence:
    """One matched phrase: which tag it supports, what matched, and where.

    Not frozen: a message makes about ten of these, and a frozen dataclass costs four times
    as much to build (each field goes through object.__setattr__).
    """

    tag: str  # e.g. "insurance:BHYT", "province:79", "category:complaint", "topic:thai sản"
    phrase: str  # the text as it appears in the message
    field: Literal["subject", "body"]
    start: int  # character offsets into that field's text
    end: int
    weight: float = 1.0  # how much the phrase counted (rounded to 2 decimals in JSON)


@dataclass(frozen=True)
class Classification:
    insurance_types: list[str]  # sorted subset of ["BHTN", "BHXH", "BHYT"]
    province_code: str | None  # 2-digit code on the 34-province map, or None
    category: Category
    topics: list[str] = field(default_factory=list)
    # confidence per tag family: {"insurance_types": 0.9, "province": 0.8, "category": 0.7}
    confidence: dict[str, float] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for item in data["evidence"]:
            item["weight"] = round(item["weight"], 2)  # weights are products of a few factors: 2 decimals say it all
        return data
