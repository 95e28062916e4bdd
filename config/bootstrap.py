"""The composition root: the one place that builds the helpdesk from its parts.

``bootstrap()`` reads the settings, validates the helpdesk file, opens the
store and migrates it, seeds the shipped Q&As, loads the topic model (training
one on a fresh checkout), and returns a ``Helpdesk`` holding the service. Tests
call it with their own settings (a PostgreSQL URL, a temporary folder, a fixed
clock), so nothing here is global.
"""

from __future__ import annotations

import logging
from importlib import resources
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from classifier.model import (
    LabelledExample,
    ModelFileError,
    TopicModel,
    load_examples,
    train_topic_model,
)
from config.erasure_log import ErasureLogFile
from config.settings import ConfigError, HelpdeskFile, Settings, load_helpdesk_file
from kb.db import make_engine, migrate, session_factory
from kb.policy import Deadlines, Department, FocalPoint, HelpdeskPolicy, MailRules, Topic
from kb.match_training import pair_examples
from kb.qa_bank import shipped_qas
from kb.service import HelpdeskService, utc_now

log = logging.getLogger(__name__)

SHIPPED_EXAMPLES = Path(str(resources.files("classifier") / "data"))
MIN_EXAMPLES_PER_TOPIC = 5


def build_policy(file: HelpdeskFile, specialist_chats: tuple[int, ...] = ()) -> HelpdeskPolicy:
    """Turn the validated file into the plain values the service runs by."""
    h, d = file.helpdesk, file.deadlines
    return HelpdeskPolicy(
        name=h.name,
        email=h.email,
        languages=tuple(h.languages),
        reference_prefix=h.reference_prefix,
        topics={code: Topic(code, dict(t.names), t.description, tuple(t.departments)) for code, t in file.topics.items()},
        departments={
            code: Department(code, dep.name, tuple(FocalPoint(fp.name, fp.email) for fp in dep.focal_points))
            for code, dep in file.departments.items()
        },
        always_consult=tuple(file.routing.always_consult),
        deadlines=Deadlines(d.target_reply_days, d.input_due_days, d.day_count, d.holiday_country,
                            d.reminder_every_days, d.max_reminders, d.warn_days_before_target, d.holding_messages,
                            d.digest_hour, d.feedback_reminder_days),
        confidence_threshold=file.classifier.confidence_threshold,
        max_topics=file.classifier.max_topics,
        top_k=file.matching.top_k,
        good_match_score=file.matching.good_match_score,
        specialist_chats=specialist_chats,
        specialist_email=h.specialist_email,
        mail=MailRules(file.mail.max_attempts, file.mail.automatic_notices_per_day,
                       tuple(w.lower() for w in file.mail.confidential_words), file.mail.alert_after_minutes),
        retention_years=file.privacy.retention_years,
    )


def example_files(file: HelpdeskFile, config_path: Path) -> list[Path]:
    extra = [(config_path.parent / p) if not Path(p).is_absolute() else Path(p) for p in file.classifier.examples]
    return sorted(SHIPPED_EXAMPLES.glob("*.tsv")) + extra


def training_set(helpdesk: "Helpdesk") -> list[LabelledExample]:
    """The shipped and configured examples, plus the Q&A bank and specialist-confirmed queries."""
    codes = set(helpdesk.policy.topic_codes)
    try:
        examples = [e for e in load_examples(helpdesk.example_paths) if not e.topics or codes & set(e.topics)]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"classifier.examples: {exc}") from None
    examples += helpdesk.service.learned_examples()
    examples += [e for e in pair_examples(shipped_qas()) if codes >= set(e.topics)]
    counts = {code: 0 for code in codes}
    for e in examples:
        for code in e.topics:
            if code in counts:
                counts[code] += 1
    thin = sorted(code for code, n in counts.items() if n < MIN_EXAMPLES_PER_TOPIC)
    if thin:
        raise ConfigError(
            f"topics {', '.join(thin)}: fewer than {MIN_EXAMPLES_PER_TOPIC} labelled examples each; add questions "
            "for them to a file listed in classifier.examples (format: topic<TAB>question)"
        )
    return examples


