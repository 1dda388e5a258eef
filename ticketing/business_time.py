"""Business time: how long a ticket's clock ran, counting only a queue's working hours.

A `WorkCalendar` says when a queue works: weekly hours in its time zone (Ecuador's public
sector keeps America/Guayaquil, UTC-5 all year), Ecuador's national days off from the
`holidays` library (holidays.EC, with the days the law moves a holiday to) and the days
SGE or an institution declares (a day off, or a working day such as a recovery Saturday).

Timestamps in and out are naive UTC, as every column stores them. The arithmetic walks
working intervals day by day, so its cost is the number of days spanned, never the number
of seconds; a calendar with no working time at all is refused rather than looped over.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TIMEZONE = "America/Guayaquil"
# Monday to Friday, 08:00 to 17:00: the public sector's working day
DEFAULT_HOURS = {day: (("08:00", "17:00"),) for day in range(5)}
HORIZON_DAYS = 3 * 366  # the furthest a clock is followed; past it the calendar is unusable
OBSERVED = " (observed)"


class CalendarError(ValueError):
    """A calendar that cannot say when time runs (no working hours within the horizon)."""


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    if hours == "24" and minutes == "00":
        return dt.time.max
    return dt.time(int(hours), int(minutes))


@lru_cache(maxsize=64)
def national_days_off(year: int) -> frozenset[dt.date]:
    """Ecuador's national days off in `year`, as the law keeps them.

    When the law moves a holiday (to the Friday before or the Monday after, say), the
    library lists both dates; the moved-to day is the day off and the original weekday is
    worked, so the original is dropped unless it falls on a weekend anyway.
    """
    observed = holidays.EC(years=year, observed=True, language="en_US")
    days = set(observed)
    for day, name in observed.items():
        for part in name.split("; "):
            if not part.endswith(OBSERVED):
                continue
            original = part[: -len(OBSERVED)]
            for other, other_name in observed.items():
                moved_from = original in other_name.split("; ") and abs((other - day).days) <= 7
                if moved_from and other != day:
                    days.discard(other)
    return frozenset(days)


@dataclass(frozen=True)
class WorkCalendar:
    """When a queue works. `hours`: weekday (0 = Monday) → ((start, end), ...) as "HH:MM"."""

    timezone: str = DEFAULT_TIMEZONE
    hours: dict = field(default_factory=lambda: dict(DEFAULT_HOURS))
    national_holidays: bool = True
    days_off: frozenset = frozenset()  # declared days off (dt.date)
    working_days: frozenset = frozenset()  # declared working days (dt.date), e.g. a Saturday

    def __hash__(self):
        return hash((self.timezone, repr(sorted(self.hours.items())), self.days_off))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.days_off:
            return False
        if day in self.working_days:
            return True
        if self.national_holidays and day in national_days_off(day.year):
            return False
        return bool(self.hours.get(day.weekday()))

    def _hours_of(self, day: dt.date):
        spans = self.hours.get(day.weekday()) or ()
        if not spans and day in self.working_days:
            spans = DEFAULT_HOURS[0]  # a declared working day on a day without hours
        return spans

    def intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working intervals of a local `day`, as naive UTC (none on a day off)."""
        if not self.is_working_day(day):
            return []
        zone = self.zone
        result = []
        for start, end in self._hours_of(day):
            begins = dt.datetime.combine(day, _clock(start), zone)
            ends = (
                dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
                if _clock(end) == dt.time.max
                else dt.datetime.combine(day, _clock(end), zone)
            )
            if ends > begins:
                result.append((_utc(begins), _utc(ends)))
        return result

    def _local_day(self, moment: dt.datetime) -> dt.date:
        return moment.replace(tzinfo=dt.UTC).astimezone(self.zone).date()

    def spans(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working intervals from `start` on, in order (the first may begin at `start`)."""
        day = self._local_day(start) - dt.timedelta(days=1)  # an interval may cross midnight
        idle = 0
        for _ in range(HORIZON_DAYS + 2):
            found = False
            for begins, ends in self.intervals(day):
                if ends <= start:
                    continue
                found = True
                yield max(begins, start), ends
            idle = 0 if found else idle + 1
            if idle > HORIZON_DAYS:
                break
            day += dt.timedelta(days=1)
        raise CalendarError("no working time within the horizon")


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


ALWAYS = None  # a target in calendar time: every second counts
FOREVER = dt.datetime(9999, 12, 31)


def _running(calendar, start, pauses) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The intervals a clock started at `start` runs in: working time minus `pauses`."""
    stops = _merge(pauses, start)
    spans = iter([(start, FOREVER)]) if calendar is ALWAYS else calendar.spans(start)
    for begins, ends in spans:
        for a, b in stops:
            if b <= begins or a >= ends:
                continue
            if a > begins:
                yield begins, a
            begins = max(begins, b)
            if begins >= ends:
                break
        if begins < ends:
            yield begins, ends
        if stops and stops[-1][1] >= FOREVER and begins >= stops[-1][0]:
            return  # an open pause: the clock stays stopped


def add(calendar: WorkCalendar | None, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    """The moment `duration` of working time after `start` (calendar time: ALWAYS)."""
    return due(calendar, start, duration)


def due(
    calendar: WorkCalendar | None,
    start: dt.datetime,
    target: dt.timedelta,
    pauses: Iterable[tuple[dt.datetime, dt.datetime | None]] = (),
) -> dt.datetime | None:
    """When a clock started at `start` has run `target`, its `pauses` left out; None while
    an open pause (no end) stops it before then."""
    left = target
    for begins, ends in _running(calendar, start, pauses):
        if ends - begins >= left:
            return begins + left
        left -= ends - begins
    return None


def elapsed(
    calendar: WorkCalendar | None,
    start: dt.datetime,
    end: dt.datetime,
    pauses: Iterable[tuple[dt.datetime, dt.datetime | None]] = (),
) -> dt.timedelta:
    """Working time between `start` and `end`, `pauses` left out (an open one runs on)."""
    total = dt.timedelta(0)
    if end <= start:
        return total
    for begins, ends in _running(calendar, start, pauses):
        if begins >= end:
            break
        total += min(ends, end) - begins
    return total


def _merge(pauses, start) -> list[tuple[dt.datetime, dt.datetime]]:
    """Pauses from `start` on, sorted and merged where they touch (open ones: FOREVER)."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in sorted((max(a, start), b or FOREVER) for a, b in pauses):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
