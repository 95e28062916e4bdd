"""Writing many rows at once, for the hot paths (a mail batch, a chasing tick).

- ``insert_new`` writes a few new mapped objects with Core INSERTs instead of a flush.
- ``hold_new`` keeps a mail batch's new objects out of the session; ``insert_held`` writes them at the
  batch's end, one statement per table.
- ``store_now`` and ``store_later`` change stored rows' columns without loading them again; ``write_stored``
  writes the later ones together.
- ``insert_rows``, ``insert_rows_taking_ids`` and ``update_rows`` take plain rows: one COPY or one
  statement on PostgreSQL, one executemany elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Iterator

from sqlalchemy import ARRAY, Table, any_, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import MANYTOONE, Session
from sqlalchemy.orm.attributes import set_committed_value


def insert_new(session: Session, objects: list[Any]) -> None:
    """Write new (pending) mapped objects with one Core ``INSERT … RETURNING`` each, parents first, and make
    them persistent and clean, as a flush does after its own INSERTs.

    The unit of work's flush sorts, cascades and tracks what it writes; for the three or four rows of a
    hot path (a new query, its message, a new requester) that costs several times the statements
    themselves. Here a foreign key comes from the object's many-to-one relationships (to an object written
    before it in ``objects``, or already stored), and every column comes back from the store, defaults
    included. The objects are then registered as a flush registers what it inserted (SQLAlchemy's
    ``Session._register_persistent``, private, pinned with SQLAlchemy 2.0): a rollback, of
    the transaction or of a savepoint, takes them out of the session with their rows. An object that is no
    longer pending (flushed already) is left as it is.
    """
    connection = session.connection()
    for obj in objects:
        state = inspect(obj)
        if not state.pending:
            continue
        mapper = state.mapper
        row = connection.execute(_insert_returning(mapper.local_table), _row_values(mapper, obj.__dict__)) \
            .one()._mapping
        loaded = state.dict  # as a load does: stored values, no change events (none of our columns has listeners)
        for prop in mapper.column_attrs:
            loaded[prop.key] = row[prop.columns[0]]
        session._register_persistent({state})


#: ``Session.info`` key of the new objects held out of the session for later (``hold_new``).
HELD = "held_new"


class HeldObjects:
    """The new objects held out of a session for later, in the order held, each once; asking whether one is
    held costs the same however many are."""

    def __init__(self) -> None:
        self._objects: list[Any] = []
        self._ids: set[int] = set()  # each held object's id(): they stay alive while held

    def add(self, obj: Any) -> None:
        if id(obj) not in self._ids:
            self._ids.add(id(obj))
            self._objects.append(obj)

    def __contains__(self, obj: Any) -> bool:
        return id(obj) in self._ids

    def __len__(self) -> int:
        return len(self._objects)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._objects)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._objects)

    def truncate(self, length: int) -> None:
        """Let go of the objects held after the first ``length`` (a savepoint that failed took them)."""
        for obj in self._objects[length:]:
            self._ids.discard(id(obj))
        del self._objects[length:]


def held_objects(session: Session) -> HeldObjects:
    held = session.info.get(HELD)
    if held is None:
        held = session.info[HELD] = HeldObjects()
    return held


def hold_new(session: Session, objects: list[Any]) -> None:
    """Hold the new objects among ``objects`` (never added to ``session``, or pending in it: then taken out) to be
    written later with the others held (``insert_held``), one statement per table. Their relationships stay as
    they are in memory, and nothing of the session refers to them (a many-to-one relationship to them is set
    with ``set_committed_value``, never through a backref), so no flush writes them. An object held already
    (added again with an object referring to it) stays where it was held."""
    held = held_objects(session)
    for obj in objects:
        if obj in held:
            continue
        state = inspect(obj)
        if state.pending:
            session.expunge(obj)
        elif not state.transient:
            continue  # stored already
        held.add(obj)


def is_held(session: Session, obj: Any) -> bool:
    held = session.info.get(HELD)
    return held is not None and obj in held


def add_to(session: Session, obj: Any, parent: Any) -> None:
    """Add a new ``obj`` that belongs to ``parent``: held with it when ``parent`` is held, else to the session."""
    if is_held(session, parent):
        session.info[HELD].add(obj)
    else:
        session.add(obj)


def insert_held(session: Session) -> None:
    """Insert what ``hold_new`` holds: for each table, parents' first, one statement for all its rows in the order
    held. A foreign key comes from a many-to-one relationship to an object written before it or stored. Each
    object gets its id (its other columns are what it was given, and its defaults are not read back), and
    stays out of the session: what wrote it reads no more of it than its id.

    On PostgreSQL the ids are drawn from the tables' sequences first, all in one statement, and the rows go in
    by COPY (``insert_rows``); elsewhere each table's rows go in by one ``INSERT … RETURNING``."""
    objects = list(session.info.pop(HELD, ()))
    tables: dict[Any, list[Any]] = {}
    for obj in objects:
        tables.setdefault(inspect(obj).mapper, []).append(obj)
    order = {table: rank for rank, table in enumerate(inspect(objects[0]).mapper.local_table.metadata.sorted_tables)} \
        if objects else {}
    groups = sorted(tables.items(), key=lambda item: order[item[0].local_table])
    connection = session.connection()
    drawn = connection.dialect.name == "postgresql"
    if drawn:
        ids = connection.execute(_drawn_ids(tuple(mapper.local_table for mapper, _ in groups)),
                                 {f"n{i}": len(group) for i, (_, group) in enumerate(groups)}).one()
        for (mapper, group), table_ids in zip(groups, ids):
            id_attribute = _id_attribute(mapper)
            for obj, id_ in zip(group, table_ids):
                obj.__dict__[id_attribute] = id_
    for mapper, group in groups:
        values = [_row_values(mapper, obj.__dict__) for obj in group]
        keys = set().union(*values)  # one statement needs the same columns in every row: the others' defaults
        for row in values:
            for key in keys - row.keys():
                row[key] = _default(mapper.local_table.c[key])
        if drawn:
            insert_rows(session, mapper.local_table, values)
            continue
        # The id alone comes back: every column would bring an attachment's bytes back a second time.
        id_attribute = _id_attribute(mapper)
        for obj, id_ in zip(group, connection.execute(_insert_returning_key(mapper.local_table), values).scalars()):
            obj.__dict__[id_attribute] = id_


