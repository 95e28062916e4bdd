"""The console in a real browser: headless Chromium against the console served by uvicorn, on both stores.

Jane writes to the helpdesk by email. Maria signs in, finds Jane's query at the top of her queue,
corrects its topics, rewrites the draft and sends it; the reply lands in the outbox folder as an
email to Jane. Victor, a viewer, opens the same query and finds no button to send anything.

With ``HELPDESK_SCREENSHOTS=1`` the last story also saves docs/screenshots/queue.png and query.png.
"""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from ingest.folders import FolderSender
from ingest.parsing import parse_email
from tests.conftest import MONDAY
from tests.peers.browser import chromium, live_console, needs_chromium  # noqa: F401 (fixtures)

pytestmark = needs_chromium

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
NEW_REPLY = ("Dear Ms Osei,\n\nYoung people of 16 may do light work that is not hazardous, away from the sealing "
             "machines.")


def jane_writes(service) -> str:
    """Jane's email arrives (as the mail worker hands it to the service); returns the query's reference."""
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Jane Osei <jane@acme.example>", "helpdesk@example.org", "Young workers"
    m["Message-ID"], m["Date"] = make_msgid(domain="acme.example"), format_datetime(MONDAY)
    m.set_content("Hello,\n\nCan we employ 16-year-olds in our packaging plant in Ghana during the school "
                  "holidays? They would work on the packing line next to the sealing machines.\n\nJane Osei\nAcme Ltd")
    result = service.receive_email(parse_email(bytes(m)))
    return result.reference


