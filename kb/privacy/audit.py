"""Who read or handled personal data: the audit trail.

Reads of a query's personal details (its console page, ``helpdesk show``), exports and erasures are
recorded as ``AuditEntry`` rows; changes to a query are already in its history (``QueryEvent``, with
who and when). ``trail`` merges the two for a query or for an actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import AuditEntry, Query, QueryEvent


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    reference: str | None
    channel: str
    detail: str


def record(session: Session, *, at: datetime, actor: str, action: str, channel: str, query: Query | None = None,
           requester_id: int | None = None, detail: str = "") -> None:
    session.add(AuditEntry(at=at, actor=actor, action=action, channel=channel,
                           query_id=query.id if query is not None else None,
                           requester_id=requester_id if requester_id is not None else
                           (query.requester_id if query is not None else None), detail=detail))


def trail(session: Session, *, query: Query | None = None, actor: str | None = None) -> list[AuditLine]:
    """Everything recorded about ``query`` (reads, exports, erasures and every change), or everything
    ``actor`` did, oldest first."""
    entries = select(AuditEntry, Query.reference).outerjoin(Query, Query.id == AuditEntry.query_id)
    events = select(QueryEvent, Query.reference).join(Query, Query.id == QueryEvent.query_id)
    if query is not None:
        entries = entries.where(AuditEntry.query_id == query.id)
        events = events.where(QueryEvent.query_id == query.id)
    if actor is not None:
        entries = entries.where(AuditEntry.actor == actor)
        events = events.where(QueryEvent.actor == actor)
    lines = [AuditLine(e.at, e.actor, e.action, reference, e.channel, e.detail)
             for e, reference in session.execute(entries)]
    lines += [AuditLine(e.at, e.actor, f"change: {e.kind}", reference, "", e.detail)
              for e, reference in session.execute(events)]
    return sorted(lines, key=lambda line: line.at)
