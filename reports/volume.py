"""Volume: tickets and messages per group; new vs. replies; auto-replies and bounces filtered; spam."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reports.groups import HEADINGS, group_label, sort_groups, ticket_key
from reports.model import TOTAL, Column, Report, cell_key
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
    # The tickets behind each count (for a message count: the tickets those messages are in).
    behind: dict[str | None, dict[str, set[int]]] = defaultdict(lambda: {k: set() for k in COUNTS})

    def count(group: str | None, figure: str, ticket_id: int) -> None:
        counts[group][figure] += 1
        behind[group][figure].add(ticket_id)

    for ticket in tickets:
        group = key(ticket, ticket.opened_at)
        count(group, "tickets", ticket.id)
        if ticket.status == "spam":
            count(group, "spam", ticket.id)
    for message in messages:
        group, tid = key(message.ticket, message.received_at), message.ticket.id
        if message.is_auto_reply or message.is_bounce:
            count(group, "filtered", tid)
        elif message.direction == "outbound":
            count(group, "outbound", tid)
        else:
            count(group, "messages", tid)
            count(group, "replies" if message.received_at > message.ticket.opened_at else "new_messages", tid)
    groups = sort_groups(list(counts))
    rows = [_finish({"group": g if by else None, "label": group_label(by, g, unit_names)}, counts[g]) for g in groups]
    total = _finish({"group": None, "label": "Tổng cộng"}, {k: sum(r[k] for r in rows) for k in COUNTS})
    report = Report("volume", "Khối lượng tiếp nhận", period, by, [Column("label", HEADINGS[by]), *COLUMNS], rows, total)
    everything: dict[str, set[int]] = {k: set() for k in COUNTS}
    for group, row in zip(groups, rows, strict=True):
        report.members[cell_key(row["group"])] = _with_share(behind[group])
        for figure, ids in behind[group].items():
            everything[figure] |= ids
    report.members[TOTAL] = _with_share(everything)
    return report


def _with_share(members: dict[str, set[int]]) -> dict[str, set[int]]:
    return {**members, "spam_share": members["spam"]}


def _finish(row: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    row.update(counts)
    row["spam_share"] = share(counts["spam"], counts["tickets"])
    return row
