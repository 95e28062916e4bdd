"""Typed settings: the helpdesk file (topics, departments, deadlines) and the environment.

The file holds what a helpdesk manager edits; the environment holds where
things are (database URL, data folder) and every secret. Any mistake in the
file is reported as one message naming each wrong field and what is allowed,
and the program stops before touching anything.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_FILE = Path(__file__).with_name("helpdesk.toml")
SUPPORTED_LANGUAGES = ("en", "fr", "es")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(Exception):
    """The configuration is wrong; the message lists every problem with its field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_email(value: str) -> str:
    if not EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


class HelpdeskSection(_Strict):
    name: str = Field(min_length=1)
    email: str
    languages: list[Literal["en", "fr", "es"]] = Field(default=list(SUPPORTED_LANGUAGES), min_length=1)
    reference_prefix: str = Field(default="HD", pattern=r"^[A-Z]{2,6}$")
    specialist_email: str | None = None

    _email = field_validator("email")(_check_email)

    @field_validator("specialist_email")
    @classmethod
    def _specialist(cls, value: str | None) -> str | None:
        return None if value is None else _check_email(value)


class DeadlinesSection(_Strict):
    target_reply_days: int = Field(default=14, ge=1, le=365)
    input_due_days: int = Field(default=5, ge=1, le=90)
    day_count: Literal["calendar", "working"] = "calendar"
    holiday_country: str | None = None
    reminder_every_days: int = Field(default=3, ge=1, le=60)
    max_reminders: int = Field(default=2, ge=0, le=20)
    warn_days_before_target: int = Field(default=3, ge=0, le=60)
    holding_messages: bool = False
    digest_hour: int = Field(default=8, ge=0, le=23)
    feedback_reminder_days: int = Field(default=0, ge=0, le=60)

    @field_validator("holiday_country")
    @classmethod
    def _known_holiday_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays

        code = value.upper()
        if code not in holidays.list_supported_countries():
            raise ValueError(f"{value!r} is not a country the holidays package knows (use an ISO 3166 alpha-2 code)")
        return code


class ClassifierSection(_Strict):
    confidence_threshold: float = Field(default=0.4, gt=0, lt=1)
    max_topics: int = Field(default=3, ge=1, le=6)
    #: Extra labelled-example files (``topic<TAB>question``), besides the shipped ones.
    examples: list[str] = Field(default_factory=list)
    #: The evaluation set (JSONL) ``helpdesk train`` checks a new model on; empty: the team's shipped one.
    evaluation_set: str = ""


class MatchingSection(_Strict):
    top_k: int = Field(default=3, ge=1, le=10)
    good_match_score: float = Field(default=45, ge=0, le=100)


class MailSection(_Strict):
    max_attempts: int = Field(default=3, ge=1, le=20)
    automatic_notices_per_day: int = Field(default=1, ge=0, le=100)
    confidential_words: list[str] = Field(default=["confidential", "confidentiel", "confidentielle",
                                                   "confidencial"])
    alert_after_minutes: int = Field(default=15, ge=1, le=24 * 60)


class PrivacySection(_Strict):
    #: Years a closed query's personal data is kept; then the scheduler anonymises it. 0: kept until erased
    #: on request.
    retention_years: int = Field(default=5, ge=0, le=100)


class RoutingSection(_Strict):
    always_consult: list[str] = Field(default_factory=list)


class FocalPointEntry(_Strict):
    name: str = Field(min_length=1)
    email: str

    _email = field_validator("email")(_check_email)


class DepartmentEntry(_Strict):
    name: str = Field(min_length=1)
    focal_points: list[FocalPointEntry] = Field(min_length=1)


class TopicEntry(_Strict):
    departments: list[str]
    names: dict[str, str]
    description: str = ""

    @field_validator("names")
    @classmethod
    def _english_name(cls, value: dict[str, str]) -> dict[str, str]:
        if "en" not in value:
            raise ValueError("needs at least an English name (en)")
        return value


