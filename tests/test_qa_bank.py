"""The Q&A bank as the specialist keeps it: one Q&A in English, French and Spanish, written, translated,
withdrawn and published again, imported and exported as CSV; on both stores."""

from __future__ import annotations

import csv
import io

import pytest

from kb.qa_csv import QAImportError

STOP_WORK_EN = ("Can a worker refuse to keep working on a scaffold that is shaking in a storm?",
                "Yes. A worker who has reasonable justification to believe that a situation presents an imminent and "
                "serious danger may remove themselves from it, and must be protected from undue consequences.")
STOP_WORK_FR = ("Un ouvrier peut-il refuser de continuer à travailler sur un échafaudage qui tremble dans la "
                "tempête ?",
                "Oui. Un travailleur qui a un motif raisonnable de penser qu'une situation présente un péril imminent "
                "et grave peut s'en retirer, et doit être protégé de conséquences injustifiées.")


#: The bank's rules are the store's either way; the stories that run its SQL (search, joins, import) run on both.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def matched_keys(service, text: str, language: str) -> list[str]:
    report = service.submit_query(_submission(text))
    assert report.language == language
    return [m["qa_key"] for m in report.matches]


def _submission(text: str):
    from kb.intake import QuerySubmission
    from kb.models import Channel

    return QuerySubmission(text=text, channel=Channel.EMAIL, email="someone@example.com")


@SQLITE
def test_every_shipped_qa_has_its_english_french_and_spanish_versions(service):
    rows, total = service.qa_list(state="published", limit=1000)
    assert total >= 60
    assert all(set(r.languages) == {"en", "fr", "es"} for r in rows)


@SQLITE
def test_a_spanish_question_finds_a_qa_written_in_english_and_the_draft_quotes_its_spanish_version(service):
    shown = service.qa_show("osh-right-to-stop")
    assert shown.language == "en" and "es" in shown.versions
    report = service.submit_query(_submission(
        "Buenos días. En nuestra obra los albañiles dicen que tienen derecho a interrumpir el trabajo cuando hay un "
        "peligro inminente en el andamio. ¿Es así según las normas de la OIT?"))
    assert report.language == "es"
    best = report.matches[0]
    assert best["qa_key"] == "osh-right-to-stop" and best["good"], report.matches
    assert shown.versions["es"].answer in report.draft
    assert shown.versions["en"].answer not in report.draft
    assert not any("translate" in note for note in report.draft_notes)


def test_the_specialist_writes_a_qa_translates_it_withdraws_it_and_publishes_it_again(service):
    added = service.qa_add(language="en", question=STOP_WORK_EN[0], answer=STOP_WORK_EN[1], topics=["osh"],
                           actor="maria", key="osh-scaffold-storm")
    assert added.state == "published" and added.missing_languages == ("fr", "es")

    assert service.qa_edit("osh-scaffold-storm", actor="maria", language="fr", question=STOP_WORK_FR[0],
                           answer=STOP_WORK_FR[1]) is True
    shown = service.qa_show("osh-scaffold-storm")
    assert set(shown.versions) == {"en", "fr"} and shown.edited_by == "maria"
    # The same text again changes nothing.
    assert service.qa_edit("osh-scaffold-storm", actor="maria", language="fr", question=STOP_WORK_FR[0],
                           answer=STOP_WORK_FR[1]) is False

    french = ("Bonjour, sur notre chantier un échafaudage tremble dans la tempête. Un ouvrier peut-il refuser de "
              "continuer à travailler dessus ?")
    assert "osh-scaffold-storm" in matched_keys(service, french, "fr")

    service.qa_withdraw("osh-scaffold-storm", "superseded by the OSH team's new guidance", actor="maria")
    withdrawn = service.qa_show("osh-scaffold-storm")
    assert withdrawn.state == "withdrawn" and "superseded" in withdrawn.withdrawn_reason
    assert "osh-scaffold-storm" not in matched_keys(service, french, "fr")
    assert "osh-scaffold-storm" not in [r.key for r in service.qa_list(state="published", limit=1000)[0]]
    assert "osh-scaffold-storm" in [r.key for r in service.qa_list(state="withdrawn")[0]]

    service.publish_qa("osh-scaffold-storm", actor="maria")
    assert service.qa_show("osh-scaffold-storm").state == "published"
    assert "osh-scaffold-storm" in matched_keys(service, french, "fr")


