"""Due dates in calendar or working days.

The helpdesk's promise is "a reply within two weeks", which is calendar days;
focal points' input deadlines are often better counted in working days,
skipping weekends and the public holidays of the helpdesk's country (from the
``holidays`` package, which ships its data).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


class DueDateCalendar:
    """Adds days to a date, counting either every day or working days only."""

    def __init__(self, day_count: str = "calendar", holiday_country: str | None = None) -> None:
        if day_count not in ("calendar", "working"):
            raise ValueError(f"day_count must be 'calendar' or 'working', not {day_count!r}")
        self.day_count = day_count
        self.holiday_country = holiday_country

    @lru_cache(maxsize=64)
    def _holidays(self, year: int) -> frozenset[date]:
        if not self.holiday_country:
            return frozenset()
        return frozenset(holidays.country_holidays(self.holiday_country, years=year))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays(day.year)

    def add_days(self, start: date, days: int) -> date:
        """The date ``days`` days after ``start`` (working days skip weekends and holidays)."""
        if self.day_count == "calendar":
            return start + timedelta(days=days)
        current, left = start, days
        while left > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current