class HelpdeskFile(_Strict):
    helpdesk: HelpdeskSection
    deadlines: DeadlinesSection = DeadlinesSection()
    classifier: ClassifierSection = ClassifierSection()
    matching: MatchingSection = MatchingSection()
    routing: RoutingSection = RoutingSection()
    mail: MailSection = MailSection()
    privacy: PrivacySection = PrivacySection()
    departments: dict[str, DepartmentEntry] = Field(min_length=1)
    topics: dict[str, TopicEntry] = Field(min_length=2)

    @model_validator(mode="after")
    def _references_exist(self) -> "HelpdeskFile":
        known = sorted(self.departments)
        problems = []
        for code, topic in self.topics.items():
            if not topic.departments:
                problems.append(f"topics.{code}.departments: a topic must name at least one department")
            for dep in topic.departments:
                if dep not in self.departments:
                    problems.append(f"topics.{code}.departments: unknown department {dep!r} (known: {', '.join(known)})")
        for dep in self.routing.always_consult:
            if dep not in self.departments:
                problems.append(f"routing.always_consult: unknown department {dep!r} (known: {', '.join(known)})")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _describe(error: ValidationError) -> list[str]:
    lines = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown field (check its spelling)"
        elif e["type"] == "missing":
            message = "required field is missing"
        for part in message.split("\n"):
            lines.append(f"{where}: {part}" if where and not part.startswith(("topics.", "routing.")) else part)
    return lines


def load_helpdesk_file(path: Path) -> HelpdeskFile:
    """Read and validate the helpdesk file; raises ``ConfigError`` listing every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file (set HELPDESK_CONFIG to an existing file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        return HelpdeskFile.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  - {line}" for line in _describe(exc))
        raise ConfigError(f"{path}: the configuration has {exc.error_count()} problem(s):\n{problems}") from None


class Settings(BaseSettings):
    """Where things are, from the environment (or a ``.env`` file). Secrets only ever come from here."""

    model_config = SettingsConfigDict(env_prefix="HELPDESK_", env_file=".env", extra="ignore", populate_by_name=True)

    #: The helpdesk file; the shipped default is a complete, realistic example.
    config: Path = DEFAULT_FILE
    #: Where the SQLite database and the trained model live by default.
    data_dir: Path = Path("var")
    #: Any SQLAlchemy URL; the environment variable is DATABASE_URL (no prefix), as most hosts set it.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    #: The trained topic model (built by ``helpdesk train``, or on first run).
    model_path: Path | None = None
    #: What is kept to start fast and can always be rebuilt (the saved Q&A index, the unpacked language
    #: model); default: ``cache`` in the data folder. Safe to delete; may be shared by several stores.
    cache_dir: Path | None = None

    # --- email in (IMAP). Secrets: HELPDESK_IMAP_PASSWORD or an OAuth2 token, never the file.
    imap_host: str | None = None
    imap_port: int | None = None
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    #: "tls" (port 993), "starttls" (143) or "plain" (only for a loopback test server).
    imap_security: Literal["tls", "starttls", "plain"] = "tls"
    imap_mailbox: str = "INBOX"
    #: Move handled mail to this folder; unset: flag it \Seen and $HelpdeskDone instead.
    imap_done_folder: str | None = None
    #: Where the server has no IDLE, look for new mail this often.
    imap_poll_seconds: float = 60.0
    imap_verify_tls: bool = True
    # --- email out (SMTP)
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["tls", "starttls", "plain"] = "starttls"
    smtp_verify_tls: bool = True
    # --- OAuth2 (XOAUTH2) for both: a ready access token, or the refresh-token flow.
    oauth2_access_token: SecretStr | None = None
    oauth2_token_url: str | None = None
    oauth2_client_id: str | None = None
    oauth2_client_secret: SecretStr | None = None
    oauth2_refresh_token: SecretStr | None = None
    oauth2_scope: str | None = None
    # --- Telegram: the bot token (secret) and the specialists' Telegram user ids, comma-separated.
    telegram_token: SecretStr | None = None
    telegram_specialists: str = ""
    #: For a Bot API server other than Telegram's (e.g. a local one); empty: Telegram's.
    telegram_base_url: str | None = None
    #: Set to receive updates by webhook at this public HTTPS URL instead of long polling.
    telegram_webhook_url: str | None = None
    telegram_webhook_port: int = 8443
    # --- limits on inbound mail
    max_message_mb: float = Field(default=25, gt=0)
    max_attachment_mb: float = Field(default=10, gt=0)

    def specialist_ids(self) -> tuple[int, ...]:
        try:
            return tuple(int(x) for x in self.telegram_specialists.replace(" ", "").split(",") if x)
        except ValueError:
            raise ConfigError(f"HELPDESK_TELEGRAM_SPECIALISTS must be Telegram user ids separated by commas, "
                              f"not {self.telegram_specialists!r}") from None

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'helpdesk.db').as_posix()}"

    def resolved_model_path(self) -> Path:
        return self.model_path or self.data_dir / "topic-model.npz"

    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"
