"""The console's personal-data page, over HTTP, on SQLite and PostgreSQL.

Jürgen Weber asked the helpdesk by email, and Ana López on Telegram (``tests.test_privacy``'s story).
Jürgen then writes to ask for his data, and later for its erasure. Maria, a specialist, does both from
the console: the export is a download; the erasure first shows what it would change and happens only
when she types his address again. Afterwards no column of the store holds his name, address or phone,
Ana's data is whole, the erasure is in the audit trail and in the erasure log (a restored backup is
erased again from it). Victor, a viewer, never sees the page, and a form without the session's token
changes nothing.
"""

from __future__ import annotations

import io
import json
import zipfile

from tests.test_privacy import ANA, ANA_CHAT, EMAIL, JURGEN, NAME, columns_holding, seed
from tests.test_web import TOKEN, Console
from tests.test_web import maria, service, victor  # noqa: F401 - the fixtures


def token(console: Console) -> str:
    return TOKEN.search(console.get("/privacy").text).group(1)


def export(console: Console, who: str, csrf: str | None = None):
    return console.client.post("/privacy/export", data={"who": who, "csrf_token": csrf or token(console)})


def erase(console: Console, who: str, confirm: str | None = None):
    fields = {"who": who, "csrf_token": token(console)}
    if confirm is not None:
        fields["confirm"] = confirm
    return console.client.post("/privacy/erase", data=fields)


def test_maria_downloads_what_the_helpdesk_holds_about_jurgen(helpdesk, service, maria, tmp_path, clock):
    reference = seed(helpdesk, tmp_path, clock)
    page = maria.get("/privacy")
    assert page.status_code == 200 and 'href="/privacy"' in page.text and EMAIL not in page.text

    download = export(maria, f"  {EMAIL.upper()} ")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "personal-data-" in disposition
    assert "jurgen" not in disposition.lower() and download.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("data.json"))
        emails = [archive.read(n) for n in names if n.startswith("emails/")]
    assert "README.txt" in names and data["queries"] == [reference]
    assert any(b"Overtime limits at our supplier" in e for e in emails)
    assert ANA not in json.dumps(data, ensure_ascii=False)
    assert [(line.actor, line.channel) for line in service.audit_trail("maria") if line.action == "export"] == \
        [("maria", "web")]


def test_maria_erases_jurgen_after_seeing_what_would_change_and_confirming(helpdesk, service, maria, tmp_path,
                                                                          clock):
    reference = seed(helpdesk, tmp_path, clock)
    year = clock.now.year
    before = service.annual_report(year)

    plan = erase(maria, EMAIL)
    assert plan.status_code == 200 and f"Erasing <strong>{EMAIL}</strong> would change" in plan.text
    assert "raw_email:" in plan.text and reference in plan.text and 'name="confirm"' in plan.text
    assert columns_holding(helpdesk, [EMAIL]), "showing the plan erased something"

    mistyped = erase(maria, EMAIL, confirm="jurgen.weber@acme-textile.example")
    assert mistyped.status_code == 409 and "does not match" in mistyped.text and "nothing was erased" in mistyped.text
    assert columns_holding(helpdesk, [EMAIL])

    done = erase(maria, EMAIL, confirm=EMAIL.upper())
    assert done.status_code == 200 and done.url.path == "/privacy"
    assert "Erased: 1 query" in done.text and "file(s) removed" in done.text
    assert columns_holding(helpdesk, JURGEN) == []
    assert columns_holding(helpdesk, [ANA, str(ANA_CHAT)]), "Ana's data is hers and stays"
    assert service.annual_report(year) == before
    page = maria.get(f"/queries/{reference}").text
    assert "Personal data erased on" in page and "by maria" in page and NAME not in page
    erased = [(line.actor, line.channel) for line in service.audit_trail(reference) if line.action == "erase"]
    assert erased == [("maria", "web")]
    logged = [json.loads(line) for line in (tmp_path / "erasures.jsonl").read_text().splitlines()]
    assert [(entry["by"], entry["queries"]) for entry in logged] == [("maria", [reference])]
    assert EMAIL not in (tmp_path / "erasures.jsonl").read_text()

    again = erase(maria, EMAIL)
    assert again.status_code == 404 and "no data is held about this person" in again.text


def test_an_unknown_person_or_a_malformed_identifier_is_said_and_changes_nothing(helpdesk, service, maria, tmp_path,
                                                                                clock):
    seed(helpdesk, tmp_path, clock)
    unknown = export(maria, "nobody@example.org")
    assert unknown.status_code == 404 and "Nothing exported: no data is held about this person" in unknown.text
    assert 'value="nobody@example.org"' in unknown.text  # what she typed is still in the box
    malformed = erase(maria, "jurgen at acme")
    assert malformed.status_code == 400 and "neither an email address nor a Telegram id" in malformed.text
    assert erase(maria, "").status_code == 400
    assert service.audit_trail("maria") == [] and not (tmp_path / "erasures.jsonl").exists()


def test_a_telegram_requester_is_exported_and_erased_by_chat_id(helpdesk, service, maria, tmp_path, clock):
    seed(helpdesk, tmp_path, clock)
    download = export(maria, str(ANA_CHAT))
    assert download.status_code == 200
    assert ANA in zipfile.ZipFile(io.BytesIO(download.content)).read("data.json").decode()
    assert erase(maria, str(ANA_CHAT), confirm=str(ANA_CHAT)).status_code == 200
    assert columns_holding(helpdesk, [ANA, str(ANA_CHAT)]) == []
    assert columns_holding(helpdesk, [EMAIL]), "Jürgen's data is his and stays"


def test_victor_a_viewer_neither_sees_nor_uses_the_page(helpdesk, service, victor, maria, tmp_path, clock):
    seed(helpdesk, tmp_path, clock)
    page = victor.get("/privacy")
    assert page.status_code == 403 and "viewers cannot see, export or erase personal data" in page.text
    assert 'href="/privacy"' not in victor.get("/").text
    csrf = TOKEN.search(victor.get("/").text).group(1)
    for path, fields in (("/privacy/export", {"who": EMAIL}), ("/privacy/erase", {"who": EMAIL, "confirm": EMAIL})):
        refused = victor.client.post(path, data={**fields, "csrf_token": csrf})
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert columns_holding(helpdesk, [EMAIL]) and service.audit_trail("victor") == []


def test_a_form_without_the_sessions_token_exports_and_erases_nothing(helpdesk, service, maria, tmp_path, clock):
    seed(helpdesk, tmp_path, clock)
    for path in ("/privacy/export", "/privacy/erase"):
        for csrf in (None, "forged-token"):
            fields = {"who": EMAIL, "confirm": EMAIL, **({"csrf_token": csrf} if csrf else {})}
            refused = maria.client.post(path, data=fields)
            assert refused.status_code == 403 and "CSRF" in refused.text and "PK" not in refused.text[:2]
    assert columns_holding(helpdesk, [EMAIL]) and service.audit_trail("maria") == []


def test_signed_out_the_page_sends_to_sign_in_and_back(service):
    console = Console(service)
    first = console.get("/privacy")
    assert first.url.path == "/login" and "next=%2Fprivacy" in str(first.url)
