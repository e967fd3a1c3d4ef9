"""The groups of `--by`: a key per ticket (None when not known, its own row) and its label."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from reports.period import TIME_GROUPS, time_group
from reports.rows import TicketRow
from tickets.labels import category_label, channel_label, province_label

GROUPINGS = ("channel", "province", "unit", "type", "category", *TIME_GROUPS)
NOT_KNOWN = {
    "channel": "không rõ kênh",
    "province": "chưa rõ tỉnh/thành",
    "unit": "chưa chuyển đơn vị",
    "type": "chưa rõ loại bảo hiểm",
    "category": "chưa phân loại",
}
HEADINGS = {
    "channel": "Kênh (hộp thư / trang)",
    "province": "Tỉnh/thành",
    "unit": "Đơn vị",
    "type": "Loại bảo hiểm",
    "category": "Phân loại",
    "day": "Ngày",
    "week": "Tuần",
    "month": "Tháng",
    None: "Nhóm",
}


def ticket_key(by: str, zone: ZoneInfo) -> Callable[[TicketRow, datetime], str | None]:
    """key(ticket, moment): `moment` is what a time group counts by (a message's arrival)."""
    if by in TIME_GROUPS:
        return lambda ticket, moment: time_group(moment, by, zone)
    if by == "channel":
        return lambda ticket, moment: f"{ticket.channel}:{ticket.source}"
    if by == "province":
        return lambda ticket, moment: ticket.province_code
    if by == "unit":
        return lambda ticket, moment: ticket.unit_id
    if by == "type":
        return lambda ticket, moment: "+".join(ticket.insurance_types) or None
    if by == "category":
        return lambda ticket, moment: ticket.category
    raise ValueError(f"không nhóm được theo {by!r}; chọn một trong: {', '.join(GROUPINGS)}")


def group_label(by: str | None, key: str | None, unit_names: dict[str, str] | None = None) -> str:
    if by is None:
        return "Tất cả"
    if key is None:
        return NOT_KNOWN.get(by, "không rõ")
    if by == "channel":
        channel, _, source = key.partition(":")
        return f"{channel_label(channel, short=True)} · {source}"
    if by == "province":
        return province_label(key)
    if by == "category":
        return category_label(key)
    if by == "unit":
        return (unit_names or {}).get(key, key)
    return key


def sort_groups(keys: list[str | None]) -> list[str | None]:
    """Known groups in order, the 'not known' row last."""
    return sorted((k for k in keys if k is not None)) + ([None] if None in keys else [])
