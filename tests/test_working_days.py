"""Deadlines counted in working days follow the country's own week, for targets, inputs and extensions."""

from __future__ import annotations

from datetime import date, timedelta

from config.settings import DEFAULT_FILE
from kb.calendar import DueDateCalendar
from kb.intake import QuerySubmission
from kb.models import Channel

THURSDAY = date(2026, 3, 5)


def test_in_saudi_arabia_the_day_after_thursday_is_sunday():
    saudi = DueDateCalendar("working", "SA")
    assert saudi.weekend == {4, 5}  # Friday and Saturday
    assert saudi.add_days(THURSDAY, 1) == date(2026, 3, 8)
    assert saudi.is_working_day(date(2026, 3, 8)) and not saudi.is_working_day(date(2026, 3, 6))


def test_in_switzerland_the_day_after_friday_is_monday_and_holidays_are_skipped():
    swiss = DueDateCalendar("working", "CH")
    assert swiss.add_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert swiss.add_days(date(2026, 12, 24), 1) == date(2026, 12, 28)  # 25 Dec is a holiday, then the weekend


def test_calendar_days_count_every_day():
    assert DueDateCalendar("calendar", "SA").add_days(THURSDAY, 1) == date(2026, 3, 6)


def working_days_helpdesk(make_helpdesk, tmp_path):
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    text = text.replace('day_count = "calendar"', 'day_count = "working"').replace('holiday_country = "CH"',
                                                                                   'holiday_country = "SA"')
    path = tmp_path / "helpdesk.toml"
    path.write_text(text, encoding="utf-8")
    return make_helpdesk(path)


def test_targets_input_deadlines_and_extensions_skip_the_saudi_weekend(make_helpdesk, tmp_path):
    helpdesk = working_days_helpdesk(make_helpdesk, tmp_path)
    service = helpdesk.service
    report = service.submit_query(QuerySubmission(
        text="Who pays for personal protective equipment in our Riyadh plant?", channel=Channel.EMAIL,
        email="ops@plant.example"))
    saudi = DueDateCalendar("working", "SA")
    assert report.target_reply_date == saudi.add_days(report.received_at.date(), 14)
    assert all(date.fromisoformat(r["due_date"]) == saudi.add_days(report.received_at.date(), 5)
               for r in report.routes)
    targets = [report.target_reply_date]
    for _ in range(6):  # one working day at a time, across at least one weekend
        targets.append(service.extend_target(report.reference, "needs legal review", days=1).target_reply_date)
    assert all(d.weekday() not in (4, 5) for d in targets)
    assert all(saudi.add_days(a, 1) == b for a, b in zip(targets, targets[1:]))
    assert any(b - a == timedelta(days=3) for a, b in zip(targets, targets[1:]))  # Thursday -> Sunday
