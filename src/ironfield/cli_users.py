"""``ironfield user``: the control room's users and API tokens, from the command line.

Users live in ``<data_dir>/users.json`` (argon2id hashes, token digests only). The server
reads that file when it starts, so restart it after a change. Passwords are never taken as
an argument (they would land in the shell history and the process list): they are asked
for, or read from standard input with ``--password-stdin`` for scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ironfield.core.plant import load_plant
from ironfield.server.auth import ROLES, USERS_FILE, UserStore

app = typer.Typer(no_args_is_help=True, help="control-room users and API tokens")
console = Console()
err = Console(stderr=True)

PlantOpt = Annotated[Path | None, typer.Option("--plant", "-p", help="plant file (its data_dir holds the users)")]
DataDirOpt = Annotated[Path | None, typer.Option(help="data directory holding users.json")]


def _store(plant: Path | None, data_dir: Path | None) -> UserStore:
    if data_dir is None:
        if plant is None:
            err.print("[red]error:[/red] give --data-dir or --plant (where users.json lives)")
            raise typer.Exit(2)
        data_dir = Path(load_plant(plant).data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return UserStore(data_dir / USERS_FILE)


def _bad(msg: str) -> None:
    err.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(2)


@app.command("add")
def add(
    name: str,
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
    plant: PlantOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a user, or set an existing user's password and role."""
    if role not in ROLES:
        _bad(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    store = _store(plant, data_dir)
    existed = store.get(name) is not None
    try:
        store.set_user(name, password, role)  # type: ignore[arg-type]
    except ValueError as e:
        _bad(str(e))
    console.print(f"{'updated' if existed else 'created'} user {name} ({role}) in {store.path}"
                  " — restart a running server to pick it up")


@app.command("delete")
def delete(name: str, plant: PlantOpt = None, data_dir: DataDirOpt = None) -> None:
    """Delete a user (their tokens stop working when the server restarts)."""
    store = _store(plant, data_dir)
    if not store.delete_user(name):
        _bad(f"no user {name!r} in {store.path}")
    console.print(f"deleted user {name}")


@app.command("list")
def list_users(plant: PlantOpt = None, data_dir: DataDirOpt = None) -> None:
    """Users, their roles and their API tokens (ids and labels; never the tokens)."""
    store = _store(plant, data_dir)
    table = Table("user", "role", "tokens")
    tokens = store.tokens()
    for u in sorted(store.users(), key=lambda u: u.name):
        mine = [f"{t.id} {t.label}".strip() for t in tokens if t.user == u.name]
        table.add_row(u.name, u.role, ", ".join(mine) or "-")
    console.print(table)


@app.command("token")
def token(
    name: str,
    label: Annotated[str, typer.Option(help="what the token is for, e.g. 'historian export job'")] = "",
    plant: PlantOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Issue an API token for a user; it is printed once, on standard output, and only
    its digest is kept. Use it as ``Authorization: Bearer <token>``."""
    store = _store(plant, data_dir)
    try:
        tok, info = store.create_token(name, label)
    except KeyError:
        _bad(f"no user {name!r} in {store.path}; create it first with `ironfield user add {name}`")
        return
    err.print(f"token {info.id} for {name} (shown once; keep it secret):")
    print(tok)


@app.command("revoke")
def revoke(token_id: str, plant: PlantOpt = None, data_dir: DataDirOpt = None) -> None:
    """Revoke an API token by its id (see `ironfield user list`)."""
    store = _store(plant, data_dir)
    if not store.revoke_token(token_id):
        _bad(f"no token with id {token_id!r} in {store.path}")
    console.print(f"revoked token {token_id}")
