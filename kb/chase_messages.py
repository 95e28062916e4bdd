"""What each chasing action says, and to whom.

Focal points and the specialist get English; a holding message goes to the
requester in the query's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Sequence

from kb.models import OutboxKind, QueryStatus
from kb.policy import HelpdeskPolicy

#: Lines a section of the digest lists at most (the most urgent); it says how many more there are.
DIGEST_LINES = 25
#: The statuses the digest lists under "New queries" (received in the last three days, or awaiting triage).
DIGEST_NEW = (QueryStatus.NEW, QueryStatus.MANUAL_TRIAGE, QueryStatus.ROUTED, QueryStatus.REOPENED)
_DIGEST_NEW_VALUES = frozenset(s.value for s in DIGEST_NEW)
#: New queries are those received in the last this many days (or awaiting triage, however old).
DIGEST_RECENT_DAYS = 3
#: A reply is at risk when its target is this many days away or fewer (or past).
AT_RISK_DAYS = 3

HOLDING = {
    "en": ("[{ref}] Your query: a little more time", "Thank you for your patience. Your query {ref} needs more "
           "consultation than planned, and our reply will come later than {target}. We will write as soon as it is "
           "ready.\n\n{helpdesk}"),
    "fr": ("[{ref}] Votre demande : un peu plus de temps", "Merci de votre patience. Votre demande {ref} demande plus "
           "de consultations que prévu, et notre réponse arrivera après le {target}. Nous vous écrirons dès qu'elle "
           "sera prête.\n\n{helpdesk}"),
    "es": ("[{ref}] Su consulta: un poco más de tiempo", "Gracias por su paciencia. Su consulta {ref} requiere más "
           "consultas de lo previsto y nuestra respuesta llegará después del {target}. Le escribiremos en cuanto "
           "esté lista.\n\n{helpdesk}"),
}


@dataclass(frozen=True)
class ChaseMessage:
    kind: OutboxKind
    recipients: list[str]
    subject: str
    body: str


def _quote(q) -> str:
    return f"----- Query {q.reference} -----\nSubject: {q.subject}\n\n{q.text.strip()}"


def compose(action, policy: HelpdeskPolicy, by_reference: dict, queries: list, now: datetime,
            poor: Sequence[str] = (), erased: Sequence[str] = (),
            totals: Mapping[str, int] | None = None) -> ChaseMessage | None:
    q = by_reference.get(action.reference)
    specialist = [policy.specialist_email or policy.email]
    if action.kind == "reminder":
        department = policy.departments.get(action.department)
        if department is None:
            return None
        c = next(c for c in q.consultations if c.id == action.consultation_id)
        body = (f"Reminder {action.number}: the helpdesk still needs {department.name}'s input on {q.reference}; it "
                f"was due on {c.due_date}. Please reply to the routing email (keep the reference in the subject).\n\n"
                + _quote(q))
        return ChaseMessage(OutboxKind.REMINDER, [fp.email for fp in department.focal_points],
                            f"[{q.reference}] Reminder {action.number}: input was due {c.due_date}", body)
    if action.kind == "clearance reminder":
        department = policy.departments.get(action.department)
        if department is None:
            return None
        c = next(c for c in q.clearances if c.id == action.clearance_id)
        # Sent as a clearance email, so that the focal point's reply to it counts as their clearance.
        return ChaseMessage(OutboxKind.CLEARANCE, [fp.email for fp in department.focal_points],
                            f"[{q.reference}] Reminder {action.number}: clearance was due {c.due_date}",
                            f"Reminder {action.number}: the helpdesk still waits for {department.name} to agree the "
                            f"reply to {q.reference}; it was due on {c.due_date}. Please reply \"Agreed\" or with "
                            "your comments to the clearance email.\n\n" + _quote(q))
    if action.kind == "escalation":
        department = policy.departments.get(action.department)
        name = department.name if department else action.department
        return ChaseMessage(OutboxKind.WARNING, specialist, f"[{q.reference}] No input from {name}",
                            f"{name} has not answered on {q.reference} after {action.number} "
                            f"reminder(s). Consider calling the focal points or going ahead without them.\n\n"
                            + _quote(q))
    if action.kind == "warning":
        return ChaseMessage(OutboxKind.WARNING, specialist, f"[{q.reference}] Reply due by {q.target_reply_date}",
                            f"The reply to {q.reference} is due by {q.target_reply_date} (status: "
                            f"{q.status.replace('_', ' ')}).\n\n" + _quote(q))
    if action.kind == "overdue":
        return ChaseMessage(OutboxKind.WARNING, specialist, f"[{q.reference}] OVERDUE since {q.target_reply_date}",
                            f"The reply to {q.reference} missed its target of {q.target_reply_date}. Reply, or "
                            f"extend the target with a reason (helpdesk extend).\n\n" + _quote(q))
    if action.kind == "holding":
        subject, body = HOLDING.get(q.language, HOLDING["en"])
        values = {"ref": q.reference, "target": q.target_reply_date, "helpdesk": policy.name}
        return ChaseMessage(OutboxKind.REMINDER, [q.requester_email], subject.format(**values), body.format(**values))
    if action.kind == "digest":
        return ChaseMessage(OutboxKind.DIGEST, specialist, f"Helpdesk digest for {now.date()}",
                            digest(queries, now, poor, erased, totals))
    return None


def digest(queries: list, now: datetime, poor: Sequence[str] = (), erased: Sequence[str] = (),
           totals: Mapping[str, int] | None = None) -> str:
    """New queries, drafts awaiting review, overdue inputs, replies at risk and poor ratings, in one email;
    and, when the retention rule erased queries since the last digest, which.

    Each section lists its ``DIGEST_LINES`` most urgent lines (the oldest new queries; the earliest
    targets and due dates) and says how many there are. ``queries`` are snapshots in id order: every open
    query, or (with ``totals``: the number of lines in all of the sections that have more than they list,
    from ``kb.digest``) at least the queries of the lines shown."""
    today = now.date()
    new = [q for q in queries if q.status in _DIGEST_NEW_VALUES
           and (q.received_on >= today - timedelta(days=DIGEST_RECENT_DAYS) or q.needs_manual_triage)]
    drafts = sorted((q for q in queries if q.status == "draft_ready"), key=lambda q: q.target_reply_date)
    late_inputs = sorted(((q, c) for q in queries for c in q.consultations
                          if not c.input_received and c.due_date < today), key=lambda qc: qc[1].due_date)
    clearances = sorted(((q, c) for q in queries for c in q.clearances), key=lambda qc: qc[1].due_date)
    at_risk = sorted((q for q in queries if (q.target_reply_date - today).days <= AT_RISK_DAYS),
                     key=lambda q: q.target_reply_date)

    def section(title: str, lines: list[str], name: str = "") -> str:
        total = totals[name] if totals is not None and name in totals else len(lines)
        shown = lines[:DIGEST_LINES]
        more = f"\n  ... and {total - len(shown)} more (helpdesk queries, or the console)" if total > len(shown) else ""
        return f"{title} ({total})\n" + ("\n".join(f"  - {line}" for line in shown) if shown else "  none") + more

    return "\n\n".join([
        section("New queries", [f"{q.reference} {q.subject}" + (" [manual triage]" if q.needs_manual_triage else "")
                                for q in new], "new"),
        section("Drafts awaiting review", [f"{q.reference} {q.subject}" for q in drafts], "drafts"),
        section("Overdue inputs", [f"{q.reference} {c.department} (due {c.due_date}, {c.reminders_sent} reminder(s))"
                                   for q, c in late_inputs], "late_inputs"),
        section("Clearance awaited", [f"{q.reference} {c.department} (due {c.due_date}, {c.reminders_sent} "
                                      "reminder(s))" for q, c in clearances], "clearances"),
        section("Undelivered messages (check the address, then reply again)",
                [f"{q.reference} {line}" for q in queries for line in q.undelivered], "undelivered"),
        section("Replies at risk", [f"{q.reference} target {q.target_reply_date}"
                                    + (" OVERDUE" if q.target_reply_date < today else "") for q in at_risk], "at_risk"),
        section("Poor ratings since yesterday", list(poor)),
    ] + ([section("Personal data erased under the retention rule since the last digest", list(erased))] if erased else []))


FEEDBACK_REMINDER = {
    "en": ("[{ref}] Was our reply useful?",
           "We replied to your query {ref} a little while ago. Was the reply useful? {how} Your answer helps the "
           "{helpdesk} improve; we will not ask again."),
    "fr": ("[{ref}] Notre réponse vous a-t-elle été utile ?",
           "Nous avons répondu à votre demande {ref} il y a quelque temps. Cette réponse vous a-t-elle été utile ? "
           "{how} Votre avis aide le {helpdesk} à s'améliorer ; nous ne vous le redemanderons pas."),
    "es": ("[{ref}] ¿Le resultó útil nuestra respuesta?",
           "Respondimos a su consulta {ref} hace unos días. ¿Le resultó útil la respuesta? {how} Su opinión ayuda "
           "al {helpdesk} a mejorar; no volveremos a preguntarle."),
}
HOW_TO_RATE = {
    "email": {"en": "Reply to this message with a mark from 1 (not at all) to 5 (very), and any comment.",
              "fr": "Répondez à ce message avec une note de 1 (pas du tout) à 5 (tout à fait), et vos commentaires.",
              "es": "Responda a este mensaje con una nota de 1 (nada) a 5 (mucho) y sus comentarios."},
    "telegram": {"en": "Tap a mark below.", "fr": "Touchez une note ci-dessous.", "es": "Toque una nota abajo."},
}


def feedback_reminder(language: str, reference: str, helpdesk: str, *, telegram: bool = False) -> tuple[str, str]:
    """The one reminder asking whether a reply was useful: (subject, body) in the requester's language."""
    subject, body = FEEDBACK_REMINDER.get(language, FEEDBACK_REMINDER["en"])
    how = HOW_TO_RATE["telegram" if telegram else "email"]
    values = {"ref": reference, "helpdesk": helpdesk, "how": how.get(language, how["en"])}
    return subject.format(**values), body.format(**values)
