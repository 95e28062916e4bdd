"""A query's life cycle: every allowed change happens and is recorded, every other one is refused
and changes nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kb.lifecycle import ALLOWED, TransitionError, begin, transition
from kb.models import OPEN_STATUSES, Query, QueryEvent, QueryStatus

S = QueryStatus
AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PAIRS = [(a, b) for a in S for b in S]


class Recorder:
    """Collects what a transition adds to the unit of work (the history rows)."""

    def __init__(self) -> None:
        self.added: list = []
        self.info: dict = {}  # a session's: no new query's history is held here (``kb.history``)

    def add(self, row) -> None:
        self.added.append(row)


def query_in(status: QueryStatus) -> Query:
    query = Query(reference="HD-2026-0001")
    begin(query)
    query.status = status  # test set-up: put the query where the story starts
    return query


@pytest.mark.parametrize("current,target", [p for p in PAIRS if p[1] in ALLOWED[p[0]]],
                         ids=lambda s: s.value)
def test_an_allowed_change_happens_and_is_recorded_with_who_and_why(current, target):
    query, unit = query_in(current), Recorder()
    transition(unit, query, target, reason="because", at=AT, actor="maria")
    assert query.status is target
    [event] = unit.added
    assert isinstance(event, QueryEvent) and event.kind == "status" and event.actor == "maria"
    assert event.detail == f"{current.value} → {target.value}: because" and event.at == AT
    assert (query.answered_at == AT) is (target is S.ANSWERED)
    assert (query.closed_at == AT) is (target is S.CLOSED)
    assert query.needs_manual_triage is (target is S.MANUAL_TRIAGE)


@pytest.mark.parametrize("current,target", [p for p in PAIRS if p[1] not in ALLOWED[p[0]]],
                         ids=lambda s: s.value)
def test_a_change_the_life_cycle_does_not_allow_is_refused_and_changes_nothing(current, target):
    query, unit = query_in(current), Recorder()
    with pytest.raises(TransitionError, match=f"is {current.value.replace('_', ' ')}: it cannot become"):
        transition(unit, query, target, reason="because", at=AT)
    assert query.status is current and unit.added == []


def test_the_life_cycle_has_the_shape_the_helpdesk_works_by():
    # Every open query can be answered or closed; nothing comes back from closed but a reopening.
    assert all({S.ANSWERED, S.CLOSED} <= ALLOWED[s] for s in OPEN_STATUSES)
    assert ALLOWED[S.CLOSED] == {S.REOPENED}
    # An undeliverable reply returns the query to the specialist.
    assert S.DRAFT_READY in ALLOWED[S.ANSWERED]
    # No status goes to itself, and "new" is only where a query starts.
    assert all(s not in ALLOWED[s] for s in S) and all(S.NEW not in targets for targets in ALLOWED.values())


def test_a_query_begins_its_life_once():
    query = Query(reference="HD-2026-0002")
    begin(query)
    assert query.status is S.NEW
    with pytest.raises(TransitionError, match="already begun"):
        begin(query)
