"""The unit directory and routing rules of this process, loaded once and validated together.

`load_routing` raises ConfigError listing every mistake (the CLI and the workers call it at
start-up); `routing` returns the cached pair, re-reading the files when they change on disk.
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from config.routing import RoutingRules, load_rules
from config.settings import Settings
from config.units import UnitDirectory, load_units

# An escalation's deadline when neither its rule nor its unit names one (the model's default).
DEFAULT_SLA_HOURS = 240.0
KEYWORDS_FILE = Path(__file__).resolve().parent.parent / "classifiers" / "data" / "keywords.toml"


@dataclass(frozen=True)
class Routing:
    units: UnitDirectory
    rules: RoutingRules

    def rule_sla_hours(self, rule_name: str | None) -> float | None:
        rule = next((r for r in self.rules.rules if r.name == rule_name), None) if rule_name else None
        return rule.sla_hours if rule is not None else None

    def sla_hours(self, rule_name: str | None, unit_id: str) -> float:
        """An escalation's deadline in hours: the rule's, else its unit's, else DEFAULT_SLA_HOURS."""
        from_rule = self.rule_sla_hours(rule_name)
        if from_rule is not None:
            return from_rule
        unit = self.units.get(unit_id)
        return unit.sla_hours if unit is not None and unit.sla_hours is not None else DEFAULT_SLA_HOURS

    def sla_in_business_hours(self, rule_name: str | None, unit_id: str) -> bool | None:
        """Whether an escalation's sla_hours count working hours: as the rule that made it says,
        else as its unit says, else None (the calendar's sla_in_business_hours decides)."""
        rule = next((r for r in self.rules.rules if r.name == rule_name), None) if rule_name else None
        if rule is not None and rule.sla_business_hours is not None:
            return rule.sla_business_hours
        unit = self.units.get(unit_id)
        return unit.sla_business_hours if unit is not None else None


@cache
def known_topics() -> frozenset[str]:
    """The topic names the classifiers can tag, which rules may name."""
    with KEYWORDS_FILE.open("rb") as file:
        return frozenset(tomllib.load(file)["topics"])


def load_routing(settings: Settings) -> Routing:
    units = load_units(Path(settings.units_file))
    rules = load_rules(Path(settings.routing_file), units, known_topics())
    return Routing(units, rules)


_lock = threading.Lock()
_cached: dict[tuple[str, str], tuple[tuple[tuple[int, int], ...], Routing]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_mtime_ns, stat.st_size)


def routing(settings: Settings) -> Routing:
    units_file, routing_file = Path(settings.units_file), Path(settings.routing_file)
    key = (str(units_file), str(routing_file))
    stamp = (_stamp(units_file), _stamp(routing_file))
    with _lock:
        cached = _cached.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    loaded = load_routing(settings)
    with _lock:
        _cached[key] = (stamp, loaded)
    return loaded
