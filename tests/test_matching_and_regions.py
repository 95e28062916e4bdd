"""The Q&A matcher, countries and regions, and due-date calendars."""

from __future__ import annotations

from datetime import date

import pycountry
import pytest

from kb.calendar import DueDateCalendar
from kb.matching import QAEntry, QAMatcher
from kb.qa_bank import shipped_qas
from kb.regions import REGIONS, CountryDirectory, UnknownCountryError


@pytest.fixture(scope="module")
def matcher():
    return QAMatcher(QAEntry(i, q["key"], q["question"], q["answer"], tuple(q["topics"]), q["language"])
                     for i, q in enumerate(shipped_qas()))


def test_shipped_bank_has_at_least_60_qas_covering_every_topic_each_in_english_french_and_spanish():
    from config.settings import DEFAULT_FILE, load_helpdesk_file

    qas = shipped_qas()
    assert len(qas) >= 60 and len({q["key"] for q in qas}) == len(qas)
    covered = {t for q in qas for t in q["topics"]}
    assert covered == set(load_helpdesk_file(DEFAULT_FILE).topics)
    assert all({v["language"] for v in q["versions"]} == {"en", "fr", "es"} for q in qas)


def test_a_reworded_question_finds_its_qa_as_a_good_match(matcher):
    best = matcher.match("How many weeks of maternity leave must we give our employees?", "en", ["working_time"])[0]
    assert best.entry.key == "wt-maternity-leave" and best.good
    assert {"matern", "leav"} <= set(best.shared_terms)


def test_an_unrelated_question_gets_no_good_match(matcher):
    results = matcher.match("What is the best way to calculate the carbon footprint of our trucks?", "en", [])
    assert not any(m.good for m in results)


def test_a_single_shared_word_is_never_a_good_match(matcher):
    results = matcher.match("Quel est le salaire vital pour nos ouvriers ?", "fr", ["wages"])
    assert all(len(m.shared_terms) >= 2 for m in results if m.good)


def test_empty_bank_and_wordless_query_match_nothing(matcher):
    assert QAMatcher([]).match("minimum wage", "en") == []
    assert matcher.match("?!", "en") == []


def test_every_country_has_an_ilo_region():
    directory = CountryDirectory()
    missing = [c.alpha_2 for c in pycountry.countries
               if c.alpha_2 not in ("AQ", "BV") and directory.by_code(c.alpha_2).region is None]
    assert missing == []
    assert {directory.by_code(c).region for c in ("GH", "BR", "SA", "IN", "TR")} == set(REGIONS)


@pytest.mark.parametrize(("value", "code", "region"), [
    ("gh", "GH", "Africa"), ("GHA", "GH", "Africa"), ("Jordan", "JO", "Arab States"),
    ("Egypt", "EG", "Africa"), ("côte d'ivoire", "CI", "Africa"), ("Viet Nam", "VN", "Asia and the Pacific"),
])
def test_countries_resolve_by_code_or_name(value, code, region):
    country = CountryDirectory().resolve(value)
    assert (country.code, country.region) == (code, region)


def test_a_misspelt_country_gets_suggestions():
    with pytest.raises(UnknownCountryError) as caught:
        CountryDirectory().resolve("Senegl")
    assert "Senegal" in caught.value.suggestions


def test_working_days_skip_weekends_and_public_holidays():
    calendar = DueDateCalendar("working", "CH")
    assert calendar.add_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday -> Monday
    assert calendar.add_days(date(2026, 12, 24), 1) == date(2026, 12, 28)  # skips Christmas and the weekend
    assert DueDateCalendar().add_days(date(2026, 12, 24), 5) == date(2026, 12, 29)


def test_working_day_count_applies_to_the_reply_target_too(make_helpdesk, tmp_path):
    from config.settings import DEFAULT_FILE
    from kb.intake import QuerySubmission
    from kb.models import Channel

    config = tmp_path / "working.toml"
    config.write_text(DEFAULT_FILE.read_text(encoding="utf-8").replace('day_count = "calendar"',
                                                                       'day_count = "working"'), encoding="utf-8")
    report = make_helpdesk(config).service.submit_query(QuerySubmission(
        text="Who pays for personal protective equipment?", channel=Channel.CLI))
    assert report.target_reply_date == date(2026, 3, 20)  # 14 working days from Monday 2 March
    assert report.routes[0]["due_date"] == "2026-03-09"  # 5 working days
