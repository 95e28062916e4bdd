"""The specialist's web console, through HTTP (httpx via Starlette's TestClient), on SQLite and PostgreSQL.

Maria is a specialist: she signs in, reads the queue, and acts on queries. Victor sits on the advisory
group: he signs in as a viewer, reads everything but never acts, and never learns who asked a
confidential question. Nobody can make Maria's browser act from another site: every POST needs the
session's CSRF token.
"""

from __future__ import annotations

import re
import warnings
import pytest

from kb.intake import QuerySubmission
from kb.models import Channel
from web.app import create_app

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2; httpx is what this project installs
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "a-test-secret-that-is-long-enough"
MARIA = ("maria", "correct horse battery")
VICTOR = ("victor", "staple battery horse")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """One person's browser on the console: it keeps the session cookie and reads tokens from pages."""

    def __init__(self, service, *, secure: bool = True) -> None:
        app = create_app(service, secret_key=SECRET, secure_cookies=secure)
        self.client = TestClient(app, base_url="https://testserver" if secure else "http://testserver")

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/login") -> str:
        return TOKEN.search(self.get(path).text).group(1)

    def sign_in(self, name: str, password: str):
        return self.client.post("/login", data={"name": name, "password": password, "csrf_token": self.token()})

    def act(self, reference: str, action: str, **fields):
        """Submit one form of the query's page, as a browser does: with the token the page carries."""
        token = self.token(f"/queries/{reference}")
        return self.client.post(f"/queries/{reference}/{action}", data={"csrf_token": token, **fields})


def ask(service, text: str = "Can we employ 16-year-olds in our packaging plant in Ghana?", *,
        email: str = "jane@acme.example", name: str = "Jane Osei", organisation: str = "Acme Ltd",
        country: str = "GH", subject: str | None = "Young workers", **extra) -> str:
    return service.submit_query(QuerySubmission(
        text=text, channel=extra.pop("channel", Channel.EMAIL), subject=subject, email=email, name=name,
        organisation=organisation, country=country, requester_type="management", **extra)).reference


def history(service, reference: str) -> list[dict]:
    return service.show_query(reference).history


@pytest.fixture
def service(helpdesk):
    service = helpdesk.service
    service.add_account(MARIA[0], "specialist", MARIA[1])
    service.add_account(VICTOR[0], "viewer", VICTOR[1])
    return service


@pytest.fixture
def maria(service) -> Console:
    console = Console(service)
    assert console.sign_in(*MARIA).status_code == 200
    return console


@pytest.fixture
def victor(service) -> Console:
    console = Console(service)
    assert console.sign_in(*VICTOR).status_code == 200
    return console


# ------------------------------------------------------------------ signing in
def test_maria_signs_in_and_lands_on_the_queue_with_a_safe_session_cookie(service):
    reference = ask(service)
    console = Console(service)
    first = console.get("/queries/" + reference)
    assert first.url.path == "/login" and "Sign in" in first.text  # sent to sign in, then back where she was

    response = console.client.post("/login", data={"name": "maria", "password": MARIA[1],
                                                   "csrf_token": TOKEN.search(first.text).group(1),
                                                   "next": f"/queries/{reference}"})
    assert response.status_code == 200 and response.url.path == f"/queries/{reference}"
    cookie = response.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    queue = console.get("/")
    assert reference in queue.text and "maria" in queue.text and "Acme Ltd" in queue.text
    assert queue.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in \
        queue.headers["content-security-policy"]


def test_a_wrong_password_shows_the_login_page_again_and_five_make_the_next_attempt_wait(service):
    console = Console(service)
    for _ in range(5):
        response = console.sign_in("maria", "not her password")
        assert response.status_code == 401 and "wrong account name or password" in response.text
        assert response.url.path == "/login"
    slowed = console.sign_in(*MARIA)  # even the right password waits now
    assert slowed.status_code == 429 and "try again in" in slowed.text
    assert int(slowed.headers["retry-after"]) >= 30
    assert console.get("/").url.path == "/login"


