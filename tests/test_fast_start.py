"""A command starts fast because what is costly is kept between processes, and kept only while it is true.

The Q&A index is saved after it is built and loaded by the next process; the
stemmed concept table and the unpacked language model are kept in the cache
folder; the shipped Q&A bank is seeded only when the software brings a new one.
None of it may ever answer from a bank that has changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager

from config.bootstrap import bootstrap
from kb.store_state import BANK_REVISION, SHIPPED_BANK, bank_revision

WIRE_TRANSFER = "Are our warehouse pickers entitled to a wire transfer stipend for their bicycles?"


@contextmanager
def reopen(helpdesk, clock):
    """The same store and data folder, as the next ``helpdesk`` command opens them."""
    later = bootstrap(helpdesk.settings, clock=clock)
    try:
        yield later
    finally:
        later.close()


def faq(helpdesk, words: str) -> list[str]:
    return [question for question, _ in helpdesk.service.search_faq(words, "en")]


def saved_index(helpdesk):
    """This store's saved index (the cache folder may be shared with other stores)."""
    with helpdesk.service.unit_of_work() as session:
        store = bank_revision(session).store
    return helpdesk.settings.resolved_cache_dir() / f"qa-index-{store}.npz"


def test_the_next_command_answers_from_the_saved_index_and_the_same_matches(helpdesk, clock):
    first = faq(helpdesk, "night work of young workers")
    assert first and saved_index(helpdesk).exists()

    with reopen(helpdesk, clock) as later:
        assert faq(later, "night work of young workers") == first


def test_a_bank_changed_at_the_same_instant_is_never_answered_from_the_old_index(helpdesk, clock):
    """Regression: the revision was (count, latest change time), so two edits within one clock tick
    (a fixed clock here; a fast import in real life) left a stale index in use."""
    service = helpdesk.service
    assert WIRE_TRANSFER not in faq(helpdesk, WIRE_TRANSFER)
    key = service.qa_list()[0][0].key
    service.qa_edit(key, actor="specialist", language="en", question=WIRE_TRANSFER,
                    answer="Bicycle stipends are a matter for the employment contract and collective agreement.")

    assert WIRE_TRANSFER in faq(helpdesk, WIRE_TRANSFER)  # this process sees the edit
    with reopen(helpdesk, clock) as later:  # and so does the next one, at the same instant
        assert WIRE_TRANSFER in faq(later, WIRE_TRANSFER)


def test_a_damaged_saved_index_is_rebuilt_not_trusted(helpdesk, clock):
    first = faq(helpdesk, "overtime pay")
    saved = saved_index(helpdesk)
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 3])

    with reopen(helpdesk, clock) as later:
        assert faq(later, "overtime pay") == first


def test_the_shipped_bank_is_seeded_once_per_version_of_the_software(helpdesk, clock):
    from kb.models import StoreFact

    assert helpdesk.service.seed_shipped_bank() is None  # the same files: nothing to read
    with helpdesk.service.unit_of_work() as session:
        session.get(StoreFact, SHIPPED_BANK).text_value = "the files of an older version"
    assert helpdesk.service.seed_shipped_bank() == (0, 0)  # read again, and this store already holds them all
    assert helpdesk.service.seed_shipped_bank() is None


def test_every_change_to_the_bank_raises_its_revision(helpdesk):
    from kb.models import StoreFact

    service = helpdesk.service
    with service.unit_of_work() as session:
        before = bank_revision(session)
        counter = session.get(StoreFact, BANK_REVISION).number
    key = service.qa_list()[0][0].key
    service.qa_withdraw(key, "replaced by a newer answer", actor="specialist")
    with service.unit_of_work() as session:
        after = bank_revision(session)
        assert session.get(StoreFact, BANK_REVISION).number > counter
    assert after.store == before.store and after.key != before.key


SETTLED_WORKER = """
import json, sys
from email.message import EmailMessage
from pathlib import Path
from config.bootstrap import bootstrap
from config.settings import Settings
from ingest.folders import DropFolderIngestor
database_url, model, data_dir = sys.argv[1:]
helpdesk = bootstrap(Settings(data_dir=Path(data_dir), database_url=database_url, model_path=Path(model)), seed=False)
helpdesk.settle()
loaded = set(sys.modules)
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "Rosa Quispe <rosa@textiles.example>", "helpdesk@example.org", "Horas extra"
m["Message-ID"] = "<settled-1@textiles.example>"
m.set_content("Our supplier in Peru asks about overtime.")
m.add_alternative("<p>¿Nuestro proveedor en <b>Perú</b> puede exigir horas extra a sus trabajadoras?</p>"
                  "<p>Saludos,<br>Rosa Quispe<br>Textiles Andinos S.A.</p>", subtype="html")
inbox = Path(data_dir) / "settled-inbox"
inbox.mkdir()
(inbox / "q.eml").write_bytes(bytes(m))
report = DropFolderIngestor(inbox, helpdesk.service).run_once()
helpdesk.close()
print(json.dumps({"outcomes": dict(report.outcomes), "new": sorted(set(sys.modules) - loaded)}))
"""


def test_a_settled_worker_has_loaded_what_its_first_mail_needs(helpdesk, tmp_path):
    """``helpdesk run`` and ``process-mail`` settle before the first message: its lease is not spent importing
    the HTML reader, the bounce detectors or the tables of countries and organisations (nor does the garbage
    collector keep walking them, loaded after the freeze)."""
    settings = helpdesk.settings
    run = subprocess.run([sys.executable, "-c", SETTLED_WORKER, settings.database_url, str(settings.model_path),
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["outcomes"] == {"query": 1}
    ours_or_heavy = ("kb", "ingest", "classifier", "inscriptis", "lxml", "flufl", "pycountry", "sqlalchemy")
    assert [m for m in result["new"] if m.split(".")[0] in ours_or_heavy] == []
