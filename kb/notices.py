"""The texts the helpdesk sends to its own people (focal points, the specialist).

Internal mail is in English. What a focal point sees of the requester depends
on the confidential flag: a confidential query shares only the region and the
type of requester, never the organisation, name or address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def routing_notice(
    *,
    reference: str,
    department_name: str,
    reason: str,
    due_date: date,
    topic_names: Sequence[str],
    subject: str | None,
    text: str,
    confidential: bool,
    organisation: str | None,
    country_name: str | None,
    region: str | None,
    requester_type: str | None,
) -> Notice:
    """The email that asks a department's focal points for their input."""
    if confidential:
        who = [f"Region: {region or 'not given'}", f"Requester type: {requester_type or 'not given'}",
               "This query is CONFIDENTIAL: the requester's identity is withheld. Do not forward."]
    else:
        who = [f"Organisation: {organisation or 'not given'}", f"Country: {country_name or 'not given'}",
               f"Region: {region or 'not given'}", f"Requester type: {requester_type or 'not given'}"]
    body = "\n".join([
        f"The helpdesk has received query {reference} and asks {department_name} for its input.",
        f"Why you: {reason}.",
        "",
        *who,
        f"Topics found: {', '.join(topic_names) or 'none'}",
        f"Your input is due by {due_date.isoformat()}.",
        "",
        "Please reply to this email with your input; keep the reference in the subject.",
        "",
        "----- Query -----",
        f"Subject: {subject or '(none)'}",
        "",
        text.strip(),
    ])
    return Notice(f"[{reference}] Input requested by {due_date.isoformat()}: {', '.join(topic_names) or 'query'}", body)