def test_a_removed_account_is_signed_out_at_its_next_request(service, maria):
    assert maria.get("/").url.path == "/"
    service.remove_account("maria")
    assert maria.get("/").url.path == "/login"


def test_signing_out_needs_the_token_and_ends_the_session(maria):
    assert maria.client.post("/logout", data={}).status_code == 403
    response = maria.client.post("/logout", data={"csrf_token": maria.token("/")})
    assert response.url.path == "/login" and "Signed out" in response.text
    assert maria.get("/").url.path == "/login"


def test_without_secure_cookies_the_cookie_travels_over_plain_http(service):
    console = Console(service, secure=False)
    response = console.sign_in(*MARIA)
    assert response.url.path == "/" and "secure" not in response.history[0].headers["set-cookie"].lower()


# ------------------------------------------------------------------------ CSRF
def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(service, maria):
    reference = ask(service)
    before = service.show_query(reference)

    missing = maria.client.post(f"/queries/{reference}/close", data={"reason": "spam"})
    wrong = maria.client.post(f"/queries/{reference}/close", data={"reason": "spam", "csrf_token": "guessed"})
    stranger = Console(service)  # another browser's token is no good in Maria's session
    foreign = maria.client.post(f"/queries/{reference}/draft", data={"draft": "Hacked",
                                                                      "csrf_token": stranger.token()})

    for response in (missing, wrong, foreign):
        assert response.status_code == 403 and "missing or wrong CSRF token" in response.text
    after = service.show_query(reference)
    assert after.report.status == before.report.status == "routed"
    assert after.report.draft == before.report.draft and after.history == before.history
    assert Console(service).client.post("/login", data={"name": "maria", "password": MARIA[1]}).status_code == 403


# --------------------------------------------------------------------- viewers
def test_a_viewer_reads_the_query_but_sees_no_form_and_cannot_send(service, victor):
    reference = ask(service)
    page = victor.get(f"/queries/{reference}")
    assert page.status_code == 200 and reference in page.text and "Consultations" in page.text
    assert 'id="send"' not in page.text and "<textarea" not in page.text
    assert f'action="/queries/{reference}/' not in page.text  # no action form at all (only signing out)

    refused = victor.client.post(f"/queries/{reference}/send", data={"csrf_token": victor.token("/")})
    assert refused.status_code == 403 and "viewer" in refused.text
    assert service.show_query(reference).report.status == "routed"
    assert not [e for e in history(service, reference) if e["kind"] == "reply approved"]


def test_confidential_identities_are_hidden_from_viewers_but_shown_to_specialists(service, maria, victor):
    reference = ask(service, "I am Jane Osei of Acme Ltd. Can we employ 16-year-olds in our packaging plant?",
                    confidential=True)
    ask(service, email="kofi@other.example", name="Kofi", organisation="Other Co", subject="Other")
    identity = ("Jane Osei", "jane@acme.example", "Acme Ltd")

    seen = victor.get(f"/queries/{reference}").text
    assert "(confidential)" in seen and not any(word in seen for word in identity)
    assert "16-year-olds" in seen  # the question itself, as focal points get it
    queue = victor.get("/").text
    assert reference in queue and "Acme Ltd" not in queue and "Other Co" in queue
    assert reference not in victor.get("/?q=acme").text  # not found by who asked, either
    assert reference in victor.get(f"/?q={reference}").text

    shown = maria.get(f"/queries/{reference}").text
    assert all(word in shown for word in identity)
    assert reference in maria.get("/?q=acme").text


