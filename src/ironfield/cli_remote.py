"""The CLI's way into a running platform: its HTTP API, with a token on this machine.

A running ``ironfield serve``/``demo`` holds its embedded database open (DuckDB allows one
writing process per file), so the CLI asks the server instead. The server writes
``<data_dir>/endpoint.json`` (URL and an API token of the local ``cli`` user, readable by
its owner only) when it starts and removes the token when it stops.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from ironfield.core.errors import IronfieldError
from ironfield.core.timeutil import format_ns

ENDPOINT_FILE = "endpoint.json"
CLI_USER = "cli"


def publish_endpoint(data_dir: Path, url: str) -> str:
    """Create the local CLI user's token and write the endpoint file; returns the token id."""
    from ironfield.server.auth import USERS_FILE, UserStore

    store = UserStore(data_dir / USERS_FILE)
    if store.get(CLI_USER) is None:
        store.set_user(CLI_USER, secrets.token_urlsafe(32), "engineer")
    old = read_endpoint(data_dir)
    if old and old.get("token_id"):
        store.revoke_token(str(old["token_id"]))
    token, info = store.create_token(CLI_USER, "ironfield CLI on this machine")
    path = data_dir / ENDPOINT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "token": token, "token_id": info.id}, f)
    return info.id


def withdraw_endpoint(data_dir: Path) -> None:
    from ironfield.server.auth import USERS_FILE, UserStore

    old = read_endpoint(data_dir)
    if old and old.get("token_id"):
        UserStore(data_dir / USERS_FILE).revoke_token(str(old["token_id"]))
    (data_dir / ENDPOINT_FILE).unlink(missing_ok=True)


def read_endpoint(data_dir: Path) -> dict[str, Any] | None:
    try:
        d: dict[str, Any] = json.loads((data_dir / ENDPOINT_FILE).read_text())
        return d
    except (OSError, ValueError):
        return None


class Remote:
    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    @classmethod
    def find(cls, data_dir: Path) -> Remote | None:
        ep = read_endpoint(data_dir)
        if not ep:
            return None
        r = cls(str(ep["url"]), str(ep["token"]))
        try:
            r.client.get("/api/health").raise_for_status()
        except httpx.HTTPError:
            r.close()
            return None
        return r

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, params: list[tuple[str, str | int | float | bool | None]]) -> Any:
        resp = self.client.get(path, params=params)
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise IronfieldError(f"server: {resp.status_code} {detail}")
        return resp.json()

    @staticmethod
    def _sel(signals: list[str]) -> list[tuple[str, str | int | float | bool | None]]:
        out: list[tuple[str, str | int | float | bool | None]] = []
        for s in signals:
            out.append(("asset", s[:-2]) if s.endswith("/*") else ("signal", s))
        return out

    def last(self, signals: list[str]) -> list[dict[str, Any]]:
        rows = self._get("/api/last", self._sel(signals))
        return [{"signal": r["signal"], "ts": format_ns(r["ts"]), "value": r["value"], "quality": r["quality"]}
                for r in rows]

    def series(self, signals: list[str], start: str, end: str, points: int | None) -> list[dict[str, Any]]:
        params: list[tuple[str, str | int | float | bool | None]] = [*self._sel(signals), ("start", start), ("end", end)]
        if points:
            body = self._get("/api/history/plot", [*params, ("points", points)])
        else:
            body = self._get("/api/history/raw", params)
        return [{"signal": s["signal"], "ts": format_ns(t), "value": v, "quality": q}
                for s in body["series"] for t, v, q in zip(s["ts"], s["value"], s["quality"], strict=True)]

    def aggregate(self, signals: list[str], start: str, end: str, interval: str) -> list[dict[str, Any]]:
        body = self._get("/api/history/aggregate", [*self._sel(signals), ("start", start), ("end", end),
                                                     ("interval", interval)])
        out = []
        for s in body["series"]:
            for i, b in enumerate(s["bucket"]):
                out.append({"signal": s["signal"], "bucket": format_ns(b),
                            **{k: s[k][i] for k in ("min", "max", "mean", "count", "first", "last")}})
        return out

    def command(self, signal: str, value: float, reason: str) -> dict[str, Any]:
        resp = self.client.post("/api/commands", json={"signal": signal, "value": value, "reason": reason})
        if resp.status_code >= 400 and resp.status_code != 422:
            raise IronfieldError(f"server: {resp.status_code} {resp.text}")
        d: dict[str, Any] = resp.json()
        return d
