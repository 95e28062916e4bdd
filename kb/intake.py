"""What a channel hands to the service, and the checks made before anything is stored.

Every check here runs before the first write, so a rejected submission leaves
the store exactly as it was, and the error says what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from classifier.language import LanguageDetector
from kb.models import Channel, RequesterType
from kb.regions import Country, CountryDirectory, UnknownCountryError

#: Longer texts are not questions but documents; the channel should attach them instead.
MAX_QUERY_CHARS = 20_000
MIN_QUERY_LETTERS = 3


class QueryRejectedError(ValueError):
    """A submission the helpdesk cannot accept; the message tells the sender why."""


class EmptyQueryError(QueryRejectedError):
    pass


class UnsupportedLanguageError(QueryRejectedError):
    def __init__(self, detected: str, supported: tuple[str, ...]) -> None:
        super().__init__(
            f"The helpdesk answers in {', '.join(supported)}; this query looks written in {detected!r}. "
            "Please write in one of those languages."
        )
        self.detected = detected


class InvalidRequesterError(QueryRejectedError):
    pass


@dataclass(frozen=True)
class QuerySubmission:
    """One query as a channel received it. Only ``text`` and ``channel`` are required."""

    text: str
    channel: Channel
    subject: str | None = None
    email: str | None = None
    telegram_chat_id: int | None = None
    name: str | None = None
    organisation: str | None = None
    sector: str | None = None
    country: str | None = None
    requester_type: str | None = None
    language: str | None = None
    #: The language to assume when the text is too short to tell (e.g. the Telegram chat's so far).
    default_language: str | None = None
    confidential: bool = False
    received_at: datetime | None = None
    #: The submission's identity at its source (Message-ID, Telegram update id...): resubmitting is safe.
    source_key: str | None = None
    #: The requester asked for confidentiality: nothing is routed until the specialist releases the query.
    hold_for_release: bool = False


@dataclass(frozen=True)
class CheckedSubmission:
    submission: QuerySubmission
    text: str
    language: str
    country: Country | None
    requester_type: RequesterType | None


def parse_requester_type(value: str | None) -> RequesterType | None:
    if value is None or not value.strip():
        return None
    key = value.strip().lower().replace("'", "").replace("-", "_").replace(" ", "_")
    aliases = {"employer": "employers_organisation", "employers": "employers_organisation",
               "worker": "workers", "union": "workers", "gov": "government", "enterprise": "management",
               "company": "management"}
    key = aliases.get(key, key)
    try:
        return RequesterType(key)
    except ValueError:
        allowed = ", ".join(t.value for t in RequesterType)
        raise InvalidRequesterError(f"requester type {value!r} is not one of: {allowed}") from None


def check_submission(
    submission: QuerySubmission, detector: LanguageDetector, countries: CountryDirectory
) -> CheckedSubmission:
    """Validate a submission; raises a ``QueryRejectedError`` naming the problem."""
    text = (submission.text or "").strip()
    if sum(map(str.isalpha, text)) < MIN_QUERY_LETTERS:
        raise EmptyQueryError("The query is empty: please write your question.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRejectedError(
            f"The query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}. "
            "Please summarise the question and attach long documents."
        )
    if submission.email is None and submission.telegram_chat_id is None and submission.channel is not Channel.CLI:
        raise InvalidRequesterError("A query needs a way to reply: an email address or a Telegram chat.")
    if submission.email is not None and "@" not in submission.email:
        raise InvalidRequesterError(f"{submission.email!r} is not an email address.")
    try:
        country = countries.resolve(submission.country) if submission.country else None
    except UnknownCountryError as exc:
        raise InvalidRequesterError(str(exc)) from exc
    requester_type = parse_requester_type(submission.requester_type)
    if submission.language:
        if submission.language not in detector.supported:
            raise UnsupportedLanguageError(submission.language, detector.supported)
        language = submission.language
    else:
        guess = detector.detect(f"{submission.subject or ''}\n{text}", default=submission.default_language)
        if not guess.supported:
            raise UnsupportedLanguageError(guess.code, detector.supported)
        language = guess.code
    return CheckedSubmission(submission, text, language, country, requester_type)
