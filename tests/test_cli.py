"""The ``helpdesk`` command line, as a newcomer and a script would use it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone


def test_ask_with_json_prints_the_whole_triage_for_scripts(cli):
    result = cli("ask", "Can we employ 16-year-olds in our packaging plant in Ghana?", "--email", "buyer@example.com",
                 "--org", "Acme Ltd", "--country", "GH", "--type", "management", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["reference"].startswith("HD-") and data["target_reply_date"]
    assert data["requester"]["region"] == "Africa"
    assert data["topics"][0]["code"] == "child_labour" and 0 < data["topics"][0]["confidence"] <= 1
    assert any(r["department"] == "CHILD_LABOUR" for r in data["routes"])
    assert all({"qa_key", "score", "good"} <= m.keys() for m in data["matches"])
    assert data["draft"]


def test_queries_and_show_list_what_was_asked(cli):
    reference = json.loads(cli("ask", "How much weekly rest must workers get?", "--json").stdout)["reference"]
    listing = cli("queries")
    assert listing.exit_code == 0 and reference in listing.output
    shown = cli("show", reference, "--json")
    history = json.loads(shown.stdout)["history"]
    assert [e["kind"] for e in history][:2] == ["received", "triaged"]


def test_show_says_when_an_email_to_a_consulted_department_bounced(cli, database_url):
    from sqlalchemy import select, update

    from kb.db import make_engine
    from kb.models import Consultation

    reference = json.loads(cli("ask", "Can children of 14 work in our cocoa farms?", "--json").stdout)["reference"]
    engine = make_engine(database_url)  # what the inbound mail records when a routing email bounces
    try:
        with engine.begin() as connection:
            first = connection.scalar(select(Consultation.id).order_by(Consultation.id).limit(1))
            connection.execute(update(Consultation).where(Consultation.id == first).values(
                bounced_at=datetime(2026, 3, 3, 9, 30, tzinfo=timezone.utc),
                bounce="routing email to gone@example.org bounced"))
    finally:
        engine.dispose()
    shown = cli("show", reference)
    assert shown.exit_code == 0, shown.output
    assert "BOUNCED 2026-03-03T09:30" in shown.output and "gone@example.org" in shown.output
    data = json.loads(cli("show", reference, "--json").stdout)
    assert [c["bounce"] for c in data["consultations"] if c["bounced_at"]] == \
        ["routing email to gone@example.org bounced"]


def test_demo_triages_the_samples_and_is_safe_to_run_twice(cli):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert "HD-" in first.output and "9 sample queries triaged" in first.output
    second = cli("demo")
    assert "already stored" in second.output
    assert cli("queries").output.count("HD-") == 9


def test_queries_shows_the_most_recent_and_says_how_many_there_are(cli):
    assert cli("demo").exit_code == 0
    page = cli("queries", "--limit", "4")
    assert page.exit_code == 0, page.output
    shown = sorted(re.findall(r"HD-\d{4}-(\d{4})", page.output))
    assert shown == ["0006", "0007", "0008", "0009"]
    assert "the 4 most recent of 9; --limit 0 lists them all" in page.output
    everything = cli("queries", "--limit", "0")
    assert everything.output.count("HD-") == 9 and "most recent" not in everything.output


def test_bad_country_exits_with_a_clear_message(cli):
    result = cli("ask", "What is the minimum wage?", "--country", "XX")
    assert result.exit_code == 1 and "'XX' is not an ISO 3166 country" in result.output


def test_unknown_reference_exits_with_a_clear_message(cli):
    result = cli("show", "HD-2026-0999")
    assert result.exit_code == 1 and "no query with reference" in result.output


def test_an_unknown_status_filter_is_refused_with_the_known_ones(cli):
    from config.cli import STATUSES
    from kb.models import QueryStatus

    assert STATUSES == tuple(s.value for s in QueryStatus)
    result = cli("queries", "--status", "lost")
    assert result.exit_code == 1 and "unknown status 'lost'; choose one of new, manual_triage" in result.output
    assert cli("queries", "--status", "answered").exit_code == 0


def test_the_help_does_not_load_the_store_or_the_models():
    """`helpdesk --help` answers at once: the database layer and the models are imported only by commands
    that use them."""
    import subprocess
    import sys

    probe = ("import sys, config.cli; heavy = [m for m in ('sqlalchemy', 'sklearn', 'numpy', 'telegram', "
             "'apscheduler', 'imapclient', 'kb.service') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
