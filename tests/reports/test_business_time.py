"""The business calendar: working minutes across lunch, weekends, Tết and a make-up Saturday."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.settings import BusinessCalendarConfig, ConfigError, load_settings
from tickets.business_time import add_business_hours, business_minutes, calendar_from_config

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = calendar_from_config(BusinessCalendarConfig())


def vn(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=VN)


def test_same_day_across_the_lunch_break() -> None:
    # 10:00-11:30 (90) + 13:00-14:00 (60); 11:30-13:00 is lunch
    assert business_minutes(vn(2025, 3, 3, 10), vn(2025, 3, 3, 14), CAL) == 150
    assert business_minutes(vn(2025, 3, 3, 11, 45), vn(2025, 3, 3, 12, 50), CAL) == 0


def test_weekend_is_not_counted() -> None:
    # Fri 16:00-16:30 (30) + Mon 07:30-08:00 (30)
    assert business_minutes(vn(2025, 3, 7, 16), vn(2025, 3, 10, 8), CAL) == 60


def test_utc_inputs_are_read_in_vietnam() -> None:
    # 02:00 UTC is 09:00 in Hanoi; 07:00 UTC is 14:00
    start = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
    assert business_minutes(start, start + timedelta(hours=5), CAL) == 150 + 60  # 09:00-11:30, 13:00-14:00


def test_tet_holidays_from_the_library_and_extra_days_off_from_config() -> None:
    # Tết 2025: Mon 27 Jan - Sat 1 Feb are public holidays in the `holidays` library
    assert business_minutes(vn(2025, 1, 24, 16), vn(2025, 2, 3, 8), CAL) == 60
    with_decision = calendar_from_config(BusinessCalendarConfig(extra_days_off=[date(2025, 2, 3)]))
    assert business_minutes(vn(2025, 1, 24, 16), vn(2025, 2, 4, 8), with_decision) == 60
    assert business_minutes(vn(2025, 1, 24, 16), vn(2025, 2, 4, 8), CAL) == 60 + 450


def test_make_up_working_saturday_counts_a_full_day() -> None:
    # Sat 26 Apr 2025 was worked in exchange for Fri 2 May (a day off in the library)
    assert business_minutes(vn(2025, 4, 25, 16), vn(2025, 4, 28, 8), CAL) == 30 + 450 + 30
    no_make_up = calendar_from_config(BusinessCalendarConfig(make_up_working_days=[]))
    assert business_minutes(vn(2025, 4, 25, 16), vn(2025, 4, 28, 8), no_make_up) == 60
    # Thu 1 May and Fri 2 May are days off: Wed 16:00 -> Mon 08:00 is 30 + 30
    assert business_minutes(vn(2025, 4, 30 - 1, 16), vn(2025, 5, 5, 8), CAL) == 30 + 30


def test_add_business_hours_skips_lunch_nights_weekends_and_tet() -> None:
    # Mon 10:00 + 8h: 1.5h + 3.5h on Monday, 3h on Tuesday from 07:30
    assert add_business_hours(vn(2025, 3, 3, 10), 8, CAL) == vn(2025, 3, 4, 10, 30).astimezone(UTC)
    assert add_business_hours(vn(2025, 3, 3, 12), 1, CAL) == vn(2025, 3, 3, 14).astimezone(UTC)
    # Fri 24 Jan 15:00 + 4h: 1.5h on Friday, Tết and the weekend, 2.5h on Mon 3 Feb
    assert add_business_hours(vn(2025, 1, 24, 15), 4, CAL) == vn(2025, 2, 3, 10).astimezone(UTC)
    # Fri 25 Apr 16:00 + 1h: 30 min on Friday, the rest on the make-up Saturday
    assert add_business_hours(vn(2025, 4, 25, 16), 1, CAL) == vn(2025, 4, 26, 8).astimezone(UTC)


def test_add_business_hours_is_the_inverse_of_business_minutes() -> None:
    rng = random.Random(15)
    for _ in range(300):
        start = vn(2025, 1, 1) + timedelta(minutes=rng.randrange(0, 600 * 24 * 60))
        hours = rng.choice([0.5, 1, 4, 8, 24, 40, 240]) + rng.randrange(0, 60) / 60
        due = add_business_hours(start, hours, CAL)
        assert business_minutes(start, due, CAL) == pytest.approx(hours * 60)
        assert due.tzinfo is not None and CAL.working_periods(due.astimezone(VN).date())


def test_calendar_mistakes_are_reported_in_vietnamese() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            None,
            business_calendar={
                "timezone": "Asia/Hanoi_Nowhere",
                "working_days": [0, 1],
                "working_hours": ["13:00-16:30", "07:30-11:30"],
                "extra_days_off": ["2025-04-26"],
                "make_up_working_days": ["2025-04-26"],
                "holiday_country": "XX",
            },
        )
    text = str(caught.value)
    assert "múi giờ không tồn tại" in text
    assert "thứ Hai" in text
    assert "không chồng lên nhau" in text
    assert "mã quốc gia" in text
    with pytest.raises(ConfigError, match="HH:MM-HH:MM"):
        load_settings(None, business_calendar={"working_hours": ["sáng"]})
    with pytest.raises(ConfigError, match="vừa là ngày nghỉ vừa là ngày làm bù"):
        load_settings(None, business_calendar={"extra_days_off": ["2025-04-26"], "make_up_working_days": ["2025-04-26"]})


def test_escalation_deadline_in_business_hours_when_configured() -> None:
    from tickets.business_time import use_calendar
    from tickets.escalations import due_at

    sent = vn(2025, 1, 24, 15)  # Friday before Tết 2025
    try:
        use_calendar(BusinessCalendarConfig(sla_in_business_hours=True))
        assert due_at(sent, 4) == vn(2025, 2, 3, 10).astimezone(UTC)
        use_calendar(BusinessCalendarConfig())
        assert due_at(sent, 4) == sent + timedelta(hours=4)
    finally:
        use_calendar(BusinessCalendarConfig())
