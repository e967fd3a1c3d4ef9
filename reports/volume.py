"""Volume: tickets and messages per group; new vs. replies; auto-replies and bounces filtered; spam."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reports.groups import HEADINGS, group_label, sort_groups, ticket_key
from reports.model import Column, Report
from reports.period import Period
from reports.rows import MessageRow, TicketRow
from reports.stats import share

COLUMNS = [
    Column("tickets", "Phiếu mới"),
    Column("messages", "Thư/tin người dân gửi"),
    Column("new_messages", "Thư mở phiếu mới"),
    Column("replies", "Thư gửi tiếp vào phiếu cũ"),
    Column("outbound", "Thư trung tâm gửi"),
    Column("filtered", "Trả lời tự động, thư báo lỗi (đã lọc)"),
    Column("spam", "Thư rác"),
    Column("spam_share", "Tỉ lệ thư rác"),
]
COUNTS = [c.key for c in COLUMNS if c.key != "spam_share"]


def volume_report(tickets: Sequence[TicketRow], messages: Sequence[MessageRow], period: Period, by: str | None, unit_names: dict[str, str] | None = None) -> Report:
    key = ticket_key(by, period.zone) if by else (lambda ticket, moment: "all")
    counts: dict[str | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for ticket in tickets:
        row = counts[key(ticket, ticket.opened_at)]
        row["tickets"] += 1
        row["spam"] += ticket.status == "spam"
    for message in messages:
        row = counts[key(message.ticket, message.received_at)]
        if message.is_auto_reply or message.is_bounce:
            row["filtered"] += 1
        elif message.direction == "outbound":
            row["outbound"] += 1
        else:
            row["messages"] += 1
            if message.received_at > message.ticket.opened_at:
                row["replies"] += 1
            else:
                row["new_messages"] += 1
    rows = [_finish({"group": g if by else None, "label": group_label(by, g, unit_names)}, counts[g]) for g in sort_groups(list(counts))]
    total = _finish({"group": None, "label": "Tổng cộng"}, {k: sum(r[k] for r in rows) for k in COUNTS})
    return Report("volume", "Khối lượng tiếp nhận", period, by, [Column("label", HEADINGS[by]), *COLUMNS], rows, total)


def _finish(row: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    row.update(counts)
    row["spam_share"] = share(counts["spam"], counts["tickets"])
    return row
