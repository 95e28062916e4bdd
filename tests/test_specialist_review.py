"""The specialist's story after triage: correct, reply, hear back, and grow the Q&A bank."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.db import unit_of_work
from kb.intake import QuerySubmission
from kb.models import QA, Channel, OutboxKind, OutboxMessage, QAOrigin, QueryTopic
from kb.review import ReviewError


def ask(service, text, **kw):
    return service.submit_query(QuerySubmission(text=text, channel=Channel.EMAIL, email="ana@coop.example", **kw))


def test_specialist_sends_the_draft_and_the_requester_gets_it_by_email(helpdesk):
    report = ask(helpdesk.service, "Who pays for personal protective equipment?", subject="PPE")
    helpdesk.service.edit_draft(report.reference, "Dear Ana,\n\nThe employer pays for it (Convention No. 155).")
    sent = helpdesk.service.send_reply(report.reference, "maria")
    with unit_of_work(helpdesk.sessions) as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.REPLY))
        assert row.recipients == ["ana@coop.example"] and row.subject == f"Re: [{report.reference}] PPE"
        assert row.body.startswith("Dear Ana,") and "from 1 (not at all) to 5" in row.body
    assert sent.startswith("Dear Ana") and helpdesk.service.report(report.reference).status == "answered"
    with pytest.raises(ReviewError, match="already sent"):
        helpdesk.service.send_reply(report.reference, "maria")


def test_changing_topics_consults_the_new_department_and_is_kept_for_retraining(helpdesk):
    report = ask(helpdesk.service, "Which environmental label should we get to export our coffee to Europe?")
    assert report.needs_manual_triage and report.routes == []
    added = helpdesk.service.correct_topics(report.reference, ["supply_chains"])
    assert added == ["ENTERPRISES", "ACTEMP", "ACTRAV"]
    with unit_of_work(helpdesk.sessions) as s:
        [topic] = s.scalars(select(QueryTopic))
        assert (topic.topic_code, topic.confirmed, topic.source.value) == ("supply_chains", True, "specialist")
    assert helpdesk.service.report(report.reference).status == "routed"
    with pytest.raises(ReviewError, match="unknown topic"):
        helpdesk.service.correct_topics(report.reference, ["climate"])


def test_a_good_answer_becomes_a_qa_that_matches_the_next_similar_query(helpdesk):
    question = "Do apprentices in our Moroccan subsidiary have to be paid during their school weeks?"
    report = ask(helpdesk.service, question)
    helpdesk.service.send_reply(report.reference, "maria", text="Yes: Recommendation No. 208 calls for fair pay "
                                                                "for apprentices, including off-the-job training.")
    helpdesk.service.record_feedback(report.reference, 5, "Very clear")
    key = helpdesk.service.promote_to_qa(report.reference)
    helpdesk.service.publish_qa(key)
    again = ask(helpdesk.service, "Must apprentices in our subsidiary be paid during school weeks?")
    assert again.matches[0]["qa_key"] == key and again.matches[0]["good"]
    assert "Recommendation No. 208 calls for fair pay" in again.draft


def test_promoting_an_unanswered_query_is_refused(helpdesk):
    report = ask(helpdesk.service, "Who pays for personal protective equipment?")
    with pytest.raises(ReviewError, match="not answered yet"):
        helpdesk.service.promote_to_qa(report.reference)


def test_rating_out_of_range_is_refused(helpdesk):
    report = ask(helpdesk.service, "Who pays for personal protective equipment?")
    with pytest.raises(ReviewError, match="from 1 to 5"):
        helpdesk.service.record_feedback(report.reference, 9)


def test_annual_report_counts_what_the_helpdesk_did(helpdesk, clock):
    from datetime import timedelta

    a = ask(helpdesk.service, "Who pays for personal protective equipment?", country="GH",
            requester_type="management")
    helpdesk.service.submit_query(QuerySubmission(text="Which environmental label should we get for our coffee?",
                                                  channel=Channel.EMAIL, email="lucia@beans.example", country="CO"))
    clock.now += timedelta(days=3)
    helpdesk.service.send_reply(a.reference, "maria")
    helpdesk.service.record_feedback(a.reference, 4)
    helpdesk.service.promote_to_qa(a.reference)
    report = helpdesk.service.annual_report(2026)
    assert report.queries == 2 and report.answered == 1 and report.answered_on_target == 1
    assert report.by_region == {"Africa": 1, "Americas": 1}
    assert report.by_topic["osh"] == 1 and report.by_topic["(manual triage)"] == 1
    assert report.median_days_to_reply == 3.0 and report.mean_rating == 4 and report.qas_promoted == 1
    assert helpdesk.service.annual_report(2025).queries == 0


JURGEN_EMAIL = """Dear helpdesk,

