"""`ironfield user`: users and API tokens managed from the command line, in users.json."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ironfield.cli import app
from ironfield.server.auth import USERS_FILE, UserStore

runner = CliRunner()


def test_add_list_token_revoke_delete(tmp_path: Path) -> None:
    dd = ["--data-dir", str(tmp_path)]
    r = runner.invoke(app, ["user", "add", "li.wei", "--role", "engineer", "--password-stdin", *dd],
                      input="s3cret-pass\n")
    assert r.exit_code == 0, r.output
    store = UserStore(tmp_path / USERS_FILE)
    user = store.verify("li.wei", "s3cret-pass")
    assert user is not None and user.role == "engineer"
    assert store.verify("li.wei", "wrong-pass") is None

    r = runner.invoke(app, ["user", "token", "li.wei", "--label", "export job", *dd])
    assert r.exit_code == 0, r.output
    token = next(line for line in r.stdout.splitlines() if line.startswith("ifk_"))
    store = UserStore(tmp_path / USERS_FILE)
    assert store.user_for_token(token) == user
    (info,) = store.tokens()
    assert info.label == "export job"
    assert "s3cret" not in (tmp_path / USERS_FILE).read_text() and token not in (tmp_path / USERS_FILE).read_text()

    r = runner.invoke(app, ["user", "list", *dd])
    assert r.exit_code == 0 and "li.wei" in r.stdout and "engineer" in r.stdout and info.id in r.stdout

    assert runner.invoke(app, ["user", "revoke", info.id, *dd]).exit_code == 0
    assert UserStore(tmp_path / USERS_FILE).user_for_token(token) is None
    assert runner.invoke(app, ["user", "delete", "li.wei", *dd]).exit_code == 0
    assert UserStore(tmp_path / USERS_FILE).get("li.wei") is None


def test_bad_input_says_what_is_wrong(tmp_path: Path) -> None:
    dd = ["--data-dir", str(tmp_path)]
    r = runner.invoke(app, ["user", "add", "x", "--role", "boss", "--password-stdin", *dd], input="long-enough\n")
    assert r.exit_code == 2 and "unknown role 'boss'" in r.output
    r = runner.invoke(app, ["user", "add", "x", "--password-stdin", *dd], input="short\n")
    assert r.exit_code == 2 and "at least 8 characters" in r.output
    r = runner.invoke(app, ["user", "token", "nobody", *dd])
    assert r.exit_code == 2 and "no user 'nobody'" in r.output
    r = runner.invoke(app, ["user", "revoke", "abc", *dd])
    assert r.exit_code == 2 and "no token with id 'abc'" in r.output
    r = runner.invoke(app, ["user", "list"])
    assert r.exit_code == 2 and "--data-dir or --plant" in r.output
