"""The Q&A bank in the console: Maria finds a Q&A, adds its missing version, writes a new one, withdraws and
publishes, imports and exports CSV; a promoted answer arrives as a draft to publish; Victor reads only."""

from __future__ import annotations

import csv
import io

import pytest

from tests.test_web import TOKEN, ask, maria, service, victor  # noqa: F401 - the fixtures

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

STORM_EN = ("Can a worker refuse to keep working on a scaffold that is shaking in a storm?",
            "Yes. A worker who reasonably believes a situation presents an imminent and serious danger may remove "
            "themselves from it and must be protected from undue consequences.")
STORM_ES = ("¿Puede un obrero negarse a seguir trabajando en un andamio que tiembla durante una tormenta?",
            "Sí. Un trabajador que considere razonablemente que una situación entraña un peligro inminente y grave "
            "puede retirarse de ella y debe estar protegido de consecuencias injustificadas.")


def post(console, path: str, page: str, files=None, **fields):
    """Submit a form of ``page`` as a browser does: with the token the page carries."""
    token = TOKEN.search(console.get(page).text).group(1)
    return console.client.post(path, data={"csrf_token": token, **fields}, files=files)


def test_maria_finds_a_qa_by_its_words_and_filters(maria):
    page = maria.get("/qa", params={"search": "passports", "state": "published"})
    assert page.status_code == 200 and "fl-passports" in page.text
    assert "cl-minimum-age" not in page.text
    by_topic = maria.get("/qa", params={"topic": "child_labour"})
    assert "cl-minimum-age" in by_topic.text and "fl-passports" not in by_topic.text


def test_maria_writes_a_qa_adds_its_spanish_version_withdraws_it_and_publishes_it_again(service, maria):
    added = post(maria, "/qa/new", "/qa/new", language="en", topics=["osh"], question=STORM_EN[0],
                 answer=STORM_EN[1], key="osh-scaffold-storm")
    assert added.status_code == 200 and "Q&amp;A osh-scaffold-storm added (published)" in added.text
    assert "(no version yet" in added.text.split('id="v-es"')[1].split("</section>")[0]

    saved = post(maria, "/qa/osh-scaffold-storm/version", "/qa/osh-scaffold-storm", language="es",
                 question=STORM_ES[0], answer=STORM_ES[1])
    assert "Spanish version saved" in saved.text
    assert service.qa_show("osh-scaffold-storm").versions["es"].answer == STORM_ES[1]

    refused = post(maria, "/qa/osh-scaffold-storm/withdraw", "/qa/osh-scaffold-storm", reason="  ")
    assert refused.status_code == 409 and "say why the Q&amp;A is withdrawn" in refused.text
    withdrawn = post(maria, "/qa/osh-scaffold-storm/withdraw", "/qa/osh-scaffold-storm",
                     reason="merged into osh-right-to-stop")
    assert "withdrawn" in withdrawn.text and "merged into osh-right-to-stop" in withdrawn.text
    assert service.qa_show("osh-scaffold-storm").state == "withdrawn"

    published = post(maria, "/qa/osh-scaffold-storm/publish", "/qa/osh-scaffold-storm")
    assert "published: drafts and the FAQ use it from now on" in published.text
    assert service.qa_show("osh-scaffold-storm").state == "published"


def test_a_refused_version_keeps_what_maria_typed_and_changes_nothing(service, maria):
    before = service.qa_show("fl-passports").versions["fr"]
    refused = post(maria, "/qa/fl-passports/version", "/qa/fl-passports", language="fr",
                   question="Une question sans réponse ?", answer="")
    assert refused.status_code == 409 and "needs both a question and an answer" in refused.text
    assert "Une question sans réponse ?</textarea>" in refused.text
    assert service.qa_show("fl-passports").versions["fr"] == before

    bad_topic = post(maria, "/qa/new", "/qa/new", language="en", topics=["unicorns"], question=STORM_EN[0],
                     answer=STORM_EN[1])
    assert bad_topic.status_code == 409 and "unknown topic unicorns" in bad_topic.text
    assert STORM_EN[0] in bad_topic.text  # still in the form
    assert service.qa_list(search="scaffold", state="all")[1] == 0


