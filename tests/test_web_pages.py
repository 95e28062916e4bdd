"""The console's clearance panel, focal points page and quarantine page, over HTTP, on SQLite and PostgreSQL.

Maria asks the consulted departments to agree her draft from the query's page and sees who agreed, who
commented and who is silent; the "send anyway" reason appears only while a department is silent. She
sees each department's open consultations and how long it takes to give input, and releases a
quarantined email after reading its sender and subject (never its body). Victor, a viewer, reads the
pages but never acts, and never sees who sent a quarantined email.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from kb.db import unit_of_work
from kb.models import Clearance, Consultation, Query, RawEmail
from tests.test_web import TOKEN, Console, ask, history
from tests.test_web import maria, service, victor  # noqa: F401 - the fixtures

DRAFT = "Dear Jane,\n\nLight work only, and never at night."


def consulted(service, reference: str) -> list[str]:
    return [c["department"] for c in service.show_query(reference).consultations]


def answer_clearance(helpdesk, department: str, verdict: str, comment: str | None = None) -> None:
    """What the inbound mail records when a focal point answers (the email path is tested in test_clearance)."""
    with unit_of_work(helpdesk.sessions) as s:
        clearance = s.scalar(select(Clearance).join(Consultation, Consultation.id == Clearance.consultation_id)
                             .where(Consultation.department_code == department, Clearance.answered_at.is_(None)))
        clearance.answered_at, clearance.verdict, clearance.comment = helpdesk.clock(), verdict, comment
        clearance.answered_by = f"{department.lower()}.focal@example.org"


# ------------------------------------------------------------------ clearance
def test_maria_asks_for_clearance_and_sees_who_agreed_commented_or_stays_silent(helpdesk, service, maria):
    reference = ask(service)
    service.edit_draft(reference, DRAFT, "maria")
    departments = consulted(service, reference)
    assert len(departments) >= 2, departments
    first, second, *others = departments
    page = maria.get(f"/queries/{reference}")
    assert "No clearance asked" in page.text and 'name="without_clearance"' not in page.text
    assert f'name="departments" value="{first}"' in page.text

    asked = maria.act(reference, "clearance", departments=departments, due="")
    assert asked.status_code == 200 and f"Clearance requested from {', '.join(departments)}" in asked.text
    assert any(e["kind"] == "clearance requested" and e["actor"] == "maria" for e in history(service, reference))
    due = service.show_query(reference).clearances[0]["due_date"]
    assert 'name="without_clearance"' in asked.text and "The saved draft is not cleared" in asked.text
    assert f"due {due}" in asked.text and "0 reminders sent" in asked.text

    answer_clearance(helpdesk, first, "agreed")
    answer_clearance(helpdesk, second, "commented", "Please cite <Convention No. 138> & the union.")
    page = maria.get(f"/queries/{reference}")
    panel = page.text.split('id="clearance"')[1].split("</section>")[0]
    agreed, commented, silent = (panel.split(f'class="{kind}"')[1].split("</li>")[0]
                                 for kind in ("agreed", "commented", "silent"))
    assert first in agreed and f"{first.lower()}.focal@example.org" in agreed
    assert second in commented and "Please cite &lt;Convention No. 138&gt; &amp; the union." in commented
    assert all(d in silent for d in others) and (others or "nobody: the reply may go" in silent)

    if others:  # still waiting: sending needs a reason, and the refusal is shown on the page
        typed = DRAFT + "\n\nP.S. Typed just before sending."
        refused = maria.act(reference, "send", draft=typed, without_clearance="")
        assert refused.status_code == 409 and "is not cleared" in refused.text
        # What Maria typed is still in the box (regression: the refusal showed the saved draft instead).
        assert "P.S. Typed just before sending.</textarea>" in refused.text
        sent = maria.act(reference, "send", draft=DRAFT, without_clearance="the others are on mission")
    else:
        assert 'name="without_clearance"' not in page.text
        sent = maria.act(reference, "send", draft=DRAFT)
    assert sent.status_code == 200 and "Reply queued" in sent.text
    assert any(e["actor"] == "maria" and e["kind"].startswith("sent") for e in history(service, reference))


def test_the_send_anyway_field_appears_only_while_clearance_is_pending(helpdesk, service, maria):
    reference = ask(service)
    service.edit_draft(reference, DRAFT, "maria")
    [department, *_] = consulted(service, reference)
    service.request_clearance(reference, [department], actor="maria")
    assert 'name="without_clearance"' in maria.get(f"/queries/{reference}").text
    answer_clearance(helpdesk, department, "agreed")
    page = maria.get(f"/queries/{reference}")
    assert 'name="without_clearance"' not in page.text and "nobody: the reply may go" in page.text
    assert maria.act(reference, "send", draft=DRAFT).status_code == 200


def test_a_clearance_request_that_does_not_fit_is_shown_on_the_page(service, maria):
    reference = ask(service)
    service.edit_draft(reference, DRAFT, "maria")
    [department, *_] = consulted(service, reference)
    none_checked = maria.act(reference, "clearance", due="")
    assert none_checked.status_code == 409 and "check at least one consulted department" in none_checked.text
    past = maria.act(reference, "clearance", departments=[department], due="2020-01-01")
    assert past.status_code == 409 and "the clearance deadline must be after today" in past.text
    garbled = maria.act(reference, "clearance", departments=[department], due="next week")
    assert garbled.status_code == 409 and "is not a date" in garbled.text
    stranger = maria.act(reference, "clearance", departments=["NOT-A-DEPARTMENT"], due="")
    assert stranger.status_code == 409 and "not consulted on" in stranger.text
    assert service.show_query(reference).clearances == []


def test_a_consultation_whose_email_bounced_says_so_on_the_query_page(helpdesk, service, maria):
    """What the inbound mail records when a routing email bounces (the email path: test_email_channel)."""
    reference = ask(service)
    department = consulted(service, reference)[0]
    with unit_of_work(helpdesk.sessions) as s:
        consultation = s.scalar(select(Consultation).where(Consultation.department_code == department))
        consultation.bounced_at = helpdesk.clock()
        consultation.bounce = "routing email to <nobody@example.org> bounced"
    panel = maria.get(f"/queries/{reference}").text.split('id="consultations"')[1].split("</section>")[0]
    row = next(r for r in panel.split("<tr>") if f"<strong>{department}</strong>" in r)
    assert "BOUNCED" in row and "routing email to &lt;nobody@example.org&gt; bounced" in row
    assert "They may not have the query." in row
    assert sum("BOUNCED" in r for r in panel.split("<tr>")) == 1
    with unit_of_work(helpdesk.sessions) as s:  # the department answered after all: they have it
        s.scalar(select(Consultation).where(Consultation.department_code == department)).input_received_at = \
            helpdesk.clock()
    assert "BOUNCED" not in maria.get(f"/queries/{reference}").text


def test_victor_reads_the_clearance_panel_but_cannot_ask_for_clearance(service, maria, victor):
    reference = ask(service)
    service.edit_draft(reference, DRAFT, "maria")
    [department, *_] = consulted(service, reference)
    service.request_clearance(reference, [department], actor="maria")
    page = victor.get(f"/queries/{reference}")
    assert 'id="clearance"' in page.text and department in page.text
    assert f"{reference}/clearance" not in page.text and 'name="without_clearance"' not in page.text
    token = TOKEN.search(page.text).group(1)
    refused = victor.client.post(f"/queries/{reference}/clearance",
                                 data={"csrf_token": token, "departments": [department]})
    assert refused.status_code == 403 and len(service.show_query(reference).clearances) == 1


# --------------------------------------------------------------- focal points
def test_the_focal_points_page_shows_open_consultations_and_the_median_days_to_give_input(helpdesk, service, maria,
                                                                                          clock):
    references = [ask(service, subject=f"Young workers {n}") for n in range(3)]
    department = consulted(service, references[0])[0]
    with unit_of_work(helpdesk.sessions) as s:  # two inputs received, after 2 and 4 days: the median is 3.0
        for reference, days in zip(references[1:], (2, 4)):
            c = s.scalar(select(Consultation).join(Query, Query.id == Consultation.query_id)
                         .where(Consultation.department_code == department, Query.reference == reference))
            c.input_received_at = c.requested_at + timedelta(days=days)
    clock.now += timedelta(days=30)

    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(helpdesk.engine, "before_cursor_execute", listen)
    try:
        overview = service.focal_points_overview()
    finally:
        event.remove(helpdesk.engine, "before_cursor_execute", listen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2

    [row] = [d for d in overview if d["code"] == department]
    assert [c["reference"] for c in row["open"]] == [references[0]] and row["open"][0]["overdue"]
    assert row["median_days"] == 3.0 and row["inputs"] == 2

    page = maria.get("/focal-points")
    assert page.status_code == 200
    section = page.text.split(f'id="dept-{department}"')[1].split("</section>")[0]
    assert f'href="/queries/{references[0]}"' in section and "OVERDUE" in section
    assert references[1] not in section and "3.0 days" in section and "over 2 inputs" in section
    assert helpdesk.policy.departments[department].focal_points[0].name in section
    assert 'href="/focal-points"' in maria.get("/").text


def test_the_focal_points_page_needs_a_signed_in_account_and_shows_viewers_the_same(service, victor):
    ask(service)
    assert Console(service).get("/focal-points").url.path == "/login"
    page = victor.get("/focal-points")
    assert page.status_code == 200 and "Median time to give input" in page.text


# ----------------------------------------------------------------- quarantine
HOSTILE = (b"From: =?utf-8?q?Ren=C3=A9e_<b>Bold</b>?= <renee@example.net>\r\n"
           b"Subject: <script>alert(1)</script> urgent\r\n"
           b"Content-Type: text/html\r\n\r\n"
           b"<img src=x onerror=alert(2)> SECRET-BODY-TEXT\r\n")


def quarantine(helpdesk, raw: bytes = HOSTILE, reason: str = "forged headers <i>x</i>") -> int:
    with unit_of_work(helpdesk.sessions) as s:
        row = RawEmail(mailbox="INBOX", uidvalidity=1, uid=len(raw), message_id_header=None,
                       received_at=helpdesk.clock(), raw=raw, outcome="quarantined", reason=reason, attempts=3)
        s.add(row)
        s.flush()
        return row.id


def test_maria_reads_the_quarantine_as_plain_text_and_releases_an_email(helpdesk, service, maria):
    assert 'href="/quarantine">Quarantine</a>' in maria.get("/").text  # no count while empty
    stored = quarantine(helpdesk)
    assert '<span class="tag">1</span>' in maria.get("/").text

    page = maria.get("/quarantine")
    assert page.status_code == 200
    assert "Renée &lt;b&gt;Bold&lt;/b&gt; &lt;renee@example.net&gt;" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; urgent" in page.text and "<script>" not in page.text
    assert "forged headers &lt;i&gt;x&lt;/i&gt;" in page.text and f"{len(HOSTILE):,} bytes" in page.text
    assert "SECRET-BODY-TEXT" not in page.text and "onerror" not in page.text

    no_token = maria.client.post(f"/quarantine/{stored}/release", data={})
    assert no_token.status_code == 403 and len(service.quarantined()) == 1
    released = maria.client.post(f"/quarantine/{stored}/release",
                                 data={"csrf_token": TOKEN.search(page.text).group(1)})
    assert released.status_code == 200 and released.url.path == "/quarantine"
    assert f"Email #{stored} released" in released.text and "Nothing in quarantine." in released.text
    assert service.quarantined() == [] and '<span class="tag">' not in released.text
    again = maria.client.post(f"/quarantine/{stored}/release", data={"csrf_token": TOKEN.search(page.text).group(1)})
    assert again.status_code == 200 and f"no quarantined email #{stored}" in again.text
    # The senders she saw and the email she released are on her audit trail; the refused releases are not.
    trail = [(line.action, line.channel, line.detail) for line in service.audit_trail("maria")
             if line.action in ("read", "release")]
    assert trail[0] == ("read", "web", "the quarantine (1 email(s))")
    assert trail.count(("release", "web", f"quarantined email #{stored}")) == 1


def test_victor_sees_the_quarantine_without_senders_and_cannot_release(helpdesk, service, victor):
    stored = quarantine(helpdesk)
    page = victor.get("/quarantine")
    assert page.status_code == 200 and "(hidden from viewers)" in page.text
    assert "renee@example.net" not in page.text and "alert(1)" not in page.text and "Release</button>" not in page.text
    refused = victor.client.post(f"/quarantine/{stored}/release", data={"csrf_token": TOKEN.search(page.text).group(1)})
    assert refused.status_code == 403 and len(service.quarantined()) == 1
    assert Console(service).get("/quarantine").url.path == "/login"


def test_unreadable_headers_never_break_the_quarantine_page(helpdesk, maria):
    quarantine(helpdesk, b"\xff\xfe\x00garbage without headers", reason="not an email")
    quarantine(helpdesk, b"From: =?x-unknown?b?!!!?=\r\nSubject: =?utf-8?q?bad=ZZ?=\r\n\r\nbody", reason="bad words")
    page = maria.get("/quarantine")
    assert page.status_code == 200 and "not an email" in page.text and "bad words" in page.text
