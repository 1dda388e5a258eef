"""Business-time arithmetic on a fixed clock: weekends, Ecuador's holidays (Carnaval, a
holiday the law moves), declared days, pauses, and Guayaquil's UTC-5 all year round."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.business_time import (
    ALWAYS,
    CalendarError,
    WorkCalendar,
    add,
    due,
    elapsed,
    national_days_off,
)

GYE = WorkCalendar()  # Monday to Friday 08:00–17:00, America/Guayaquil, national holidays
H = dt.timedelta(hours=1)


def local(text: str) -> dt.datetime:
    """A Guayaquil wall-clock time as the naive UTC the database keeps (UTC-5, no DST)."""
    return dt.datetime.fromisoformat(text) + 5 * H


def test_guayaquil_has_no_daylight_saving():
    jan = GYE.intervals(dt.date(2026, 1, 7))
    jul = GYE.intervals(dt.date(2026, 7, 8))
    assert [(a.hour, b.hour) for a, b in jan] == [(13, 22)] == [(a.hour, b.hour) for a, b in jul]


def test_the_weekend_does_not_count():
    assert add(GYE, local("2026-03-06 16:00"), 2 * H) == local("2026-03-09 09:00")
    assert elapsed(GYE, local("2026-03-06 16:00"), local("2026-03-09 09:00")) == 2 * H


def test_time_before_and_after_hours_waits_for_the_next_opening():
    assert add(GYE, local("2026-03-10 06:30"), H) == local("2026-03-10 09:00")
    assert add(GYE, local("2026-03-10 19:00"), H) == local("2026-03-11 09:00")
    assert add(GYE, local("2026-03-10 17:00"), 9 * H) == local("2026-03-11 17:00")


def test_carnaval_is_two_days_off():
    # 2026: Carnaval is Monday 16 and Tuesday 17 February
    assert {dt.date(2026, 2, 16), dt.date(2026, 2, 17)} <= national_days_off(2026)
    assert add(GYE, local("2026-02-13 16:00"), 2 * H) == local("2026-02-18 09:00")


def test_a_moved_holiday_is_off_on_the_day_it_moved_to_only():
    # 2025: 9 October (Thursday, Independencia de Guayaquil) was moved to Friday 10
    days = national_days_off(2025)
    assert dt.date(2025, 10, 10) in days and dt.date(2025, 10, 9) not in days
    assert add(GYE, local("2025-10-09 16:00"), 2 * H) == local("2025-10-13 09:00")
    # 24 May 2025 fell on a Saturday: the day off was Friday 23
    assert dt.date(2025, 5, 23) in days


def test_declared_days_off_and_working_days():
    bridge = WorkCalendar(days_off=frozenset({dt.date(2026, 3, 9)}))
    assert add(bridge, local("2026-03-06 16:00"), 2 * H) == local("2026-03-10 09:00")
    recovery = WorkCalendar(working_days=frozenset({dt.date(2026, 3, 7)}))
    assert add(recovery, local("2026-03-06 16:00"), 2 * H) == local("2026-03-07 09:00")
    ignored = WorkCalendar(national_holidays=False)
    assert add(ignored, local("2026-02-13 16:00"), 2 * H) == local("2026-02-16 09:00")


def test_pauses_stop_the_clock():
    start = local("2026-03-09 08:00")
    waiting = [(local("2026-03-09 10:00"), local("2026-03-09 12:00"))]
    assert elapsed(GYE, start, local("2026-03-09 17:00"), waiting) == 7 * H
    assert due(GYE, start, 4 * H, waiting) == local("2026-03-09 14:00")
    # a pause over the night costs nothing more than the working hours it covers
    overnight = [(local("2026-03-09 16:00"), local("2026-03-10 09:00"))]
    assert due(GYE, start, 9 * H, overnight) == local("2026-03-10 10:00")


def test_an_open_pause_holds_the_clock():
    start = local("2026-03-09 08:00")
    open_pause = [(local("2026-03-09 10:00"), None)]
    assert due(GYE, start, 4 * H, open_pause) is None
    assert elapsed(GYE, start, local("2026-03-12 12:00"), open_pause) == 2 * H


def test_calendar_time_counts_every_hour():
    # the rollout's "15 days" are a plazo in calendar days, weekends and holidays included
    start = local("2026-02-13 16:00")
    assert add(ALWAYS, start, dt.timedelta(days=15)) == start + dt.timedelta(days=15)
    paused = [(start + H, start + 3 * H)]
    assert elapsed(ALWAYS, start, start + 5 * H, paused) == 3 * H


def test_a_calendar_without_hours_is_refused():
    with pytest.raises(CalendarError):
        add(WorkCalendar(hours={}), local("2026-03-09 08:00"), H)


def test_split_hours_and_a_shift_to_midnight():
    lunch = WorkCalendar(hours={d: (("08:00", "12:00"), ("13:00", "17:00")) for d in range(5)})
    assert add(lunch, local("2026-03-09 11:00"), 2 * H) == local("2026-03-09 14:00")
    night = WorkCalendar(hours={d: (("20:00", "24:00"),) for d in range(7)})
    assert add(night, local("2026-03-09 23:00"), 2 * H) == local("2026-03-10 21:00")


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 6, 1)),
    minutes=st.integers(min_value=0, max_value=60 * 200),
)
def test_adding_then_measuring_gives_the_same_duration(start, minutes):
    start = start.replace(microsecond=0)
    duration = dt.timedelta(minutes=minutes)
    end = add(GYE, start, duration)
    assert end >= start
    assert elapsed(GYE, start, end) == duration
