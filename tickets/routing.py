"""Which rule applies to a tagged ticket, and which unit it names: pure functions."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from tickets.textfold import fold
from config.routing import PROVINCE_TARGET, Rule, RuleConditions


@dataclass(frozen=True)
class TicketTags:
    category: str | None
    insurance_types: tuple[str, ...]
    province_code: str | None
    topics: tuple[str, ...]
    channel: str
    confidence: dict[str, float] = field(default_factory=dict)
    # Subject and new text, for keyword conditions: read only when a rule has keywords.
    text: Callable[[], str] = field(default=lambda: "", compare=False)


@cache
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    phrases = sorted({fold(k).strip() for k in keywords if k.strip()}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![a-z0-9])")


def _confidences_considered(when: RuleConditions) -> list[str]:
    names = []
    if when.category is not None:
        names.append("category")
    if when.insurance_types is not None:
        names.append("insurance_types")
    if when.province not in (None, "unknown"):
        names.append("province")
    return names or ["category"]


def conditions_hold(when: RuleConditions, tags: TicketTags) -> bool:
    if when.category is not None and tags.category not in when.category:
        return False
    if when.insurance_types is not None and not set(when.insurance_types) & set(tags.insurance_types):
        return False
    if when.province == "known" and tags.province_code is None:
        return False
    if when.province == "unknown" and tags.province_code is not None:
        return False
    if isinstance(when.province, tuple) and tags.province_code not in when.province:
        return False
    if when.topics is not None and not set(when.topics) & set(tags.topics):
        return False
    if when.channel is not None and tags.channel not in when.channel:
        return False
    if when.min_confidence is not None:
        if any(tags.confidence.get(name, 0.0) < when.min_confidence for name in _confidences_considered(when)):
            return False
    if when.keywords and not _keyword_pattern(when.keywords).search(fold(tags.text())):
        return False
    return True


def first_matching_rule(rules: Sequence[Rule], tags: TicketTags) -> Rule | None:
    return next((rule for rule in rules if conditions_hold(rule.when, tags)), None)


def target_unit_id(rule: Rule, tags: TicketTags) -> str | None:
    """The unit a rule sends this ticket to (None: the rule needs a province the ticket lacks)."""
    if rule.to == PROVINCE_TARGET:
        return f"province-{tags.province_code}" if tags.province_code else None
    return rule.to
