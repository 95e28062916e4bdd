"""Console accounts: add, change a password, remove, sign in (slowed down after repeated failures)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from kb.accounts import (
    AccountError,
    AccountView,
    SignInRefused,
    check_name,
    check_password,
    hasher,
    wait_before_next,
)
from kb.models import Account, AccountRole, LoginAttempt
from kb.privacy import audit
from kb.service.core import ServiceBase

log = logging.getLogger("kb.service")


class AccountUseCases(ServiceBase):
    def add_account(self, name: str, role: str, password: str, *, actor: str = "cli") -> AccountView:
        name, password = check_name(name), check_password(password)
        try:
            role_value = AccountRole(role)
        except ValueError:
            raise AccountError(f"role must be one of: {', '.join(r.value for r in AccountRole)}") from None
        with self.unit_of_work() as session:
            existing = session.scalar(select(Account).where(Account.name == name))
            if existing is not None and existing.removed_at is None:
                raise AccountError(f"an account named {name!r} exists already")
            if existing is None:
                existing = Account(name=name, created_at=self.clock())
                session.add(existing)
            existing.role, existing.password_hash, existing.removed_at = role_value, hasher().hash(password), None
            audit.record(session, at=self.clock(), actor=actor, action="account", channel="cli",
                         detail=f"account {name} added ({role_value.value})")
            return AccountView(name, role_value.value)

    def set_password(self, name: str, password: str, *, actor: str = "cli") -> None:
        password = check_password(password)
        with self.unit_of_work() as session:
            self._account(session, name).password_hash = hasher().hash(password)
            audit.record(session, at=self.clock(), actor=actor, action="account", channel="cli",
                         detail=f"password of {name} changed")

    def remove_account(self, name: str, *, actor: str = "cli") -> None:
        """The account can no longer sign in; the history that names it stays."""
        with self.unit_of_work() as session:
            self._account(session, name).removed_at = self.clock()
            audit.record(session, at=self.clock(), actor=actor, action="account", channel="cli",
                         detail=f"account {name} removed")

    def accounts(self) -> list[AccountView]:
        with self.unit_of_work() as session:
            rows = session.scalars(select(Account).where(Account.removed_at.is_(None)).order_by(Account.name))
            return [AccountView(a.name, a.role.value) for a in rows]

    def account(self, name: str) -> AccountView | None:
        """The account behind a session, or None once it is removed (its sessions end with it)."""
        with self.unit_of_work() as session:
            row = session.scalar(select(Account).where(Account.name == (name or "").lower(),
                                                       Account.removed_at.is_(None)))
            return AccountView(row.name, row.role.value) if row is not None else None

    def sign_in(self, name: str, password: str, *, source: str = "") -> AccountView:
        """The account if the password is right; ``SignInRefused`` otherwise, or when attempts must slow down."""
        from argon2.exceptions import InvalidHashError, VerificationError

        now = self.clock()
        name = (name or "").strip().lower()[:80]
        with self.unit_of_work() as session:
            attempts = list(session.scalars(select(LoginAttempt).where(LoginAttempt.account_name == name)
                                            .order_by(LoginAttempt.id.desc()).limit(30)))
            failures = []
            for attempt in attempts:  # the failures since the last success, oldest first
                if attempt.succeeded:
                    break
                failures.insert(0, attempt.at)
            wait = wait_before_next(failures, now)
            if wait:
                log.warning("sign-in for %r slowed down: %d failures in a row", name, len(failures))
                raise SignInRefused(f"too many failed attempts: try again in {int(wait.total_seconds()) + 1} s",
                                    wait)
            row = session.scalar(select(Account).where(Account.name == name, Account.removed_at.is_(None)))
            try:
                ok = row is not None and hasher().verify(row.password_hash, password or "")
            except (VerificationError, InvalidHashError):
                ok = False
            session.add(LoginAttempt(account_name=name, source=source[:64], at=now, succeeded=ok))
            if row is None:
                hasher().hash("unknown names take as long as known ones")
            view = AccountView(row.name, row.role.value) if ok else None
        if view is None:  # raised after the commit: the failed attempt is kept
            raise SignInRefused("wrong account name or password")
        return view

    def _account(self, session, name: str) -> Account:
        row = session.scalar(select(Account).where(Account.name == (name or "").lower(), Account.removed_at.is_(None)))
        if row is None:
            raise AccountError(f"no account named {name!r}")
        return row
