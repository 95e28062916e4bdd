"""``helpdesk qa``: keep the Q&A bank from the terminal (the web console's Q&A pages do the same).

    helpdesk qa list [--search WORDS] [--topic T] [--language L] [--state published|draft|withdrawn|all]
    helpdesk qa show KEY
    helpdesk qa add --language en --topics "wages working_time" --question-file Q --answer-file A [--key K]
    helpdesk qa edit KEY [--language fr --question-file Q --answer-file A] [--topics "..."]
    helpdesk qa withdraw KEY --reason "..."        helpdesk qa publish KEY
    helpdesk qa import FILE.csv                     helpdesk qa export FILE.csv

Texts are read from files (or ``-`` for standard input) so that long answers keep their lines.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

qa_app = typer.Typer(help="The Q&A bank: list, show, add, edit (a version per language), withdraw, publish, "
                          "import and export CSV.", no_args_is_help=True)


def register(app: typer.Typer, friendly, open_helpdesk, console) -> None:
    """Add the ``qa`` commands to ``app``, with the CLI's error handling and way of opening the helpdesk."""

    def read(path: Optional[Path]) -> Optional[str]:
        if path is None:
            return None
        if str(path) == "-":
            return sys.stdin.read()
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
        return path.read_text(encoding="utf-8")

    @qa_app.command("list")
    @friendly
    def qa_list(search: str = typer.Option("", help="Words in the key, a question or an answer"),
                topic: Optional[str] = typer.Option(None, help="Only this topic code"),
                language: Optional[str] = typer.Option(None, help="Only Q&As with a version in this language"),
                state: str = typer.Option("published", help="published, draft, withdrawn or all")) -> None:
        """Q&As of the bank, most recently changed first."""
        with open_helpdesk() as helpdesk:
            rows, total = helpdesk.service.qa_list(search=search, topic=topic, language=language, state=state,
                                                   limit=500)
        for r in rows:
            console.print(f"{r.key:32} {r.state:9} {'/'.join(r.languages):8} {' '.join(r.topics):28} "
                          f"{r.question[:70]}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"{total} Q&A(s)" + (f", first {len(rows)} shown" if total > len(rows) else ""))

    @qa_app.command("show")
    @friendly
    def qa_show(key: str) -> None:
        """One Q&A: its state, topics, each language version, the languages it lacks, and near-duplicates."""
        with open_helpdesk() as helpdesk:
            qa = helpdesk.service.qa_show(key)
        console.print(f"{qa.key}  {qa.state}  ({qa.origin}"
                      + (f", from {qa.source_reference}" if qa.source_reference else "") + ")  topics: "
                      + " ".join(qa.topics), highlight=False, markup=False, soft_wrap=True)
        if qa.withdrawn_reason:
            console.print(f"withdrawn {qa.withdrawn_at:%Y-%m-%d}: {qa.withdrawn_reason}", highlight=False, markup=False, soft_wrap=True)
        for version in qa.versions.values():
            console.print(f"\n[{version.language}] Q: {version.question}\n\n{version.answer}", highlight=False, markup=False, soft_wrap=True)
        if qa.missing_languages:
            console.print(f"\nno version yet in: {', '.join(qa.missing_languages)}")
        for d in qa.near_duplicates:
            console.print(f"near-duplicate ({d.language}, {d.similarity:.0f}%): {d.key}: {d.question}",
                          highlight=False, markup=False, soft_wrap=True)

    @qa_app.command("add")
    @friendly
    def qa_add(language: str = typer.Option(..., help="en, fr or es"),
               topics: str = typer.Option(..., help="Topic codes, separated by spaces"),
               question_file: Path = typer.Option(..., help="The question (a file, or - for stdin)"),
               answer_file: Path = typer.Option(..., help="The answer (a file, or - for stdin)"),
               key: Optional[str] = typer.Option(None, help="A stable key (made from the topic and question "
                                                            "when left out)"),
               draft: bool = typer.Option(False, help="Keep it as a draft (not matched until published)")) -> None:
        """Add a Q&A written by the helpdesk (published at once unless --draft)."""
        question, answer = read(question_file), read(answer_file)
        with open_helpdesk() as helpdesk:
            qa = helpdesk.service.qa_add(language=language, question=question, answer=answer,
                                         topics=topics.split(), actor="cli", key=key, publish=not draft)
        console.print(f"Q&A {qa.key} added ({qa.state})", highlight=False)
        for d in qa.near_duplicates:
            console.print(f"near-duplicate of {d.key} ({d.similarity:.0f}%): {d.question}", highlight=False, markup=False, soft_wrap=True)

    @qa_app.command("edit")
    @friendly
    def qa_edit(key: str,
                language: Optional[str] = typer.Option(None, help="The version to set (added when missing)"),
                question_file: Optional[Path] = typer.Option(None, help="That version's question"),
                answer_file: Optional[Path] = typer.Option(None, help="That version's answer"),
                topics: Optional[str] = typer.Option(None, help="New topic codes, separated by spaces")) -> None:
        """Set a language version of a Q&A (its question and answer), or its topics."""
        if language is None and topics is None:
            raise ValueError("say what to change: --language with --question-file and --answer-file, or --topics")
        if language is not None and (question_file is None or answer_file is None):
            raise ValueError("a version needs both --question-file and --answer-file")
        with open_helpdesk() as helpdesk:
            changed = helpdesk.service.qa_edit(key, actor="cli", language=language, question=read(question_file),
                                               answer=read(answer_file),
                                               topics=topics.split() if topics is not None else None)
        console.print(f"Q&A {key} " + ("changed" if changed else "unchanged (same text)"))

    @qa_app.command("withdraw")
    @friendly
    def qa_withdraw(key: str, reason: str = typer.Option(..., help="Why (kept with the Q&A)")) -> None:
        """Stop proposing a Q&A; it is kept, with the reason, and can be published again."""
        with open_helpdesk() as helpdesk:
            helpdesk.service.qa_withdraw(key, reason, actor="cli")
        console.print(f"Q&A {key} withdrawn")

    @qa_app.command("publish")
    @friendly
    def qa_publish(key: str,
                   question_file: Optional[Path] = typer.Option(None, help="Final wording of the question"),
                   answer_file: Optional[Path] = typer.Option(None, help="Final wording of the answer")) -> None:
        """Publish a draft Q&A (one promoted from a query, say), or a withdrawn one again."""
        with open_helpdesk() as helpdesk:
            helpdesk.service.publish_qa(key, actor="cli", question=read(question_file), answer=read(answer_file))
        console.print(f"Q&A {key} published")

    @qa_app.command("import")
    @friendly
    def qa_import(file: Path) -> None:
        """Import a CSV file with columns key,language,topics,question,answer (all rows or none)."""
        if not file.is_file():
            raise ValueError(f"{file}: no such file")
        with open_helpdesk() as helpdesk:
            result = helpdesk.service.qa_import_csv(file.read_bytes(), actor="cli")
        console.print(f"{len(result.added)} Q&A(s) added, {result.versions_added} version(s) added, "
                      f"{result.versions_updated} updated, {result.unchanged} unchanged")
        for key, language, d in result.near_duplicates:
            console.print(f"near-duplicate: {key} ({language}) and {d.key}, {d.similarity:.0f}% alike",
                          highlight=False, markup=False, soft_wrap=True)

    @qa_app.command("export")
    @friendly
    def qa_export(file: Path, drafts: bool = typer.Option(False, help="Also export drafts")) -> None:
        """Write the published Q&As (every language version) to a CSV file."""
        with open_helpdesk() as helpdesk:
            text = helpdesk.service.qa_export_csv(include_drafts=drafts)
        file.write_text(text, encoding="utf-8", newline="")
        console.print(f"{text.count(chr(10)) - 1} version(s) written to {file}")

    app.add_typer(qa_app, name="qa")
