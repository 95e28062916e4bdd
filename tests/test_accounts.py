"""Console accounts: added from the command line, signed in with argon2-checked passwords, guessing slowed down."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.cli import app
from kb.accounts import AccountError, SignInRefused, wait_before_next
from kb.db import unit_of_work
from kb.models import Account

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_four_failures_are_free_then_each_attempt_waits_longer_up_to_a_limit():
    failures = [T0 + timedelta(seconds=i) for i in range(4)]
    assert wait_before_next(failures, T0 + timedelta(seconds=5)) == timedelta(0)
    failures.append(T0 + timedelta(seconds=5))
    assert wait_before_next(failures, T0 + timedelta(seconds=5)) == timedelta(seconds=30)
    failures.append(T0 + timedelta(seconds=40))
    assert wait_before_next(failures, T0 + timedelta(seconds=40)) == timedelta(seconds=60)
    many = [T0 + timedelta(seconds=i) for i in range(14)]
    assert wait_before_next(many, T0 + timedelta(seconds=14)) == timedelta(minutes=15) - timedelta(seconds=1)
    # Failures older than the window are forgotten.
    assert wait_before_next(failures, T0 + timedelta(hours=1)) == timedelta(0)


def test_a_specialist_signs_in_and_the_password_is_never_stored(service):
    service.add_account("maria", "specialist", "correct horse battery")
    account = service.sign_in("Maria", "correct horse battery", source="127.0.0.1")
    assert (account.name, account.role, account.may_act) == ("maria", "specialist", True)
    with unit_of_work(service.sessions) as s:
        stored = s.scalar(select(Account)).password_hash
    assert "correct horse" not in stored and stored.startswith("$argon2id$")


def test_a_wrong_password_five_times_is_slowed_down_even_for_the_right_one_then_allowed(service, clock):
    service.add_account("maria", "specialist", "correct horse battery")
    for _ in range(5):
        with pytest.raises(SignInRefused, match="wrong account name or password"):
            service.sign_in("maria", "guess")
    with pytest.raises(SignInRefused, match="too many failed attempts") as refused:
        service.sign_in("maria", "correct horse battery")
    assert refused.value.retry_after == timedelta(seconds=30)
    clock.now += timedelta(seconds=31)
    assert service.sign_in("maria", "correct horse battery").name == "maria"


def test_unknown_names_weak_passwords_duplicates_and_removed_accounts_are_refused(service):
    with pytest.raises(SignInRefused, match="wrong account name or password"):
        service.sign_in("nobody", "whatever whatever")
    with pytest.raises(AccountError, match="at least 10 characters"):
        service.add_account("maria", "specialist", "short")
    with pytest.raises(AccountError, match="role must be one of"):
        service.add_account("maria", "admin", "correct horse battery")
    with pytest.raises(AccountError, match="account name"):
        service.add_account("Maria Lopez!", "viewer", "correct horse battery")
    service.add_account("maria", "viewer", "correct horse battery")
    with pytest.raises(AccountError, match="exists already"):
        service.add_account("maria", "viewer", "correct horse battery")
    service.remove_account("maria")
    assert service.account("maria") is None
    with pytest.raises(SignInRefused):
        service.sign_in("maria", "correct horse battery")


def test_accounts_are_managed_from_the_command_line_with_the_password_on_stdin(tmp_path, monkeypatch,
                                                                               trained_model_path, database_url):
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    result = runner.invoke(app, ["user", "add", "ana", "--role", "viewer"], input="a long passphrase\n")
    assert result.exit_code == 0 and "account ana added (viewer)" in result.output
    assert "a long passphrase" not in result.output
    result = runner.invoke(app, ["user", "add", "bo", "--role", "viewer"], input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert runner.invoke(app, ["user", "passwd", "ana"], input="another long one\n").exit_code == 0
    assert "ana  viewer" in runner.invoke(app, ["user", "list"]).output
    assert runner.invoke(app, ["user", "remove", "ana"]).exit_code == 0
    assert "ana" not in runner.invoke(app, ["user", "list"]).output