def test_a_csv_import_is_all_or_nothing_and_the_export_downloads(service, maria):
    good = io.StringIO()
    writer = csv.writer(good)
    writer.writerows([("key", "language", "topics", "question", "answer"),
                      ("osh-scaffold-storm", "en", "osh", *STORM_EN), ("osh-scaffold-storm", "es", "", *STORM_ES)])
    imported = post(maria, "/qa/import", "/qa", files={"file": ("bank.csv", good.getvalue().encode(), "text/csv")})
    assert imported.status_code == 200 and "1 Q&amp;A added, 1 language version added" in imported.text
    assert set(service.qa_show("osh-scaffold-storm").versions) == {"en", "es"}

    bad = b"key,language,topics,question,answer\r\nosh-new,en,osh,Q?,A\r\nosh-bad,xx,osh,Q?,A\r\n"
    refused = post(maria, "/qa/import", "/qa", files={"file": ("bad.csv", bad, "text/csv")})
    assert refused.status_code == 400 and "line 3: language &#39;xx&#39;" in refused.text
    assert "Nothing was changed" in refused.text
    with pytest.raises(LookupError):
        service.qa_show("osh-new")

    exported = maria.get("/qa/export.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {"key": "osh-scaffold-storm", "language": "es", "topics": "osh", "question": STORM_ES[0],
            "answer": STORM_ES[1]} in rows


def test_a_promoted_answer_arrives_as_an_anonymised_draft_that_maria_publishes_from_the_bank(service, maria):
    reference = ask(service, "Can 15-year-old apprentices do light work in our spinning mill? Jane Osei, Acme Ltd",
                    country="DE")
    service.send_reply(reference, "maria", "Dear Jane,\n\nYes: light work from 13, apprenticeships from 14.\n\nKind "
                                           "regards")
    key = service.promote_to_qa(reference, actor="maria")
    bank = maria.get("/qa")
    assert "1 draft Q&amp;A to review and publish" in bank.text
    drafts = maria.get("/qa", params={"state": "draft"})
    assert key in drafts.text
    page = maria.get(f"/qa/{key}")
    assert "A draft: not proposed" in page.text and "Anonymised from the query" in page.text
    assert "Jane Osei" not in page.text and "Acme Ltd" not in page.text
    assert f'href="/queries/{reference}"' in page.text
    post(maria, f"/qa/{key}/publish", f"/qa/{key}")
    assert service.qa_show(key).state == "published"
    assert any(e["kind"] == "Q&A published" and e["actor"] == "maria" for e in service.show_query(reference).history)


def test_victor_reads_the_bank_but_every_change_is_refused(service, victor):
    page = victor.get("/qa/fl-passports")
    assert page.status_code == 200 and service.qa_show("fl-passports").versions["es"].question in page.text
    assert "<form method=\"post\" action=\"/qa/fl-passports" not in page.text
    assert "/qa/import" not in victor.get("/qa").text
    token = TOKEN.search(page.text).group(1)
    for path, fields in [("/qa/fl-passports/withdraw", {"reason": "x"}), ("/qa/new", {"language": "en"}),
                         ("/qa/fl-passports/version", {"language": "fr", "question": "Q?", "answer": "A"})]:
        refused = victor.client.post(path, data={"csrf_token": token, **fields})
        assert refused.status_code == 403 and "viewers read the Q&amp;A bank but cannot change it" in refused.text
    assert service.qa_show("fl-passports").state == "published"


def test_bank_forms_without_the_csrf_token_are_refused(service, maria):
    refused = maria.client.post("/qa/fl-passports/withdraw", data={"reason": "no token"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert service.qa_show("fl-passports").state == "published"


def test_an_unknown_qa_is_a_clear_404_and_signed_out_people_go_to_sign_in(service, maria):
    missing = maria.get("/qa/no-such-qa")
    assert missing.status_code == 404 and "no Q&amp;A with key" in missing.text
    from tests.test_web import Console

    stranger = Console(service)
    response = stranger.get("/qa", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert stranger.get("/qa/export.csv", follow_redirects=False).status_code == 303
