"""Business time: working minutes between two moments, and a deadline N working hours away.

Pure functions over a `BusinessCalendar` (working days, working periods with the lunch break,
public holidays from the `holidays` library, the government's extra days off and make-up
working days). Times are aware datetimes (UTC in the database); the calendar is read in its own
time zone, Asia/Ho_Chi_Minh by default, so a day is a day in Vietnam.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from config.settings import BusinessCalendarConfig, parse_period

# A deadline further than this many days away means a calendar with no working time at all.
MAX_SEARCH_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo
    weekdays: frozenset[int]  # ISO weekday numbers: 1 = Monday
    periods: tuple[tuple[time, time], ...]  # ordered, non-overlapping working periods of a day
    holiday_country: str = "VN"
    extra_days_off: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()
    sla_in_business_hours: bool = False

    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_days:
            return True
        if day in self.extra_days_off or day in public_holidays(self.holiday_country, day.year):
            return False
        return day.isoweekday() in self.weekdays

    def working_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working periods as aware datetimes in the calendar's zone (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, start, self.timezone), datetime.combine(day, end, self.timezone)) for start, end in self.periods]


@cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    import holidays  # loaded when a business time is first computed, not at every command's start

    return frozenset(holidays.country_holidays(country, years=year).keys())


def calendar_from_config(config: BusinessCalendarConfig) -> BusinessCalendar:
    return BusinessCalendar(
        timezone=ZoneInfo(config.timezone),
        weekdays=frozenset(config.working_days),
        periods=tuple(parse_period(text) for text in config.working_hours),
        holiday_country=config.holiday_country,
        extra_days_off=frozenset(config.extra_days_off),
        make_up_days=frozenset(config.make_up_working_days),
        sla_in_business_hours=config.sla_in_business_hours,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def business_minutes(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Working minutes between `start` and `end` (0 when end is not after start)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0.0
    day, last = start.astimezone(calendar.timezone).date(), end.astimezone(calendar.timezone).date()
    total = timedelta()
    while day <= last:
        for period_start, period_end in calendar.working_periods(day):
            overlap = min(end, period_end) - max(start, period_start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total.total_seconds() / 60


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    """The moment `hours` working hours after `start` (UTC). Zero hours from outside working
    time is the start itself."""
    if hours < 0:
        raise ValueError("số giờ làm việc phải không âm")
    start = _aware(start)
    remaining = timedelta(hours=hours)
    if remaining == timedelta():
        return start.astimezone(UTC)
    day = start.astimezone(calendar.timezone).date()
    for _ in range(MAX_SEARCH_DAYS):
        for period_start, period_end in calendar.working_periods(day):
            begin = max(start, period_start)
            if begin >= period_end:
                continue
            available = period_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("lịch làm việc không có giờ làm việc nào trong mười năm tới")


# --- the calendar this process uses (set from the settings at start-up) ----------------------

_lock = threading.Lock()
_active: BusinessCalendar | None = None


def use_calendar(config: BusinessCalendarConfig) -> BusinessCalendar:
    global _active
    calendar = calendar_from_config(config)
    with _lock:
        _active = calendar
    return calendar


def active_calendar() -> BusinessCalendar:
    global _active
    with _lock:
        if _active is None:
            _active = calendar_from_config(BusinessCalendarConfig())
        return _active
