"""The console's Reports page, over HTTP, on SQLite and PostgreSQL.

Maria prepares the helpdesk's annual figures for the advisory group. Over the year, queries arrived by
email, the command line and Telegram, about four countries in four regions, from four kinds of
requester, in three languages; one requester asked for confidentiality. She opens Reports, reads the
year's totals and the charts (last year's beside them), and downloads each table as CSV for the annual
report; the numbers agree with what she counts query by query. Victor, a viewer on the advisory group,
reads the same page: it holds only aggregate figures, and the confidential requester is counted but
described nowhere (a row of fewer than five queries never shows it). Someone signed out is sent to sign
in, and a year that makes no sense gets a clear 400 page, not an error. (The figures themselves, over a
seeded year, are tested in test_annual_report.)
"""

from __future__ import annotations

import base64
import csv
import io
import re
import statistics
import struct
import zlib
from collections import Counter
from datetime import datetime, timezone

import pytest

from kb.intake import QuerySubmission
from kb.models import Channel
from kb.reports import CONFIDENTIAL_BUCKET, MIN_CELL, TABLE_NAMES
from tests.test_web import Console
from tests.test_web import maria, service, victor  # noqa: F401 - the fixtures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECRET_ORGANISATION = "Umbra Mining Consolidated"
TABLES = TABLE_NAMES


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=timezone.utc)


#: The queries, in the order they arrive: (when, who asks what, the topics Maria sets). The first is last year's.
SEEDS = [
    (at(12, 10, 2025), dict(text="Do we need to pay overtime to night watchmen?", email="old@acme.example",
                            organisation="Acme Ltd", country="GH", requester_type="management", language="en",
                            channel=Channel.EMAIL), ["wages"]),
    (at(1, 12), dict(text="Can we employ 16-year-olds in our packaging plant in Ghana?", email="jane@acme.example",
                     organisation="Acme Ltd", country="GH", requester_type="management", language="en",
                     channel=Channel.EMAIL, subject="Young workers"), ["child_labour"]),
    (at(2, 3), dict(text="Nos chauffeurs travaillent douze heures par jour : est-ce conforme aux normes ?",
                    email="paul@rail.example", organisation="Syndicat du Rail", country="FR", requester_type="workers",
                    language="fr", channel=Channel.EMAIL, subject="Temps de travail"), ["working_time", "osh"]),
    (at(2, 20), dict(text="¿Qué equipo de protección personal debe dar la empresa a los mineros?",
                     email="ana@gob.example", organisation="Secretaría del Trabajo", country="MX",
                     requester_type="government", language="es", channel=Channel.CLI), ["osh"]),
    (at(3, 2), dict(text="Our suppliers keep workers' passports. Is that forced labour?", telegram_chat_id=4242,
                    organisation=SECRET_ORGANISATION, country="IN", requester_type="employers_organisation",
                    language="en", channel=Channel.TELEGRAM, confidential=True), ["forced_labour"]),
]


@pytest.fixture
def year_of_queries(service, clock) -> dict:
    """The seeded queries, two of them answered (one on target, one late) and rated.

    Returns {"references": [...], "answered": {reference: when}}."""
    references = []
    for when, fields, topics in SEEDS:
        clock.now = when
        reference = service.submit_query(QuerySubmission(**fields)).reference
        service.correct_topics(reference, topics, "maria")
        references.append(reference)
    _, jane, paul, _, _ = references
    answered = {}
    for reference, when, rating in ((jane, at(1, 15), 5), (paul, at(3, 30), 3)):  # 3 days; 55 days, past the target
        clock.now = answered[reference] = when
        service.send_reply(reference, "maria", "Thank you for your question. Here is what the standards say.")
        service.record_feedback(reference, rating)
    return {"references": references, "answered": answered}


