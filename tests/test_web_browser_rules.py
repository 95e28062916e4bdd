"""The console's rules, seen from a real browser: clearance before a reply goes, viewers never act, no form
without its CSRF token, and password guessing slowed down.

Jane writes to the helpdesk by email. Maria asks the two bureaux consulted on every query to agree her reply
by Friday; ACTEMP agrees by replying to the clearance email, ACTRAV stays silent and is chased on Monday. Maria
reloads the page, sees who agreed and who is silent, is told that the reply waits for ACTRAV, and sends it
anyway with her reason, which the history keeps. Victor, a viewer, finds no form on the page, and a POST forged
from his own browser session with his real token is refused. A form sent without its token is refused
whatever it asked. Five wrong passwords for maria make the sixth attempt wait, even with the right password.

One headless Chromium serves the whole module (its cookies cleared between tests) and the stories run on
SQLite only: the rules are the console's and the service's, the same on either store, and the stores'
parity is covered by tests/test_web_browser.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from ingest.folders import FolderSender
from ingest.parsing import parse_email
from tests.conftest import MONDAY
from tests.peers.browser import live_console, needs_chromium, start_chromium  # noqa: F401 (fixture)
from tests.test_web_browser import click_and_wait, flash, jane_writes, sign_in

pytestmark = [needs_chromium, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

MARIA, MARIA_PASSWORD = "maria", "correct horse battery"
VICTOR, VICTOR_PASSWORD = "victor", "staple battery horse"
#: The Friday of Jane's week: the deadline Maria gives the departments to agree her reply.
FRIDAY = date(2026, 3, 6)
REASON = "ACTRAV on mission until the 20th; ACTEMP agreed"
CSRF_REFUSED = "missing or wrong CSRF token: reload the page and try again"


@pytest.fixture(scope="module")
def one_chromium(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def browser(one_chromium, live_console):
    """The module's Chromium with no cookie left by the previous story (every console runs on 127.0.0.1)."""
    one_chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    one_chromium.get("about:blank")
    return one_chromium


# --------------------------------------------------------------------- helpers
def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def status_code(driver) -> int:
    """The HTTP status of the page the browser shows (Navigation Timing's responseStatus)."""
    return driver.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus")


def type_date(driver, field, day: date) -> None:
    """Type a date into an <input type=date> as a person would: its day, month and year, in the browser's order."""
    order = driver.execute_script(
        "return new Intl.DateTimeFormat(navigator.language, {year: 'numeric', month: '2-digit', day: '2-digit'})"
        ".formatToParts(new Date(2026, 0, 31)).filter(p => p.type !== 'literal').map(p => p.type)")
    parts = {"day": f"{day.day:02d}", "month": f"{day.month:02d}", "year": f"{day.year:04d}"}
    field.send_keys("".join(parts[p] for p in order))
    assert field.get_attribute("value") == day.isoformat()


