"""The specialist's story after triage: correct, reply, hear back, and grow the Q&A bank."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.db import unit_of_work
from kb.intake import QuerySubmission
from kb.models import Channel, OutboxKind, OutboxMessage, QueryTopic
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
