"""The email channel's bookkeeping: store first, decide second; quarantine; the mailbox's health.

The IMAP reader stores every fetched message's raw bytes (``store_fetched``)
and only then flags it done on the server. Workers, in this process or others,
claim stored messages (``claim_inbound``; ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), parse them at the edge and hand them back (``process_inbound``).
A message whose processing fails ``mail.max_attempts`` times is quarantined
with its last error and the specialist is told; nothing waits "for the next
pass" forever, and one bad message never holds up the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from kb import history
from kb.bulk import HELD, held_objects, insert_held, is_held, store_later, store_now, write_stored
from kb.db import hold_write_lock
from kb.inbound import PENDING, InboundEmail, InboundResult, Outcome, decide
from kb.mail_batch import BatchLookups
from kb.models import Channel, OutboxKind, OutboxMessage, Query, RawEmail, Requester
from kb.outbox import queue
from kb.privacy import audit
from kb.references import ReservedNumbers, bump
from kb.service.core import ServiceBase
from kb.service.fresh import FreshRows

log = logging.getLogger("kb.service")

#: A worker holds a claimed message this long; if it dies, another takes the message over afterwards.
CLAIM_LEASE = timedelta(minutes=5)
#: A message whose processing failed waits this long times its attempts before the next try.
RETRY_AFTER = timedelta(seconds=30)


#: Raw mail a worker takes in one claim, at most (a message larger than this comes alone).
BATCH_BYTES = 16 * 1024 * 1024

@dataclass(frozen=True)
class StoredEmail:
    """A fetched message waiting for a worker: its raw bytes and where it came from."""

    id: int
    raw: bytes
    mailbox: str
    uidvalidity: int | None
    uid: int | None
    attempts: int


@dataclass(frozen=True)
class QuarantinedEmail:
    id: int
    received_at: datetime
    mailbox: str
    uid: int | None
    message_id: str | None
    reason: str
    size: int
    raw: bytes


@dataclass
class InboundBatch:
    """A worker's claimed messages decided in one transaction, one savepoint each.

    One commit for the batch instead of one per message, and what every message
    of the batch would look up again (the Q&A matcher) is looked up once. A
    message that fails rolls back to its savepoint alone, and its failure is
    recorded in the same transaction. Nothing is marked done anywhere before the
    commit, so a process killed mid-batch leaves every message of it pending:
    the next worker decides them afresh, none twice; a message's query and its
    "done" are committed together, never one without the other.

    On SQLite the batch holds the store's write lock from its start
    (``kb.db.hold_write_lock``): other writers (the outbox, the console) wait
    for its commit, a fraction of a second for a batch of ordinary mail.

    What its emails would each ask the store, the batch asks once (``lookups``),
    and what its new queries bring (a new requester, the query, its message,
    attachments, history, topics, consultations, draft, outbox rows) and its
    emails' outcomes are written at its end, one statement per table: the new
    objects are held out of the session meanwhile (``kb.bulk.hold_new``). Held
    rows are written sooner only outside any message's savepoint, before a
    message that replies to an earlier email (``write_unwritten``); a message
    that fails takes what it held out with its savepoint.
    """

    service: ServiceBase
    session: Session
    matcher: object | None = None
    #: The batch's rows, held so that the session's (weak) identity map keeps them for ``session.get``.
    rows: list = field(default_factory=list)
    #: The new queries' topics, consultations, drafts and outbox rows (``FreshRows``), written together at
    #: the batch's end: one statement per table for the batch instead of one per query. A message that
    #: fails takes its own out with its savepoint.
    fresh: list = field(default_factory=list)
    #: How many acknowledgements the new queries in ``fresh`` queue to each address (the mail-loop guard's count).
    acknowledged: Counter = field(default_factory=Counter)
    #: What every email of the batch would ask the store, asked once for all of them (``kb.mail_batch``).
    lookups: BatchLookups | None = None
    #: The new queries whose history lines (``FreshRows.events``, the mail system's notes included) are not
    #: written yet, and the decided messages' outcomes (``kb.bulk.store_later``; with the held message each
    #: became): written with the held objects (``write_unwritten``).
    history: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    #: On PostgreSQL, the reference numbers the batch reserved (``kb.references``) and the connection beside
    #: its own, in autocommit, that reserves them.
    numbers: ReservedNumbers = field(default_factory=ReservedNumbers)
    outside: Connection | None = None
    _cursor: object | None = None

    @property
    def reserves_numbers(self) -> bool:
        """On PostgreSQL, where workers run side by side; on SQLite the batch holds the store's write lock anyway,
        and takes each number in its transaction."""
        return self.session.get_bind().dialect.name == "postgresql"

    def take_reference(self, year: int) -> int | None:
        """The next reference number of ``year`` from the batch's reservation (None for the year's first query:
        see ``first_of_year``). A block covers the batch's messages not decided yet."""
        try:
            return self.numbers.take(self._outside_cursor(), year, len(self.rows) - self.numbers.taken)
        except BaseException:
            self.close_outside()  # the connection may be broken: the next message takes a fresh one
            raise

    def first_of_year(self, year: int) -> int:
        """The year's first number: its counter row created (or found created) in a transaction of its own."""
        with self.session.get_bind().connect() as connection:
            number = bump(connection, year)
            connection.commit()
        return number

    def _outside_cursor(self):
        if self.outside is None:
            self.outside = self.session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT")
            self._cursor = self.outside.connection.dbapi_connection.cursor()
        return self._cursor

    def close_outside(self) -> None:
        """Give back the reference numbers not used, if the connection that reserved them still works, and the
        connection itself."""
        outside, self.outside = self.outside, None
        if outside is None:
            return
        try:
            self.numbers.give_back(self._cursor)
        except Exception:  # noqa: BLE001 - a broken connection: the numbers stay unused, a gap
            log.warning("reference numbers reserved by a mail batch could not be given back", exc_info=True)
        finally:
            outside.close()

    def add_fresh(self, query: Query, rows: FreshRows) -> None:
        """A new query's rows, to be written at the batch's end."""
        self.fresh.append((query, rows))
        self.acknowledged.update(rows.acknowledged_addresses())

    def seen_unwritten(self, message_id: str) -> bool:
        """Whether a message decided in the batch, not yet written, has ``message_id`` (and was not quarantined)."""
        return any(change.columns.get("message_id_header") == message_id
                   and change.columns.get("outcome") != Outcome.QUARANTINED.value for _, change, _ in self.outcomes)

    def held_requester(self, address: str) -> Requester | None:
        """A requester with ``address`` that a message of the batch created, not yet written."""
        return next((o for o in reversed(self.session.info.get(HELD, ()))
                     if isinstance(o, Requester) and o.email == address), None)

    def write_unwritten(self) -> None:
        """Write the new requesters, queries and messages held so far, their history lines and the outcomes: one
        statement for each kind of row. Called outside any message's savepoint, so that a message failing
        afterwards cannot take them with it."""
        insert_held(self.session)
        if self.history:
            FreshRows.write_histories(self.session, self.history)
            self.history.clear()
        if self.outcomes:
            for raw, change, message in self.outcomes:
                if message is not None:  # written just now: its id is known
                    change.columns["message_id"] = message.id
                    set_committed_value(raw, "message_id", message.id)
            write_stored(self.session, [change for _, change, _ in self.outcomes])
            self.outcomes.clear()

    @contextmanager
    def savepoint(self) -> Iterator[Session]:
        """One message's savepoint; if it fails, what it left for the batch's end goes with it."""
        held = held_objects(self.session)
        kept = len(self.fresh), len(self.history), len(self.outcomes), len(held), history.held_so_far(self.session)
        try:
            with self.session.begin_nested():
                with self.session.no_autoflush:
                    yield self.session
        except BaseException:
            for _, rows in self.fresh[kept[0]:]:
                self.acknowledged.subtract(rows.acknowledged_addresses())
            del self.fresh[kept[0]:], self.history[kept[1]:]
            held.truncate(kept[3])
            history.release_since(self.session, kept[4])
            for raw, _, _ in self.outcomes[kept[2]:]:
                self.session.expire(raw)  # its outcome was set in memory only: read the row again
            del self.outcomes[kept[2]:]
            raise


