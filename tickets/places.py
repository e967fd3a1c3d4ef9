"""Names of the 34 provinces on the map in force since 1 July 2025, for display."""

from __future__ import annotations

from functools import cache

from vietnam_provinces import Province


@cache
def _names() -> dict[str, str]:
    return {f"{int(p.code):02d}": p.name for p in Province.iter_all()}


def province_name(code: str | None) -> str:
    """'79' → 'Thành phố Hồ Chí Minh'; '' for None or an unknown code."""
    return _names().get(code or "", "")


def province_codes() -> list[str]:
    return sorted(_names())