def sign_in(driver, url: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/")
    assert "Sign in" in driver.title
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Review queue"


def click_and_wait(driver, element) -> None:
    """Click a button or link and wait until the next page has replaced this one and finished loading."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.beforeTheClick = true")
    element.click()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(  # mid-navigation, the driver may err
        lambda d: d.execute_script("return window.beforeTheClick === undefined && document.readyState === 'complete'"))


def flash(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, ".flash").text


def test_maria_answers_an_email_from_the_console_and_victor_cannot_send(helpdesk, live_console, chromium,
                                                                         tmp_path):
    from selenium.webdriver.common.by import By

    service = helpdesk.service
    service.add_account("maria", "specialist", "correct horse battery")
    service.add_account("victor", "viewer", "staple battery horse")
    reference = jane_writes(service)

    sign_in(chromium, live_console.url, "maria", "correct horse battery")
    click_and_wait(chromium, chromium.find_element(By.LINK_TEXT, reference))
    assert reference in chromium.find_element(By.TAG_NAME, "h1").text
    assert "Jane Osei" in chromium.find_element(By.ID, "requester").text

    # The classifier's topics are replaced by child labour and safety at work: OSH is consulted too.
    for box in chromium.find_elements(By.CSS_SELECTOR, "input[name='topics']"):
        if box.is_selected() != (box.get_attribute("value") in ("child_labour", "osh")):
            box.click()
    topics_form = f"form[action='/queries/{reference}/topics'] button"
    click_and_wait(chromium, chromium.find_element(By.CSS_SELECTOR, topics_form))
    assert "Topics set: child_labour, osh" in flash(chromium)
    assert "OSH" in chromium.find_element(By.ID, "consultations").text

    draft = chromium.find_element(By.ID, "draft-text")
    draft.clear()
    draft.send_keys(NEW_REPLY)
    click_and_wait(chromium, chromium.find_element(By.CSS_SELECTOR, "button[value='save']"))
    assert flash(chromium) == "Draft saved"
    assert chromium.find_element(By.ID, "draft-text").get_attribute("value") == NEW_REPLY

    send = chromium.find_element(By.ID, "send")
    assert send.text == "Send by email to jane@acme.example"
    click_and_wait(chromium, send)
    assert "Reply queued" in flash(chromium)
    assert "maria" in chromium.find_element(By.ID, "history").text

    FolderSender(tmp_path / "outbox", service).send_due()
    [reply_file] = list((tmp_path / "outbox").glob("*-reply.eml"))
    reply = message_from_bytes(reply_file.read_bytes(), policy=policy.default)
    assert reply["To"] == "jane@acme.example" and reference in reply["Subject"]
    assert "away from the sealing machines" in reply.get_body(("plain",)).get_content()

    click_and_wait(chromium, chromium.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))
    sign_in(chromium, live_console.url, "victor", "staple battery horse")
    chromium.get(f"{live_console.url}/queries/{reference}")
    assert reference in chromium.find_element(By.TAG_NAME, "h1").text
    assert not chromium.find_elements(By.ID, "send") and not chromium.find_elements(By.TAG_NAME, "textarea")
    assert "away from the sealing machines" in chromium.page_source  # he reads the reply sent


def test_maria_erases_jane_from_the_console_after_seeing_what_would_change(helpdesk, live_console, chromium):
    from selenium.webdriver.common.by import By

    service = helpdesk.service
    service.add_account("maria", "specialist", "correct horse battery")
    reference = jane_writes(service)

    sign_in(chromium, live_console.url, "maria", "correct horse battery")
    click_and_wait(chromium, chromium.find_element(By.LINK_TEXT, "Personal data"))
    assert chromium.find_element(By.TAG_NAME, "h1").text == "Personal data"
    erase = chromium.find_element(By.ID, "erase")
    erase.find_element(By.NAME, "who").send_keys("jane@acme.example")
    click_and_wait(chromium, erase.find_element(By.TAG_NAME, "button"))
    plan = chromium.find_element(By.ID, "erase").text
    assert "Erasing jane@acme.example would change:" in plan and reference in plan and "cannot be undone" in plan
    assert service.show_query(reference).report.requester.name == "Jane Osei"  # nothing erased yet

    chromium.find_element(By.NAME, "confirm").send_keys("jane@acme.example")
    click_and_wait(chromium, chromium.find_element(By.CSS_SELECTOR, "button.danger"))
    assert flash(chromium).startswith("Erased: 1 query")
    chromium.get(f"{live_console.url}/queries/{reference}")
    assert "Personal data erased on" in chromium.page_source and "Jane Osei" not in chromium.page_source


@pytest.mark.skipif(os.environ.get("HELPDESK_SCREENSHOTS") != "1", reason="set HELPDESK_SCREENSHOTS=1 to "
                                                                          "regenerate docs/screenshots")
def test_screenshots_of_the_queue_and_a_query_page(helpdesk, live_console, chromium, clock):
    """A morning's queue: the nine sample queries, Jane's email, one reply sent, one target at risk."""
    import tomllib
    from datetime import timedelta

    from selenium.webdriver.common.by import By

    from config.cli import SAMPLES
    from kb.intake import QuerySubmission
    from kb.models import Channel

    if not helpdesk.settings.resolved_database_url().startswith("sqlite"):
        pytest.skip("the screenshots are taken once, on SQLite")
    service = helpdesk.service
    service.add_account("maria", "specialist", "correct horse battery")
    clock.now = MONDAY - timedelta(days=12)
    early = service.submit_query(QuerySubmission(
        text="How many hours may a night-shift worker do in one week at our warehouse?", channel=Channel.CLI,
        email="ops@logistics.example", organisation="Lagos Logistics", country="NG", subject="Night shifts")).reference
    clock.now = MONDAY
    for item in tomllib.loads(SAMPLES.read_text(encoding="utf-8"))["query"]:
        service.submit_query(QuerySubmission(
            text=item["text"], channel=Channel.EMAIL, subject=item.get("subject"), email=item.get("email"),
            name=item.get("name"), organisation=item.get("organisation"), country=item.get("country"),
            requester_type=item.get("type"), sector=item.get("sector"),
            hold_for_release=item.get("confidential", False), confidential=item.get("confidential", False)))
    reference = jane_writes(service)
    clock.now = MONDAY + timedelta(days=1)
    assert early

    sign_in(chromium, live_console.url, "maria", "correct horse battery")
    _full_page(chromium, SCREENSHOTS / "queue.png")
    click_and_wait(chromium, chromium.find_element(By.LINK_TEXT, reference))
    _full_page(chromium, SCREENSHOTS / "query.png")


def _full_page(driver, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(1280, min(max(height, 800), 5000) + chrome)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
