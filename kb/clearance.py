"""Clearance: the consulted departments agree the reply before it goes out.

The specialist sends the draft to some or all consulted departments with a
deadline; each department's focal points answer by replying to that email.
``read_verdict`` is the one rule telling an agreement ("Agreed.", "OK for
ACTRAV", "D'accord", "De acuerdo") from a comment; anything that is not a
short agreement is a comment, kept whole for the specialist. Silence is chased
by the scheduler like a missing input, and the reply waits for every
department asked, unless the specialist sends anyway with a recorded reason.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy.orm import Session

from kb.models import Channel, Clearance, Consultation, OutboxKind, Query
from kb.outbox import queue

#: A short answer that starts with one of these agrees.
_AGREE = re.compile(
    r"^\W*(?:i\s+|we\s+)?(?:agree[ds]?|ok(?:ay)?|approved?|cleared?|no\s+objections?|fine|looks\s+good|lgtm|"
    r"d['’]accord|accord|approuvée?|validée?|pas\s+d['’]objection|"
    r"de\s+acuerdo|aprobad[oa]|conforme|sin\s+objeciones?|visto\s+bueno|vale)\b",
    re.IGNORECASE)
#: Words that turn an agreement into a comment ("OK, but …").
_RESERVATION = re.compile(r"\b(?:but|however|except|mais|cependant|sauf|pero|sin\s+embargo|excepto)\b|\?",
                          re.IGNORECASE)
MAX_AGREEMENT_WORDS = 25


def read_verdict(text: str) -> tuple[str, str | None]:
    """("agreed", None) for a short unreserved agreement, else ("commented", the text)."""
    body = (text or "").strip()
    if body and _AGREE.match(body) and not _RESERVATION.search(body) and len(body.split()) <= MAX_AGREEMENT_WORDS:
        return "agreed", None
    return "commented", body or None


def pending(query: Query) -> list[Clearance]:
    """The departments asked to clear the current draft that have not answered yet."""
    return [c for c in query.clearances if c.answered_at is None]


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def not_cleared(query: Query, text: str) -> list[str]:
    """Why ``text`` is not cleared: each department asked (its latest request) that is silent, or that agreed
    another wording than ``text``; empty when every department asked agreed this very text (or commented on it).
    """
    latest: dict[str, Clearance] = {}
    for c in sorted(query.clearances, key=lambda c: (c.requested_at, c.id)):
        latest[c.consultation.department_code] = c
    reasons = []
    for department, c in sorted(latest.items()):
        if c.answered_at is None:
            reasons.append(f"{department} has not answered")
        elif c.verdict == "agreed" and not _same_text(c.draft_text, text):
            reasons.append(f"{department} agreed an earlier wording")
    return reasons


def request(service, session: Session, query: Query, departments: list[str], due: date, text: str, actor: str,
            now: datetime) -> list[str]:
    """Ask each department's focal points to agree ``text`` by ``due``; returns the departments asked."""
    consulted = {c.department_code: c for c in query.consultations}
    unknown = [d for d in departments if d not in consulted]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} not consulted on {query.reference}; consulted: "
                         f"{', '.join(consulted) or 'none'}")
    asked = []
    round_ = len({c.requested_at for c in query.clearances}) + 1
    for code in departments or list(consulted):
        consultation: Consultation = consulted[code]
        department = service.policy.departments[code]
        session.add(Clearance(query=query, consultation=consultation, requested_at=now, requested_by=actor,
                              due_date=due, draft_text=text))
        body = "\n".join([
            f"The helpdesk asks {department.name} to agree the reply to {query.reference} before it is sent.",
            f"Please answer by {due.isoformat()}: reply \"Agreed\" to this email, or reply with your comments.",
            "", "----- Draft reply -----", "", text.strip()])
        queue(session, dedupe_key=f"clearance:{query.reference}:{code}:{round_}", kind=OutboxKind.CLEARANCE,
              channel=Channel.EMAIL, recipients=[fp.email for fp in department.focal_points],
              subject=f"[{query.reference}] Clearance requested by {due.isoformat()}", body=body, now=now,
              domain=service.policy.domain, query=query, consultation=consultation,
              headers={"Reply-To": service.policy.email}, fresh=True)
        asked.append(code)
    service.record_event(session, query, "clearance requested", f"{', '.join(asked)} (by {due.isoformat()})",
                         at=now, actor=actor)
    return asked


def record_answer(service, session: Session, query: Query, consultation: Consultation, text: str, sender: str,
                  now: datetime) -> str | None:
    """A focal point answered a clearance request; returns the verdict, or None if nothing was pending."""
    open_ = [c for c in query.clearances if c.consultation_id == consultation.id and c.answered_at is None]
    if not open_:
        return None
    verdict, comment = read_verdict(text)
    for clearance in open_:
        clearance.answered_at, clearance.verdict, clearance.comment = now, verdict, comment
        clearance.answered_by = sender.lower()
    service.record_event(session, query, f"clearance {verdict}", f"{consultation.department_code} ({sender})",
                         at=now, actor=sender)
    return verdict
