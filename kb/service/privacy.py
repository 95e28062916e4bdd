"""Personal data: export, erasure, the retention rule and the audit trail (``kb.privacy``).

- ``export_personal_data``: everything held about an email address or a Telegram id, as plain data and
  the original files (the CLI writes the archive);
- ``erase_person``: the same footprint erased (or, in a dry run, what would change), then every text
  column swept for the person's marks, the data folder's copies removed and SQLite's files rebuilt;
- ``apply_retention``: closed queries past the retention period erased the same way (the scheduler);
- ``audit_trail``: who read, exported, erased or changed what (reads are recorded where they happen:
  ``show_query`` and ``console_query``).

The data folder's copies (the drop folder's read emails, the outbox folder's written ones) are found and
removed through the ``PersonalFiles`` the composition root gives the service, and every erasure on request
is written to its ``ErasureLog`` (whoever asked for it: the command line or the console), so that it can be
applied again after a backup is restored: ``kb`` knows no folders.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import Protocol

from sqlalchemy import select

from kb.db import forget_former_values
from kb.models import Query, Requester
from kb.privacy import audit
from kb.privacy.erasure import Eraser, Erasure, requester_has_other_queries
from kb.privacy.export import PersonalExport, export_footprint
from kb.privacy.footprint import Who, add_beyond_queries, find_person, query_footprint
from kb.privacy.marks import Marks
from kb.privacy.retention import RETENTION, cutoff, past_retention
from kb.service.core import QueryNotFoundError, ServiceBase


class PersonalFiles(Protocol):
    """Files outside the store that may hold a person's data (written by an adapter)."""

    def holding(self, marks: Marks, message_ids: set[str], outbox_ids: set[int]) -> list[Path]: ...

    def remove(self, paths: Iterable[Path]) -> None: ...


class ErasureLog(Protocol):
    """Where erasures on request are recorded outside the store (requester ids and references only)."""

    def record(self, erasure: Erasure) -> None: ...


class _DryRun(Exception):
    def __init__(self, result: Erasure) -> None:
        self.result = result


class PrivacyUseCases(ServiceBase):
    #: The data folder's stores of copies, and the log of erasures; set by the composition root.
    personal_files: tuple[PersonalFiles, ...] = ()
    erasure_log: ErasureLog | None = None

    def export_personal_data(self, who: str, *, actor: str, channel: str = "cli") -> PersonalExport:
        """Everything held about ``who`` (an email address or a Telegram id); the export is audited."""
        person = Who.parse(who)
        now = self.clock()
        with self.unit_of_work() as session:
            footprint = find_person(session, person)
            export = export_footprint(footprint, helpdesk=self.policy.name, at=now)
            for requester_id in sorted({r.id for r in footprint.requesters}) or [None]:
                audit.record(session, at=now, actor=actor, action="export", channel=channel,
                             requester_id=requester_id, detail=f"personal data exported ({len(footprint.queries)} "
                                                               f"quer{'y' if len(footprint.queries) == 1 else 'ies'})")
        return export

    def erase_person(self, who: str, *, actor: str, dry_run: bool = False, channel: str = "cli") -> Erasure:
        """Erase what is held about ``who`` everywhere; with ``dry_run``, only say what would change."""
        person = Who.parse(who)
        now = self.clock()
        try:
            with self.unit_of_work() as session:
                footprint = find_person(session, person)
                message_ids, outbox_ids = footprint.message_ids(), footprint.outbox_ids()
                eraser = Eraser(session, footprint, now=now, actor=actor, why="on request")
                eraser.footprint_rows(identities=True)
                eraser.sweep()
                result = eraser.result
                files = self._files_holding(footprint.marks, message_ids, outbox_ids)
                result.files = [str(p) for p in files]
                if dry_run:
                    result.dry_run = True
                    raise _DryRun(result)
                for query in footprint.queries:
                    audit.record(session, at=now, actor=actor, action="erase", channel=channel, query=query,
                                 detail="personal data erased on request")
                for requester in footprint.requesters:
                    audit.record(session, at=now, actor=actor, action="erase", channel=channel,
                                 requester_id=requester.id, detail="identity erased on request")
        except _DryRun as done:
            return done.result
        try:  # committed: written down first; and the copies go even if the log cannot be written
            if self.erasure_log is not None:
                self.erasure_log.record(result)
        finally:
            self._remove(files)
            forget_former_values(self.sessions.kw["bind"])
        return result

    def apply_retention(self, limit: int = 100) -> list[str]:
        """Erase the closed queries past the retention period (a requester's identity too once none of
        their queries is left unerased); returns their references."""
        years = self.policy.retention_years
        if not years:
            return []
        now = self.clock()
        files: list[Path] = []
        with self.unit_of_work() as session:
            queries = past_retention(session, cutoff(now, years), limit)
            why = f"retention: closed over {years} year{'s' if years != 1 else ''} ago"
            for _, group in groupby(sorted(queries, key=lambda q: q.requester_id), key=lambda q: q.requester_id):
                batch = list(group)
                footprint = query_footprint(session, batch)
                whole = not requester_has_other_queries(session, batch[0].requester, batch)
                if whole:
                    footprint.add("requester", [batch[0].requester])
                    add_beyond_queries(session, footprint)
                message_ids, outbox_ids = footprint.message_ids(), footprint.outbox_ids()
                eraser = Eraser(session, footprint, now=now, actor=RETENTION, why=why)
                eraser.footprint_rows(identities=whole)
                if whole:
                    eraser.sweep()
                files += self._files_holding(footprint.marks if whole else Marks(), message_ids, outbox_ids)
                for query in batch:
                    audit.record(session, at=now, actor=RETENTION, action="erase", channel="scheduler",
                                 query=query, detail=why)
        if queries:
            self._remove(files)
            forget_former_values(self.sessions.kw["bind"])
        return [q.reference for q in queries]

    def not_erased(self, requester_ids: Iterable[int]) -> list[int]:
        """Which of these requesters the store holds with their identity (after a backup was restored)."""
        ids = sorted(set(requester_ids))
        with self.unit_of_work() as session:
            return list(session.scalars(select(Requester.id).where(Requester.id.in_(ids),
                                                                  Requester.erased_at.is_(None))))

    def audit_trail(self, target: str) -> list[audit.AuditLine]:
        """What was read, exported, erased or changed: of a query (by reference), or by an actor."""
        with self.unit_of_work() as session:
            try:
                query: Query | None = self._get(session, target)
            except QueryNotFoundError:
                query = None
            if query is not None:
                return audit.trail(session, query=query)
            return audit.trail(session, actor=target.strip())

    def _files_holding(self, marks: Marks, message_ids: set[str], outbox_ids: set[int]) -> list[Path]:
        return [p for store in self.personal_files for p in store.holding(marks, message_ids, outbox_ids)]

    def _remove(self, paths: list[Path]) -> None:
        for store in self.personal_files:
            store.remove(paths)
