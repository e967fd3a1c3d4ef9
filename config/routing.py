"""Routing rules, read from `routing_file` and validated against the unit directory.

Rules are ordered; the first whose conditions all hold wins; a ticket no rule matches stays
with the center. A rule's target is the ticket's provincial office (`to = "province"`) or a
named unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.settings import ConfigError
from config.units import UnitDirectory, describe_list_error, province_codes, read_toml

Category = Literal["complaint", "question", "other"]
InsuranceType = Literal["BHXH", "BHYT", "BHTN"]
ChannelName = Literal["email", "facebook_message", "facebook_comment"]
Priority = Literal["low", "normal", "high", "urgent"]
PROVINCE_TARGET = "province"


class RuleConditions(BaseModel):
    """All given conditions must hold; a list means "any of these"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: tuple[Category, ...] | None = None
    insurance_types: tuple[InsuranceType, ...] | None = None
    province: Literal["known", "unknown"] | tuple[str, ...] | None = None
    topics: tuple[str, ...] | None = None
    channel: tuple[ChannelName, ...] | None = None
    # The lowest confidence accepted for the tags this rule looks at (category, insurance, province).
    min_confidence: float | None = Field(None, ge=0, le=1)
    keywords: tuple[str, ...] | None = None  # phrases, matched without tone marks on whole words

    @field_validator("category", "insurance_types", "topics", "channel", "keywords", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("province", mode="before")
    @classmethod
    def _province(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("known", "unknown"):
            value = [value]
        if isinstance(value, list):
            unknown = [v for v in value if v not in province_codes()]
            if unknown:
                raise ValueError(f"không phải mã tỉnh/thành trên bản đồ 2025: {', '.join(map(str, unknown))}")
        return value


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    when: RuleConditions = Field(default_factory=RuleConditions)
    to: str  # "province" or a unit id
    review: bool = True  # a coordinator approves before anything is sent
    priority: Priority = "normal"
    sla_hours: float | None = Field(None, gt=0)  # unset: the unit's, else the default (tickets/directory.py)
    # sla_hours in working hours of [business_calendar] (true) or clock hours (false); unset: as
    # the unit says, else as business_calendar.sla_in_business_hours says.
    sla_business_hours: bool | None = None


# Below this confidence a ticket's province is not acted on: no rule sees it, nothing goes to a
# provincial office, and the ticket waits for a coordinator (a wrong province sends a complaint
# to an office that cannot act; an empty one only asks a person). See docs/classifiers.md.
DEFAULT_MIN_PROVINCE_CONFIDENCE = 0.6


class RoutingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_province_confidence: float = Field(DEFAULT_MIN_PROVINCE_CONFIDENCE, ge=0, le=1)
    rules: tuple[Rule, ...] = ()


def _rule_problems(rules: RoutingRules, units: UnitDirectory, known_topics: frozenset[str], path: Path | None = None) -> list[str]:
    problems = []
    names = [r.name for r in rules.rules]
    for index, rule in enumerate(rules.rules):
        where = (f"tệp {path}, " if path else "") + f"rules[{index}] ({rule.name})"
        if names.count(rule.name) > 1:
            problems.append(f"{where}: tên {rule.name!r} đã được dùng cho quy tắc khác")
        if rule.to != PROVINCE_TARGET and rule.to not in units:
            problems.append(f'{where}: to = {rule.to!r} không phải "province" cũng không phải mã đơn vị trong danh bạ')
        if rule.to == PROVINCE_TARGET and rule.when.province == "unknown":
            problems.append(f'{where}: to = "province" không áp dụng được cho phiếu chưa xác định tỉnh/thành')
        for topic in rule.when.topics or ():
            if topic not in known_topics:
                problems.append(f"{where}: không có chủ đề {topic!r} (các chủ đề: {', '.join(sorted(known_topics))})")
    return problems


def load_rules(path: Path, units: UnitDirectory, known_topics: frozenset[str]) -> RoutingRules:
    data = read_toml(path)
    try:
        rules = RoutingRules(**data)
    except ValidationError as exc:
        raise ConfigError([describe_list_error(e, data, "rules", "name", path) for e in exc.errors()], str(path)) from None
    problems = _rule_problems(rules, units, known_topics, path)
    if problems:
        raise ConfigError(problems, str(path))
    return rules