# --------------------------------------------------------------------- actions
def test_every_action_maria_takes_is_in_the_history_under_her_name(service, maria):
    reference = ask(service)
    held = ask(service, "Our plant closes next year: how do we consult the workers?", email="hr@held.example",
               organisation="Held Co", subject="Closure", hold_for_release=True)

    said = maria.act(reference, "requester", organisation="Acme Holdings", sector="Food", country="CI",
                     type="management")
    assert "Requester updated" in said.text and "region" in said.text
    topics = maria.act(reference, "topics", topics=["child_labour", "osh"])
    assert "Topics set: child_labour, osh" in topics.text
    assert maria.act(reference, "draft", draft="Dear Ms Osei,\n\nLight work only.").status_code == 200
    assert "Target reply date now" in maria.act(reference, "extend", days="5", reason="legal review").text
    sent = maria.act(reference, "send", draft="Dear Ms Osei,\n\nLight work only, from 13.")
    assert "Reply queued" in sent.text
    assert "Anonymised draft Q&amp;A promoted-" in maria.act(reference, "promote").text
    assert "published" in maria.act(reference, "publish", key=f"promoted-{reference.lower()}",
                                    question="Can 16-year-olds work?", answer="Light work only, from 13.").text
    assert maria.act(reference, "close", reason="answered").status_code == 200
    assert "Released" in maria.act(held, "release").text

    events = history(service, reference) + history(service, held)
    by_maria = {e["kind"] for e in events if e["actor"] == "maria"}
    assert {"requester updated", "topics set", "draft edited", "target extended", "reply approved",
            "promoted to draft Q&A", "Q&A published", "status", "routed"} <= by_maria
    people = {e["actor"] for e in events if e["kind"] not in ("received", "triaged", "drafted")}
    assert "specialist" not in people
    requester = service.console_query(reference).requester
    assert (requester["organisation"], requester["country"], requester["region"]) == ("Acme Holdings", "CI",
                                                                                     "Africa")
    assert service.show_query(held).report.status == "routed"


def test_marking_a_query_confidential_from_the_requester_form_is_recorded(service, maria, victor):
    reference = ask(service)
    maria.act(reference, "requester", organisation="Acme Ltd", country="GH", type="management",
              confidential="on")
    assert service.console_query(reference).confidential
    assert [e["actor"] for e in history(service, reference) if e["kind"] == "confidential"] == ["maria"]
    assert "Acme Ltd" not in victor.get(f"/queries/{reference}").text


def test_a_refused_action_is_shown_on_the_page_not_a_server_error(service, maria):
    reference = ask(service)
    no_reason = maria.act(reference, "extend", days="5", reason="")
    assert no_reason.status_code == 409 and "extending a target needs a reason" in no_reason.text
    not_a_number = maria.act(reference, "extend", days="soon", reason="legal review")
    assert not_a_number.status_code == 409 and "number of days" in not_a_number.text
    no_topic = maria.act(reference, "topics")
    assert no_topic.status_code == 409 and "at least one topic" in no_topic.text
    bad_country = maria.act(reference, "requester", country="Atlantis")
    assert bad_country.status_code == 409 and "not an ISO 3166 country" in bad_country.text
    too_early = maria.act(reference, "promote")
    assert too_early.status_code == 409 and "not answered yet" in too_early.text
    assert maria.get("/queries/HD-1999-0001").status_code == 404
    assert maria.act("HD-1999-0001", "close", reason="x").status_code == 404
    assert [e["actor"] for e in history(service, reference)] == ["system"] * len(history(service, reference))


def test_the_query_page_shows_the_whole_story(service, maria):
    reference = ask(service)
    page = maria.get(f"/queries/{reference}").text
    for part in ("Jane Osei", "jane@acme.example", "Acme Ltd", "Ghana", "Africa", "Young workers",
                 "Can we employ 16-year-olds", "child_labour", "words:", "CHILD_LABOUR", "Input due",
                 "Q&amp;A matches", "shared words", "Send by email to jane@acme.example", "History", "received",
                 "triaged", "Extend the target", "Close the query"):
        assert part in page, part
