"""``helpdesk report``: a year of the helpdesk, told through the service, and the report it gives.

Maria's helpdesk lived through 2026 (and a little of 2025): queries by email, Telegram and the command
line, in English, French and Spanish, about Ghana's cocoa farms, Mexico's mines, a Bangladeshi supplier
of a British buyer; focal points gave their inputs (some after reminders); she answered on time, late,
within an extended target and after one, once twice (the requester wrote back); requesters rated the
replies, one solved her question from a Q&A in Telegram; two queries were confidential. Everything is
done through the service, at the instant it happened, in the order it happened; the seeded store is
built once for this module (SQLite).

The test counts the figures again, on its own, from what it did, and compares them with the report;
the HTML file parses with every chart a real PNG, opens in headless Chromium with every image loaded
(and prints to PDF); the CSVs are the tables; the text output holds the same figures; and the
confidential requesters' organisations, sectors and words appear nowhere. Bad options change nothing.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import shutil
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.bootstrap import bootstrap
from config.cli import app
from config.cli_report import to_text
from config.settings import DEFAULT_FILE, Settings
from kb.db import unit_of_work
from kb.inbound import InboundEmail
from kb.intake import QuerySubmission
from kb.models import Channel, Query
from kb.reports import CONFIDENTIAL_BUCKET, MIN_CELL, TABLE_NAMES
from tests.conftest import FixedClock
from tests.peers.browser import needs_chromium, start_chromium
from tests.test_web_reports import png_size
from web.report_file import render_html, write_report

UTC = timezone.utc
#: How long things took, printed when the module's store is closed (read them with ``-s``).
TIMES: dict[str, float] = {}
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
LAST_YEAR = (date(2025, 1, 1), date(2025, 12, 31))
#: What must appear nowhere: the confidential requesters' organisations, their sectors (in cells under five),
#: words of their queries, their chat and address; and, for good measure, every other organisation too.
SECRETS = ("Umbra Mining Consolidated", "Umbra", "Obsidian Cocoa Holdings", "Obsidian", "Seabed minerals",
           "passports", "bonded", "4242", "obsidian.example")
ORGANISATIONS = ("Acme Cocoa", "Syndicat du Rail", "Secretaría de Minería", "Highstreet Retail plc")


def at(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


@dataclass
class Seed:
    """One query as it was asked, and what was done with it."""

    key: str
    received: datetime
    text: str
    country: str  # the requester's
    channel: Channel = Channel.EMAIL
    topics: tuple[str, ...] = ("osh",)
    requester_type: str = "management"
    sector: str | None = None
    organisation: str | None = None
    confidential: bool = False
    chat: int | None = None
    #: The country the query is about, when the text names another than the requester's.
    concerned: tuple[str, str] | None = None
    # ------------------------------------------------------------ what happened to it (days after receipt)
    #: Each reply: days after receipt, or ("original" | "extended", days after that target's day at noon).
    replies: tuple = ()
    extend_days: int | None = None
    extend_after: float = 3
    ratings: tuple[int | None, ...] = ()
    input_after: float | None = None
    self_served: bool = False
    promote_after: float | None = None
    # ------------------------------------------------------------ filled in while seeding
    reference: str = ""
    original_target: date | None = None
    target: date | None = None
    first_reply: datetime | None = None
    language: str = ""
    consultations: list[dict] = field(default_factory=list)


def seeds() -> list[Seed]:
    ghana = "We source cocoa from farms in Ghana. {}"
    return [
        # 2025: the year before.
        Seed("old-1", at(2025, 3, 10), "Who pays for personal protective equipment in our plant?", "GH",
             sector="Cocoa", organisation="Acme Cocoa", replies=(4,), ratings=(5,), promote_after=10),
        Seed("old-2", at(2025, 6, 2), "How many hours of overtime can our drivers work each week?", "FR",
             topics=("working_time",), requester_type="workers", replies=(20,)),
        Seed("old-3", at(2025, 9, 15), "Do we have to pay the minimum wage to apprentices?", "US",
             topics=("wages",), sector="Garment"),
        Seed("old-4", at(2025, 12, 31, 23, 30), "Must we give maternity leave to temporary staff?", "KE",
             topics=("social_security",), channel=Channel.CLI, replies=(5,)),
        # 2026.
        Seed("new-year", at(2026, 1, 1, 0, 30), "What should a company's policy on equal pay contain?", "DE",
             topics=("equality",), sector="Machinery", replies=(9,), ratings=(None,)),
        Seed("gh-1", at(2026, 1, 12), ghana.format("Can children help their parents on the farm after school?"),
             "GH", topics=("child_labour",), sector="Cocoa", organisation="Acme Cocoa", replies=(3,),
             ratings=(5,), input_after=2, promote_after=8),
        Seed("gh-2", at(2026, 1, 20), ghana.format("Our buyers ask for a grievance mechanism for the farmers."),
             "GH", topics=("general_policies",), sector="Cocoa", organisation="Obsidian Cocoa Holdings",
             confidential=True, replies=(24,), ratings=(2,)),
        Seed("gh-3", at(2026, 2, 3), ghana.format("Who must provide protective gloves for machete work?"), "GH",
             sector="Cocoa", replies=(("original", 1),), extend_days=10, ratings=(4,), input_after=4),
        Seed("gh-4", at(2026, 2, 17), ghana.format("How many hours may harvesters work in the peak season?"),
             "GH", topics=("working_time",), sector="Cocoa", replies=(("extended", 3),), extend_days=5, extend_after=6,
             ratings=(3,), input_after=12),
        Seed("gh-5", at(2026, 3, 2), ghana.format("Is a piece rate for pickers allowed under the standards?"),
             "GH", topics=("wages",), sector="Cocoa", replies=(1,), ratings=(None, 4)),
        Seed("gh-6", at(2026, 3, 16), ghana.format("Can we hire seasonal workers through a labour agent?"), "GH",
             topics=("employment_security",), sector="cocoa"),
        Seed("fr-1", at(2026, 2, 3), "Nos chauffeurs travaillent douze heures par jour : est-ce conforme aux normes ?",
             "FR", topics=("working_time", "osh"), requester_type="workers", organisation="Syndicat du Rail",
             sector="Transport", replies=(6,), ratings=(4,), input_after=1, promote_after=9),
        Seed("fr-2", at(2026, 4, 7), "Le syndicat peut-il négocier une convention collective pour les intérimaires ?",
             "FR", topics=("freedom_of_association",), requester_type="workers", sector="Transport",
             replies=(16,)),
        Seed("mx-1", at(2026, 2, 20), "¿Qué equipo de protección personal debe dar la empresa a los mineros?", "MX",
             channel=Channel.CLI, requester_type="government", organisation="Secretaría de Minería",
             replies=(10,), input_after=3),
        Seed("mx-2", at(2026, 5, 5), "¿Cuántas horas extraordinarias pueden trabajar los mineros cada semana?",
             "MX", topics=("working_time",), requester_type="government"),
        Seed("tg-solved", at(2026, 3, 2, 10), "How many weeks of maternity leave must we give?", "KE",
             channel=Channel.TELEGRAM, chat=4101, topics=("social_security",), self_served=True),
        Seed("tg-twice", at(2026, 4, 14), "Can we employ 16-year-olds in our packaging plant?", "KE",
             channel=Channel.TELEGRAM, chat=4102, topics=("child_labour",), replies=(3, 8), ratings=(5,)),
        Seed("umbra", at(2026, 3, 9), "Our suppliers keep workers' passports and bonded wages. Is that forced labour?",
             "IN", channel=Channel.TELEGRAM, chat=4242, topics=("forced_labour",),
             requester_type="employers_organisation", sector="Seabed minerals",
             organisation="Umbra Mining Consolidated", confidential=True, replies=(12,), ratings=(4,)),
        Seed("in-1", at(2026, 6, 15), "Which standards apply to our members' workplace safety committees?", "IN",
             requester_type="employers_organisation", replies=(2,)),
        Seed("bd", at(2026, 6, 1), "Our supplier in Bangladesh wants its sewing operators to work seven days a "
             "week before the holidays. What do the standards say?", "GB", topics=("working_time",),
             organisation="Highstreet Retail plc", sector="Retail", concerned=("BD", "Asia and the Pacific"),
             replies=(9,), input_after=3, ratings=(1,)),
        Seed("us-1", at(2026, 7, 6), "Must overtime be voluntary for our factory workers?", "US",
             topics=("working_time",), sector="Garment", replies=(5,), extend_days=7, extend_after=2,
             input_after=2),
        Seed("us-2", at(2026, 8, 3), "Should our supplier code of conduct cover subcontractors?", "US",
             topics=("general_policies",), sector="Garment", replies=(14,)),
        Seed("us-3", at(2026, 9, 7), "Can we pay our trainees less than the minimum wage?", "US",
             topics=("wages",), sector="Garment", replies=(30,)),
        Seed("ke-1", at(2026, 10, 5), "Do our security guards have a right to join a union?", "KE",
             topics=("freedom_of_association",), requester_type="workers", replies=(45,)),
        Seed("de-1", at(2026, 11, 2), "How should we assess the risks of night work for our nurses?", "DE"),
    ]


# ---------------------------------------------------------------------------------------------- seeding
class Year:
    """Runs the seeds' lives through the service, event by event in time order, as a sender and focal points
    would take part: due mail is delivered before each event, and the scheduler chases twice a month."""

    def __init__(self, helpdesk, clock: FixedClock, seeds_: list[Seed]) -> None:
        self.helpdesk, self.service, self.clock, self.seeds = helpdesk, helpdesk.service, clock, seeds_
        self.routing: dict[tuple[str, str], str] = {}  # (reference, focal point) -> the routing email's Message-ID
        self.qas_written: list[datetime] = []
        self.promoted: list[datetime] = []

    def when(self, s: Seed, spec) -> datetime:
        if not isinstance(spec, tuple):
            return s.received + timedelta(days=spec)
        which, days = spec
        original = self.service.due_in(s.received.date(), self.helpdesk.policy.deadlines.target_reply_days)
        target = original if which == "original" else self.service.due_in(original, s.extend_days)
        return datetime(target.year, target.month, target.day, 12, tzinfo=UTC) + timedelta(days=days)

    def run(self) -> None:
        events: list[tuple[datetime, int, object]] = []
        for s in self.seeds:
            events.append((s.received, 0, lambda s=s: self.submit(s)))
            if s.self_served:
                events.append((s.received + timedelta(hours=1), 1, lambda s=s: self.service.self_service(
                    s.chat, s.reference, True)))
            if s.extend_days:
                events.append((s.received + timedelta(days=s.extend_after), 1, lambda s=s: self.extend(s)))
            if s.input_after is not None:
                events.append((s.received + timedelta(days=s.input_after), 2, lambda s=s: self.give_input(s)))
            for n, spec in enumerate(s.replies):
                events.append((self.when(s, spec), 3, lambda s=s, n=n: self.reply(s, n)))
            for n, rating in enumerate(s.ratings):
                events.append((self.when(s, s.replies[0]) + timedelta(hours=2 + n), 4,
                               lambda s=s, r=rating: self.rate(s, r)))
            if s.promote_after is not None:
                events.append((s.received + timedelta(days=s.promote_after), 5, lambda s=s: self.promote(s)))
        events.append((at(2026, 5, 20), 6, self.write_qa))
        for month in range(1, 13):
            for day in (1, 15):
                events.append((at(2026, month, day, 7), 7, self.service.chase_overdue_work))
        for when, _, action in sorted(events, key=lambda e: (e[0], e[1])):
            self.clock.now = when
            self.deliver()
            action()
        self.clock.now = at(2026, 12, 2, 12)
        for s in self.seeds:
            shown = self.service.show_query(s.reference)
            s.language, s.target, s.consultations = shown.report.language, shown.report.target_reply_date, \
                shown.consultations

    def deliver(self) -> None:
        for channel in (Channel.EMAIL, Channel.TELEGRAM):
            for message in self.service.claim_outbox(channel, limit=500):
                if message.kind == "routing":
                    for recipient in message.recipients:
                        self.routing[(message.reference, recipient)] = message.email_message_id
                self.service.delivered(message.id)

    def submit(self, s: Seed) -> None:
        report = self.service.submit_query(QuerySubmission(
            text=s.text, channel=s.channel, email=None if s.chat else f"{s.key}@requester.example",
            telegram_chat_id=s.chat, organisation=s.organisation, sector=s.sector, country=s.country,
            requester_type=s.requester_type, confidential=s.confidential, name=f"Person {s.key}"))
        s.reference, s.original_target = report.reference, report.target_reply_date
        self.service.correct_topics(s.reference, list(s.topics), "maria")
        if s.concerned:
            self._intake_read_the_country(s)

    def _intake_read_the_country(self, s: Seed) -> None:
        """Intake stored the country the text names as the query's (the requester's own stays on the requester)."""
        with unit_of_work(self.helpdesk.sessions) as session:
            query = session.scalar(select(Query).where(Query.reference == s.reference))
            assert (query.country_concerned, query.region, query.country_source) == (*s.concerned, "text")
            assert query.requester.country == s.country

    def extend(self, s: Seed) -> None:
        self.service.extend_target(s.reference, "needs the legal department's view", days=s.extend_days,
                                   actor="maria")

    def give_input(self, s: Seed) -> None:
        department = self.service.show_query(s.reference).consultations[0]["department"]
        focal_point = self.helpdesk.policy.departments[department].focal_points[0].email
        routing = self.routing[(s.reference, focal_point)]
        text = "Our department's input: the standards allow this only with the safeguards below."
        result = self.service.receive_email(InboundEmail(
            raw=f"From: {focal_point}\r\nSubject: Re: {s.reference}\r\n\r\n{text}\r\n".encode(),
            message_id=f"<input-{s.key}@example.org>", in_reply_to=routing, references=(routing,),
            sender=focal_point, subject=f"Re: [{s.reference}]", text=text, new_text=text,
            recipients=("helpdesk@example.org",)))
        assert result.outcome.value == "input", result

    def reply(self, s: Seed, n: int) -> None:
        if n > 0:  # the requester wrote back after the first reply: the query reopens
            self.service.chat_follow_up(s.chat, s.reference, "Thank you. And what about apprentices aged 15?")
            self.clock.now += timedelta(hours=1)
        self.service.send_reply(s.reference, "maria", f"Dear requester,\n\nHere is what the standards say ({n}).")
        if n == 0:
            s.first_reply = self.clock.now

    def rate(self, s: Seed, rating: int | None) -> None:
        if s.chat and rating is not None:
            self.service.chat_rating(s.chat, s.reference, rating)
        else:
            self.service.record_feedback(s.reference, rating, None if rating else "Clear, thank you.")

    def promote(self, s: Seed) -> None:
        self.service.promote_to_qa(s.reference, "maria")
        self.promoted.append(self.clock.now)

    def write_qa(self) -> None:
        self.service.qa_add(language="en", question="May a company keep its workers' identity papers?",
                            answer="No: identity documents belong to the worker.", topics=["forced_labour"],
                            actor="maria")
        self.qas_written.append(self.clock.now)


@pytest.fixture(scope="module")
def year(tmp_path_factory, trained_model_path):
    """The seeded store (SQLite, once for the module): (helpdesk, Year)."""
    folder = tmp_path_factory.mktemp("report-year")
    shutil.copy(trained_model_path, folder / "topic-model.npz")
    settings = Settings(config=DEFAULT_FILE, data_dir=folder, database_url=f"sqlite:///{folder / 'helpdesk.db'}",
                        model_path=folder / "topic-model.npz")
    clock = FixedClock(at(2025, 1, 2))
    helpdesk = bootstrap(settings, clock=clock)
    seeded = Year(helpdesk, clock, seeds())
    began = time.perf_counter()
    seeded.run()
    TIMES["seeding (s)"] = time.perf_counter() - began
    yield helpdesk, seeded
    helpdesk.close()
    print("\nreport timings: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in TIMES.items()))


# ---------------------------------------------------------------------------------------------- counting again
def nearest_rank_p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def protected(rows: list[tuple[str, bool]]) -> Counter:
    """(key, confidential) per query -> counts, with the documented rule for confidential queries."""
    everyone = Counter(key for key, _ in rows)
    counted = Counter()
    for key, confidential in rows:
        counted[key if not confidential or everyone[key] >= MIN_CELL else CONFIDENTIAL_BUCKET] += 1
    return counted


REGION = {"GH": "Africa", "KE": "Africa", "FR": "Europe and Central Asia", "DE": "Europe and Central Asia",
          "GB": "Europe and Central Asia", "MX": "Americas", "US": "Americas", "IN": "Asia and the Pacific",
          "BD": "Asia and the Pacific"}


def expected(seeded: Year, period: tuple[date, date]) -> dict:
    first, last = period
    rows = [s for s in seeded.seeds if first <= s.received.date() <= last]
    answered = [s for s in rows if s.first_reply]
    days = [(s.first_reply - s.received).total_seconds() / 86400 for s in answered]
    extended = [s for s in rows if s.target != s.original_target]
    country = {s.key: (s.concerned[0] if s.concerned else s.country) for s in rows}
    ratings = [r for s in rows for r in s.ratings]
    marks = [r for r in ratings if r is not None]
    inputs, department_days = Counter(), {}
    consulted, reminders = Counter(), Counter()
    for s in rows:
        for c in s.consultations:
            consulted[c["department"]] += 1
            reminders[c["department"]] += c["reminders_sent"]
            if c["input_received_at"]:
                inputs[c["department"]] += 1
                department_days.setdefault(c["department"], []).append(
                    (datetime.fromisoformat(c["input_received_at"]) - s.received).total_seconds() / 86400)
    all_input_days = [d for values in department_days.values() for d in values]

    def within(s: Seed, target: date) -> bool:
        return s.first_reply.date() <= target

    def band(d: float) -> str:
        return "up to 7 days" if d <= 7 else "7 to 14 days" if d <= 14 else "14 to 30 days" if d <= 30 else \
            "over 30 days"

    return {
        "queries": len(rows), "confidential": sum(s.confidential for s in rows),
        "answered": len(answered),
        "within_original": sum(within(s, s.original_target) for s in answered),
        "within_extended": sum(within(s, s.target) for s in answered),
        "extended": len(extended), "extended_answered": sum(1 for s in extended if s.first_reply),
        "extended_met": sum(1 for s in extended if s.first_reply and within(s, s.target)),
        "median_days": round(statistics.median(days), 1) if days else None,
        "p90_days": round(nearest_rank_p90(days), 1) if days else None,
        "bands": Counter(band(d) for d in days),
        "self_served": sum(s.self_served for s in rows),
        "months": Counter(f"{s.received:%Y-%m}" for s in rows),
        "answered_months": Counter(f"{s.received:%Y-%m}" for s in answered),
        "original_months": Counter(f"{s.received:%Y-%m}" for s in answered if within(s, s.original_target)),
        "channels": Counter(s.channel.value for s in rows),
        "languages": Counter(s.language for s in rows),
        "topics": Counter(t for s in rows for t in s.topics),
        "countries": protected([(country[s.key], s.confidential) for s in rows]),
        "regions": protected([(REGION[country[s.key]], s.confidential) for s in rows]),
        "requester_types": protected([(s.requester_type, s.confidential) for s in rows]),
        "sectors": protected([((s.sector[:1].upper() + s.sector[1:]) if s.sector else "unknown", s.confidential)
                              for s in rows]),
        "consulted": consulted, "inputs": inputs, "reminders": reminders,
        "department_median": {d: round(statistics.median(v), 1) for d, v in department_days.items()},
        "department_p90": {d: round(nearest_rank_p90(v), 1) for d, v in department_days.items()},
        "input_median": round(statistics.median(all_input_days), 1) if all_input_days else None,
        "input_p90": round(nearest_rank_p90(all_input_days), 1) if all_input_days else None,
        "feedback": len(ratings), "ratings": len(marks),
        "by_rating": Counter(str(r) if r is not None else "no mark" for r in ratings),
        "mean_rating": round(statistics.mean(marks), 2) if marks else None,
        "useful": round(100 * sum(1 for m in marks if m >= 4) / len(marks), 1) if marks else None,
        "partly": round(100 * sum(1 for m in marks if m == 3) / len(marks), 1) if marks else None,
        "promoted": sum(1 for t in seeded.promoted if first <= t.date() <= last),
        "written": sum(1 for t in seeded.qas_written if first <= t.date() <= last),
    }


def as_counter(table, key: str | None = None, value: str = "queries") -> Counter:
    key = key or table.columns[0]
    return Counter({k: v for k, v in zip(table.column(key), table.column(value)) if v})


# ---------------------------------------------------------------------------------------------- the figures
def test_the_years_figures_agree_with_a_count_made_query_by_query(year):
    helpdesk, seeded = year
    began = time.perf_counter()
    report = helpdesk.service.period_report(*YEAR)
    seconds = time.perf_counter() - began
    e, f = expected(seeded, YEAR), report.figures
    # The story holds: what the test meant to seed is what it seeded.
    assert e["queries"] == 21 and e["confidential"] == 2 and e["self_served"] == 1
    assert e["extended"] == 3 and e["extended_answered"] == 3 and 0 < e["extended_met"] < 3
    assert e["within_original"] < e["within_extended"] < e["answered"]
    assert sum(e["inputs"].values()) == 7 and sum(e["reminders"].values()) > 0
    assert e["languages"]["fr"] == 2 and e["languages"]["es"] == 2

    assert (f.queries, f.confidential, f.answered) == (e["queries"], e["confidential"], e["answered"])
    assert f.answered_within_original_target == e["within_original"]
    assert f.answered_on_target == e["within_extended"]
    assert (f.extended, f.extended_answered, f.extended_answered_within_extension) == \
        (e["extended"], e["extended_answered"], e["extended_met"])
    assert (f.median_days_to_reply, f.p90_days_to_reply) == (e["median_days"], e["p90_days"])
    assert f.self_served == e["self_served"]
    assert (f.feedback, f.ratings, f.mean_rating) == (e["feedback"], e["ratings"], e["mean_rating"])
    assert +f.by_rating == e["by_rating"]
    assert (f.qas_promoted, f.qas_written) == (e["promoted"], e["written"]) == (2, 1)
    assert (f.inputs, f.reminders_sent, f.median_days_to_input, f.p90_days_to_input) == \
        (sum(e["inputs"].values()), sum(e["reminders"].values()), e["input_median"], e["input_p90"])

    t = report.tables
    assert list(t) == list(TABLE_NAMES)
    months = {row[0]: row for row in t["months"].rows}
    assert list(months) == [f"2026-{m:02d}" for m in range(1, 13)]
    for month, (_, received, answered, original, extended, before) in months.items():
        assert (received, answered, original) == \
            (e["months"][month], e["answered_months"][month], e["original_months"][month]), month
        assert before == expected(seeded, LAST_YEAR)["months"][f"2025-{month[5:]}"]
    assert sum(row[4] for row in t["months"].rows) == e["within_extended"]
    for name in ("channels", "languages", "regions", "requester_types", "sectors"):
        assert as_counter(t[name]) == e[name], name
        assert sum(t[name].column("queries")) == e["queries"], name
    assert as_counter(t["topics"]) == e["topics"]
    countries = {(code or name): n for code, name, _, n, _ in t["countries"].rows if n}
    assert countries == e["countries"]
    assert as_counter(t["reply_times"], value="answered") == e["bands"]
    assert as_counter(t["feedback"], value="feedback") == e["by_rating"]
    summary = {row[0]: row[1] for row in t["summary"].rows}
    assert summary["useful, rated 4 or 5 (% of ratings)"] == e["useful"]
    assert summary["partly useful, rated 3 (% of ratings)"] == e["partly"]
    assert summary["answered within the original target (% of answered)"] == \
        round(100 * e["within_original"] / e["answered"], 1)
    assert summary["Q&As added"] == 3
    departments = {row[0]: row for row in t["departments"].rows}
    assert Counter({d: row[2] for d, row in departments.items()}) == e["consulted"]
    for code, (_, name, consulted, inputs, median, p90, reminders, _) in departments.items():
        assert name == helpdesk.policy.departments[code].name
        assert (inputs, reminders) == (e["inputs"][code], e["reminders"][code]), code
        assert (median, p90) == (e["department_median"].get(code), e["department_p90"].get(code)), code

    # The confidentiality rule: Ghana has five queries and more, so its confidential one is counted there; the
    # Indian one sits with fewer than five and goes to the bucket, with its region, type and sector.
    assert countries["GH"] == 6 and countries["IN"] == 1 and countries[CONFIDENTIAL_BUCKET] == 1
    assert "Seabed minerals" not in t["sectors"].column("sector")
    assert as_counter(t["requester_types"])[CONFIDENTIAL_BUCKET] == 1
    # The country and region are the query's: the British buyer's question about Bangladesh counts there.
    assert countries["BD"] == 1 and "GB" not in countries
    assert as_counter(t["regions"])["Europe and Central Asia"] == 4  # France and Germany twice; not the British buyer

    # The year before is beside it, counted the same way.
    p, ep = report.previous, expected(seeded, LAST_YEAR)
    assert p is not None and (p.queries, p.answered, p.median_days_to_reply, p.qas_promoted) == \
        (ep["queries"], ep["answered"], ep["median_days"], ep["promoted"]) == (4, 3, ep["median_days"], 1)
    assert t["summary"].columns == ("figure", "value", "year_before") and summary["queries received"] == 21
    assert {row[0]: row[2] for row in t["summary"].rows}["queries received"] == 4
    assert {row[0]: row[-1] for row in t["channels"].rows} == {"email": 3, "telegram": 0, "cli": 1}
    # The old query received on New Year's Eve at 23:30 UTC belongs to 2025; the one half an hour into 2026 to 2026.
    assert months["2026-01"][1] == 3 and expected(seeded, LAST_YEAR)["months"]["2025-12"] == 1
    # A period with no year before (2024 has no queries) has no comparison columns.
    assert helpdesk.service.period_report(*LAST_YEAR).previous is None
    assert "year_before" not in helpdesk.service.period_report(*LAST_YEAR).tables["channels"].columns
    TIMES["report (s)"] = seconds


def test_the_annual_figures_keep_their_shape_for_existing_callers(year):
    helpdesk, seeded = year
    figures = helpdesk.service.annual_report(2026)
    assert figures.queries == 21 and figures.year == 2026 and figures.label == "2026"
    assert figures.by_channel == {"email": 17, "telegram": 3, "cli": 1} == expected(seeded, YEAR)["channels"]
    assert figures.answered_on_target == expected(seeded, YEAR)["within_extended"]
    assert helpdesk.service.annual_report(2024).queries == 0
    part = helpdesk.service.period_report(date(2026, 2, 1), date(2026, 3, 31))
    assert part.figures.label == "2026-02-01 to 2026-03-31"
    assert [row[0] for row in part.tables["months"].rows] == ["2026-02", "2026-03"]
    assert part.figures.queries == sum(1 for s in seeded.seeds if date(2026, 2, 1) <= s.received.date()
                                       <= date(2026, 3, 31))
    assert part.previous is not None and part.previous.queries == 1  # 10 March 2025


# ---------------------------------------------------------------------------------------------- the files
class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag in ("link", "script") or (tag == "a" and dict(attrs).get("href", "").startswith("http")):
            self.links.append(f"{tag} {attrs}")


@pytest.fixture(scope="module")
def written(year, tmp_path_factory):
    """The report folder as ``write_report`` leaves it, and the report."""
    helpdesk, _ = year
    report = helpdesk.service.period_report(*YEAR)
    folder = tmp_path_factory.mktemp("out") / "report"
    began = time.perf_counter()
    paths = write_report(report, folder, generated_at=at(2026, 12, 2, 12), helpdesk=helpdesk.policy.name)
    TIMES["HTML and CSVs (s)"] = time.perf_counter() - began
    return folder, paths, report


def test_the_html_file_is_self_contained_and_every_chart_is_an_embedded_png(written):
    folder, paths, report = written
    assert sorted(p.name for p in paths) == sorted([*(f"{n}.csv" for n in TABLE_NAMES), "report.html"])
    html = (folder / "report.html").read_text(encoding="utf-8")
    parsed = Images()
    parsed.feed(html)
    assert parsed.links == []  # nothing fetched from elsewhere: styles inside, no scripts
    assert len(parsed.images) >= 12
    for image in parsed.images:
        src = image["src"]
        assert src.startswith("data:image/png;base64,")
        assert png_size(base64.b64decode(src.split(",", 1)[1], validate=True)) == \
            (int(image["width"]), int(image["height"]))
        assert image["alt"] and "chart" in image["alt"].lower()
    assert "Queries per month, 2026" in html and "@media print" in html
    alts = " ".join(image["alt"] for image in parsed.images)
    assert "Ghana: 6" in alts and "Bangladesh: 1" in alts and f"{CONFIDENTIAL_BUCKET}: 1" in alts
    for name in TABLE_NAMES:
        assert f'href="{name}.csv"' in html
    TIMES["charts"], TIMES["HTML KiB"] = len(parsed.images), len(html) // 1024


def test_every_csv_is_its_table(written):
    folder, _, report = written
    for name, table in report.tables.items():
        rows = list(csv.reader(io.StringIO((folder / f"{name}.csv").read_text(encoding="utf-8"))))
        assert tuple(rows[0]) == table.columns, name
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in table.rows], name


@needs_chromium
def test_the_html_file_opens_offline_in_headless_chromium_with_every_image_loaded_and_prints(written, tmp_path):
    folder, _, _ = written
    driver = start_chromium(tmp_path / "profile")
    try:
        driver.get((folder / "report.html").as_uri())
        deadline = time.monotonic() + 20
        while driver.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
            time.sleep(0.05)
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])")
        assert len(images) >= 12
        assert all(complete and width > 0 and height > 0 and alt for complete, width, height, alt in images), images
        assert driver.title.endswith("report 2026")
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
        assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    finally:
        driver.quit()


# ---------------------------------------------------------------------------------------------- the command
@pytest.fixture
def cli(year, monkeypatch):
    helpdesk, _ = year
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(helpdesk.settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", helpdesk.settings.database_url)
    monkeypatch.setenv("HELPDESK_MODEL_PATH", str(helpdesk.settings.model_path))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_helpdesk_report_writes_the_html_and_csvs_and_prints_the_same_figures_as_text(cli, year, tmp_path):
    helpdesk, seeded = year
    out = tmp_path / "report"
    result = cli("report", "--from", "2026-01-01", "--to", "2026-12-31", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"{len(TABLE_NAMES) + 1} file(s) written" in result.output
    assert (out / "report.html").is_file() and len(list(out.glob("*.csv"))) == len(TABLE_NAMES)
    months = list(csv.DictReader(io.StringIO((out / "months.csv").read_text(encoding="utf-8"))))
    assert sum(int(row["received"]) for row in months) == 21
    assert sum(int(row["received_year_before"]) for row in months) == 4

    text = cli("report", "--year", "2026", "--format", "text")
    assert text.exit_code == 0, text.output
    report = helpdesk.service.period_report(*YEAR)
    assert text.stdout == to_text(report, helpdesk.policy.name)
    e, e_before = expected(seeded, YEAR), expected(seeded, LAST_YEAR)
    lines = {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", line.strip()) for line in text.stdout.splitlines())}
    assert lines["queries received"] == ["21", "4"]
    assert lines["answered within the original target"] == [str(e["within_original"]), str(e_before["within_original"])]
    assert lines["median days to reply"] == [f"{e['median_days']:g}", f"{e_before['median_days']:g}"]
    assert lines["90th percentile days to reply"][0] == f"{e['p90_days']:g}"
    assert lines["useful, rated 4 or 5 (% of ratings)"] == [f"{e['useful']:g}%", "100%"]
    assert lines["reminders sent"][0] == str(sum(e["reminders"].values()))
    assert lines["GH"] == ["Ghana", "Africa", "6", "1"]
    assert lines["BD"] == ["Bangladesh", "Asia and the Pacific", "1", "0"]
    assert lines[CONFIDENTIAL_BUCKET][0] == "1"  # the sectors table's (the last with one), as the countries' too

    as_json = cli("report", "--year", "2026", "--json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["figures"]["queries"] == 21 and data["previous"]["queries"] == 4
    assert data["tables"]["months"]["columns"][0] == "month"

    both = cli("report", "--year", "2026", "--format", "text", "--out", str(tmp_path / "text"))
    assert both.exit_code == 0 and (tmp_path / "text" / "report.txt").read_text(encoding="utf-8") == text.stdout
    assert not (tmp_path / "text" / "report.html").exists()

    # Nothing in any of it names the confidential requesters, or any organisation.
    everything = [text.stdout, as_json.stdout, *(p.read_text(encoding="utf-8") for p in out.iterdir())]
    for secret in (*SECRETS, *ORGANISATIONS):
        assert not any(secret.lower() in blob.lower() for blob in everything), secret


@pytest.mark.parametrize("args, says", [
    (("--from", "2026-12-31", "--to", "2026-01-01"), "after it ends on 2026-01-01"),
    (("--from", "2026-13-01", "--to", "2026-12-31"), "the start date '2026-13-01' is not a date"),
    (("--from", "yesterday", "--to", "2026-12-31"), "is not a date: write it as YYYY-MM-DD"),
    (("--from", "2026-01-01"), "--from and --to go together"),
    (("--year", "2026", "--from", "2026-01-01", "--to", "2026-02-01"), "not both"),
    (("--format", "pdf"), "choose html or text"),
    (("--format", "html"), "give --out FOLDER"),
    (("--year", "1999"), "choose a year from 2000"),
    (("--from", "2999-01-01", "--to", "2999-12-31"), "after this year"),
    (("--from", "2001-01-01", "--to", "2026-12-31"), "longer than 10 years"),
])
def test_bad_options_say_what_is_wrong_and_write_nothing(cli, tmp_path, args, says):
    out = tmp_path / "report"
    result = cli("report", *args, *(() if args == ("--format", "html") else ("--out", str(out))))
    assert result.exit_code != 0, result.output
    assert says in " ".join(result.output.split()), result.output
    assert not out.exists()


def test_an_out_path_that_is_a_file_is_refused_and_left_alone(cli, tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("my notes", encoding="utf-8")
    for out in (existing, existing / "report"):
        result = cli("report", "--year", "2026", "--out", str(out))
        assert result.exit_code == 1 and "is a file, not a folder" in " ".join(result.output.split()), result.output
    assert existing.read_text(encoding="utf-8") == "my notes" and sorted(tmp_path.iterdir()) == [existing]


def test_no_confidential_requester_appears_in_the_html_or_text(year):
    helpdesk, _ = year
    report = helpdesk.service.period_report(*YEAR)
    blobs = [render_html(report, generated_at=at(2026, 12, 2)), to_text(report), json.dumps(report.as_dict())]
    for secret in (*SECRETS, *ORGANISATIONS):
        assert not any(secret.lower() in blob.lower() for blob in blobs), secret
    assert CONFIDENTIAL_BUCKET in blobs[0]
