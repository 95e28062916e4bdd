"""The requester's and the specialist's story through the triage pipeline, on both databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from kb.intake import QuerySubmission
from kb.models import Channel, Consultation, OutboxKind, OutboxMessage, Query, QueryStatus, Requester
from kb.db import unit_of_work
from kb.outbox import claim_due


def ask(service, text, **kwargs):
    kwargs.setdefault("channel", Channel.EMAIL)
    kwargs.setdefault("email", "someone@example.com")
    return service.submit_query(QuerySubmission(text=text, **kwargs))


def outbox(helpdesk, reference, kind=OutboxKind.ROUTING):
    with unit_of_work(helpdesk.sessions) as s:
        query = s.scalar(select(Query).where(Query.reference == reference))
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.query_id == query.id,
                                                          OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def test_child_labour_query_from_ghana_is_routed_to_child_labour_focal_point(service):
    report = ask(service, "Can we employ 16-year-olds in our packaging plant in Ghana?", email="buyer@acme.example",
                 organisation="Acme Ltd", country="GH", requester_type="management")

    assert report.reference == "HD-2026-0001"
    assert report.requester.region == "Africa" and report.requester.country_name == "Ghana"
    assert report.requester.requester_type == "management"
    kept = [t["code"] for t in report.topics if t["selected"]]
    assert kept[0] == "child_labour"
    child = next(r for r in report.routes if r["department"] == "CHILD_LABOUR")
    assert child["focal_points"] == ["childlabour.focal@example.org"]
    assert report.status == "routed"


def test_target_reply_date_is_two_weeks_after_reception(service):
    report = ask(service, "What personal protective equipment must an employer provide free of charge?")
    assert report.target_reply_date == date(2026, 3, 16)
    assert report.received_at == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_query_raising_two_issues_is_routed_to_both_departments(service):
    report = ask(service, "Workers at our contractor do 70 hours a week and the overtime is never paid. "
                          "Our cocoa supplier also employs children of 12 on the farms.")
    kept = {t["code"] for t in report.topics if t["selected"]}
    assert "child_labour" in kept
    assert kept & {"wages", "working_time"}
    departments = {r["department"] for r in report.routes}
    assert {"CHILD_LABOUR", "WORKCOND"} <= departments


def test_workers_and_employers_bureaux_are_consulted_on_every_routed_query(service):
    report = ask(service, "¿Qué debe incluir una política contra el acoso sexual en el trabajo?")
    reasons = {r["department"]: r["reason"] for r in report.routes}
    assert reasons["ACTEMP"] == "always consulted" and reasons["ACTRAV"] == "always consulted"
    assert "EQUALITY" in reasons


def test_each_department_gets_a_routing_email_in_the_outbox_with_reference_and_due_date(helpdesk):
    report = ask(helpdesk.service, "Our supplier keeps the passports of its migrant workers. Is that forced labour?",
                 organisation="Northwind Retail", country="DE")
    queued = outbox(helpdesk, report.reference)
    assert {tuple(m.recipients) for m in queued} >= {("forcedlabour.focal@example.org",)}
    assert all(m.kind is OutboxKind.ROUTING and m.sent_at is None for m in queued)
    message = next(m for m in queued if "forcedlabour.focal@example.org" in m.recipients)
    assert message.subject.startswith(f"[{report.reference}]")
    assert "2026-03-07" in message.body  # input due five days later
    assert "Northwind Retail" in message.body and "Europe and Central Asia" in message.body
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(func.count(Consultation.id))) == len(report.routes)


def test_confidential_query_hides_the_requester_from_focal_points(helpdesk):
    report = ask(helpdesk.service, "We plan to close our assembly plant next year. What consultation is required "
                                   "before collective dismissals?", organisation="Global Electronics KK",
                 country="JP", name="Haruto Tanaka", confidential=True)
    for message in outbox(helpdesk, report.reference):
        assert "Global Electronics" not in message.body and "Haruto" not in message.body
        assert "CONFIDENTIAL" in message.body and "Asia and the Pacific" in message.body


def test_french_query_gets_a_french_draft_from_the_qas_french_version(service):
    report = ask(service, "Qui doit payer les équipements de protection individuelle des ouvriers ?",
                 name="Marie Dubois")
    assert report.language == "fr"
    best = report.matches[0]
    assert best["qa_key"] == "osh-ppe" and best["good"]
    assert report.draft.startswith("Bonjour Marie Dubois,")
    assert "convention no 155" in report.draft


def test_spanish_query_gets_a_spanish_draft(service):
    report = ask(service, "¿Pueden los trabajadores negarse a trabajar cuando hay un peligro grave e inminente "
                          "para su vida?")
    assert report.language == "es"
    assert report.draft.startswith("Estimado/a señor/a:")
    assert "Gracias por contactar con el" in report.draft


def test_an_answer_without_the_requesters_language_version_is_flagged_for_translation():
    from kb.drafting import compose_draft
    from kb.matching import QAEntry, QAMatch
    from kb.qa_bank import shipped_qas

    english = next(q for q in shipped_qas() if q["key"] == "osh-right-to-stop")
    entry = QAEntry(1, english["key"], english["question"], english["answer"], tuple(english["topics"]), "en")
    draft = compose_draft(language="es", helpdesk="Helpdesk", reference="HD-2026-0001",
                          target_reply_date=date(2026, 3, 16), topic_names=["Seguridad y salud en el trabajo"],
                          matches=[QAMatch(entry, 70.0, 0.5, 70.0, ("danger", "stop"), True)])
    assert draft.text.startswith("Estimado/a señor/a:") and english["answer"] in draft.text
    assert any("osh-right-to-stop has no Spanish version: translate its English version" in n for n in draft.notes)


def test_a_draft_quotes_the_version_in_the_requesters_language_whichever_version_matched():
    from kb.drafting import compose_draft
    from kb.matching import QAEntry, QAMatch

    versions = (("en", "May workers stop work in danger?", "Yes, they may remove themselves from danger."),
                ("es", "¿Pueden los trabajadores dejar de trabajar ante un peligro?",
                 "Sí, pueden retirarse de una situación de peligro."))
    matched_in_english = QAEntry(1, "osh-stop", *versions[0][1:], ("osh",), "en", versions)
    draft = compose_draft(language="es", helpdesk="Helpdesk", reference="HD-2026-0001",
                          target_reply_date=date(2026, 3, 16), topic_names=["Seguridad y salud en el trabajo"],
                          matches=[QAMatch(matched_in_english, 70.0, 0.5, 70.0, ("danger", "stop"), True)])
    assert "Sí, pueden retirarse de una situación de peligro." in draft.text
    assert "Yes, they may" not in draft.text
    assert not any("translate" in n for n in draft.notes)


def test_query_without_a_good_match_gets_an_honest_holding_draft(service):
    report = ask(service, "Our union wants to negotiate a pension top-up for platform couriers in Lagos.",
                 country="NG")
    assert not any(m["good"] for m in report.matches)
    assert "passed to our specialists" in report.draft
    assert "2026-03-16" in report.draft
    assert any("No Q&A in the bank matches" in n for n in report.draft_notes)


def test_off_topic_query_is_marked_for_manual_triage_and_not_routed(helpdesk):
    report = ask(helpdesk.service, "Which environmental label should we get to export our coffee to Europe?")
    assert report.needs_manual_triage
    assert report.routes == [] and report.status == "manual_triage"
    assert outbox(helpdesk, report.reference) == []
    assert any("manual triage" in r for r in report.reasons)


def test_the_same_email_submitted_twice_is_stored_once(helpdesk):
    first = ask(helpdesk.service, "How many days of paid annual leave are required?", source_key="<abc@mail>")
    again = ask(helpdesk.service, "How many days of paid annual leave are required?", source_key="<abc@mail>")
    assert first.created and not again.created
    assert again.reference == first.reference
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(func.count(Query.id))) == 1
        assert s.scalar(select(func.count(OutboxMessage.id))) == len(first.routes) + 1  # + acknowledgement


def test_references_count_up_and_restart_with_the_new_year(service, clock):
    refs = [ask(service, "What is the maximum number of working hours per week?").reference for _ in range(2)]
    clock.now = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
    refs.append(ask(service, "What is the maximum number of working hours per week?").reference)
    assert refs == ["HD-2026-0001", "HD-2026-0002", "HD-2027-0001"]


def test_returning_requester_is_recognised_and_keeps_earlier_details(helpdesk):
    ask(helpdesk.service, "How do we calculate a living wage?", email="Ana@Coop.example", organisation="Coop",
        country="CO", requester_type="workers")
    second = ask(helpdesk.service, "And what about overtime pay?", email="ana@coop.example")
    assert second.requester.organisation == "Coop" and second.requester.region == "Americas"
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(func.count(Requester.id))) == 1


def test_specialist_extends_a_target_with_a_reason(service):
    report = ask(service, "Is the MNE Declaration binding on our subsidiaries?")
    extended = service.extend_target(report.reference, "controversial: needs legal review", days=14)
    assert extended.target_reply_date == date(2026, 3, 30)
    detail = service.show_query(report.reference)
    assert detail.extension_reason == "controversial: needs legal review"
    assert any(e["kind"] == "target extended" for e in detail.history)
    with pytest.raises(ValueError, match="needs a reason"):
        service.extend_target(report.reference, "  ", to=date(2026, 4, 30))


def test_query_list_marks_overdue_queries(service, clock):
    ask(service, "What is the minimum age for hazardous work?")
    clock.now += timedelta(days=15)
    ask(service, "How should overtime be compensated?")
    rows = service.list_queries()
    assert [r.overdue for r in rows] == [True, False]
    assert [r.reference for r in service.list_queries(overdue_only=True)] == ["HD-2026-0001"]
    assert service.list_queries(QueryStatus.CLOSED) == []


def test_show_gives_the_whole_history_of_a_query(service):
    report = ask(service, "Our supplier's fire exits are locked during shifts. What standards apply?")
    detail = service.show_query(report.reference.lower())
    assert [e["kind"] for e in detail.history][:3] == ["received", "triaged", "routed"]
    assert detail.history[-1]["kind"] == "drafted"
    assert detail.messages[0]["direction"] == "in"
    assert len(detail.outbox) == len(report.routes) + 1


def test_email_requester_gets_an_acknowledgement_in_their_language(helpdesk):
    report = ask(helpdesk.service, "¿Cuántos días de vacaciones pagadas son obligatorios?", email="ana@coop.example")
    [ack] = outbox(helpdesk, report.reference, OutboxKind.ACKNOWLEDGEMENT)
    assert ack.recipients == ["ana@coop.example"]
    assert ack.subject == f"[{report.reference}] Hemos recibido su consulta"
    assert "2026-03-16" in ack.body
    with unit_of_work(helpdesk.sessions) as session:  # the email goes out marked as an automatic answer
        claimed = claim_due(session, helpdesk.clock(), Channel.EMAIL, limit=1000)
    assert next(m for m in claimed if m.id == ack.id).headers["Auto-Submitted"] == "auto-replied"
    assert ack.email_message_id.endswith("@example.org>")


def test_cli_query_gets_no_acknowledgement_email(helpdesk):
    report = helpdesk.service.submit_query(QuerySubmission(text="What is a living wage?", channel=Channel.CLI))
    assert outbox(helpdesk, report.reference, OutboxKind.ACKNOWLEDGEMENT) == []


def _plain(value) -> bool:
    """Only what JSON gives back: dicts with string keys, lists, strings, numbers, booleans, None."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_the_triage_record_stored_with_a_query_is_what_a_reload_gives_back(service):
    import json

    from kb.triage import triage

    texts = [("Can we employ 16-year-olds in our packaging plant in Ghana?", "en"),
             ("Quel est le salaire minimum pour nos ouvriers au Maroc ? Les heures supplémentaires sont-elles "
              "payées ?", "fr"),
             ("¿Qué debe incluir una política contra el acoso sexual en el trabajo?", "es"),
             ("What is the best way to calculate the carbon footprint of our trucks?", "en")]
    with service.unit_of_work() as session:
        matcher = service.matcher(session)
    for text, language in texts:
        decision = triage(text, language=language, policy=service.policy, model=service.model, matcher=matcher,
                          calendar=service.calendar, reference="HD-2026-0001", received=date(2026, 3, 2),
                          target_reply_date=date(2026, 3, 16))
        record = decision.explanation()
        assert _plain(record), record
        assert record == json.loads(json.dumps(record))
        assert record["topics"] and record["reasons"]