def expected_figures(service, seeded: dict, year: int = 2026) -> dict:
    """The figures counted independently of the report: query by query, from what the service shows of each."""
    rows = []
    for reference, (_, _, topics) in zip(seeded["references"], SEEDS):
        shown = service.show_query(reference).report
        if shown.received_at.year == year:
            rows.append((shown, topics))

    def protected(keys: list[tuple[str, bool]]) -> Counter:  # the rule for confidential queries
        everyone = Counter(k for k, _ in keys)
        return Counter(k if not secret or everyone[k] >= MIN_CELL else CONFIDENTIAL_BUCKET for k, secret in keys)

    answered = {s.reference: (s, seeded["answered"][s.reference]) for s, _ in rows if s.reference in seeded["answered"]}
    on_target = {r for r, (s, when) in answered.items() if when.date() <= s.target_reply_date}
    received = Counter(s.received_at.month for s, _ in rows)
    return {
        "queries": len(rows),
        "answered": len(answered),
        "on_target": len(on_target),
        "median_days": statistics.median((when - s.received_at).total_seconds() / 86400
                                         for s, when in answered.values()),
        "channels": Counter(s.channel for s, _ in rows),
        # Each query is about its requester's country here (no text names another).
        "regions": protected([(s.requester.region, s.confidential) for s, _ in rows]),
        "requester_types": protected([(s.requester.requester_type, s.confidential) for s, _ in rows]),
        "languages": Counter(s.language for s, _ in rows),
        "topics": Counter(code for _, topics in rows for code in topics),
        "months": {m: (received[m], sum(1 for s, _ in answered.values() if s.received_at.month == m),
                       sum(1 for r, (s, _) in answered.items() if s.received_at.month == m and r in on_target))
                   for m in range(1, 13)},
    }


def download(console: Console, year: int, table: str) -> list[dict]:
    response = console.get(f"/reports/{year}/{table}.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == \
        f'attachment; filename="helpdesk-report-{year}-{table}.csv"'
    return list(csv.DictReader(io.StringIO(response.text)))


def figure(page: str, key: str) -> str:
    return re.search(rf'id="fig-{key}"><dt>[^<]*</dt><dd><strong class="figure">([^<]*)<', page).group(1)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its chunks' CRCs and that its pixels decompress."""
    assert data.startswith(PNG_SIGNATURE)
    position, pixels, size = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[position + 8 + length:position + 12 + length])[0]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            pixels += body
        position += 12 + length
    assert size is not None and kind == b"IEND"
    assert len(zlib.decompress(pixels)) > size[0] * size[1]  # at least a byte a pixel: a real image
    return size