def train_and_save(helpdesk: "Helpdesk", examples: list[LabelledExample] | None = None) -> TopicModel:
    examples = training_set(helpdesk) if examples is None else examples
    model = train_topic_model(examples, helpdesk.policy.topic_codes)
    model.save(helpdesk.settings.resolved_model_path())
    log.info("trained the topic model on %d examples -> %s", len(examples), helpdesk.settings.resolved_model_path())
    return model


def folder_copies(data_dir: Path) -> tuple:
    """The data folder's copies of mail (the drop folder's and the outbox folder's), for erasure."""
    from ingest.folder_copies import FolderCopies

    return (FolderCopies(Path(data_dir) / "inbox", "read"), FolderCopies(Path(data_dir) / "outbox", "written"))


@dataclass
class Helpdesk:
    """The assembled application: settings, policy, store and service."""

    settings: Settings
    file: HelpdeskFile
    policy: HelpdeskPolicy
    engine: Engine
    example_paths: list[Path]
    clock: Callable[[], datetime]
    _service: HelpdeskService | None = None

    @property
    def sessions(self):
        return session_factory(self.engine)

    @property
    def service(self) -> HelpdeskService:
        if self._service is None:
            # The model is loaded when a use case first needs it: commands that do not triage never load it.
            self._service = HelpdeskService(self.sessions, self.policy, self.load_model, clock=self.clock,
                                            cache_dir=self.settings.resolved_cache_dir())
            self._service.personal_files = folder_copies(self.settings.data_dir)
            self._service.erasure_log = ErasureLogFile(self.settings.data_dir)
        return self._service

    def load_model(self) -> TopicModel:
        """The saved model; trained now if there is none or it was trained for other topics."""
        path = self.settings.resolved_model_path()
        try:
            model = TopicModel.load_shared(path)
        except ModelFileError as exc:
            if path.exists():
                log.warning("%s; retraining", exc)
            return train_and_save(self)
        if model.topics != self.policy.topic_codes:
            log.warning("the saved model knows other topics than the configuration; retraining")
            return train_and_save(self)
        # Whether the examples changed since is not checked here: gathering them reads the whole Q&A bank,
        # which a one-shot command cannot afford; `helpdesk train` compares and retrains.
        return model

    def _oauth2(self):
        s = self.settings
        if s.oauth2_refresh_token is not None:
            if not (s.oauth2_token_url and s.oauth2_client_id):
                raise ConfigError("HELPDESK_OAUTH2_REFRESH_TOKEN needs HELPDESK_OAUTH2_TOKEN_URL and "
                                  "HELPDESK_OAUTH2_CLIENT_ID")
            from ingest.oauth2 import RefreshingToken

            return RefreshingToken(s.oauth2_token_url, s.oauth2_client_id, s.oauth2_refresh_token.get_secret_value(),
                                   client_secret=s.oauth2_client_secret.get_secret_value()
                                   if s.oauth2_client_secret else None, scope=s.oauth2_scope)
        if s.oauth2_access_token is not None:
            token = s.oauth2_access_token.get_secret_value()
            return lambda: token
        return None

    def imap_ingestor(self, progress=None):
        """The mailbox reader; ``ConfigError`` names what is missing."""
        from ingest.imap import ImapSettings, MailboxIngestor

        s = self.settings
        missing = [n for n, v in (("HELPDESK_IMAP_HOST", s.imap_host), ("HELPDESK_IMAP_USER", s.imap_user)) if not v]
        token = self._oauth2()
        if s.imap_password is None and token is None:
            missing.append("HELPDESK_IMAP_PASSWORD (or an OAuth2 token)")
        if missing:
            raise ConfigError(f"email ingestion needs {', '.join(missing)} in the environment")
        imap = ImapSettings(host=s.imap_host, username=s.imap_user, port=s.imap_port, security=s.imap_security,
                            password=s.imap_password.get_secret_value() if s.imap_password else None,
                            oauth2_token=token if s.imap_password is None else None, mailbox=s.imap_mailbox,
                            done_folder=s.imap_done_folder, poll_seconds=s.imap_poll_seconds,
                            verify_tls=s.imap_verify_tls)
        return MailboxIngestor(imap, self.service, limits=self.mail_limits(), progress=progress)

    def mail_limits(self):
        from ingest.parsing import Limits

        s = self.settings
        return Limits(int(s.max_message_mb * 1048576), int(s.max_attachment_mb * 1048576))

    def outbox_sender(self):
        from ingest.smtp import OutboxSender, SmtpSettings

        s = self.settings
        if not s.smtp_host:
            raise ConfigError("sending email needs HELPDESK_SMTP_HOST in the environment")
        token = self._oauth2() if s.smtp_password is None else None
        smtp = SmtpSettings(host=s.smtp_host, port=s.smtp_port, security=s.smtp_security, username=s.smtp_user,
                            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                            oauth2_token=token, verify_tls=s.smtp_verify_tls)
        return OutboxSender(smtp, self.service)

    def telegram_application(self):
        """The bot, ready for ``run_polling``; ``ConfigError`` when no token is set."""
        from bot.app import build_application, outbox_loop
        from bot.conversation import ChatDesk

        s = self.settings
        if s.telegram_token is None:
            raise ConfigError("the Telegram bot needs HELPDESK_TELEGRAM_TOKEN in the environment")
        desk = ChatDesk(self.service)
        application = build_application(desk, s.telegram_token.get_secret_value(), base_url=s.telegram_base_url)

        async def start_outbox(app) -> None:
            app.create_task(outbox_loop(app))

        application.post_init = start_outbox
        return application

    def settle(self) -> None:
        """Ready a process that runs until stopped: load what triage and reading mail need (``load_triage``,
        ``load_readers``), then take everything loaded so far out of the garbage collector's sight
        (``gc.freeze``). Python's full collections otherwise walk the 200,000-odd objects of the imports and the
        models again and again: in a mail batch that was a tenth of each message's time (``bench/ingest_bench.py``).
        """
        import gc

        from ingest.parsing import load_readers

        self.service.load_triage()
        load_readers()
        gc.collect()  # what is garbage now is freed, not frozen
        gc.freeze()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Helpdesk":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_configuration(settings: Settings) -> tuple[HelpdeskFile, HelpdeskPolicy, list[Path]]:
    """The helpdesk file, the policy built from it and the example files; ``ConfigError`` names what is wrong."""
    file = load_helpdesk_file(settings.config)
    policy = build_policy(file, settings.specialist_ids())
    paths = example_files(file, Path(settings.config))
    for p in paths:
        if not p.exists():
            raise ConfigError(f"classifier.examples: {p} does not exist")
    return file, policy, paths


