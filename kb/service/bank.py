"""Keeping the Q&A bank: find, read, add, edit, translate, withdraw, publish, import and export.

Used by the web console's Q&A pages and by ``helpdesk qa``. Every change
names the account that made it; a Q&A promoted from a query also gets the
event in that query's history. The matcher sees a change at its next use (it
rebuilds when the bank's revision moves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sqlalchemy import select

from kb import qa_bank, qa_csv
from kb.models import Query
from kb.qa_bank import QASummary, QAView
from kb.service.core import ServiceBase

if TYPE_CHECKING:
    from kb.evaluation import EvalReport


class QABankUseCases(ServiceBase):
    def qa_list(self, *, search: str = "", topic: str | None = None, language: str | None = None,
                state: str | None = "published", limit: int = 200,
                prefer: str | None = None) -> tuple[list[QASummary], int]:
        """Q&As matching the filters (most recently changed first, at most ``limit``) and how many match."""
        with self.unit_of_work() as session:
            return qa_bank.list_qas(session, search=search, topic=topic or None, language=language or None,
                                    state=state, limit=limit, prefer=prefer or self.policy.languages[0])

    def qa_show(self, key: str) -> QAView:
        """One Q&A with all its versions, the languages it still lacks, and its near-duplicates."""
        with self.unit_of_work() as session:
            return qa_bank.qa_view(session, qa_bank.find_qa(session, key), self.policy.languages)

    def qa_add(self, *, language: str, question: str, answer: str, topics: Iterable[str], actor: str,
               key: str | None = None, publish: bool = True) -> QAView:
        """A new Q&A written by the helpdesk (published at once unless ``publish=False``)."""
        with self.unit_of_work() as session:
            qa = qa_bank.add_qa(session, language=language, question=question, answer=answer, topics=topics,
                                actor=actor, now=self.clock(), languages=self.policy.languages,
                                topic_codes=self.policy.topic_codes, key=key, publish=publish)
            return qa_bank.qa_view(session, qa, self.policy.languages)

    def qa_edit(self, key: str, *, actor: str, language: str | None = None, question: str | None = None,
                answer: str | None = None, topics: Iterable[str] | None = None) -> bool:
        """Set one language's version (added when missing) and/or the topics; returns whether anything changed."""
        with self.unit_of_work() as session:
            qa = qa_bank.find_qa(session, key)
            changed = qa_bank.edit_qa(qa, actor=actor, now=self.clock(), languages=self.policy.languages,
                                      topic_codes=self.policy.topic_codes, language=language, question=question,
                                      answer=answer, topics=list(topics) if topics is not None else None)
            if changed:
                self._note_on_source(session, qa, "Q&A edited", f"{key}" + (f" ({language} version)"
                                                                             if language else " (topics)"), actor)
            return changed

    def qa_remove_version(self, key: str, language: str, *, actor: str) -> None:
        with self.unit_of_work() as session:
            qa = qa_bank.find_qa(session, key)
            qa_bank.remove_version(qa, language, actor=actor, now=self.clock())
            self._note_on_source(session, qa, "Q&A version removed", f"{key} ({language})", actor)

    def qa_withdraw(self, key: str, reason: str, *, actor: str) -> None:
        """Take a Q&A out of matching and the FAQ; it is kept, with the reason, and can be published again."""
        with self.unit_of_work() as session:
            qa = qa_bank.find_qa(session, key)
            qa_bank.withdraw_qa(qa, reason, actor=actor, now=self.clock())
            self._note_on_source(session, qa, "Q&A withdrawn", f"{key}: {reason.strip()}", actor)

    def qa_import_csv(self, data: bytes, *, actor: str) -> qa_csv.ImportResult:
        """Import a CSV file (``key,language,topics,question,answer``): all rows or none."""
        with self.unit_of_work() as session:
            return qa_csv.import_csv(session, data, actor=actor, now=self.clock(), languages=self.policy.languages,
                                     topic_codes=self.policy.topic_codes)

    def qa_export_csv(self, *, include_drafts: bool = False) -> str:
        with self.unit_of_work() as session:
            return qa_csv.export_csv(session, include_drafts=include_drafts)

    def _note_on_source(self, session, qa, kind: str, detail: str, actor: str) -> None:
        if qa.source_query_id is not None:
            self.record_event(session, session.get(Query, qa.source_query_id), kind, detail, at=self.clock(),
                              actor=actor)

    # ------------------------------------------------------------------ quality
    def evaluate(self, cases) -> "EvalReport":
        """Triage quality on labelled cases (``kb.evaluation``): topics, language, matching and drafts."""
        from kb.evaluation import evaluate, triage_predictor
        from kb.models import QA

        with self.unit_of_work() as session:
            matcher = self.matcher(session)
            written_in = dict(session.execute(select(QA.key, QA.language)).all())
        predict = triage_predictor(self.model, matcher, self.policy, self.detector)
        return evaluate(cases, predict, topic_codes=self.policy.topic_codes, written_in=written_in)
