"""Bad input gets a clear error and changes nothing in the store."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kb.db import unit_of_work
from kb.intake import EmptyQueryError, InvalidRequesterError, QueryRejectedError, QuerySubmission, UnsupportedLanguageError
from kb.models import Base, Channel
from kb.service import QueryNotFoundError


def row_counts(helpdesk) -> dict[str, int]:
    with unit_of_work(helpdesk.sessions) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


@pytest.mark.parametrize(
    ("submission", "error", "message"),
    [
        (dict(text="   \n "), EmptyQueryError, "empty"),
        (dict(text="?!"), EmptyQueryError, "empty"),
        (dict(text="Wie hoch ist der gesetzliche Mindestlohn für unsere Lagerarbeiter in Deutschland?"),
         UnsupportedLanguageError, "looks written in 'de'"),
        (dict(text="What is the minimum wage?", country="XX"), InvalidRequesterError, "ISO 3166"),
        (dict(text="What is the minimum wage?", country="Ghanna"), InvalidRequesterError, "Did you mean: Ghana"),
        (dict(text="What is the minimum wage?", requester_type="investor"), InvalidRequesterError,
         "management, workers"),
        (dict(text="What is the minimum wage?", email="not-an-address"), InvalidRequesterError, "email address"),
        (dict(text="What is the minimum wage? " * 2000), QueryRejectedError, "limit is 20,000"),
    ],
    ids=["blank", "punctuation", "german", "country-code", "country-typo", "requester-type", "email", "huge"],
)
def test_rejected_query_explains_why_and_stores_nothing(helpdesk, submission, error, message):
    before = row_counts(helpdesk)
    submission.setdefault("email", "someone@example.com")
    with pytest.raises(error, match=message):
        helpdesk.service.submit_query(QuerySubmission(channel=Channel.EMAIL, **submission))
    assert row_counts(helpdesk) == before


def test_email_query_without_reply_address_is_rejected(helpdesk):
    with pytest.raises(InvalidRequesterError, match="a way to reply"):
        helpdesk.service.submit_query(QuerySubmission(text="What is the minimum wage?", channel=Channel.EMAIL))


def test_unknown_reference_is_reported(helpdesk):
    with pytest.raises(QueryNotFoundError, match="HD-2026-9999"):
        helpdesk.service.show_query("HD-2026-9999")