def return_large_buffers_to_the_system() -> None:
    """Keep glibc from holding on to freed large buffers (a 20 MB email, its attachment).

    glibc serves a large allocation from its own memory map and returns it to the system when freed; but
    after the first such free it raises that threshold (up to 32 MB), so the next emails' buffers come
    from the heap, where freed space stays in the process: each heavy message added its size to the
    resident memory for good. Fixing the threshold at its usual start (128 KiB) keeps a process that
    reads heavy mail near its own size. Elsewhere than glibc, nothing to do."""
    import ctypes

    try:
        process = ctypes.CDLL(None)  # the process's own symbols: glibc's, where it is the C library
    except OSError:
        return
    if hasattr(process, "mallopt"):
        process.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD


def bootstrap(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now,
              seed: bool = True) -> Helpdesk:
    """Build the helpdesk; raises ``ConfigError`` (before any change) if the configuration is wrong."""
    settings = settings or Settings()
    return_large_buffers_to_the_system()
    file, policy, paths = load_configuration(settings)
    try:
        engine = make_engine(settings.resolved_database_url())
    except Exception as exc:  # a malformed URL: say so plainly
        raise ConfigError(f"DATABASE_URL: cannot use {settings.resolved_database_url()!r}: {exc}") from None
    migrate(engine)
    helpdesk = Helpdesk(settings, file, policy, engine, paths, clock)
    helpdesk.service.open_store()
    if seed and (counts := helpdesk.service.seed_shipped_bank()) is not None and any(counts):
        log.info("Q&A bank: %d shipped entries added, %d updated", *counts)
    return helpdesk
