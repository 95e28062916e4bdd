"""Reference numbers are never handed out twice, and a mail batch's reserved block leaves no gap when it can
give its unused end back (``kb.references``), against a real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete, select

from kb.db import make_engine
from kb.models import ReferenceCounter
from kb.references import ReservedNumbers, bump

YEAR = 2031  # a year no other test numbers queries in


def test_two_batches_reserving_side_by_side_never_share_a_number_and_only_an_unclaimed_end_goes_back(postgres_url):
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            first = bump(connection, YEAR)  # the year's row, created
            connection.commit()
        one, two = (engine.connect().execution_options(isolation_level="AUTOCOMMIT") for _ in range(2))
        cursor_one, cursor_two = (c.connection.dbapi_connection.cursor() for c in (one, two))
        worker_one, worker_two = ReservedNumbers(), ReservedNumbers()
        taken = [worker_one.take(cursor_one, YEAR, 3), worker_two.take(cursor_two, YEAR, 3),
                 worker_one.take(cursor_one, YEAR, 2)]
        worker_one.give_back(cursor_one)  # its third number is unused, but the second worker reserved after it
        taken.append(worker_two.take(cursor_two, YEAR, 2))
        worker_two.give_back(cursor_two)  # its third is unused, and nobody reserved after it: back to the counter
        with engine.connect() as connection:
            taken.append(bump(connection, YEAR))
            connection.commit()
        one.close()
        two.close()
        assert [first] + taken == [1, 2, 5, 3, 6, 7]  # 4 stays unused: a gap, never a number twice
    finally:
        with engine.begin() as connection:
            connection.execute(delete(ReferenceCounter).where(ReferenceCounter.year == YEAR))
        engine.dispose()


def test_a_year_without_a_counter_row_reserves_nothing(postgres_url):
    engine = make_engine(postgres_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            assert ReservedNumbers().take(connection.connection.dbapi_connection.cursor(), YEAR, 5) is None
            assert connection.scalar(select(ReferenceCounter.last_number).where(ReferenceCounter.year == YEAR)) is None
    finally:
        engine.dispose()
