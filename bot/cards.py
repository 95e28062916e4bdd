"""What the bot shows: plain replies with buttons, and the specialist's review card."""

from __future__ import annotations

from dataclasses import dataclass

from kb.feedback import VERDICTS
from kb.views import TriageReport


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    chat_id: int | None = None  # None: the chat the update came from


def review_card(report: TriageReport, heading: str = "query") -> BotReply:
    """What a specialist sees of a query as it stands now, with the review buttons."""
    r = report.requester
    topics = ", ".join(f"{t['name']} {t['confidence']:.0%}" for t in report.topics if t["selected"]) or \
        "none above the threshold: manual triage"
    matches = "\n".join(f"  {m['score']:.0f} {'good' if m['good'] else 'weak'}: {m['qa_key']}"
                        for m in report.matches) or "  none"
    routes = ", ".join(x["department"] for x in report.routes) or "not routed"
    text = (f"{report.reference} — {heading} ({report.channel}, {report.language}), "
            f"{report.status.replace('_', ' ')}, target {report.target_reply_date}\nFrom: {r.name or '-'}, {r.organisation or '-'}, {r.country_name or '-'} "
            f"({r.region or '-'}), {(r.requester_type or '-').replace('_', ' ')}\n\n{report.text[:1500]}\n\n"
            f"Topics: {topics}\nRouted to: {routes}\nMatches:\n{matches}\n\nDraft:\n{report.draft[:2000]}")
    ref = report.reference
    return BotReply(text, (
        (Button("Send", f"send:{ref}"), Button("Edit", f"edit:{ref}"), Button("Change topics", f"topics:{ref}")),
        (Button("Extend target", f"extend:{ref}"), Button("Mark confidential", f"conf:{ref}"),
         Button("Promote to Q&A", f"promote:{ref}")),
    ))


def rating_buttons(reference: str, labels: dict[str, str] | None = None) -> tuple[tuple[Button, ...], ...]:
    """The verdicts under a reply (useful, partly, not useful): pressing one records the requester's feedback."""
    labels = labels or {"useful": "Useful", "partly": "Partly", "not_useful": "Not useful"}
    return (tuple(Button(labels[name], f"rate:{reference}:{mark}") for name, mark in VERDICTS.items()),)
