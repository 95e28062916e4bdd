"""The rules a helpdesk runs by: its topics, departments, focal points and deadlines.

These are plain values built by the composition root from the configuration
file; ``kb`` never reads files or the environment itself. Validation of the
file lives with the file (``config/``); the invariants that the service relies
on are checked again here, so a policy built in a test is just as safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PolicyError(ValueError):
    """The policy contradicts itself (a topic routed to a department that does not exist...)."""


@dataclass(frozen=True)
class FocalPoint:
    name: str
    email: str


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    focal_points: tuple[FocalPoint, ...]


@dataclass(frozen=True)
class Topic:
    code: str
    names: dict[str, str]
    description: str
    departments: tuple[str, ...]

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names.get("en") or self.code


@dataclass(frozen=True)
class Deadlines:
    target_reply_days: int = 14
    input_due_days: int = 5
    day_count: str = "calendar"  # or "working"
    holiday_country: str | None = None
    reminder_every_days: int = 3
    max_reminders: int = 2
    warn_days_before_target: int = 3
    holding_messages: bool = False
    digest_hour: int = 8
    #: Days after the reply to remind a requester who gave no feedback, once; 0: never.
    feedback_reminder_days: int = 0


@dataclass(frozen=True)
class MailRules:
    """How the email channel protects itself and its requesters."""

    #: A message whose processing fails this many times is quarantined, and the specialist told.
    max_attempts: int = 3
    #: Automatic notices (acknowledgements, refusals) to one address in 24 hours: bounds mail loops.
    automatic_notices_per_day: int = 1
    #: Words in a subject by which a requester asks for confidentiality (matched as whole words, any case).
    confidential_words: tuple[str, ...] = ("confidential", "confidentiel", "confidentielle", "confidencial")
    #: Tell the specialist when no mailbox fetch succeeded for this long (and again when it recovers).
    alert_after_minutes: int = 15


@dataclass(frozen=True)
class HelpdeskPolicy:
    name: str
    email: str
    languages: tuple[str, ...]
    reference_prefix: str
    topics: dict[str, Topic]
    departments: dict[str, Department]
    always_consult: tuple[str, ...] = ()
    deadlines: Deadlines = field(default_factory=Deadlines)
    confidence_threshold: float = 0.4
    max_topics: int = 3
    top_k: int = 3
    good_match_score: float = 45.0
    #: Telegram user ids of the specialists: they get review cards and may use specialist commands.
    specialist_chats: tuple[int, ...] = ()
    #: Where warnings, escalations and the digest go (the helpdesk address when unset).
    specialist_email: str | None = None
    mail: MailRules = field(default_factory=MailRules)
    #: Years a closed query's personal data is kept (0: until erased on request); see ``kb.privacy.retention``.
    retention_years: int = 5

    def __post_init__(self) -> None:
        for topic in self.topics.values():
            if not topic.departments:
                raise PolicyError(f"topic {topic.code!r} has no department to route to")
            for code in topic.departments:
                if code not in self.departments:
                    raise PolicyError(f"topic {topic.code!r} names unknown department {code!r}")
        for code in self.always_consult:
            if code not in self.departments:
                raise PolicyError(f"always_consult names unknown department {code!r}")

    @property
    def topic_codes(self) -> tuple[str, ...]:
        return tuple(self.topics)

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    @property
    def specialist_address(self) -> str:
        return self.specialist_email or self.email