I am Jürgen Weber, HR director of Weber Textil GmbH. Our spinning mill in Bangladesh wants to hire
15-year-old apprentices for light work. Is that compatible with Convention No. 138?

Kind regards,
Jürgen Weber
Weber Textil GmbH, Hauptstrasse 12, 70173 Stuttgart
Tel. +49 711 123 4567 · juergen.weber@weber-textil.example
"""


def promoted_story(helpdesk, confidential=False):
    service = helpdesk.service
    report = service.submit_query(QuerySubmission(
        text=JURGEN_EMAIL, channel=Channel.EMAIL, email="juergen.weber@weber-textil.example", name="Jürgen Weber",
        organisation="Weber Textil GmbH", country="BD", confidential=confidential))
    service.send_reply(report.reference, "maria", text=(
        f"Dear Jürgen,\n\nThank you for contacting the helpdesk (reference {report.reference}).\n\n"
        "Convention No. 138 allows light work from 13 years (12 in developing countries), provided it does not "
        "harm the child's health or schooling; apprenticeships are allowed from 14.\n\nKind regards,\nThe Helpdesk"))
    return report.reference


def test_promoting_a_reply_makes_an_anonymised_draft_that_is_published_only_after_review(helpdesk):
    service = helpdesk.service
    reference = promoted_story(helpdesk)
    key = service.promote_to_qa(reference)
    qa = service.qa_show(key)
    assert qa.state == "draft"
    everything = qa.versions["en"].question + qa.versions["en"].answer
    for secret in ("Jürgen", "Weber", "+49", "123 4567", "weber-textil", reference, "Hauptstrasse", "Dear",
                   "Kind regards"):
        assert secret not in everything, secret
    assert "15-year-old apprentices" in qa.versions["en"].question and "Convention No. 138" in qa.versions["en"].answer
    # Not public until the specialist publishes it: /faq and drafts do not see it.
    assert not any("apprenticeships are allowed from 14" in a for _, a in service.search_faq("apprentices light "
                                                                                              "work", "en"))
    service.publish_qa(key, question="May 15-year-old apprentices do light work in a spinning mill?")
    assert any("apprenticeships are allowed from 14" in a for _, a in service.search_faq("apprentices light work",
                                                                                        "en"))
    history = [e["kind"] for e in service.show_query(reference).history]
    assert "promoted to draft Q&A" in history and "Q&A published" in history
    with pytest.raises(ReviewError, match="already published"):
        service.publish_qa(key)


def test_a_confidential_query_is_promoted_only_with_an_explicit_override_kept_in_the_history(helpdesk):
    service = helpdesk.service
    reference = promoted_story(helpdesk, confidential=True)
    with pytest.raises(ReviewError, match="confidential"):
        service.promote_to_qa(reference)
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(QA).where(QA.origin == QAOrigin.PROMOTED)) is None
    service.promote_to_qa(reference, override_confidential="the requester agreed by phone on 3 March")
    [override] = [e for e in service.show_query(reference).history if e["kind"] == "confidential override"]
    assert override["detail"] == "the requester agreed by phone on 3 March" and override["actor"] == "specialist"


def test_a_closed_query_is_neither_closed_again_nor_replied_to_until_it_is_reopened(helpdesk):
    service = helpdesk.service
    report = ask(service, "Who pays for personal protective equipment?")
    service.send_reply(report.reference, "maria", text="The employer does.")
    service.close_query(report.reference, "answered and acknowledged")
    with pytest.raises(ValueError, match="is closed: it cannot become closed"):
        service.close_query(report.reference, "again")
    with pytest.raises(ReviewError, match="is closed: its reply was already sent"):
        service.send_reply(report.reference, "maria")