def _id_attribute(mapper) -> str:
    (key,) = mapper.local_table.primary_key.columns
    return mapper.get_property_by_column(key).key


@cache
def _drawn_ids(tables: tuple[Table, ...]):
    """One row: for each table, an array of ``n<i>`` new ids from its key's sequence (PostgreSQL)."""
    return select(*(
        func.array(select(func.nextval(func.pg_get_serial_sequence(table.name, table.primary_key.columns[0].name)))
                   .select_from(func.generate_series(1, bindparam(f"n{i}"))).scalar_subquery())
        for i, table in enumerate(tables)))


def _default(column) -> Any:
    """What a column left out of an INSERT gets: its Python default (ours are values or plain callables)."""
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def _row_values(mapper, given: dict) -> dict[str, Any]:
    """The columns of a new row: the attributes given, and the foreign keys of its many-to-one relationships."""
    values = {prop.columns[0].key: given[prop.key] for prop in mapper.column_attrs if prop.key in given}
    for relationship in mapper.relationships:
        if relationship.direction is MANYTOONE and relationship.key in given:
            values.update(_foreign_key(relationship, given[relationship.key]))
    return values


def store_now(session: Session, obj: Any, **values: Any) -> None:
    """Set attributes of ``obj``; when it is stored already, write them at once by one Core ``UPDATE`` and
    mark them stored, so that no flush writes them again (a many-to-one attribute goes in as its foreign
    key). A new object, or a related object without its id yet, gets them for the flush instead.

    Registered as a flush registers what it updated (``Session._register_altered``): a rollback of the
    transaction or savepoint expires the object, which then reads its row again.
    """
    update_ = store_later(obj, **values)
    if update_ is None:
        return
    try:
        write_stored(session, [update_])
    except BaseException:
        session.expire(obj)  # not written: what it holds is read again
        raise
    session._register_altered({inspect(obj)})


def store_later(obj: Any, **values: Any) -> StoredUpdate | None:
    """``store_now`` without the statement: the attributes are set as stored and the ``UPDATE`` is returned, for
    the caller to run with others (``write_stored``) before its transaction ends. If that transaction or a
    savepoint of it rolls back first, the caller expires ``obj``. None, and the attributes set for the flush,
    when ``obj`` cannot be written by its key (see ``store_now``)."""
    state = inspect(obj)
    mapper = state.mapper
    columns: dict[str, Any] = {}
    for key, value in values.items():
        prop = mapper.attrs[key]
        if key in mapper.relationships:
            if value is not None and inspect(value).identity is None:
                columns = None
                break
            columns.update(_foreign_key(prop, value))
        else:
            columns[prop.columns[0].key] = value
    if columns is None or not state.persistent:
        for key, value in values.items():
            setattr(obj, key, value)
        return None
    for key, value in values.items():
        set_committed_value(obj, key, value)
    return StoredUpdate(mapper.local_table, state.identity[0], columns)


