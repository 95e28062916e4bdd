"""How the CLI shows triage results in a terminal (rich), kept apart from the commands."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kb.views import QueryDetail, QuerySummary, TriageReport


def _requester_line(report: TriageReport) -> str:
    r = report.requester
    parts = [r.organisation or "organisation not given", r.country_name or "country not given",
             r.region or "region unknown", (r.requester_type or "type not given").replace("_", " ")]
    return " · ".join(parts)


def triage_panel(report: TriageReport) -> Panel:
    """One query's triage: who, topics, routing, matches, draft, target date."""
    head = Text()
    head.append(f"{report.reference}", style="bold cyan")
    head.append(f"  {report.status}  received {report.received_at:%Y-%m-%d %H:%M} UTC  "
                f"target reply {report.target_reply_date.isoformat()}  language {report.language}")
    if report.confidential:
        head.append("  CONFIDENTIAL", style="bold red")
    if not report.created:
        head.append("  (already stored; shown again)", style="dim")
    who = Text(f"From: {report.requester.name or report.requester.email or '-'} — {_requester_line(report)}")

    topics = Table(title="Topics", title_justify="left", show_edge=False, expand=False)
    for column in ("topic", "confidence", "words", "kept"):
        topics.add_column(column)
    for t in report.topics:
        topics.add_row(t["name"], f"{t['confidence']:.0%}", ", ".join(t["evidence"]) or "-",
                       "yes" if t["selected"] else "")
    items: list = [head, who, Text(""), topics]
    if report.needs_manual_triage:
        items.append(Text("No topic is confident enough: marked for manual triage (not routed).", style="yellow"))

    routes = Table(title="Routed to", title_justify="left", show_edge=False)
    for column in ("department", "focal points", "why", "input due"):
        routes.add_column(column)
    for r in report.routes:
        routes.add_row(r["department_name"], ", ".join(r["focal_points"]), r["reason"], r["due_date"])
    if report.routes:
        items += [Text(""), routes]

    matches = Table(title="Best Q&A matches", title_justify="left", show_edge=False)
    for column in ("score", "Q&A", "shared words", ""):
        matches.add_column(column)
    for m in report.matches:
        matches.add_row(f"{m['score']:.0f}", f"{m['qa_key']}: {m['question']}", ", ".join(m["shared_terms"]) or "-",
                        _strength(m))
    items += [Text(""), matches if report.matches else Text("No Q&A shares words with this query.", style="dim")]
    notes = Text("\n".join(f"• {n}" for n in report.draft_notes), style="italic")
    items += [Text(""), Text("Suggested draft", style="bold"), notes, Text(report.draft)]
    return Panel(Group(*items), title=report.subject or report.reference, title_align="left")


def queries_table(rows: list[QuerySummary]) -> Table:
    table = Table(show_edge=False)
    table.add_column("reference", no_wrap=True, min_width=12)
    table.add_column("status", no_wrap=True, min_width=6)
    table.add_column("target", no_wrap=True, min_width=10)
    table.add_column("", no_wrap=True)
    table.add_column("organisation", max_width=14, no_wrap=True, overflow="ellipsis")
    table.add_column("query", min_width=12, no_wrap=True, overflow="ellipsis")
    for q in rows:
        mark = Text("OVERDUE", style="bold red") if q.overdue else Text("manual" if q.needs_manual_triage else "")
        table.add_row(q.reference, q.status, q.target_reply_date.isoformat(), mark,
                      q.organisation or "-", q.title)
    return table


def detail_view(detail: QueryDetail, console: Console) -> None:
    console.print(triage_panel(detail.report))
    if detail.overdue:
        console.print(Text("This query is past its target reply date.", style="bold red"))
    if detail.extension_reason:
        console.print(f"Target extended: {detail.extension_reason}")
    if detail.erased:
        console.print(Text(f"Personal data {detail.erased}.", style="bold"))
    if detail.consultations:
        table = Table(title="Consultations", title_justify="left", show_edge=False)
        for column in ("department", "due", "reminders", "input"):
            table.add_column(column)
        for c in detail.consultations:
            awaited = f"awaited; BOUNCED {c['bounced_at'][:16]}: {c['bounce']}" if c["bounced_at"] else "awaited"
            table.add_row(c["department"], c["due_date"], str(c["reminders_sent"]), c["input_received_at"] or awaited)
        console.print(table)
    if detail.clearances:
        table = Table(title="Clearance", title_justify="left", show_edge=False)
        for column in ("department", "due", "reminders", "answer"):
            table.add_column(column)
        for c in detail.clearances:
            answer = c["verdict"] or "awaited"
            table.add_row(c["department"], c["due_date"], str(c["reminders_sent"]),
                          f"{answer}: {c['comment'][:200]}" if c["comment"] else answer)
        console.print(table)
    if detail.outbox:
        table = Table(title="Outbox", title_justify="left", show_edge=False)
        for column in ("kind", "to", "subject", "sent"):
            table.add_column(column)
        for o in detail.outbox:
            state = o["sent_at"] or (f"FAILED: {(o['error'] or '')[:80]}" if o["failed_at"] else "queued")
            table.add_row(o["kind"], ", ".join(o["to"]), o["subject"], state)
        console.print(table)
    table = Table(title="History", title_justify="left", show_edge=False)
    for column in ("when", "what", "detail", "by"):
        table.add_column(column)
    for e in detail.history:
        table.add_row(e["at"][:19], e["kind"], e["detail"], e["actor"])
    console.print(table)


def _strength(match: dict) -> str:
    """strong/partial/weak, and how sure (older triages only say good or weak)."""
    strength = match.get("strength") or ("strong" if match["good"] else "weak")
    return strength + (f" ({match['confidence']:.0%})" if match.get("confidence") is not None else "")