@SQLITE
@pytest.mark.parametrize("change, message", [
    (dict(language="de"), "language 'de' is not one of the helpdesk's"),
    (dict(topics=["unicorns"]), "unknown topic unicorns"),
    (dict(topics=[]), "needs at least one topic"),
    (dict(answer="   "), "needs both a question and an answer"),
    (dict(answer="x" * 20_001), "keep it under 20,000"),
    (dict(key="Bad Key!"), "lower-case letters, digits and hyphens"),
    (dict(key="fl-passports"), "already exists"),
])
def test_a_bad_qa_is_refused_with_its_reason_and_nothing_is_added(service, change, message):
    before = service.qa_list(state="all", limit=10_000)[1]
    fields = dict(language="en", question=STOP_WORK_EN[0], answer=STOP_WORK_EN[1], topics=["osh"], actor="maria")
    with pytest.raises(ValueError, match=message):
        service.qa_add(**{**fields, **change})
    assert service.qa_list(state="all", limit=10_000)[1] == before


@SQLITE
def test_withdrawing_needs_a_reason_and_the_last_version_cannot_be_removed(service):
    service.qa_add(language="en", question=STOP_WORK_EN[0], answer=STOP_WORK_EN[1], topics=["osh"], actor="maria",
                   key="osh-scaffold-storm")
    with pytest.raises(ValueError, match="say why"):
        service.qa_withdraw("osh-scaffold-storm", "  ", actor="maria")
    with pytest.raises(ValueError, match="only version"):
        service.qa_remove_version("osh-scaffold-storm", "en", actor="maria")
    with pytest.raises(LookupError, match="no Q&A with key"):
        service.qa_withdraw("no-such-qa", "gone", actor="maria")
    assert service.qa_show("osh-scaffold-storm").state == "published"


@SQLITE
def test_seeding_again_never_overwrites_a_shipped_qa_the_specialist_edited(helpdesk):
    from kb.qa_bank import shipped_qas

    service = helpdesk.service
    service.qa_edit("fl-passports", actor="maria", language="en", question="May we hold migrant workers' passports?",
                    answer="No. Our own wording, agreed with the Forced Labour Branch.")
    assert service.seed_qa_bank(shipped_qas()) == (0, 0)
    assert service.qa_show("fl-passports").versions["en"].answer.startswith("No. Our own wording")


