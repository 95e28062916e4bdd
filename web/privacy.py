"""The console's personal-data page: export what is held about a person, or erase it, on their request.

A mixin of ``web.views.Console`` with its rules: every view is one call on the service, every POST goes
through ``gate`` (CSRF token, account, role). Only specialists open the page: viewers never see who
asked, so they neither export nor erase (403).

Erasing cannot be undone, so it takes two steps, as on the command line: the first shows what would
change (the service's dry run: tables, rows, queries, files); the second erases only when the address
or Telegram id is typed again to confirm. The address travels only in POSTed forms, never in a URL
(URLs end up in logs and browser histories), and the export is a download named by its date, not by
the person.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from web.actions import typed_text

log = logging.getLogger("helpdesk.web")

REFUSAL = "cannot see, export or erase personal data"


def _person(form) -> str:
    return typed_text(form, "who").strip()[:320]


class PrivacyPages:
    async def privacy(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        if not account.may_act:
            return self.render(request, session, "error.html", status=403, account=account,
                               message=f"{account.name} is a viewer: viewers {REFUSAL}")
        return self.render(request, session, "privacy.html", account=account, typed="", plan=None)

    async def privacy_export(self, request: Request) -> Response:
        """The person's data as a zip download (the service audits the export)."""
        passed = await self.gate(request, "/privacy", REFUSAL)
        if isinstance(passed, Response):
            return passed
        session, form, account = passed
        who = _person(form)
        try:
            export = await run_in_threadpool(self.service.export_personal_data, who, actor=account.name,
                                             channel="web")
        except (ValueError, LookupError) as exc:
            return self.render(request, session, "privacy.html", status=_status(exc), account=account,
                               error=f"Nothing exported: {exc}", typed=who, plan=None)
        from kb.privacy.export import archive

        data = await run_in_threadpool(archive, export, self.service.policy.name)
        log.info("console: personal data exported by %s (%d quer%s)", account.name, len(export.data["queries"]),
                 "y" if len(export.data["queries"]) == 1 else "ies")
        day = export.data["exported_at"][:10]
        response = Response(data, media_type="application/zip", headers={
            "content-disposition": f'attachment; filename="personal-data-{day}.zip"', "cache-control": "no-store"})
        self.cookies.write(response, session)
        return response

    async def privacy_erase(self, request: Request) -> Response:
        """First what would change; then, with the address typed again, the erasure."""
        passed = await self.gate(request, "/privacy", REFUSAL)
        if isinstance(passed, Response):
            return passed
        session, form, account = passed
        who, confirmed = _person(form), typed_text(form, "confirm").strip()
        erase = self.service.erase_person
        try:
            if not confirmed or confirmed.lower() != who.lower():
                plan = await run_in_threadpool(lambda: erase(who, actor=account.name, dry_run=True, channel="web"))
                mismatch = "The confirmation does not match the address or id: nothing was erased." \
                    if confirmed else None
                return self.render(request, session, "privacy.html", status=409 if confirmed else 200,
                                   account=account, error=mismatch, typed=who, plan=plan)
            done = await run_in_threadpool(lambda: erase(who, actor=account.name, channel="web"))
        except (ValueError, LookupError) as exc:
            return self.render(request, session, "privacy.html", status=_status(exc), account=account,
                               error=f"Nothing erased: {exc}", typed=who, plan=None)
        log.info("console: personal data erased by %s (%d quer%s)", account.name, len(done.references),
                 "y" if len(done.references) == 1 else "ies")
        session.say("ok", f"Erased: {len(done.references)} quer{'y' if len(done.references) == 1 else 'ies'}, "
                          f"{sum(done.counts.values())} row(s) changed, {len(done.files)} file(s) removed")
        return self.redirect(session, "/privacy")


def _status(exc: Exception) -> int:
    return 404 if isinstance(exc, LookupError) else 400
