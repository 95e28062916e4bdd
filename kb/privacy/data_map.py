"""The map of personal data: every column of the store and every file of the data folder, classified.

A data-protection officer asks "where is a person's data?", and export, erasure and retention must
answer the same way; this module is where the answer is written down. Each column says what it holds
(``Holds``), and from that follows what an export shows and what an erasure does to it:

============  ==========================================================  ===========================
Holds         What it is                                                  On erasure
============  ==========================================================  ===========================
IDENTITY      names a requester: name, email address, Telegram chat id    cleared
THEIR_WORDS   written by the requester: a query, a message, a comment     anonymised
MAY_MENTION   written by staff or the system about a query (drafts,       anonymised
              replies, inputs, emails sent, history): may quote or name
              the requester
ORIGINAL      bytes as they came: raw emails, attachments                 removed
PROFILE       facts the reports count, identifying no one alone: sector,  kept (a name in it replaced)
              country, region, type of requester, organisation
STAFF         names the helpdesk's own people (accounts, focal points)    kept
NOTHING       ids, dates, statuses, codes, the Q&A bank's public text     kept
============  ==========================================================  ===========================

``tests/test_privacy.py`` fails when a column is added to the models without being classified here,
and when a classified column no longer exists. ``helpdesk privacy map`` prints this map.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Holds(str, enum.Enum):
    IDENTITY = "identity"
    THEIR_WORDS = "their words"
    MAY_MENTION = "may mention"
    ORIGINAL = "original"
    PROFILE = "profile"
    STAFF = "staff"
    NOTHING = "nothing"


#: What erasure does to a column of each kind.
ON_ERASURE = {
    Holds.IDENTITY: "cleared",
    Holds.THEIR_WORDS: "anonymised",
    Holds.MAY_MENTION: "anonymised",
    Holds.ORIGINAL: "removed",
    Holds.PROFILE: "kept (the person's name replaced where it appears)",
    Holds.STAFF: "kept",
    Holds.NOTHING: "kept",
}

I, W, M, O, P, S, N = (Holds.IDENTITY, Holds.THEIR_WORDS, Holds.MAY_MENTION, Holds.ORIGINAL, Holds.PROFILE,
                       Holds.STAFF, Holds.NOTHING)

#: Every column of every table of the store.
COLUMNS: dict[str, dict[str, Holds]] = {
    "requester": dict(id=N, name=I, email=I, telegram_chat_id=I, organisation=P, sector=P, country=P, region=P,
                      requester_type=P, created_at=N, erased_at=N),
    "query": dict(id=N, reference=N, requester_id=N, channel=N, source_key=M, subject=W, text=W, language=N,
                  received_at=N, target_reply_date=N, original_target_date=N, target_extension_reason=M,
                  country_concerned=P, region=P, country_source=N, suggested_organisation=M, status=N,
                  confidential=N, needs_manual_triage=N, triage=M, answered_at=N, closed_at=N, self_served=N,
                  referred_by=S, erased_at=N, erased_by=S),
    "message": dict(id=N, query_id=N, direction=N, channel=N, at=N, sender=I, recipients=I, subject=W, body=W,
                    email_message_id=M, in_reply_to=M, telegram_chat_id=I, telegram_message_id=N),
    "raw_email": dict(id=N, mailbox=N, uidvalidity=N, uid=N, message_id_header=M, received_at=N, raw=O, outcome=N,
                      reason=M, message_id=N, attempts=N, claimed_until=N, last_error=M),
    "attachment": dict(id=N, message_id=N, filename=W, content_type=N, size=N, data=O),
    "feedback": dict(id=N, query_id=N, rating=N, comment=W, received_at=N),
    "query_event": dict(id=N, query_id=N, at=N, kind=N, detail=M, actor=S),
    "query_topic": dict(id=N, query_id=N, topic_code=N, confidence=N, source=N, confirmed=N),
    "consultation": dict(id=N, query_id=N, department_code=N, reason=N, requested_at=N, due_date=N,
                         reminders_sent=N, last_reminder_at=N, escalated_at=N, input_received_at=N, bounced_at=N,
                         bounce=S, query_open=N),
    "focal_point_input": dict(id=N, consultation_id=N, from_address=S, text=M, received_at=N, message_id=N),
    "clearance": dict(id=N, query_id=N, consultation_id=N, requested_at=N, requested_by=S, due_date=N,
                      draft_text=M, reminders_sent=N, last_reminder_at=N, answered_at=N, verdict=N, comment=M,
                      answered_by=S),
    "draft": dict(id=N, query_id=N, created_at=N, language=N, text=M, notes=M, sources=N, edited_text=M,
                  approved_by=S, approved_at=N),
    "reply": dict(id=N, query_id=N, draft_id=N, text=M, sent_by=S, created_at=N),
    "outbox": dict(id=N, dedupe_key=N, kind=N, channel=N, query_id=N, consultation_id=N, recipients=I, subject=M,
                   body=M, headers=M, email_message_id=N, created_at=N, due_at=N, attempts=N, last_attempt_at=N,
                   last_error=M, sent_at=N, failed_at=N),
    "chat_session": dict(chat_id=I, state=N, language=N, data=W, updated_at=N),
    "processed_update": dict(update_id=N, chat_id=I, at=N),
    # The Q&A bank is public text: promoted Q&As were anonymised and read by the specialist before publication
    # (erasure still replaces a requester's name or address should one remain).
    "qa": dict(id=N, key=N, topics=N, language=N, origin=N, source_query_id=N, published=N, withdrawn_at=N,
               withdrawn_reason=M, edited_by=S, created_at=N, updated_at=N),
    "qa_version": dict(id=N, qa_id=N, language=N, question=M, answer=M, updated_at=N),
    "account": dict(id=N, name=S, role=N, password_hash=S, created_at=N, removed_at=N),
    "login_attempt": dict(id=N, account_name=S, source=S, at=N, succeeded=N),
    # Names queries and requesters by id only, never a person's name or address.
    "audit_entry": dict(id=N, at=N, actor=S, action=N, query_id=N, requester_id=N, channel=N, detail=N),
    "reference_counter": dict(year=N, last_number=N),
    "mailbox_state": dict(mailbox=N, uidvalidity=N, last_uid=N, updated_at=N),
    "store_fact": dict(key=N, text_value=N, number=N),
}


@dataclass(frozen=True)
class DataFile:
    """Files of the data folder (relative to it) and what they hold."""

    pattern: str
    holds: Holds
    what: str
    on_erasure: str


#: Every kind of file the helpdesk writes under its data folder.
FILES: tuple[DataFile, ...] = (
    DataFile("helpdesk.db, helpdesk.db-wal, helpdesk.db-shm", O,
             "the SQLite store (every column above), its write-ahead log and index",
             "rows changed as above, then VACUUM and a truncating checkpoint so that no free page or log frame "
             "keeps a former value"),
    DataFile("inbox/*.eml, inbox/new/*, inbox/processing/*", O, "emails dropped into the drop folder, not yet read",
             "not touched (not yet the helpdesk's: they are read first)"),
    DataFile("inbox/done/*.eml, inbox/quarantine/*", O, "the drop folder's copies of emails read or quarantined",
             "removed when they come from or mention the person"),
    DataFile("outbox/*.eml", M, "emails written instead of sent when no SMTP server is set",
             "removed when addressed to the person, about their queries, or mentioning them"),
    DataFile("topic-model.npz", N, "the topic model: a vocabulary and weights learnt from the Q&A bank and from "
             "specialist-confirmed queries after anonymisation, so no requester's name, address or phone", "kept"),
    DataFile("erasures.jsonl", N, "the erasure log: requester ids and query references erased on request, "
             "never a name or an address (for `helpdesk privacy reapply` after a backup is restored)", "kept"),
    DataFile("cache/*", N, "the saved Q&A index, stemmed concepts and the language model: the public Q&A bank only",
             "kept"),
)

#: The kinds an export shows for the person's own rows (everything but the staff's names and bare ids).
EXPORTED = (Holds.IDENTITY, Holds.THEIR_WORDS, Holds.MAY_MENTION, Holds.ORIGINAL, Holds.PROFILE)

#: The kinds erasure rewrites.
ERASED = (Holds.IDENTITY, Holds.THEIR_WORDS, Holds.MAY_MENTION, Holds.ORIGINAL)


def columns(*kinds: Holds) -> list[tuple[str, str]]:
    """(table, column) of every column holding one of ``kinds``."""
    return [(table, column) for table, cols in COLUMNS.items() for column, holds in cols.items() if holds in kinds]


def unclassified(metadata) -> list[str]:
    """Columns of the schema this map does not classify, and classified ones the schema no longer has."""
    schema = {(t.name, c.name) for t in metadata.sorted_tables for c in t.columns}
    mapped = {(t, c) for t, cols in COLUMNS.items() for c in cols}
    return ([f"{t}.{c} is not classified in kb/privacy/data_map.py" for t, c in sorted(schema - mapped)]
            + [f"{t}.{c} is classified but no longer exists" for t, c in sorted(mapped - schema)])
