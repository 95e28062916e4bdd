"""How far ingestion got in each mailbox (for progress and for audits).

Correctness does not depend on it: every handled message is recorded by
(mailbox, UIDVALIDITY, UID) and by Message-ID in ``raw_email``. This row only
says where a mailbox stands, and is reset when the server changes UIDVALIDITY.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.models import MailboxState


def record_progress(session: Session, mailbox: str, uidvalidity: int, uid: int, now: datetime) -> None:
    state = session.get(MailboxState, mailbox)
    if state is None:
        try:
            with session.begin_nested():  # another reader may create it at the same moment
                session.add(MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=uid, updated_at=now))
            return
        except IntegrityError:
            state = session.get(MailboxState, mailbox, populate_existing=True)
    if state.uidvalidity != uidvalidity:
        state.uidvalidity, state.last_uid = uidvalidity, 0
    state.last_uid, state.updated_at = max(state.last_uid, uid), now