def csv_bytes(*rows: tuple[str, ...], header=("key", "language", "topics", "question", "answer")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_a_csv_import_adds_qas_and_versions_and_flags_near_duplicates(service):
    passports = service.qa_show("fl-passports").versions["en"].question
    data = csv_bytes(
        ("osh-scaffold-storm", "en", "osh", *STOP_WORK_EN),
        ("osh-scaffold-storm", "fr", "", *STOP_WORK_FR),
        ("fl-passports", "es", "", "¿Podemos guardar los pasaportes?", "No, los pasaportes son de los trabajadores."),
        ("", "en", "forced_labour", passports + " ", "A copy of an answer someone wrote again."),
    )
    result = service.qa_import_csv(data, actor="maria")
    assert len(result.added) == 2 and "osh-scaffold-storm" in result.added
    assert result.versions_added == 1 and result.versions_updated == 1  # fl-passports already had Spanish
    assert set(service.qa_show("osh-scaffold-storm").versions) == {"en", "fr"}
    assert service.qa_show("fl-passports").versions["es"].answer == "No, los pasaportes son de los trabajadores."
    assert any(d.key == "fl-passports" for _, _, d in result.near_duplicates)


@SQLITE
@pytest.mark.parametrize("data, problem", [
    (csv_bytes(("osh-a", "en", "osh", *STOP_WORK_EN), ("osh-b", "en", "unicorns", *STOP_WORK_EN)),
     "line 3: unknown topic unicorns"),
    (csv_bytes(("osh-a", "de", "osh", *STOP_WORK_EN)), "line 2: language 'de'"),
    (csv_bytes(("osh-a", "en", "osh", STOP_WORK_EN[0], "")), "line 2: a Q&A version needs both"),
    (csv_bytes(("osh-a", "en", "osh", *STOP_WORK_EN), ("osh-a", "en", "osh", *STOP_WORK_EN)), "line 3: osh-a in en again"),
    (csv_bytes(("osh-a", "en", *STOP_WORK_EN)), "line 2: 4 columns where the header has 5"),
    (csv_bytes(("osh-a", "en", "osh", *STOP_WORK_EN), header=("key", "lang", "topics", "question", "answer")),
     "missing language; unknown lang"),
    (csv_bytes(("new-qa", "en", "", *STOP_WORK_EN)), "new Q&A new-qa needs its topics"),
    (b"key,language,topics,question,answer\r\nosh-a,en,osh,Caf\xe9?,Oui\r\n", "not UTF-8"),
    (b"", "the file is empty"),
    (b"key,language,topics,question,answer\r\n", "no Q&A rows"),
])
def test_a_bad_csv_is_refused_whole_with_the_line_of_each_problem(service, data, problem):
    before = service.qa_export_csv(include_drafts=True)
    with pytest.raises(QAImportError, match=problem):
        service.qa_import_csv(data, actor="maria")
    assert service.qa_export_csv(include_drafts=True) == before
    assert "osh-a" not in before


@SQLITE
def test_the_exported_bank_imports_into_another_store_unchanged(make_helpdesk, tmp_path):
    first = make_helpdesk().service
    first.qa_add(language="en", question=STOP_WORK_EN[0], answer=STOP_WORK_EN[1], topics=["osh", "industrial_relations"],
                 actor="maria", key="osh-scaffold-storm")
    exported = first.qa_export_csv()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {"key": "osh-scaffold-storm", "language": "en", "topics": "osh industrial_relations",
            "question": STOP_WORK_EN[0], "answer": STOP_WORK_EN[1]} in rows
    # Importing the export back changes nothing: every row is already there.
    result = first.qa_import_csv(exported.encode("utf-8"), actor="maria")
    assert result.added == [] and result.versions_added == result.versions_updated == 0
    assert result.unchanged == len(rows)


def test_the_bank_is_kept_from_the_terminal_too(cli, tmp_path):
    question, answer = tmp_path / "q.txt", tmp_path / "a.txt"
    question.write_text(STOP_WORK_EN[0], encoding="utf-8")
    answer.write_text(STOP_WORK_EN[1], encoding="utf-8")
    added = cli("qa", "add", "--language", "en", "--topics", "osh", "--question-file", str(question),
                "--answer-file", str(answer), "--key", "osh-scaffold-storm")
    assert added.exit_code == 0 and "Q&A osh-scaffold-storm added (published)" in added.output, added.output

    edited = cli("qa", "edit", "osh-scaffold-storm", "--language", "fr", "--question-file", "-", "--answer-file",
                 str(answer), input=STOP_WORK_FR[0])
    assert edited.exit_code == 0 and "changed" in edited.output, edited.output
    shown = cli("qa", "show", "osh-scaffold-storm")
    assert "[fr] Q: " + STOP_WORK_FR[0] in shown.output and "no version yet in: es" in shown.output

    assert cli("qa", "withdraw", "osh-scaffold-storm", "--reason", "merged into osh-right-to-stop").exit_code == 0
    listing = cli("qa", "list", "--state", "withdrawn")
    assert "osh-scaffold-storm" in listing.output and "1 Q&A(s)" in listing.output

    exported = tmp_path / "bank.csv"
    assert cli("qa", "export", str(exported)).exit_code == 0
    assert "osh-scaffold-storm" not in exported.read_text(encoding="utf-8")  # withdrawn: not exported
    assert exported.read_text(encoding="utf-8").startswith("key,language,topics,question,answer")

    bad = tmp_path / "bad.csv"
    bad.write_text("key,language,topics,question,answer\nosh-x,en,unicorns,Q?,A\n", encoding="utf-8")
    refused = cli("qa", "import", str(bad))
    assert refused.exit_code == 1 and "line 2: unknown topic unicorns" in refused.output
    assert "osh-x" not in cli("qa", "list", "--state", "all", "--search", "osh-x").output

    unknown = cli("qa", "show", "no-such-key")
    assert unknown.exit_code == 1 and "no Q&A with key 'no-such-key'" in unknown.output


@SQLITE
def test_a_qa_once_shipped_twice_is_withdrawn_as_merged_into_the_qa_it_duplicated(make_helpdesk):
    """Stores seeded before the merge had 'osh-equipements-fr' beside 'osh-ppe'; the next start withdraws it."""
    from kb.models import QA, QAOrigin, QAVersion
    from kb.qa_bank import merged_qas, shipped_qas

    helpdesk = make_helpdesk()
    service = helpdesk.service
    assert merged_qas()["osh-equipements-fr"] == "osh-ppe"
    with service.unit_of_work() as session:
        now = service.clock()
        old = QA(key="osh-equipements-fr", topics=["osh"], language="fr", origin=QAOrigin.SHIPPED, published=True,
                 created_at=now, updated_at=now)
        old.versions = [QAVersion(language="fr", question="Qui doit payer les EPI ?", answer="L'employeur.",
                                  updated_at=now)]
        session.add(old)
    service.seed_qa_bank(shipped_qas(), merged_qas())
    shown = service.qa_show("osh-equipements-fr")
    assert shown.state == "withdrawn" and "merged into osh-ppe" in shown.withdrawn_reason
    assert "fr" in service.qa_show("osh-ppe").versions


@SQLITE
def test_a_specialists_topic_correction_teaches_the_model_more_than_a_shipped_example(service):
    from kb.intake import QuerySubmission
    from kb.models import Channel
    from kb.qa_bank import CORRECTION_WEIGHT

    report = service.submit_query(QuerySubmission(text="Our night shift staff in the cannery ask about their breaks",
                                                  channel=Channel.EMAIL, email="ana@coop.example"))
    service.correct_topics(report.reference, ["working_time"], actor="maria")
    [corrected] = [e for e in service.learned_examples() if e.text.startswith("Our night shift staff")]
    assert corrected.topics == ("working_time",) and corrected.weight == CORRECTION_WEIGHT > 1
