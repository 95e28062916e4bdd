"""Reference numbers (HD-2026-0007): they restart each year and are never handed out twice.

A number is taken from the year's row of ``reference_counter``. Inside a unit of work of its own, the
row is bumped in that transaction (``bump``). A mail batch on PostgreSQL instead reserves a block of
numbers, as many as its messages not decided yet, in a transaction of its own, and hands them out
from memory (``ReservedNumbers``): bumped inside the batch's transaction, the row would stay locked
until the batch commits, and a second worker would wait for the first at every query; bumped for
each query, every query would cost a round trip. What the batch does not use it gives back at its
end, when no other worker has reserved after it; otherwise they stay unused. So references can have
gaps: numbers a batch that failed had handed out, a process that died had reserved, or a batch that
two workers shared the counter with did not use; never a number twice.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.models import ReferenceCounter

_TABLE = ReferenceCounter.__tablename__

#: PostgreSQL's SQL, run by the driver (which prepares it on the server after a few runs). The reservation's
#: transaction commits without waiting for the disk (``set_config(…, true)`` sets ``synchronous_commit`` for
#: it alone): PostgreSQL writes its log in order, so the batch's own commit, which waits, makes the
#: reservation durable before any query holding one of its numbers is; after a crash before that, neither
#: the reservation nor a query with one of its numbers is there.
_RESERVE = (f"UPDATE {_TABLE} SET last_number = last_number + %s"
            " WHERE year = %s AND set_config('synchronous_commit', 'off', true) IS NOT NULL RETURNING last_number")
#: The unused end of a block back to the counter, if nobody reserved after it.
_GIVE_BACK = f"UPDATE {_TABLE} SET last_number = %s WHERE year = %s AND last_number = %s"


def format_reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:04d}"


def bump(connection, year: int, session: Session | None = None) -> int:
    """The year's next number, taken in the caller's transaction (which holds the counter's row until it ends)."""
    statement, values = _bump(), {"counter_year": year}
    bumped = connection.execute(statement, values).scalar()
    if bumped is not None:
        return bumped
    try:  # the year's first query; another process may create the row at the same moment
        with session.begin_nested() if session is not None else connection.begin_nested():
            connection.execute(insert(ReferenceCounter).values(year=year, last_number=1))
        return 1
    except IntegrityError:
        return connection.execute(statement, values).scalar()


@cache
def _bump():
    return (update(ReferenceCounter).where(ReferenceCounter.year == bindparam("counter_year"))
            .values(last_number=ReferenceCounter.last_number + 1).returning(ReferenceCounter.last_number))


class ReservedNumbers:
    """A mail batch's blocks of numbers on PostgreSQL, one per year it has taken numbers in."""

    def __init__(self) -> None:
        self._blocks: dict[int, list[int]] = {}  # year -> [next number, last number reserved]
        #: Numbers handed out so far, of every year.
        self.taken = 0

    def take(self, cursor, year: int, wanted: int) -> int | None:
        """The next number of ``year``, reserving ``wanted`` (at least one) when the block is used up; None when
        the year has no row yet (the caller creates it with ``bump``). ``cursor``: the driver's, in autocommit."""
        block = self._blocks.get(year)
        if block is None or block[0] > block[1]:
            wanted = max(1, wanted)
            found = cursor.execute(_RESERVE, (wanted, year)).fetchone()
            if found is None:
                return None
            block = self._blocks[year] = [found[0] - wanted + 1, found[0]]
        number = block[0]
        block[0] += 1
        self.taken += 1
        return number

    def give_back(self, cursor) -> None:
        """Return the numbers reserved and not handed out, where no one has reserved after them."""
        blocks, self._blocks = self._blocks, {}
        for year, (next_number, last) in blocks.items():
            if next_number <= last:
                cursor.execute(_GIVE_BACK, (next_number - 1, year, last))