_BATCH: ContextVar[InboundBatch | None] = ContextVar("inbound_batch", default=None)


def current_batch(service: ServiceBase) -> InboundBatch | None:
    """The batch this service is deciding in this thread, if any."""
    batch = _BATCH.get()
    return batch if batch is not None and batch.service is service else None


class MailUseCases(ServiceBase):
    def store_fetched(self, mailbox: str, uidvalidity: int, messages: list[tuple[int, bytes]]) -> int:
        """Keep fetched raw messages durably (once per mailbox, UIDVALIDITY and UID); returns how many are new."""
        now = self.clock()
        try:
            with self.unit_of_work() as session:
                return self._store(session, mailbox, uidvalidity, messages, now)
        except IntegrityError:  # another reader stored some of them at the same moment: keep the rest
            with self.unit_of_work() as session:
                stored = 0
                for uid, raw in messages:
                    try:
                        with session.begin_nested():
                            stored += self._store(session, mailbox, uidvalidity, [(uid, raw)], now)
                    except IntegrityError:
                        pass
                return stored

    @staticmethod
    def _store(session, mailbox: str, uidvalidity: int, messages: list[tuple[int, bytes]], now: datetime) -> int:
        uids = [uid for uid, _ in messages]
        known = set(session.scalars(select(RawEmail.uid).where(
            RawEmail.mailbox == mailbox, RawEmail.uidvalidity == uidvalidity, RawEmail.uid.in_(uids)))) if uids else set()
        new = [dict(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, received_at=now, raw=raw, outcome=PENDING,
                    attempts=0) for uid, raw in messages if uid not in known]
        if new:
            session.execute(insert(RawEmail), new)
        return len(new)

    def claim_inbound(self, limit: int = 50, max_bytes: int = BATCH_BYTES) -> list[StoredEmail]:
        """Stored messages for this worker, oldest first; each is leased so no other worker takes it meanwhile.

        Messages never tried are claimed together (a batch); one tried before
        (it failed, or its worker died holding it) is claimed alone, so that a
        message which kills its process is blamed alone and, once tried
        ``max_attempts`` times by workers that never came back, is quarantined
        here instead of being handed out again.

        A batch holds at most ``max_bytes`` of raw mail (a larger message comes alone), so that a worker's
        memory is bounded by bytes, whatever the messages weigh: their sizes are read first, their bytes
        only for the messages taken.
        """
        now = self.clock()
        limit_attempts = self.policy.mail.max_attempts
        with self.unit_of_work() as session:
            rows = session.execute(
                select(RawEmail.id, func.length(RawEmail.raw).label("size"), RawEmail.mailbox,
                       RawEmail.uidvalidity, RawEmail.uid, RawEmail.attempts)
                .where(RawEmail.outcome == PENDING,
                       (RawEmail.claimed_until.is_(None)) | (RawEmail.claimed_until <= now))
                .order_by(RawEmail.id).limit(limit).with_for_update(skip_locked=True)).all()
            taken, weight = [], 0
            for row in rows:
                if row.attempts >= limit_attempts:
                    stale = session.get(RawEmail, row.id)
                    self._quarantine(session, stale, stale.last_error or "the process handling it stopped", now)
                    continue
                if row.attempts and taken:
                    break  # tried before: alone, in the next claim
                if taken and weight + (row.size or 0) > max_bytes:
                    break  # heavy: in the next claim
                taken.append(row)
                weight += row.size or 0
                if row.attempts:
                    break
            if not taken:
                return []
            ids = [r.id for r in taken]
            session.execute(update(RawEmail).where(RawEmail.id.in_(ids))
                            .values(attempts=RawEmail.attempts + 1, claimed_until=now + CLAIM_LEASE))
            raw = dict(session.execute(select(RawEmail.id, RawEmail.raw).where(RawEmail.id.in_(ids))).all())
            return [StoredEmail(r.id, raw[r.id], r.mailbox, r.uidvalidity, r.uid, r.attempts + 1) for r in taken]

    @contextmanager
    def inbound_batch(self, stored_ids: list[int], emails: list[InboundEmail] = ()) -> Iterator[None]:
        """Decide the claimed messages ``stored_ids`` in one transaction (see ``InboundBatch``).

        Inside, ``process_inbound`` and ``inbound_failed`` each work in a savepoint of it. ``emails``: the
        parsed messages, whose Message-IDs and senders are looked up once for the batch (``kb.mail_batch``).
        """
        with self.unit_of_work() as session:
            hold_write_lock(session)
            # Their rows in one query, without the raw bytes the worker already has.
            rows = list(session.scalars(select(RawEmail).where(RawEmail.id.in_(stored_ids))
                                        .options(defer(RawEmail.raw))))
            lookups = BatchLookups.load(session, emails, self.clock()) if emails else None
            batch = InboundBatch(self, session, rows=rows, lookups=lookups)
            token = _BATCH.set(batch)
            try:
                yield
            finally:
                _BATCH.reset(token)
                batch.close_outside()
            # If this fails, the whole batch rolls back, and its messages are then tried one by one.
            batch.write_unwritten()
            if batch.fresh:
                FreshRows.write(session, batch.fresh)

    @contextmanager
    def _inbound_unit(self) -> Iterator[Session]:
        """A savepoint of the current batch, else a unit of work of its own."""
        batch = current_batch(self)
        if batch is None:
            with self.unit_of_work() as session:
                yield session
            return
        with batch.savepoint() as session:
            yield session

    def process_inbound(self, stored_id: int, email: InboundEmail) -> InboundResult:
        """Decide what a claimed message means (``kb.inbound``), in one unit of work (or batch savepoint)."""
        batch = current_batch(self)
        if batch is not None and (email.in_reply_to or email.references):
            batch.write_unwritten()  # it may continue a query of this batch: its thread is looked up in the store
        with self._inbound_unit() as session:
            row = session.get(RawEmail, stored_id)
            if row is None or row.outcome != PENDING:
                return InboundResult(Outcome.ALREADY_DONE, detail="handled by another worker")
            return decide(self, session, email, row)

    def inbound_failed(self, stored_id: int, error: str) -> bool:
        """Processing a claimed message failed (our fault, not the sender's). True when it is now quarantined."""
        now = self.clock()
        with self._inbound_unit() as session:
            row = session.get(RawEmail, stored_id)
            if row is None or row.outcome != PENDING:
                return False
            row.last_error = error[:2000]
            if row.attempts >= self.policy.mail.max_attempts:
                self._quarantine(session, row, error, now)
                return True
            row.claimed_until = now + RETRY_AFTER * row.attempts  # not again in this pass; soon after
            return False

    def _quarantine(self, session, row: RawEmail, error: str, now: datetime) -> None:
        row.outcome, row.claimed_until = Outcome.QUARANTINED.value, None
        row.reason = f"processing failed {row.attempts} time(s): {error[:500]}"
        log.warning("inbound message %d quarantined after %d attempt(s)", row.id, row.attempts)
        queue(session, dedupe_key=f"inbound-failed:{row.id}", kind=OutboxKind.WARNING, channel=Channel.EMAIL,
              recipients=[self.policy.specialist_address], subject=f"An email could not be processed (#{row.id})",
              body=(f"The helpdesk could not process an email received on {row.received_at:%Y-%m-%d %H:%M} UTC "
                    f"({row.mailbox}, UID {row.uid}) after {row.attempts} attempt(s):\n\n  {error[:500]}\n\n"
                    f"It is kept with its raw bytes. Once the cause is fixed: helpdesk quarantine release {row.id}"),
              now=now, domain=self.policy.domain, fresh=True)

    def record_outcome(self, session: Session, raw: RawEmail, *, message=None, **values) -> None:
        """What a stored message was decided to be, on its row (and the message it was stored as, if new):
        written at once, or with the batch's others."""
        batch = current_batch(self)
        if batch is None:
            store_now(session, raw, **values, **({"message": message} if message is not None else {}))
            return
        held = message is not None and is_held(session, message)
        if message is not None and not held:
            values["message"] = message
        update_ = store_later(raw, **values)
        if update_ is not None:
            batch.outcomes.append((raw, update_, message if held else None))

    def held_requester(self, address: str) -> Requester | None:
        """A requester with ``address`` created in the current mail batch and not written yet, if any."""
        batch = current_batch(self)
        return batch.held_requester(address) if batch is not None else None

    def seen_in_batch(self, message_id: str) -> bool:
        """Whether a message of the current batch, decided and not yet written, has ``message_id``."""
        batch = current_batch(self)
        return batch is not None and batch.seen_unwritten(message_id)

    def batch_lookups(self) -> BatchLookups | None:
        """What the current mail batch looked up for all its emails (None outside one, or when it did not)."""
        batch = current_batch(self)
        return batch.lookups if batch is not None else None

    def acknowledgements_queued(self, address: str) -> int:
        """Acknowledgements to ``address`` the current mail batch has queued but not written yet (0 outside one):
        the mail-loop guard counts them with those in the outbox."""
        batch = current_batch(self)
        if batch is None:
            return 0
        return batch.acknowledged[address.lower()]

    # ------------------------------------------------------------- quarantine
    def quarantined(self, reader: str | None = None, channel: str = "cli") -> list[QuarantinedEmail]:
        """Every quarantined email. Its senders and subjects are personal data: ``reader`` (who is looking) is
        recorded in the audit trail."""
        with self.unit_of_work() as session:
            rows = session.scalars(select(RawEmail).where(RawEmail.outcome == Outcome.QUARANTINED.value)
                                   .order_by(RawEmail.id)).all()
            if reader is not None:
                audit.record(session, at=self.clock(), actor=reader, action="read", channel=channel,
                             detail=f"the quarantine ({len(rows)} email(s))")
            return [self._view(r) for r in rows]

    def quarantined_email(self, stored_id: int, reader: str | None = None, channel: str = "cli") -> QuarantinedEmail:
        """One quarantined email, raw bytes and all; ``reader`` is recorded in the audit trail."""
        with self.unit_of_work() as session:
            row = session.get(RawEmail, stored_id)
            if row is None or row.outcome != Outcome.QUARANTINED.value:
                raise LookupError(f"no quarantined email #{stored_id}")
            if reader is not None:
                audit.record(session, at=self.clock(), actor=reader, action="read", channel=channel,
                             detail=f"quarantined email #{stored_id}")
            return self._view(row)

    def release_quarantined(self, stored_id: int, actor: str = "specialist", channel: str = "cli") -> None:
        """Put a quarantined email back in the queue (after a fix): the next pass processes it afresh."""
        with self.unit_of_work() as session:
            row = session.get(RawEmail, stored_id)
            if row is None or row.outcome != Outcome.QUARANTINED.value:
                raise LookupError(f"no quarantined email #{stored_id}")
            row.outcome, row.attempts, row.claimed_until = PENDING, 0, None
            row.reason = f"released by {actor} on {self.clock():%Y-%m-%d %H:%M} UTC (was: {row.reason})"[:2000]
            audit.record(session, at=self.clock(), actor=actor, action="release", channel=channel,
                         detail=f"quarantined email #{stored_id}")

    @staticmethod
    def _view(row: RawEmail) -> QuarantinedEmail:
        return QuarantinedEmail(row.id, row.received_at, row.mailbox, row.uid, row.message_id_header,
                                row.reason or "", len(row.raw), row.raw)

    # ----------------------------------------------------------- mailbox health
    def mailbox_unreachable(self, since: datetime, error: str) -> bool:
        """No fetch has succeeded since ``since``: tell the specialist once per outage. True if told now."""
        now = self.clock()
        if now - since < timedelta(minutes=self.policy.mail.alert_after_minutes):
            return False
        with self.unit_of_work() as session:
            row = queue(session, dedupe_key=f"mailbox-down:{since.isoformat()}", kind=OutboxKind.WARNING,
                        channel=Channel.EMAIL, recipients=[self.policy.specialist_address],
                        subject="The helpdesk cannot read its mailbox",
                        body=(f"No mailbox fetch has succeeded since {since:%Y-%m-%d %H:%M} UTC. Last error:\n\n"
                              f"  {error[:500]}\n\nCheck the password or OAuth token and the mail server; "
                              "`helpdesk check` tries the connection. You will be told when it works again."),
                        now=now, domain=self.policy.domain)
            return row.created_at == now

    def mailbox_recovered(self, since: datetime) -> None:
        """A fetch succeeded after an outage the specialist was told of: say so, once."""
        now = self.clock()
        with self.unit_of_work() as session:
            if session.scalar(select(OutboxMessage.id).where(
                    OutboxMessage.dedupe_key == f"mailbox-down:{since.isoformat()}")) is None:
                return
            queue(session, dedupe_key=f"mailbox-up:{since.isoformat()}", kind=OutboxKind.WARNING,
                  channel=Channel.EMAIL, recipients=[self.policy.specialist_address],
                  subject="The helpdesk reads its mailbox again",
                  body=f"Mailbox fetches work again since {now:%Y-%m-%d %H:%M} UTC (they failed from "
                       f"{since:%Y-%m-%d %H:%M} UTC). Messages that arrived meanwhile are being processed.",
                  now=now, domain=self.policy.domain)
