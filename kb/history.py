"""A query's history lines (``QueryEvent``): recorded as rows of the unit of work, or, while a new query's rows
wait to be written in bulk (``kb.service.fresh``), held as plain values with them.

A new query records half a dozen lines as it is received and triaged (received, located, triaged, its
status changes, routed, drafted). Made as ORM objects, each would be tracked, cascaded and then taken
out of the session again to be written with the query's other rows: several times the cost of the
line itself. ``hold`` points the query's lines at a list instead, in the order they are recorded,
whoever records them (the service's ``record_event`` or the life cycle's ``transition``), until
``release``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kb.models import Query, QueryEvent

#: ``Session.info`` key: new query -> the list its history lines go to until its rows are written.
HELD = "held_history"


def record(session: Session, query: Query, *, at: datetime, kind: str, detail: str | None,
           actor: str = "system") -> None:
    """One line of ``query``'s history: held with its new rows, or added to the unit of work."""
    held = session.info.get(HELD)
    lines = held.get(query) if held else None
    if lines is None:
        session.add(QueryEvent(query=query, at=at, kind=kind, detail=detail, actor=actor))
        return
    lines.append(dict(at=at, kind=kind, detail=detail or "", actor=actor or "system"))


def hold(session: Session, query: Query, lines: list[dict]) -> None:
    """From now on, the lines recorded for the new ``query`` in ``session`` go to ``lines``."""
    session.info.setdefault(HELD, {})[query] = lines


def held_so_far(session: Session) -> int:
    """How many new queries' lines are held now: a mark for ``release_since``."""
    return len(session.info.get(HELD, ()))


def release_since(session: Session, mark: int) -> None:
    """Give up the lines of the new queries held after ``mark`` (their unit of work, or savepoint, failed)."""
    held = session.info.get(HELD)
    if held:
        release(session, list(held)[mark:])


def release(session: Session, queries) -> None:
    """The lines of ``queries`` are written (or given up): later ones are rows of the unit of work again."""
    held = session.info.get(HELD)
    if held:
        for query in queries:
            held.pop(query, None)
