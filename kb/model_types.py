"""The store's column types and value enums, shared by the mapped tables of ``kb.models``.

``Base`` is the declarative base every table derives from: one ``MetaData`` with the ``NAMING`` convention
(the constraint and index names the migrations use), and ``UTCDateTime`` for every ``datetime`` column, so
SQLite and PostgreSQL return the same timezone-aware UTC values. ``enum_column`` is the column type of the
str enums below (their values, stored as strings). ``kb.models`` re-exports everything here; no tables.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, DateTime, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

__all__ = ["NAMING", "OPEN_STATUSES", "AccountRole", "Base", "Channel", "Direction", "OutboxKind", "QAOrigin",
           "QueryStatus", "RequesterType", "TopicSource", "UTCDateTime", "enum_column"]


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC times")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        return None if value is None else value.replace(tzinfo=timezone.utc)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def enum_column(cls: type[enum.Enum]) -> Enum:
    """The column type of a str enum: its values stored as short strings, not a native database enum."""
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class RequesterType(str, enum.Enum):
    MANAGEMENT = "management"
    WORKERS = "workers"
    EMPLOYERS_ORGANISATION = "employers_organisation"
    GOVERNMENT = "government"
    OTHER = "other"


class Channel(str, enum.Enum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    CLI = "cli"


class QueryStatus(str, enum.Enum):
    """Where a query stands in its life cycle; ``kb.lifecycle`` is the only code that changes it."""

    NEW = "new"
    MANUAL_TRIAGE = "manual_triage"
    #: Confidential by the requester's wish: not routed until the specialist releases it.
    HELD = "held"
    ROUTED = "routed"
    AWAITING_INPUTS = "awaiting_inputs"
    DRAFT_READY = "draft_ready"
    ANSWERED = "answered"
    REOPENED = "reopened"
    CLOSED = "closed"


#: Statuses of a query that still needs work (it can be chased, reviewed, answered).
OPEN_STATUSES = (QueryStatus.NEW, QueryStatus.MANUAL_TRIAGE, QueryStatus.HELD, QueryStatus.ROUTED, QueryStatus.AWAITING_INPUTS,
                 QueryStatus.DRAFT_READY, QueryStatus.REOPENED)


class TopicSource(str, enum.Enum):
    CLASSIFIER = "classifier"
    SPECIALIST = "specialist"


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"


class OutboxKind(str, enum.Enum):
    ROUTING = "routing"
    ACKNOWLEDGEMENT = "acknowledgement"
    REPLY = "reply"
    REMINDER = "reminder"
    WARNING = "warning"
    DIGEST = "digest"
    REVIEW = "review"
    #: An automatic notice to a sender (a refusal, a quarantined message): counted by the mail-loop guard.
    NOTICE = "notice"
    #: The draft reply sent to a department's focal points for their agreement.
    CLEARANCE = "clearance"
    #: The one reminder asking a requester whether the reply was useful (off unless configured).
    FEEDBACK = "feedback"


class QAOrigin(str, enum.Enum):
    SHIPPED = "shipped"
    PROMOTED = "promoted"
    WRITTEN = "written"


class AccountRole(str, enum.Enum):
    #: Acts on queries: reviews, corrects, replies, publishes.
    SPECIALIST = "specialist"
    #: Reads (an advisory-group member); confidential queries' identities stay hidden.
    VIEWER = "viewer"
