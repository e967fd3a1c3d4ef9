"""A report's period (whole days in Vietnam) and the time groups of `--by day|week|month`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIME_GROUPS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    timezone: str = "Asia/Ho_Chi_Minh"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"ngày kết thúc {self.end.isoformat()} trước ngày bắt đầu {self.start.isoformat()}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from midnight of the first day to midnight after the last, in Vietnam."""
        begin = datetime.combine(self.start, time(0), self.zone)
        finish = datetime.combine(self.end + timedelta(days=1), time(0), self.zone)
        return begin.astimezone(UTC), finish.astimezone(UTC)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"ngày {text!r} phải có dạng YYYY-MM-DD, ví dụ 2025-03-01") from None


def time_group(moment: datetime, by: str, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone).date()
    if by == "day":
        return local.isoformat()
    if by == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{local.year}-{local.month:02d}"
    raise ValueError(f"không nhóm theo thời gian được bằng {by!r}")


PERIOD_KINDS = ("day", "week", "month", "quarter")


def period_of(kind: str, day: date, timezone: str = "Asia/Ho_Chi_Minh") -> Period:
    """The day, ISO week (Monday to Sunday), month or quarter that contains `day`."""
    if kind == "day":
        return Period(day, day, timezone)
    if kind == "week":
        monday = day - timedelta(days=day.isoweekday() - 1)
        return Period(monday, monday + timedelta(days=6), timezone)
    if kind in ("month", "quarter"):
        first_month = day.month if kind == "month" else 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        months = 1 if kind == "month" else 3
        year, month = divmod(first_month - 1 + months, 12)
        return Period(start, date(day.year + year, month + 1, 1) - timedelta(days=1), timezone)
    raise ValueError(f"không có loại kỳ {kind!r}; chọn một trong: {', '.join(PERIOD_KINDS)}")
