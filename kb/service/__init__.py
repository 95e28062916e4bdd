"""The service layer: every use case of the helpdesk, each one unit of work.

Channels (email, Telegram, the CLI, the scheduler, the web console) turn what
they receive into one call on ``HelpdeskService`` and turn its plain result
back into a message or a page; no business rule lives in them, and none of
them opens a session. The use cases are grouped by who acts:

- ``intake``: queries arriving on any channel, follow-ups and ratings (``fresh``: the rows a new query brings,
  written in bulk);
- ``specialist``: review, correction, extension, replies, Q&A promotion;
- ``delivery``: the outbox as senders see it, chasing, the Q&A bank's upkeep;
- ``mail``: inbound email stored first and processed by workers, quarantine, the mailbox's health;
- ``conversation``: the state a Telegram conversation keeps between messages;
- ``accounts``: who may sign in to the console, and slowing down password guessing;
- ``console``: the review queue, search and the pages only the web console shows;
- ``facts``: the country a query is about and the requester's organisation, as the specialist confirms them;
- ``bank``: keeping the Q&A bank (versions in each language, withdrawal, CSV import and export);
- ``privacy``: personal data exported, erased on request or under the retention rule, and the audit trail.

A query's status changes only through ``kb.lifecycle.transition``.
"""

from kb.service.accounts import AccountUseCases
from kb.service.bank import QABankUseCases
from kb.service.console import ConsoleUseCases
from kb.service.conversation import ChatState, ConversationUseCases
from kb.service.core import NotAllowedError, QueryNotFoundError, utc_now
from kb.service.delivery import DeliveryUseCases
from kb.service.facts import QueryFactsUseCases
from kb.service.intake import FollowUpOutcome, FollowUpResult, IntakeUseCases
from kb.service.mail import MailUseCases, QuarantinedEmail, StoredEmail
from kb.service.privacy import PrivacyUseCases
from kb.service.specialist import SpecialistUseCases


class HelpdeskService(IntakeUseCases, SpecialistUseCases, DeliveryUseCases, MailUseCases, ConversationUseCases,
                      AccountUseCases, ConsoleUseCases, QABankUseCases, QueryFactsUseCases, PrivacyUseCases):
    """The helpdesk's use cases over one store, one policy and one topic model."""


__all__ = ["HelpdeskService", "ChatState", "QuarantinedEmail", "StoredEmail", "FollowUpOutcome", "FollowUpResult", "NotAllowedError",
           "QueryNotFoundError", "utc_now"]
