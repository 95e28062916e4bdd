"""Consensus on replies: the consulted departments agree the draft by email before it goes out; silence is
chased; the specialist sends when cleared, or anyway with a reason. Against Dovecot and aiosmtpd."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ingest.smtp import OutboxSender, SmtpSettings
from kb.clearance import read_verdict
from kb.db import unit_of_work
from kb.models import OutboxKind, OutboxMessage
from kb.review import ReviewError
from tests.test_email_channel import mail


@pytest.mark.parametrize("answer,verdict", [
    ("Agreed.", "agreed"), ("OK for ACTRAV, thanks", "agreed"), ("D'accord.", "agreed"), ("De acuerdo", "agreed"),
    ("Agreed, but please cite Convention No. 138.", "commented"), ("Please say 15, not 14.", "commented"),
    ("ok?", "commented"),
])
def test_a_short_agreement_agrees_and_anything_else_is_a_comment(answer, verdict):
    assert read_verdict(answer)[0] == verdict


def test_a_clearance_round_where_one_focal_point_agrees_and_one_is_silent_and_chased(dovecot, ingestor, smtp_sink,
                                                                                     helpdesk, clock):
    service = helpdesk.service
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, security="plain"), service)
    dovecot.append(mail("Can we employ 16-year-olds in our packaging plant?"))
    ingestor.run_once()
    service.edit_draft("HD-2026-0001", "Dear Jane,\n\nLight work only, and never at night.", "maria")
    assert service.request_clearance("HD-2026-0001", ["ACTEMP", "ACTRAV"], actor="maria") == ["ACTEMP", "ACTRAV"]
    sender.send_due()
    [to_actemp] = [m for m in smtp_sink.to("actemp.focal@example.org") if "Clearance requested" in m["Subject"]]
    assert "Light work only, and never at night." in to_actemp.get_content()
    assert to_actemp["Auto-Submitted"] == "auto-generated"  # like the routing email: no out-of-office answers

    # ACTEMP agrees by replying; ACTRAV stays silent.
    dovecot.append(mail("Agreed.\n\n> The helpdesk asks ...", sender="actemp.focal@example.org",
                        subject=f"Re: {to_actemp['Subject']}", in_reply_to=to_actemp["Message-ID"]))
    assert ingestor.run_once().outcomes == {"clearance": 1}
    with pytest.raises(ReviewError, match=r"not cleared \(ACTRAV has not answered\)"):
        service.send_reply("HD-2026-0001", "maria")

    # Past the deadline, the scheduler chases ACTRAV once, not ACTEMP.
    clock.now += timedelta(days=6)
    done = service.chase_overdue_work()
    chased = [a for a in done if a.kind == "clearance reminder"]
    assert [a.department for a in chased] == ["ACTRAV"]
    assert not [a for a in service.chase_overdue_work() if a.kind == "clearance reminder"]
    detail = service.show_query("HD-2026-0001")
    assert {c["department"]: c["verdict"] for c in detail.clearances} == {"ACTEMP": "agreed", "ACTRAV": None}
    assert [c["reminders_sent"] for c in detail.clearances if c["department"] == "ACTRAV"] == [1]

    # The specialist sends anyway, with a reason that the history keeps.
    service.send_reply("HD-2026-0001", "maria", without_clearance="ACTRAV on mission; ACTEMP agreed")
    history = service.show_query("HD-2026-0001").history
    assert any(e["kind"] == "sent without full clearance" and "ACTRAV on mission" in e["detail"] for e in history)


def test_comments_are_kept_and_a_fully_cleared_reply_goes_without_a_reason(dovecot, ingestor, smtp_sink, helpdesk):
    service = helpdesk.service
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, security="plain"), service)
    dovecot.append(mail("Can we employ 16-year-olds in our packaging plant?"))
    ingestor.run_once()
    service.request_clearance("HD-2026-0001", ["ACTRAV"], actor="maria")
    sender.send_due()
    [request] = [m for m in smtp_sink.to("actrav.focal@example.org") if "Clearance requested" in m["Subject"]]
    dovecot.append(mail("Please add that the union must be consulted.", sender="actrav.focal@example.org",
                        subject=f"Re: {request['Subject']}", in_reply_to=request["Message-ID"]))
    assert ingestor.run_once().outcomes == {"clearance": 1}
    [clearance] = service.show_query("HD-2026-0001").clearances
    assert clearance["verdict"] == "commented" and "union must be consulted" in clearance["comment"]
    service.send_reply("HD-2026-0001", "maria")
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.REPLY)) is not None
    sender.send_due()  # Jane gets the acknowledgement (automatic) and then the reply a person wrote (not)
    assert [m["Auto-Submitted"] for m in smtp_sink.to("jane@acme.example")] == ["auto-replied", None]


def test_only_consulted_departments_can_be_asked_and_the_deadline_is_in_the_future(helpdesk, clock):
    from kb.intake import QuerySubmission
    from kb.models import Channel

    service = helpdesk.service
    service.submit_query(QuerySubmission(text="Who pays for personal protective equipment?", channel=Channel.EMAIL,
                                         email="ana@coop.example"))
    with pytest.raises(ValueError, match="NORMES not consulted"):
        service.request_clearance("HD-2026-0001", ["NORMES"])
    with pytest.raises(ValueError, match="after today"):
        service.request_clearance("HD-2026-0001", ["ACTRAV"], due=clock.now.date())


def test_an_agreement_covers_the_text_agreed_not_a_draft_rewritten_afterwards(helpdesk, clock):
    """Regression: ACTRAV agreed, then the draft was rewritten, and the new text went out without a reason."""
    from kb.intake import QuerySubmission
    from kb.models import Channel

    service = helpdesk.service
    service.submit_query(QuerySubmission(text="Can our union demand recognition for collective bargaining?",
                                         channel=Channel.EMAIL, email="ana@union.example"))
    service.edit_draft("HD-2026-0001", "Dear Ana,\n\nYes: recognition for collective bargaining is a right.", "maria")
    [department, *_] = [c["department"] for c in service.show_query("HD-2026-0001").consultations]
    service.request_clearance("HD-2026-0001", [department], actor="maria")
    with helpdesk.service.unit_of_work() as session:  # the focal point's "Agreed." as the mail worker records it
        from kb.clearance import record_answer
        from kb.models import Query

        query = session.scalar(select(Query).where(Query.reference == "HD-2026-0001"))
        [consultation] = [c for c in query.consultations if c.department_code == department]
        record_answer(service, session, query, consultation, "Agreed.", f"{department.lower()}.focal@example.org",
                      clock.now)
    service.edit_draft("HD-2026-0001", "Completely different reply, never shown to the department.", "maria")
    with pytest.raises(ReviewError, match=f"{department} agreed an earlier wording"):
        service.send_reply("HD-2026-0001", "maria")
    # Sending exactly what they agreed needs no reason.
    service.send_reply("HD-2026-0001", "maria",
                       "Dear Ana,\n\nYes: recognition for collective bargaining is a right.")
    history = [e["kind"] for e in service.show_query("HD-2026-0001").history]
    assert "sent without full clearance" not in history and "reply approved" in history


def test_a_department_asked_for_clearance_is_no_longer_chased_for_its_input(helpdesk, clock):
    from kb.intake import QuerySubmission
    from kb.models import Channel

    service = helpdesk.service
    service.submit_query(QuerySubmission(text="Who pays for personal protective equipment?", channel=Channel.EMAIL,
                                         email="ana@coop.example"))
    consulted = [c["department"] for c in service.show_query("HD-2026-0001").consultations]
    service.request_clearance("HD-2026-0001", consulted[:1], due=clock.now.date() + timedelta(days=30),
                              actor="maria")
    clock.now += timedelta(days=20)
    chased = {(a.kind, a.department) for a in service.chase_overdue_work() if a.department}
    assert not any(department == consulted[0] for _, department in chased)
    assert all(("reminder", d) in chased for d in consulted[1:])
