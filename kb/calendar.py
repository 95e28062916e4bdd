"""Due dates in calendar or working days.

The helpdesk's promise is "a reply within two weeks", which is calendar days;
many helpdesks count their deadlines in working days instead, skipping the
weekend and the public holidays of the helpdesk's country. Both come from the
``holidays`` package, which ships each country's calendar *and its weekend*
(Friday and Saturday in Saudi Arabia, Sunday alone in a few countries), so
nothing here assumes a Monday-to-Friday week.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property, lru_cache

import holidays


def day_start(day: date) -> datetime:
    """The first instant of ``day``: the store keeps its times in UTC, and a day begins at UTC midnight."""
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


#: The weekend when no holiday country is configured (ISO weekdays 0=Monday .. 6=Sunday).
DEFAULT_WEEKEND = frozenset({5, 6})


class DueDateCalendar:
    """Adds days to a date, counting either every day or working days only."""

    def __init__(self, day_count: str = "calendar", holiday_country: str | None = None) -> None:
        if day_count not in ("calendar", "working"):
            raise ValueError(f"day_count must be 'calendar' or 'working', not {day_count!r}")
        self.day_count = day_count
        self.holiday_country = holiday_country

    @cached_property
    def weekend(self) -> frozenset[int]:
        """The country's weekend days, as the ``holidays`` package knows them."""
        if not self.holiday_country:
            return DEFAULT_WEEKEND
        return frozenset(holidays.country_holidays(self.holiday_country).weekend)

    @lru_cache(maxsize=64)
    def _holidays(self, year: int) -> frozenset[date]:
        if not self.holiday_country:
            return frozenset()
        return frozenset(holidays.country_holidays(self.holiday_country, years=year))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self._holidays(day.year)

    def add_days(self, start: date, days: int) -> date:
        """The date ``days`` days after ``start`` (working days skip the weekend and holidays)."""
        if self.day_count == "calendar":
            return start + timedelta(days=days)
        current, left = start, days
        while left > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current
