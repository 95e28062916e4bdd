"""The console's Q&A bank pages: search the bank, read and edit a Q&A in each language, add, withdraw,
publish (promoted drafts arrive here anonymised), import and export CSV.

A mixin of ``web.views.Console`` with its rules: every view is one call on the
service; every POST goes through ``gate`` (CSRF token, account, role), so
viewers read the bank but never change it (403). A refused change (a bad
topic, an empty answer, a bad CSV line) shows the page again with the reason
and what was typed; nothing was changed.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from kb.qa_csv import MAX_BYTES, QAImportError
from web.actions import typed_text

log = logging.getLogger("helpdesk.web")

LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish"}
STATES = ("published", "draft", "withdrawn", "all")
SHOWN = (ValueError, LookupError)


def _text(form, name: str) -> str:
    return typed_text(form, name).strip()


class BankPages:
    async def bank(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        p = request.query_params
        filters = {"search": p.get("search", "").strip()[:200], "topic": p.get("topic", ""),
                   "language": p.get("language", ""), "state": p.get("state", "published")}
        if filters["state"] not in STATES:
            filters["state"] = "published"
        rows, total = await run_in_threadpool(
            lambda: self.service.qa_list(search=filters["search"], topic=filters["topic"] or None,
                                         language=filters["language"] or None, state=filters["state"], limit=200))
        drafts = await run_in_threadpool(lambda: self.service.qa_list(state="draft", limit=0)[1])
        return self.render(request, session, "bank.html", account=account, rows=rows, total=total, filters=filters,
                           drafts=drafts, **self._bank_choices())

    def _bank_choices(self) -> dict:
        policy = self.service.policy
        return {"topics": [(code, t.name()) for code, t in policy.topics.items()],
                "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in policy.languages],
                "states": STATES}

    async def bank_entry(self, request: Request, error: str | None = None, status: int = 200,
                         typed: dict | None = None) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        key = request.path_params["key"]
        try:
            qa = await run_in_threadpool(self.service.qa_show, key)
        except LookupError as exc:
            return self.render(request, session, "error.html", status=404, account=account, message=str(exc))
        return self.render(request, session, "bank_entry.html", status=status, account=account, error=error, qa=qa,
                           typed=typed or {}, names=dict(self._bank_choices()["topics"]), **self._bank_choices())

    async def bank_new_form(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        return self.render(request, session, "bank_new.html", account=account, typed={}, **self._bank_choices())

    async def bank_add(self, request: Request) -> Response:
        passed = await self.gate(request, "/qa/new", "read the Q&A bank but cannot change it")
        if isinstance(passed, Response):
            return passed
        session, form, account = passed
        typed = {name: _text(form, name) for name in ("key", "language", "question", "answer")}
        typed["topics"] = [t for t in form.getlist("topics") if isinstance(t, str)]
        try:
            qa = await run_in_threadpool(lambda: self.service.qa_add(
                language=typed["language"], question=typed["question"], answer=typed["answer"],
                topics=typed["topics"], actor=account.name, key=typed["key"] or None,
                publish=form.get("draft") != "on"))
        except SHOWN as exc:
            return self.render(request, session, "bank_new.html", status=409, account=account, error=str(exc),
                               typed=typed, **self._bank_choices())
        log.info("console: Q&A %s added by %s", qa.key, account.name)
        session.say("ok", f"Q&A {qa.key} added ({qa.state})" + _duplicates_said(qa.near_duplicates))
        return self.redirect(session, f"/qa/{quote(qa.key)}")

    async def bank_act(self, request: Request) -> Response:
        """One change to one Q&A: through the gate, then ONE call on the service."""
        key, action = request.path_params["key"], request.path_params["action"]
        passed = await self.gate(request, f"/qa/{quote(key)}", "read the Q&A bank but cannot change it")
        if isinstance(passed, Response):
            return passed
        session, form, account = passed
        language = _text(form, "language")
        try:
            said = await run_in_threadpool(self._bank_change, key, action, form, language, account.name)
        except SHOWN as exc:
            log.info("console: %s on Q&A %s by %s refused: %s", action, key, account.name, exc)
            typed = {"language": language, "question": _text(form, "question"), "answer": _text(form, "answer"),
                     "reason": _text(form, "reason")}
            return await self.bank_entry(request, error=str(exc), status=409, typed=typed)
        log.info("console: %s on Q&A %s by %s", action, key, account.name)
        session.say("ok", said)
        return self.redirect(session, f"/qa/{quote(key)}" + (f"#v-{language}" if action == "version" else ""))

    def _bank_change(self, key: str, action: str, form, language: str, actor: str) -> str:
        service = self.service
        if action == "version":
            changed = service.qa_edit(key, actor=actor, language=language, question=_text(form, "question"),
                                      answer=_text(form, "answer"))
            return f"{LANGUAGE_NAMES.get(language, language)} version " + ("saved" if changed else "unchanged")
        if action == "topics":
            topics = [t for t in form.getlist("topics") if isinstance(t, str)]
            changed = service.qa_edit(key, actor=actor, topics=topics)
            return "Topics " + ("saved" if changed else "unchanged")
        if action == "remove-version":
            service.qa_remove_version(key, language, actor=actor)
            return f"{LANGUAGE_NAMES.get(language, language)} version removed"
        if action == "withdraw":
            service.qa_withdraw(key, _text(form, "reason"), actor=actor)
            return f"Q&A {key} withdrawn: no longer proposed in drafts or the FAQ"
        if action == "publish":
            service.publish_qa(key, actor=actor)
            return f"Q&A {key} published: drafts and the FAQ use it from now on"
        raise LookupError(f"no Q&A action {action!r}")

    async def bank_export(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session)
        if account is None:
            return self._to_login(request, session)
        drafts = request.query_params.get("drafts") == "1" and account.may_act
        text = await run_in_threadpool(lambda: self.service.qa_export_csv(include_drafts=drafts))
        day = self.service.clock().date().isoformat()
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="qa-bank-{day}.csv"', "cache-control": "no-store"})

    async def bank_import(self, request: Request) -> Response:
        passed = await self.gate(request, "/qa", "read the Q&A bank but cannot change it")
        if isinstance(passed, Response):
            return passed
        session, form, account = passed
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            session.say("error", "choose a CSV file to import")
            return self.redirect(session, "/qa")
        data = await upload.read(MAX_BYTES + 1)
        try:
            result = await run_in_threadpool(lambda: self.service.qa_import_csv(data, actor=account.name))
        except QAImportError as exc:
            log.info("console: Q&A import by %s refused: %d problem(s)", account.name, len(exc.problems))
            return self.render(request, session, "bank_import.html", status=400, account=account,
                               filename=upload.filename, problems=exc.problems, result=None)
        log.info("console: Q&A import by %s: %d added", account.name, len(result.added))
        return self.render(request, session, "bank_import.html", account=account, filename=upload.filename,
                           problems=[], result=result)


def _duplicates_said(duplicates) -> str:
    if not duplicates:
        return ""
    return "; near-duplicate of " + ", ".join(f"{d.key} ({d.similarity:.0f}% alike)" for d in duplicates)