@dataclass(frozen=True)
class StoredUpdate:
    """One row's columns to write by its key (``store_later``)."""

    table: Table
    key: Any
    columns: dict[str, Any]


def write_stored(session: Session, updates: list[StoredUpdate]) -> None:
    """Run ``store_later``'s updates: one statement for all the rows that set the same columns."""
    groups: dict[tuple, list[dict]] = {}
    for u in updates:
        names = tuple(sorted(u.columns))
        groups.setdefault((u.table, names), []).append(
            {"_key": u.key, **{f"_{name}": u.columns[name] for name in names}})
    connection = session.connection()
    for (table, names), rows in groups.items():
        connection.execute(_update_by_key(table, names), rows)


def _foreign_key(relationship, parent: Any) -> dict[str, Any]:
    """The columns a many-to-one ``relationship`` to ``parent`` (stored, or None) stands for."""
    return {local.key: None if parent is None else getattr(parent, relationship.mapper.get_property_by_column(
        remote).key) for local, remote in relationship.local_remote_pairs}


@cache
def _update_by_key(table: Table, names: tuple[str, ...]):
    (key,) = table.primary_key.columns
    return update(table).where(key == bindparam("_key")).values({name: bindparam(f"_{name}") for name in names})


@cache
def _insert_returning(table: Table):
    """INSERT … RETURNING every column."""
    return insert(table).returning(*table.c)


@cache
def _insert_returning_key(table: Table):
    """INSERT … RETURNING the primary key, for many rows, in the order given."""
    return insert(table).returning(*table.primary_key.columns, sort_by_parameter_order=True)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (each with the same columns) in the session's transaction: one COPY on PostgreSQL, which
    takes many rows about twice as fast as a pipeline of INSERTs (each of which the server plans, runs and
    ends on its own); one executemany elsewhere. A column left out gets its Python default, as an INSERT's."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    given = list(rows[0])
    defaulted = [column for column in table.c if column.key not in rows[0] and column.default is not None]
    names = given + [column.key for column in defaulted]
    if defaulted:
        rows = [{**row, **{column.key: _default(column) for column in defaulted}} for row in rows]
    columns = [table.c[name] for name in names]
    # Each value as an INSERT would send it (enums as their values, JSON wrapped, datetimes in UTC).
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
                  for column in columns]
    quote = dialect.identifier_preparer
    copy_in = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c.name) for c in columns)}) FROM STDIN"
    with session.connection().connection.dbapi_connection.cursor() as cursor, cursor.copy(copy_in) as copy:
        for row in rows:
            copy.write_row([process(row[name]) for name, process in zip(names, processors)])


def insert_rows_taking_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """``insert_rows``, and the new rows' ids in order: on PostgreSQL drawn from the key's sequence first (one
    statement), the rows then copied in with them; elsewhere one ``INSERT … RETURNING``."""
    if not rows:
        return []
    connection = session.connection()
    (key,) = table.primary_key.columns
    if connection.dialect.name != "postgresql":
        return list(connection.execute(_insert_returning_key(table), rows).scalars())
    (ids,) = connection.execute(_drawn_ids((table,)), {"n0": len(rows)}).one()
    insert_rows(session, table, [{**row, key.key: id_} for row, id_ in zip(rows, ids)])
    return ids


def update_rows(session: Session, table: Table, ids: list[int], per_row: dict[str, list[Any]] | None = None,
                **same: Any) -> None:
    """Set columns of the rows ``ids`` of ``table``: ``per_row`` a value per row (in the order of ``ids``),
    ``same`` one value for all. One statement on PostgreSQL (the values travel as arrays), one executemany
    elsewhere."""
    if not ids:
        return
    per_row = per_row or {}
    key = table.c.id
    if session.get_bind().dialect.name != "postgresql":
        statement = update(table).where(key == bindparam("_row")).values(
            **{name: bindparam(f"_{name}") for name in per_row}, **same)
        session.execute(statement, [{"_row": row, **{f"_{name}": values[i] for name, values in per_row.items()}}
                                    for i, row in enumerate(ids)])
        return
    rows = bindparam("rows", ids, type_=ARRAY(key.type))
    if not per_row:
        session.execute(update(table).where(key == any_(rows)).values(**same))
        return
    given = select(func.unnest(rows).label("row"), *(  # unnest side by side: the arrays zipped, row by row
        func.unnest(bindparam(name, values, type_=ARRAY(table.c[name].type))).label(name)
        for name, values in per_row.items())).subquery()
    session.execute(update(table).where(key == given.c.row).values(
        **{name: given.c[name] for name in per_row}, **same))
