"""The retention rule: a closed query's personal data is kept ``retention_years`` after it was closed.

``cutoff`` is pure; the scheduler's daily pass (``PrivacyUseCases.apply_retention``) erases the queries
closed before it, the same way as an erasure on request, and the digest reports them (``erased_since``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.models import OutboxKind, OutboxMessage, Query, QueryEvent, QueryStatus

#: The history's actor for what the retention rule erased.
RETENTION = "retention"


def cutoff(now: datetime, years: int) -> datetime:
    """The instant ``years`` before ``now`` (29 February becomes the 28th in a year without one)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def past_retention(session: Session, before: datetime, limit: int) -> list[Query]:
    """Closed queries closed before ``before`` that still hold personal data, oldest first."""
    return list(session.scalars(
        select(Query).where(Query.status == QueryStatus.CLOSED, Query.closed_at < before, Query.erased_at.is_(None))
        .order_by(Query.closed_at, Query.id).limit(limit)))


def erased_since_last_digest(session: Session, now: datetime) -> list[str]:
    """References of the queries the retention rule erased since the last digest was queued (the last
    week when there was none), for the next digest."""
    last = session.scalar(select(func.max(OutboxMessage.created_at)).where(OutboxMessage.kind == OutboxKind.DIGEST))
    return erased_since(session, last or now - timedelta(days=7))


def erased_since(session: Session, since: datetime) -> list[str]:
    """References of the queries the retention rule erased since ``since``."""
    return list(session.scalars(
        select(Query.reference).join(QueryEvent, QueryEvent.query_id == Query.id)
        .where(QueryEvent.kind == "erased", QueryEvent.actor == RETENTION, QueryEvent.at >= since)
        .order_by(Query.reference)))
