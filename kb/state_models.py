"""The store's own bookkeeping, apart from the queries: who signs in, where the channels stand, store facts.

``Account`` and ``LoginAttempt`` are the console's people and their sign-in attempts; ``MailboxState``,
``ChatSession`` and ``ProcessedUpdate`` keep how far the email and Telegram channels got, so a restart
resumes them; ``StoreFact`` holds facts about the store itself. No relationship or foreign key links these
tables to the others. ``kb.models`` imports and re-exports them, so importing it registers every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from kb.model_types import AccountRole, Base, enum_column

__all__ = ["Account", "ChatSession", "LoginAttempt", "MailboxState", "ProcessedUpdate", "StoreFact"]


class Account(Base):
    """Someone who signs in to the console; the name is what the history records."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[AccountRole] = mapped_column(enum_column(AccountRole))
    #: argon2id; never the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    #: Removed accounts are kept (the history names them) but can no longer sign in.
    removed_at: Mapped[Optional[datetime]]


class LoginAttempt(Base):
    """One sign-in attempt, for slowing down password guessing."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_name: Mapped[str] = mapped_column(String(80), index=True)
    source: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class MailboxState(Base):
    """How far the ingestion got in one IMAP mailbox (reset when UIDVALIDITY changes)."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class ChatSession(Base):
    """Where a Telegram conversation stands, kept in the store so a restart resumes it."""

    __tablename__ = "chat_session"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(40), default="idle")
    language: Mapped[str] = mapped_column(String(8), default="en")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ProcessedUpdate(Base):
    """A Telegram update already handled: the same update twice is handled once."""

    __tablename__ = "processed_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(index=True)


class StoreFact(Base):
    """A fact about the store itself, not about any query: its identity (which names the files derived
    from it, such as the saved Q&A index), how many times the Q&A bank has changed, and which shipped bank
    was last seeded."""

    __tablename__ = "store_fact"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    text_value: Mapped[Optional[str]] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(BigInteger, default=0)