def submit_forged_form(driver, action: str, fields: dict[str, str]) -> None:
    """Build a form in the page, as a script or a hand in the developer tools would, submit it, wait for the answer."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("""
        window.beforeTheClick = true;
        const form = document.createElement('form');
        form.method = 'post';
        form.action = arguments[0];
        for (const [name, value] of Object.entries(arguments[1])) {
            const input = document.createElement('input');
            input.type = 'hidden';
            input.name = name;
            input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();""", action, fields)
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.beforeTheClick === undefined && document.readyState === 'complete'"))


def emails(folder, kind: str) -> list:
    """The emails of one kind the outbox folder holds, oldest first."""
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob(f"*-{kind}.eml"))]


def focal_point_replies(to, text: str, *, sender: str, at) -> bytes:
    """A focal point's answer to a clearance email, threaded on it as their mail client does."""
    m = EmailMessage()
    m["From"], m["To"] = sender, "helpdesk@example.org"
    m["Subject"] = f"Re: {to['Subject']}"
    m["Message-ID"], m["Date"] = make_msgid(domain="example.org"), format_datetime(at)
    m["In-Reply-To"] = m["References"] = to["Message-ID"]
    quoted = "\n".join("> " + line for line in to.get_content().splitlines())
    m.set_content(f"{text}\n\nOn {to['Date']}, the helpdesk wrote:\n{quoted}\n")
    return bytes(m)


def replies_queued(service, reference: str) -> list[dict]:
    return [o for o in service.show_query(reference).outbox if o["kind"] == "reply"]


# --------------------------------------------------------------------- stories
def test_maria_asks_for_clearance_one_bureau_agrees_the_other_is_chased_and_she_sends_with_a_reason(
        helpdesk, live_console, browser, clock, tmp_path):
    service = helpdesk.service
    service.add_account(MARIA, "specialist", MARIA_PASSWORD)
    reference = jane_writes(service)
    folder = tmp_path / "outbox"
    outbox = FolderSender(folder, service)
    outbox.send_due()  # Jane's acknowledgement and the routing emails

    sign_in(browser, live_console.url, MARIA, MARIA_PASSWORD)
    click_and_wait(browser, browser.find_element("link text", reference))
    consulted = by_css(browser, "#consultations").text
    assert "ACTEMP" in consulted and "ACTRAV" in consulted
    assert "No clearance asked" in by_css(browser, "#clearance").text

    # Maria asks both bureaux to agree her draft by Friday, from the page's own form.
    clearance_form = f"form[action='/queries/{reference}/clearance']"
    for code in ("ACTEMP", "ACTRAV"):
        by_css(browser, f"{clearance_form} input[name='departments'][value='{code}']").click()
    type_date(browser, by_css(browser, f"{clearance_form} input[name='due']"), FRIDAY)
    click_and_wait(browser, by_css(browser, f"{clearance_form} button"))
    assert flash(browser) == "Clearance requested from ACTEMP, ACTRAV"
    assert "Agreed: nobody yet" in by_css(browser, "#clearance .agreed").text
    silent = by_css(browser, "#clearance .silent").text
    assert "ACTEMP (due 2026-03-06, 0 reminders sent; asked by maria" in silent
    assert "ACTRAV (due 2026-03-06, 0 reminders sent; asked by maria" in silent

    # The clearance emails go out; Peter, ACTEMP's focal point, answers his on Tuesday; ACTRAV's stays unanswered.
    outbox.send_due()
    asked = {m["To"]: m for m in emails(folder, "clearance")}
    assert set(asked) == {"actemp.focal@example.org", "actrav.focal@example.org"}
    to_actemp = asked["actemp.focal@example.org"]
    assert to_actemp["Subject"] == f"[{reference}] Clearance requested by 2026-03-06"
    assert "reply \"Agreed\" to this email" in to_actemp.get_content()
    clock.now = MONDAY + timedelta(days=1)
    answer = focal_point_replies(to_actemp, "Agreed.", sender="Peter Lindqvist <actemp.focal@example.org>",
                                 at=clock.now)
    result = service.receive_email(parse_email(answer))  # as the mail worker hands it over
    assert (result.outcome.value, result.reference) == ("clearance", reference)

    # The next Monday, past Friday's deadline, the scheduler chases ACTRAV, and only ACTRAV.
    clock.now = MONDAY + timedelta(days=7)
    chased = [a for a in service.chase_overdue_work() if a.kind == "clearance reminder"]
    assert [a.department for a in chased] == ["ACTRAV"]
    outbox.send_due()
    [reminder] = [m for m in emails(folder, "clearance") if "Reminder" in m["Subject"]]
    assert reminder["To"] == "actrav.focal@example.org"
    assert reminder["Subject"] == f"[{reference}] Reminder 1: clearance was due 2026-03-06"

    # Maria reloads the page: who agreed, who is silent, and how often they were chased.
    browser.refresh()
    assert "ACTEMP (actemp.focal@example.org, 2026-03-03 09:00 UTC)" in by_css(browser, "#clearance .agreed").text
    silent = by_css(browser, "#clearance .silent").text
    assert "ACTRAV (due 2026-03-06 OVERDUE, 1 reminder sent; asked by maria on 2026-03-02 09:00 UTC)" in silent
    assert "ACTEMP" not in silent
    assert "not cleared: ACTRAV has not answered" in by_css(browser, "#clearance-pending").text

    # Send, without a reason: refused, and the page says why; nothing is queued, and what she typed is kept.
    by_css(browser, "#draft-text").send_keys("\nP.S. Typed just before sending.")
    click_and_wait(browser, by_css(browser, "#send"))
    assert status_code(browser) == 409
    assert by_css(browser, "#draft-text").get_property("value").endswith("P.S. Typed just before sending.")
    # (her P.S. is not what ACTEMP agreed, so that agreement no longer covers the text either)
    assert by_css(browser, ".flash.error").text == (
        f"{reference} is not cleared (ACTEMP agreed an earlier wording; ACTRAV has not answered): send when they "
        "agree this text, or send anyway with a reason")
    assert replies_queued(service, reference) == []

    # Send anyway, saying why: the reply goes, and the history keeps the reason and who gave it.
    by_css(browser, "input[name='without_clearance']").send_keys(REASON)
    click_and_wait(browser, by_css(browser, "#send"))
    assert "Reply queued" in flash(browser)
    history = [row.text for row in browser.find_elements("css selector", "#history tbody tr")]
    assert any("sent without full clearance" in row and f"ACTRAV has not answered: {REASON}" in row
               and row.endswith("maria") for row in history), history
    outbox.send_due()
    [reply] = emails(folder, "reply")
    assert reply["To"] == "jane@acme.example" and reference in reply["Subject"]


def test_victor_a_viewer_finds_no_form_and_a_post_forged_from_his_session_is_refused(
        helpdesk, live_console, browser):
    service = helpdesk.service
    service.add_account(VICTOR, "viewer", VICTOR_PASSWORD)
    reference = jane_writes(service)
    before = service.show_query(reference)

    sign_in(browser, live_console.url, VICTOR, VICTOR_PASSWORD)
    browser.get(f"{live_console.url}/queries/{reference}")
    assert reference in by_css(browser, "h1").text
    assert not browser.find_elements("css selector", f"form[action^='/queries/'], #send, textarea")
    token = by_css(browser, "form[action='/logout'] input[name='csrf_token']").get_attribute("value")

    for action, fields in [("send", {"draft": "Dear Jane, yes, any age will do."}),
                           ("draft", {"draft": "Dear Jane, yes, any age will do."}),
                           ("close", {"reason": "closed by a viewer"})]:
        browser.get(f"{live_console.url}/queries/{reference}")
        submit_forged_form(browser, f"/queries/{reference}/{action}", {"csrf_token": token, **fields})
        assert status_code(browser) == 403, action
        assert by_css(browser, ".flash.error").text == \
            "victor is a viewer: viewers read queries but cannot act on them"

    after = service.show_query(reference)
    assert replies_queued(service, reference) == []
    assert (after.report.status, after.report.draft) == (before.report.status, before.report.draft)
    assert after.history == before.history


def test_a_form_sent_without_its_csrf_token_is_refused_and_changes_nothing(helpdesk, live_console, browser):
    service = helpdesk.service
    service.add_account(MARIA, "specialist", MARIA_PASSWORD)
    reference = jane_writes(service)
    before = service.show_query(reference)

    sign_in(browser, live_console.url, MARIA, MARIA_PASSWORD)
    browser.get(f"{live_console.url}/queries/{reference}")
    draft = by_css(browser, "#draft-text")
    draft.clear()
    draft.send_keys("A reply that must never be saved.")
    browser.execute_script("document.querySelector(\"form[action$='/draft'] input[name='csrf_token']\").remove()")
    click_and_wait(browser, by_css(browser, "#send"))
    assert status_code(browser) == 403
    assert by_css(browser, ".flash.error").text == CSRF_REFUSED

    after = service.show_query(reference)
    assert replies_queued(service, reference) == []
    assert (after.report.status, after.report.draft) == (before.report.status, before.report.draft)
    assert after.history == before.history

    # The refusal was the missing token's alone: the page as served, with its token, saves.
    browser.get(f"{live_console.url}/queries/{reference}")
    draft = by_css(browser, "#draft-text")
    draft.clear()
    draft.send_keys("Dear Ms Osei, light work only.")
    click_and_wait(browser, by_css(browser, "button[value='save']"))
    assert flash(browser) == "Draft saved"
    assert service.show_query(reference).report.draft == "Dear Ms Osei, light work only."


def test_five_wrong_passwords_make_the_next_attempt_wait_even_with_the_right_one(
        helpdesk, live_console, browser, clock):
    service = helpdesk.service
    service.add_account(MARIA, "specialist", MARIA_PASSWORD)

    def attempt(password: str) -> tuple[int, str]:
        browser.get(f"{live_console.url}/login")
        by_css(browser, "input[name='name']").send_keys(MARIA)
        by_css(browser, "input[name='password']").send_keys(password)
        click_and_wait(browser, by_css(browser, "form[action='/login'] button"))
        errors = browser.find_elements("css selector", ".flash.error")
        return status_code(browser), errors[0].text if errors else ""

    # Four failures are free, and so is the fifth attempt (kb.accounts.FREE_FAILURES = 4): each just fails.
    for n in range(5):
        assert attempt(f"wrong guess {n}") == (401, "wrong account name or password"), n
    # After five failures in a row, the next attempt waits 30 s from the last failure, right password or not.
    assert attempt(MARIA_PASSWORD) == (429, "too many failed attempts: try again in 31 s")
    assert by_css(browser, "input[name='name']").get_attribute("value") == MARIA
    clock.now += timedelta(seconds=29)
    assert attempt(MARIA_PASSWORD) == (429, "too many failed attempts: try again in 2 s")

    # A refused attempt is not counted as a failure: once the wait is over, the right password signs in.
    clock.now += timedelta(seconds=2)
    browser.get(f"{live_console.url}/login")
    assert "Sign in" in browser.title
    sign_in(browser, live_console.url, MARIA, MARIA_PASSWORD)
    assert MARIA in by_css(browser, ".who").text
