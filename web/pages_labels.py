"""The pages' words: the shared Vietnamese labels (`tickets/labels.py`) as a page shows them —
capitalised where they start a cell — plus the words only the pages need (tags, roles, SLA)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets import labels
from tickets.labels import format_time

__all__ = ["format_time"]

ROLE = {"coordinator": "Điều phối viên", "office": "Đơn vị xử lý", "viewer": "Lãnh đạo, xem", "admin": "Quản trị", "agent": "Trả lời công dân"}
SLA = {"late": "Quá hạn", "ok": "Trong hạn"}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def ticket_status_label(status: str) -> str:
    return _capital(labels.status_label(status))


def escalation_status_label(status: str) -> str:
    return _capital(labels.escalation_status_label(status))


def category_label(category: str | None) -> str:
    return _capital(labels.category_label(category))


def channel_label(channel: str) -> str:
    return _capital(labels.channel_label(channel))


def priority_label(priority: str) -> str:
    return _capital(labels.priority_label(priority))


def province_label(code: str | None) -> str:
    return labels.province_label(code) or "Chưa rõ tỉnh"


def role_label(role: str) -> str:
    return ROLE.get(role, role)


def tag_label(tag: str) -> str:
    """"insurance:BHYT" → "BHYT", "province:79" → "Tỉnh: 79 Thành phố Hồ Chí Minh", …"""
    family, _, value = tag.partition(":")
    if family == "insurance":
        return labels.insurance_label([value])
    if family == "province":
        return f"Tỉnh: {province_label(value)}"
    if family == "category":
        return category_label(value)
    if family == "topic":
        return f"Chủ đề: {value}"
    return tag


def event_sentence(kind: str, data: Mapping[str, Any], unit_names: labels.UnitNames | None = None) -> str:
    """"Duyệt chuyển xử lý — đơn vị: BHXH Thành phố Hồ Chí Minh (province-79); lý do: …" (who did
    it is shown beside it)."""
    details = labels.event_details(data, unit_names=unit_names)
    return labels.event_label(kind) + (f" — {details}" if details else "")


def actor_label(actor: str, unit_names: labels.UnitNames | None = None) -> str:
    return labels.actor_text(actor, unit_names)
