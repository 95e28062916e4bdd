"""Memory with heavy mail: a mailbox of large messages fetched, stored and processed by one process.

Run: ``.venv/bin/python bench/heavy_mail_bench.py [--messages 30] [--mb 20]`` (needs Dovecot, as
``make test`` ensures). Fills a real Dovecot mailbox with messages of about ``--mb`` MB each (a PDF
attachment of three quarters of that, base64), runs ``helpdesk fetch-mail`` once in a fresh data folder
(SQLite) and prints its wall time and peak resident memory as ``/usr/bin/time`` measures it, and how many messages became queries with their attachment kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.peers.mail import Dovecot  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def heavy_message(number: int, mb: float) -> bytes:
    m = EmailMessage()
    m["From"], m["To"] = f"Auditor {number} <auditor{number}@audits.example>", "helpdesk@example.org"
    m["Subject"], m["Message-ID"] = f"Audit report {number}: are these working hours legal?", make_msgid()
    m.set_content("Dear helpdesk,\n\nOur audit report is attached. Are 72-hour weeks at this supplier legal under "
                  "the ILO conventions on hours of work?\n\nKind regards,\nAn auditor\n")
    size = int(mb * 0.75 * 1048576)
    m.add_attachment(b"%PDF-1.4\n" + os.urandom(size), maintype="application", subtype="pdf",
                     filename=f"audit-{number}.pdf")
    return bytes(m)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--mb", type=float, default=20)
    args = parser.parse_args()
    dovecot = Dovecot()
    try:
        dovecot.empty()
        for i in range(args.messages):
            dovecot.append(heavy_message(i, args.mb))
        with tempfile.TemporaryDirectory() as folder:
            env = dict(os.environ, HELPDESK_DATA_DIR=folder, HELPDESK_IMAP_HOST="127.0.0.1",
                       HELPDESK_IMAP_PORT=str(dovecot.port), HELPDESK_IMAP_USER="test",
                       HELPDESK_IMAP_PASSWORD="testpass", HELPDESK_IMAP_SECURITY="plain",
                       HELPDESK_MAX_ATTACHMENT_MB=str(args.mb))  # the PDFs are kept, not refused
            env.pop("DATABASE_URL", None)
            helpdesk = str(Path(sys.executable).with_name("helpdesk"))
            subprocess.run([helpdesk, "train"], env=env, capture_output=True)  # the store and the model, first
            started = time.perf_counter()
            run = subprocess.run(["/usr/bin/time", "-f", "PEAK %M", helpdesk, "fetch-mail"], env=env,
                                 capture_output=True, text=True)
            seconds = time.perf_counter() - started
            peak = int(run.stderr.rsplit("PEAK ", 1)[1].split()[0]) if "PEAK " in run.stderr else 0
            engine = create_engine(f"sqlite:///{folder}/helpdesk.db")
            with engine.connect() as c:
                queries = c.execute(text("SELECT count(*) FROM query")).scalar()
                kept = c.execute(text("SELECT count(*) FROM attachment WHERE size > 1000000")).scalar()
            engine.dispose()
        print(f"{args.messages} messages of about {args.mb:.0f} MB: exit {run.returncode}, {seconds:.1f} s, "
              f"peak {peak / 1024:.0f} MiB, {queries} queries, {kept} attachments kept")
        print(run.stdout.strip()[-600:])
        if run.returncode:
            print(run.stderr[-2000:])
    finally:
        dovecot.stop()


if __name__ == "__main__":
    main()
