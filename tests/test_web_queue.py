"""The review queue: what needs the specialist now comes first, and she narrows it down as she likes.

Order: manual triage, held for release, drafts ready, inputs overdue, targets at risk (within three
days), then every other open query; answered and closed queries only when asked for. Filters by
status, topic, department, country and channel, and a search over text, subject, organisation and
reference, all done by the store (a few SQL statements whatever its size).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from config.settings import DEFAULT_FILE
from kb.models import Channel
from tests.conftest import MONDAY
from tests.test_web import MARIA, Console, ask

UNCLEAR = "Queremos saber qué sello o certificado ambiental nos conviene para exportar café a Europa."


@pytest.fixture
def helpdesk(make_helpdesk, tmp_path):
    """Inputs due after 12 days (the reply after 14): a query can be at risk with its inputs not yet late."""
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert "input_due_days = 5" in text
    config = tmp_path / "helpdesk.toml"
    config.write_text(text.replace("input_due_days = 5", "input_due_days = 12"), encoding="utf-8")
    return make_helpdesk(config)


@pytest.fixture
def maria(helpdesk) -> Console:
    helpdesk.service.add_account(MARIA[0], "specialist", MARIA[1])
    console = Console(helpdesk.service)
    console.sign_in(*MARIA)
    return console


def references(page: str) -> list[str]:
    return re.findall(r'<a href="/queries/([^"]+)">', page)


def groups(page: str) -> list[str]:
    return re.findall(r'<tr class="group"><th colspan="6">([^<]+)</th>', page)


def a_morning(service, clock) -> dict[str, str]:
    """One query in each state the queue ranks, received on different days; today is ``MONDAY``."""
    made = {}
    clock.now = MONDAY - timedelta(days=13)  # inputs were due yesterday, the reply is due tomorrow
    made["late_inputs"] = ask(service, "How many hours may a night-shift worker do in one week?",
                              email="ops@night.example", organisation="Night Shift Ltd", country="NG",
                              subject="Night shifts")
    clock.now = MONDAY - timedelta(days=11)  # inputs due tomorrow, the reply in three days
    made["at_risk"] = ask(service, "Do we have to pay overtime to part-time staff on a public holiday?",
                          email="pay@wages.example", organisation="Wages SA", country="FR", subject="Overtime",
                          channel=Channel.CLI)
    clock.now = MONDAY - timedelta(days=2)
    made["answered"] = ask(service, "What protective equipment must we provide for welders?",
                           email="hse@weld.example", organisation="Weld Works", country="DE", subject="Welders")
    made["draft_ready"] = ask(service, "Can we employ 16-year-olds in our packaging plant in Ghana?")
    clock.now = MONDAY
    made["open"] = ask(service, "Twelve workers were dismissed a week after they registered a trade union at the "
                       "plant. What do ILO standards say about this?", email="sec@union.example",
                       organisation="Union Watch", country="KE", subject="Dismissals")
    made["held"] = ask(service, "We will close our plant in Viet Nam: how do we consult the workers?",
                       email="csr@close.example", organisation="Closing KK", country="JP", subject="Closure",
                       confidential=True, hold_for_release=True)
    made["manual"] = ask(service, UNCLEAR, email="info@beans.example", organisation="Green Beans", country="CO",
                         subject="Certificación")
    service.send_reply(made["answered"], "maria")
    service.send_reply(made["draft_ready"], "maria")
    # The reply to Jane cannot be delivered: her query comes back to the specialist as draft ready.
    reply = next(m for m in service.claim_outbox(Channel.EMAIL, 100)
                 if m.kind == "reply" and list(m.recipients) == ["jane@acme.example"])
    service.delivery_failed(reply.id, "550 mailbox unavailable", permanent=True)
    return made


def test_what_needs_maria_now_comes_first(helpdesk, maria, clock):
    made = a_morning(helpdesk.service, clock)
    page = maria.get("/").text
    assert references(page) == [made[k] for k in ("manual", "held", "draft_ready", "late_inputs", "at_risk",
                                                  "open")]
    assert groups(page) == ["Manual triage", "Held for release", "Draft ready", "Inputs overdue",
                            "Target at risk", "Open"]
    assert "6 queries" in page and made["answered"] not in page

    everything = maria.get("/?status=all").text
    assert references(everything)[-1] == made["answered"] and groups(everything)[-1] == "Answered or closed"

    clock.now = MONDAY + timedelta(days=2)  # the late query's target has passed
    row = re.search(rf'{made["late_inputs"]}</a>.*?</tr>', maria.get("/").text, re.S).group(0)
    assert "OVERDUE" in row


def test_maria_filters_by_status_topic_department_country_and_channel(helpdesk, maria, clock):
    made = a_morning(helpdesk.service, clock)
    assert references(maria.get("/?status=held").text) == [made["held"]]
    assert references(maria.get("/?status=answered").text) == [made["answered"]]
    assert references(maria.get("/?topic=child_labour").text) == [made["draft_ready"]]
    assert references(maria.get("/?department=CHILD_LABOUR").text) == [made["draft_ready"]]
    assert references(maria.get("/?country=Nigeria").text) == [made["late_inputs"]]
    assert references(maria.get("/?country=ng&topic=working_time").text) == [made["late_inputs"]]
    assert references(maria.get("/?channel=cli").text) == [made["at_risk"]]
    assert references(maria.get("/?country=fr&channel=email").text) == []
    unknown = maria.get("/?country=Atlantis")
    assert unknown.status_code == 400 and "not an ISO 3166 country" in unknown.text


def test_maria_searches_words_subjects_organisations_and_references(helpdesk, maria, clock):
    made = a_morning(helpdesk.service, clock)
    assert references(maria.get("/?q=trade union").text) == [made["open"]]  # the text
    assert references(maria.get("/?q=dismissals").text) == [made["open"]]  # the subject
    assert references(maria.get("/?q=WELD works&status=all").text) == [made["answered"]]  # organisation
    assert references(maria.get("/?q=certificaci%C3%B3n").text) == [made["manual"]]  # subject, accents kept
    assert references(maria.get(f"/?q={made['held'].lower()}").text) == [made["held"]]  # reference
    assert references(maria.get("/?q=100%25").text) == []  # % is a character, not a wildcard
    assert references(maria.get("/?q=night&topic=wages").text) == []


def test_the_queue_costs_a_few_statements_however_many_queries(helpdesk, maria, clock):
    a_morning(helpdesk.service, clock)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(helpdesk.engine, "before_cursor_execute", listener)
    try:
        assert maria.get("/?q=a").status_code == 200
    finally:
        event.remove(helpdesk.engine, "before_cursor_execute", listener)
    work = [s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN"))]
    assert len(work) <= 3, work  # the account, the page of rows, their topics


def test_a_long_queue_comes_a_page_at_a_time_most_urgent_first(helpdesk, maria, clock, monkeypatch):
    import web.views

    monkeypatch.setattr(web.views, "PAGE_SIZE", 4)
    made = a_morning(helpdesk.service, clock)
    first = maria.get("/").text
    assert references(first) == [made[k] for k in ("manual", "held", "draft_ready", "late_inputs")]
    assert "6 queries, 1–4 shown" in first and 'href="/?offset=4"' in first
    second = maria.get("/?offset=4").text
    assert references(second) == [made["at_risk"], made["open"]] and "← more urgent" in second
    assert "Nothing on this page" in maria.get("/?offset=40").text
