"""What each form on a query's page does: read the form, make ONE call on the service, say what happened.

Each action takes the service, the query's reference, the submitted form and
the signed-in account's name (recorded as the actor in the query's history),
and returns the message shown on the next page. A ValueError, LookupError or
PermissionError from the service is shown on the page by the caller.
"""

from __future__ import annotations

from datetime import date
from typing import Callable

from starlette.datastructures import FormData


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def typed_text(form: FormData, name: str) -> str:
    """A text area as typed (only its line endings normalised)."""
    value = form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def set_topics(service, reference: str, form: FormData, actor: str) -> str:
    codes = [c for c in form.getlist("topics") if isinstance(c, str) and c]
    added = service.correct_topics(reference, codes, actor=actor)
    return f"Topics set: {', '.join(codes)}" + (f"; now also consulting {', '.join(added)}" if added
                                                  else "; no other department to consult")


def save_draft(service, reference: str, form: FormData, actor: str) -> str:
    service.edit_draft(reference, typed_text(form, "draft"), actor=actor)
    return "Draft saved"


def send(service, reference: str, form: FormData, actor: str) -> str:
    """Approve and queue the reply: the text in the box (which may differ from the saved draft)."""
    text = typed_text(form, "draft").strip() or None
    sent = service.send_reply(reference, actor, text, without_clearance=_text(form, "without_clearance") or None)
    return f"Reply queued ({len(sent)} characters); it goes out with the next outbox pass"


def request_clearance(service, reference: str, form: FormData, actor: str) -> str:
    """Ask the checked consulted departments to agree the draft by the date given (empty: the service's default)."""
    departments = [d for d in form.getlist("departments") if isinstance(d, str) and d]
    if not departments:
        raise ValueError("check at least one consulted department to ask for clearance")
    due = _text(form, "due")
    try:
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise ValueError(f"the clearance deadline {due!r} is not a date (YYYY-MM-DD)") from None
    asked = service.request_clearance(reference, departments, due=due_date, actor=actor)
    return f"Clearance requested from {', '.join(asked)}"


def extend(service, reference: str, form: FormData, actor: str) -> str:
    days = _text(form, "days")
    if not days.isdigit():
        raise ValueError("give the number of days to extend the target by (a whole number)")
    report = service.extend_target(reference, _text(form, "reason"), days=int(days), actor=actor)
    return f"Target reply date now {report.target_reply_date.isoformat()}"


def release(service, reference: str, form: FormData, actor: str) -> str:
    added = service.release_query(reference, actor=actor)
    if not added:
        return "Released; no topic found: set its topics to route it"
    return f"Released; consulting {', '.join(added)}"


def close(service, reference: str, form: FormData, actor: str) -> str:
    service.close_query(reference, _text(form, "reason"), actor=actor)
    return "Closed"


def promote(service, reference: str, form: FormData, actor: str) -> str:
    key = service.promote_to_qa(reference, actor=actor,
                                override_confidential=_text(form, "override_confidential") or None)
    return f"Anonymised draft Q&A {key} made: review it below and publish it"


def publish(service, reference: str, form: FormData, actor: str) -> str:
    key = service.publish_qa(_text(form, "key"), actor=actor, question=typed_text(form, "question").strip() or None,
                             answer=typed_text(form, "answer").strip() or None)
    return f"Q&A {key} published"


def update_requester(service, reference: str, form: FormData, actor: str) -> str:
    changes = service.update_requester(
        reference, organisation=_text(form, "organisation"), sector=_text(form, "sector"),
        country=_text(form, "country"), requester_type=_text(form, "type"),
        confidential=form.get("confidential") in ("on", "1", "yes", "true"), actor=actor)
    return "Requester updated: " + "; ".join(changes) if changes else "Nothing changed"


def country_concerned(service, reference: str, form: FormData, actor: str) -> str:
    name = service.set_country_concerned(reference, _text(form, "country_concerned"), actor=actor)
    return f"Country concerned: {name}"


def confirm_organisation(service, reference: str, form: FormData, actor: str) -> str:
    return f"Organisation confirmed: {service.confirm_organisation(reference, actor=actor)}"


ACTIONS: dict[str, Callable[..., str]] = {
    "topics": set_topics, "draft": save_draft, "send": send, "extend": extend, "release": release,
    "close": close, "clearance": request_clearance, "promote": promote, "publish": publish, "requester": update_requester,
    "country-concerned": country_concerned, "organisation": confirm_organisation,
}
