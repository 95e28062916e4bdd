"""What the specialist's morning digest lists, read from the store.

The digest (``kb.chase_messages.digest``) has sections: new queries, drafts awaiting review, overdue
inputs, clearances awaited, undelivered messages and replies at risk. Each lists its most urgent
``DIGEST_LINES`` lines and says how many there are in all, so the email stays readable (and reaches a
specialist's Telegram chat in a few messages, not hundreds) when thousands of queries are open. Here each
section is one select of its lines (their query's id, then what they are listed by): the tick counts
each and snapshots only the queries of the lines shown, not every open query.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from kb import chase_messages
from kb.calendar import day_start
from kb.chase_messages import AT_RISK_DAYS, DIGEST_NEW, DIGEST_RECENT_DAYS
from kb.models import OPEN_STATUSES, Clearance, Consultation, OutboxMessage, Query, QueryStatus


def digest_sections(today: date) -> dict[str, Select]:
    """Per section of ``kb.chase_messages.digest``, one row per line: its query's id, then what the section
    lists its lines by (most urgent first)."""
    is_open = Query.status.in_(list(OPEN_STATUSES))
    recent = Query.received_at >= day_start(today - timedelta(days=DIGEST_RECENT_DAYS))
    return {
        "new": select(Query.id, Query.id.label("received"))
        .where(Query.status.in_(list(DIGEST_NEW)), or_(recent, Query.needs_manual_triage)),
        "drafts": select(Query.id, Query.target_reply_date, Query.id.label("by_query"))
        .where(Query.status == QueryStatus.DRAFT_READY),
        "late_inputs": select(Consultation.query_id, Consultation.due_date, Consultation.query_id.label("by_query"),
                              Consultation.id).join(Query, Query.id == Consultation.query_id)
        .where(is_open, Consultation.input_received_at.is_(None), Consultation.query_open,
               Consultation.due_date < today),
        "clearances": select(Clearance.query_id, Clearance.due_date, Clearance.query_id.label("by_query"), Clearance.id)
        .join(Query, Query.id == Clearance.query_id).where(is_open, Clearance.answered_at.is_(None)),
        "undelivered": select(OutboxMessage.query_id, OutboxMessage.query_id.label("by_query"), OutboxMessage.id)
        .join(Query, Query.id == OutboxMessage.query_id).where(is_open, OutboxMessage.failed_at.is_not(None)),
        "at_risk": select(Query.id, Query.target_reply_date, Query.id.label("by_query"))
        .where(is_open, Query.target_reply_date <= today + timedelta(days=AT_RISK_DAYS)),
    }


def digest_listing(session: Session, today: date) -> tuple[set[int], dict[str, int]]:
    """The ids of the queries the digest's lines name, and the number of lines in all of each section that has
    more than it lists. A section listed whole is counted by the digest from the snapshots it lists: the
    snapshots are read by another statement, and a query may have moved in between (its routing email sent,
    say), so counting it here could announce a line the digest does not show.

    One statement per section gives both its first lines and its total (a window count over all its rows).
    Its rows are found first, as cheaply as the database can (``OFFSET 0`` keeps that subquery apart), then
    sorted: otherwise the database walks an index in the listing's order in the hope of meeting the few
    rows early, misjudges how few there are among a large store's closed queries, and reads most of it."""
    ids: set[int] = set()
    totals: dict[str, int] = {}
    for name, lines in digest_sections(today).items():
        rows = lines.offset(0).subquery()
        first, *order = rows.c
        listing = select(first, func.count().over()).order_by(*order).limit(chase_messages.DIGEST_LINES)
        found = session.execute(listing).all()
        if found and found[0][1] > chase_messages.DIGEST_LINES:
            totals[name] = found[0][1]
        ids.update(row[0] for row in found)
    return ids, totals