# ------------------------------------------------------------------ the page
def test_the_years_figures_charts_and_csv_downloads_agree_and_name_no_confidential_requester(
        service, maria, victor, year_of_queries):
    expected = expected_figures(service, year_of_queries)
    assert expected["queries"] == 4 and expected["answered"] == 2 and expected["on_target"] == 1  # the story holds

    page = maria.get("/reports")  # this year by default: the clock is in 2026
    assert page.status_code == 200 and "Annual report 2026" in page.text
    assert 'href="/reports"' in page.text  # the Reports link in the navigation
    assert figure(page.text, "queries") == "4"
    assert figure(page.text, "answered") == "2" and "50% of received" in page.text
    assert figure(page.text, "on-target") == "1" and "50% of answered" in page.text
    assert figure(page.text, "median-days") == f"{round(expected['median_days'], 1):g}"
    assert figure(page.text, "ratings") == "2" and "mean 4 out of 5" in page.text

    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)" width="(\d+)" height="(\d+)"',
                        page.text)
    drawn = [name for name in TABLES if 'src="data:image/png' in page.text.split(f'id="table-{name}"')[1]
             .split("</section>")[0]]
    assert drawn == ["months", "channels", "topics", "countries", "regions", "requester_types", "sectors",
                     "languages", "departments", "reply_times", "feedback"]  # every table with figures but Q&As
    assert len(images) == len(drawn)  # no input yet: the departments' days to give input are not drawn
    for encoded, alt, width, height in images:
        assert png_size(base64.b64decode(encoded)) == (int(width), int(height))
        assert int(width) >= 600 and int(height) >= 150 and "chart" in alt
    topics_alt = page.text.split('id="table-topics"')[1].split('alt="')[1].split('"')[0]
    assert "Occupational safety and health: 2" in topics_alt and "Child labour: 1" in topics_alt
    assert "beside 2025" in topics_alt and "Wages and benefits: 0 (1 in 2025)" in topics_alt

    months = page.text.split('id="table-months"')[1].split("</section>")[0]
    assert re.search(r'<th scope="row">Feb</th><td class="num">2</td><td class="num">1</td><td class="num">0</td>',
                     months)
    assert re.search(r'<th scope="row">Total</th><td class="num">4</td><td class="num">2</td><td class="num">1</td>',
                     months)
    regions = page.text.split('id="table-regions"')[1].split("</section>")[0]
    assert set(expected["regions"]) == {"Africa", "Europe and Central Asia", "Americas", CONFIDENTIAL_BUCKET}
    for region in expected["regions"]:
        assert f'<th scope="row">{region}</th><td class="num">1</td><td class="num">25%</td>' in regions
    assert "Asia and the Pacific" not in regions  # the confidential query's region: one query, not shown

    last_year = maria.get("/reports?year=2025")
    assert last_year.status_code == 200 and figure(last_year.text, "queries") == "1"
    assert 'href="/reports?year=2026"' in last_year.text

    # She downloads each table for the annual report: the numbers agree with the queries counted one by one.
    summary = {row["figure"]: row["value"] for row in download(maria, 2026, "summary")}
    assert summary["queries received"] == str(expected["queries"])
    assert summary["answered"] == str(expected["answered"])
    assert summary["answered within the original target"] == str(expected["on_target"])
    assert float(summary["median days to reply"]) == round(expected["median_days"], 1)
    assert summary["ratings"] == "2" and float(summary["mean rating"]) == 4.0

    months = download(maria, 2026, "months")
    assert list(months[0]) == ["month", "received", "answered", "within_original_target", "within_extended_target",
                               "received_year_before"]
    assert [row["month"] for row in months] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert {int(row["month"][-2:]): (int(row["received"]), int(row["answered"]), int(row["within_original_target"]))
            for row in months} == expected["months"]
    assert [int(row["received_year_before"]) for row in months] == [0] * 11 + [1]

    topics = download(maria, 2026, "topics")
    assert list(topics[0]) == ["topic", "name", "queries", "year_before"]
    assert {row["topic"]: int(row["queries"]) for row in topics if row["queries"] != "0"} == expected["topics"]
    assert {row["topic"]: row["name"] for row in topics}["osh"] == "Occupational safety and health"
    assert [int(row["queries"]) for row in topics] == sorted((int(row["queries"]) for row in topics), reverse=True)

    for table, key in (("regions", "region"), ("requester_types", "requester_type"), ("channels", "channel"),
                       ("languages", "language")):
        rows = download(maria, 2026, table)
        assert list(rows[0]) == [key, "queries", "year_before"], table
        assert {row[key]: int(row["queries"]) for row in rows if row["queries"] != "0"} == expected[table], table
        assert sum(int(row["queries"]) for row in rows) == expected["queries"]

    assert maria.get("/reports/2026/requesters.csv").status_code == 404  # no such table

    # Victor, a viewer, reads the same figures; the confidential requester is counted, but named nowhere.
    assert service.show_query(year_of_queries["references"][4]).report.confidential
    seen = victor.get("/reports?year=2026")
    assert seen.status_code == 200 and figure(seen.text, "queries") == "4"
    assert f"<th scope=\"row\">{CONFIDENTIAL_BUCKET}</th>" in seen.text
    assert "<th scope=\"row\">Employers organisation</th>" not in seen.text  # a cell of one: not shown
    assert "India" not in seen.text
    for text in [page.text, seen.text, *(victor.get(f"/reports/2026/{table}.csv").text for table in TABLES)]:
        assert SECRET_ORGANISATION not in text and "Umbra" not in text and "4242" not in text
        assert "Acme" not in text and "jane@acme.example" not in text  # no requester is named, confidential or not


# ------------------------------------------------------------------ the doors
def test_signed_out_visitors_are_sent_to_sign_in_and_nonsense_years_get_a_clear_400(service, maria):
    stranger = Console(service)
    for path in ("/reports?year=2026", "/reports/2026/topics.csv"):
        response = stranger.get(path)
        assert response.url.path == "/login" and "Sign in" in response.text, path
        assert "text/csv" not in response.headers["content-type"]

    for asked, says in (("1999", "choose a year from 2000 to 2026"), ("2027", "choose a year from 2000 to 2026"),
                        ("twenty", "is not a year"), ("2026.5", "is not a year"), ("-1", "is not a year"),
                        ("9" * 400, "is not a year")):
        response = maria.get("/reports", params={"year": asked})
        assert response.status_code == 400 and says in response.text, asked
        assert 'role="alert"' in response.text and 'name="year"' in response.text  # she can pick another year
    too_late = maria.get("/reports/2031/summary.csv")
    assert too_late.status_code == 400 and "no report for 2031" in too_late.text

    empty = maria.get("/reports?year=2001")
    assert empty.status_code == 200 and "No queries were received in 2001" in empty.text
    assert "data:image/png" not in empty.text
    assert download(maria, 2001, "topics") == [] and len(download(maria, 2001, "months")) == 12
