"""A helpdesk manager's mistakes in the configuration file get one clear message, and nothing starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from config.bootstrap import bootstrap, build_policy
from config.cli import app
from config.settings import DEFAULT_FILE, ConfigError, Settings, load_helpdesk_file

GOOD = DEFAULT_FILE.read_text(encoding="utf-8")


def write(tmp_path, text):
    path = tmp_path / "helpdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configuration_is_valid_and_complete():
    policy = build_policy(load_helpdesk_file(DEFAULT_FILE))
    assert 12 <= len(policy.topics) <= 16
    assert {"child_labour", "osh", "wages", "freedom_of_association", "supply_chains"} <= set(policy.topics)
    assert all(t.names.keys() >= {"en", "fr", "es"} for t in policy.topics.values())
    assert all(fp.email.endswith("@example.org") for d in policy.departments.values() for fp in d.focal_points)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace('departments = ["CHILD_LABOUR"]', 'departments = ["CHILDREN"]'),
         "topics.child_labour.departments: unknown department 'CHILDREN'"),
        (lambda t: t.replace('departments = ["OSH"]', "departments = []"),
         "topics.osh.departments: a topic must name at least one department"),
        (lambda t: t.replace('always_consult = ["ACTEMP", "ACTRAV"]', 'always_consult = ["ACTEMP", "BUREAU"]'),
         "routing.always_consult: unknown department 'BUREAU'"),
        (lambda t: t.replace("confidence_threshold = 0.40", "confidence_threshold = 1.5"),
         "classifier.confidence_threshold: Input should be less than 1"),
        (lambda t: t.replace("target_reply_days = 14", "target_reply_dayz = 14"),
         "deadlines.target_reply_dayz: unknown field"),
        (lambda t: t.replace('email = "osh.focal@example.org"', 'email = "osh.focal"'),
         "departments.OSH.focal_points.0.email: 'osh.focal' is not an email address"),
        (lambda t: t.replace('day_count = "calendar"', 'day_count = "lunar"'),
         "deadlines.day_count: Input should be 'calendar' or 'working'"),
        (lambda t: t.replace('holiday_country = "CH"', 'holiday_country = "ZZ"'),
         "deadlines.holiday_country: 'ZZ' is not a country"),
        (lambda t: t.replace("[helpdesk]", "[helpdesk", 1), "not valid TOML"),
    ],
    ids=["unknown-department", "topic-without-department", "unknown-always-consult", "threshold", "typo-field",
         "bad-email", "day-count", "holiday-country", "toml-syntax"],
)
def test_configuration_mistake_is_named_with_its_field(tmp_path, change, expected):
    with pytest.raises(ConfigError) as caught:
        load_helpdesk_file(write(tmp_path, change(GOOD)))
    assert expected in str(caught.value)


def test_several_mistakes_are_reported_together(tmp_path):
    text = GOOD.replace("target_reply_days = 14", "target_reply_days = 0").replace(
        "max_topics = 3", "max_topics = 0")
    with pytest.raises(ConfigError, match=r"2 problem\(s\)"):
        load_helpdesk_file(write(tmp_path, text))


def test_missing_configuration_file_says_how_to_fix_it(tmp_path):
    with pytest.raises(ConfigError, match="HELPDESK_CONFIG"):
        load_helpdesk_file(tmp_path / "nope.toml")


def test_bad_configuration_stops_before_creating_the_database(tmp_path):
    config = write(tmp_path, GOOD.replace('departments = ["OSH"]', 'departments = ["NOPE"]'))
    settings = Settings(config=config, data_dir=tmp_path)
    with pytest.raises(ConfigError):
        bootstrap(settings)
    assert not (tmp_path / "helpdesk.db").exists()


def test_cli_reports_a_bad_configuration_and_exits_with_status_2(tmp_path, monkeypatch):
    config = write(tmp_path, GOOD.replace('departments = ["OSH"]', 'departments = ["NOPE"]'))
    monkeypatch.setenv("HELPDESK_CONFIG", str(config))
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["ask", "What is the minimum wage?"])
    assert result.exit_code == 2
    assert "topics.osh.departments: unknown department 'NOPE'" in result.output
    assert not (tmp_path / "helpdesk.db").exists()


def test_topic_without_training_examples_is_refused_at_start(tmp_path, database_url):
    extra = GOOD + '\n[topics.maritime]\ndepartments = ["OSH"]\nnames = { en = "Seafarers" }\n'
    settings = Settings(config=write(tmp_path, extra), data_dir=tmp_path, database_url=database_url)
    helpdesk = bootstrap(settings)
    try:
        with pytest.raises(ConfigError, match="topics maritime: fewer than 5 labelled examples"):
            helpdesk.load_model()
    finally:
        helpdesk.close()
