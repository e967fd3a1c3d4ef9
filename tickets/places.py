"""Names of the 34 provinces on the map in force since 1 July 2025, for display.

Read from vietnam_provinces' own data file (`NESTED_DIVISIONS_JSON_PATH`: every province with
its wards), located without importing the package: its Python modules build every ward's code
and record at import, which costs a CLI command more than the rest of its start-up; the file is
parsed in a few milliseconds. tests/ops/test_startup.py checks the names are the package's own.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path


def divisions_file() -> Path:
    """vietnam_provinces' `data/nested-divisions.json` (where its __init__ says it is)."""
    spec = importlib.util.find_spec("vietnam_provinces")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("vietnam_provinces")
    return Path(spec.origin).parent / "data" / "nested-divisions.json"


@cache
def _names() -> dict[str, str]:
    provinces = json.loads(divisions_file().read_text(encoding="utf-8"))
    return {f"{int(p['code']):02d}": str(p["name"]) for p in provinces}


def province_name(code: str | None) -> str:
    """'79' → 'Thành phố Hồ Chí Minh'; '' for None or an unknown code."""
    return _names().get(code or "", "")


def province_codes() -> list[str]:
    return sorted(_names())
