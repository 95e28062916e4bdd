"""Who may sign in to the console, and how password guessing is slowed down.

Passwords are hashed with argon2id (``argon2-cffi``); the hash alone is stored.
Sign-in attempts are kept, and after ``FREE_FAILURES`` failures in a row for
one name within ``WINDOW``, each further attempt must wait: 30 s, then twice
as long each time, up to 15 minutes. The rule is pure (``wait_before_next``),
so it is tested at fixed instants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

#: Failures allowed before attempts are slowed down.
FREE_FAILURES = 4
#: Failures older than this are forgotten.
WINDOW = timedelta(minutes=15)
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)
MIN_PASSWORD = 10
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


class AccountError(ValueError):
    """A bad name, a weak password, an unknown account: the message says what to fix."""


class SignInRefused(PermissionError):
    """Wrong name or password (the message never says which), or too many attempts: wait ``retry_after``."""

    def __init__(self, message: str, retry_after: timedelta = timedelta(0)) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class AccountView:
    name: str
    role: str

    @property
    def may_act(self) -> bool:
        """Specialists act on queries; viewers only read."""
        return self.role == "specialist"


def check_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not NAME.match(name):
        raise AccountError("an account name is 2 to 80 characters: lower-case letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def wait_before_next(failures: Sequence[datetime], now: datetime) -> timedelta:
    """How long the next attempt must wait, given the recent failures in a row (oldest first)."""
    recent = [at for at in failures if now - at < WINDOW]
    extra = len(recent) - FREE_FAILURES
    if extra <= 0:
        return timedelta(0)
    wait = min(FIRST_WAIT * (2 ** (extra - 1)), LONGEST_WAIT)
    remaining = recent[-1] + wait - now
    return max(remaining, timedelta(0))


def hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()
