"""A query's life cycle: the one place where a query's status changes.

::

    new ──► routed ──► awaiting_inputs ──► draft_ready ──► answered ──► closed
     │  ▲
     ▼  │ released by the specialist
    held (confidential at the requester's request)
     │        ▲  └──────────────┴──────────────►┘  │          │  ▲        │
     ▼        │                                    │          ▼  │        │
    manual_triage                                  │        reopened ◄────┘
                                                   └─ back to routed when the specialist's
                                                      topic correction consults a new department

Every open status may go to ``answered`` (the specialist replies) or
``closed`` (self-served, or closed by the specialist). An answered query whose
reply could not be delivered goes back to ``draft_ready``: the specialist has
to act again. A requester who writes again after the reply reopens the query.

``transition`` checks that a change is allowed, applies it with the
timestamps that go with it, and records it in the query's history; nothing
else assigns ``Query.status`` (a test reads the source to keep it so). When a
query opens or stops being open, its consultations are told
(``Consultation.query_open``: the chasing tick reads only those of open queries).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from kb import history
from kb.models import OPEN_STATUSES, Consultation, Query, QueryStatus

S = QueryStatus

_FROM_ANY_OPEN = {S.ANSWERED, S.CLOSED}

#: For each status, the statuses it may become.
ALLOWED: dict[QueryStatus, frozenset[QueryStatus]] = {
    S.NEW: frozenset({S.ROUTED, S.MANUAL_TRIAGE, S.HELD, *_FROM_ANY_OPEN}),
    S.HELD: frozenset({S.ROUTED, S.MANUAL_TRIAGE, *_FROM_ANY_OPEN}),
    S.MANUAL_TRIAGE: frozenset({S.ROUTED, *_FROM_ANY_OPEN}),
    S.ROUTED: frozenset({S.AWAITING_INPUTS, S.DRAFT_READY, *_FROM_ANY_OPEN}),
    S.AWAITING_INPUTS: frozenset({S.DRAFT_READY, *_FROM_ANY_OPEN}),
    S.DRAFT_READY: frozenset({S.ROUTED, *_FROM_ANY_OPEN}),
    S.ANSWERED: frozenset({S.CLOSED, S.REOPENED, S.DRAFT_READY}),
    S.REOPENED: frozenset({S.ROUTED, S.DRAFT_READY, *_FROM_ANY_OPEN}),
    S.CLOSED: frozenset({S.REOPENED}),
}


class TransitionError(ValueError):
    """The change does not fit where the query stands; the message says why."""


def label(status: QueryStatus) -> str:
    return status.value.replace("_", " ")


def begin(query: Query) -> None:
    """A new query starts its life as ``new`` (its "received" event says when and how)."""
    if query.status is not None:
        raise TransitionError(f"{query.reference} has already begun its life cycle ({label(query.status)})")
    query.status = S.NEW


def transition(session: Session, query: Query, target: QueryStatus, *, reason: str, at: datetime,
               actor: str = "system") -> None:
    """Move ``query`` to ``target`` if its life cycle allows it; record who, when and why."""
    current = query.status
    if target not in ALLOWED[current]:
        raise TransitionError(f"{query.reference} is {label(current)}: it cannot become {label(target)}")
    query.status = target
    if target is S.ANSWERED:
        query.answered_at = at
    if target is S.CLOSED:
        query.closed_at = at
    if target is S.REOPENED:
        query.closed_at = None
    query.needs_manual_triage = target is S.MANUAL_TRIAGE
    if (current in OPEN_STATUSES) != (target in OPEN_STATUSES) and query.id is not None:
        # the stored consultations, and those loaded in the session, follow; a query not stored yet has none
        session.execute(update(Consultation).where(Consultation.query_id == query.id)
                        .values(query_open=target in OPEN_STATUSES))
    history.record(session, query, at=at, kind="status", detail=f"{current.value} → {target.value}: {reason}",
                   actor=actor)
