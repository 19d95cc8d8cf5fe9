"""Auth: roles (403), CSRF (403), login rate limit (429), argon2 at rest, tokens, audit,
no secrets in logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from ironfield.core.timeutil import NS_PER_S, now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.auth import Auth, UserStore, ensure_demo_user, role_rank
from ironfield.server.auth.users import token_digest
from ironfield.server.durable import settle
from server.server_rig import FAST_HASHER, PASSWORD, SETPOINT, TEMP, Login, batch, feed


async def _raise_alarm(platform: Platform) -> None:
    t = now_ns()
    await feed(platform, batch(platform, TEMP, [t - NS_PER_S], [90.0]))


async def test_roles_gate_every_write(platform: Platform, client_for: Login) -> None:
    await _raise_alarm(platform)
    vic = await client_for("vic")
    assert (await vic.get("/api/alarms")).status_code == 200
    assert (await vic.post("/api/alarms/pump-hot.H/ack", json={})).status_code == 403
    assert (await vic.post("/api/alarms/pump-hot.H/shelve", json={})).status_code == 403
    assert (await vic.post("/api/commands", json={"signal": SETPOINT, "value": 1})).status_code == 403
    otto = await client_for("otto")
    r = await otto.post("/api/alarms/service", json={"asset": "s1/a1/pump-1", "out_of_service": True})
    assert r.status_code == 403
    assert (await otto.post("/api/auth/tokens", json={"user": "otto"})).status_code == 403
    erin = await client_for("erin")
    r = await erin.post("/api/alarms/service", json={"asset": "s1/a1/pump-1", "out_of_service": True})
    assert r.status_code == 200 and {a["state"] for a in r.json()} == {"out_of_service"}
    assert (await otto.post("/api/alarms/pump-hot.H/ack", json={})).status_code == 409
    await settle(platform)
    audits = (await erin.get("/api/events", params={"type": "audit", "start": "now-1h"})).json()
    denied = [a["payload"] for a in audits if a["payload"]["action"] == "denied"]
    assert {d["user"] for d in denied} == {"vic", "otto"}
    assert any(a["payload"]["action"] == "alarm_out_of_service" and a["payload"]["user"] == "erin"
               for a in audits)


async def test_csrf_header_required_for_session_writes(platform: Platform, client_for: Login) -> None:
    await _raise_alarm(platform)
    otto = await client_for("otto")
    good = otto.headers.pop("X-CSRF-Token")
    assert (await otto.post("/api/alarms/pump-hot.H/ack", json={})).status_code == 403
    r = await otto.post("/api/alarms/pump-hot.H/ack", json={}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert (await otto.get("/api/alarms")).status_code == 200  # safe methods need none
    r = await otto.post("/api/alarms/pump-hot.H/ack", json={}, headers={"X-CSRF-Token": good})
    assert r.status_code == 200
    # Logout is a write too.
    assert (await otto.post("/api/auth/logout")).status_code == 403
    assert (await otto.post("/api/auth/logout", headers={"X-CSRF-Token": good})).status_code == 204
    assert (await otto.get("/api/alarms")).status_code == 401


async def test_session_cookie_flags(platform: Platform, client_for: Login) -> None:
    c = await client_for(None)
    r = await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
    cookies = r.headers.get_list("set-cookie")
    session = next(x for x in cookies if x.startswith("ironfield_session="))
    assert "HttpOnly" in session and "samesite=strict" in session.lower()
    csrf = next(x for x in cookies if x.startswith("ironfield_csrf="))
    assert "HttpOnly" not in csrf  # the page's script must read it
    me = (await c.get("/api/auth/me")).json()
    assert me["name"] == "vic" and me["role"] == "viewer" and me["via"] == "session"


async def test_login_rate_limit(platform: Platform, client_for: Login) -> None:
    c = await client_for(None)
    for _ in range(5):
        r = await c.post("/api/auth/login", json={"username": "otto", "password": "wrong-one"})
        assert r.status_code == 401
    r = await c.post("/api/auth/login", json={"username": "otto", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # Another user from the same address is not locked out.
    r = await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
    assert r.status_code == 200


async def test_bearer_tokens_are_hashed_and_need_no_csrf(
    platform: Platform, client_for: Login, tmp_path: Path
) -> None:
    await _raise_alarm(platform)
    ada = await client_for("ada")
    r = await ada.post("/api/auth/tokens", json={"user": "otto", "label": "scada bridge"})
    assert r.status_code == 201
    token = r.json()["token"]
    stored = (tmp_path / "users.json").read_text()
    assert token not in stored and token_digest(token) in stored
    machine = await client_for(None)
    h = {"Authorization": f"Bearer {token}"}
    assert (await machine.post("/api/alarms/pump-hot.H/ack", json={}, headers=h)).status_code == 200
    me = (await machine.get("/api/auth/me", headers=h)).json()
    assert (me["name"], me["via"]) == ("otto", "token")
    bad = {"Authorization": "Bearer ifk_nope"}
    assert (await machine.get("/api/alarms", headers=bad)).status_code == 401
    assert (await ada.delete(f"/api/auth/tokens/{r.json()['id']}")).status_code == 204
    assert (await machine.get("/api/alarms", headers=h)).status_code == 401


async def test_admin_manages_users(platform: Platform, client_for: Login) -> None:
    ada = await client_for("ada")
    r = await ada.post("/api/auth/users", json={"name": "newbie", "password": "long-enough-pw", "role": "operator"})
    assert r.status_code == 201
    names = {u["name"]: u["role"] for u in (await ada.get("/api/auth/users")).json()}
    assert names["newbie"] == "operator"
    r = await ada.post("/api/auth/users", json={"name": "x", "password": "short", "role": "viewer"})
    assert r.status_code == 422
    assert (await ada.delete("/api/auth/users/newbie")).status_code == 204


def test_argon2_at_rest(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json", FAST_HASHER)
    store.set_user("kim", "s3cret-password", "engineer")
    doc = json.loads((tmp_path / "users.json").read_text())
    h = doc["users"]["kim"]["hash"]
    assert h.startswith("$argon2id$") and "s3cret-password" not in h
    assert (tmp_path / "users.json").stat().st_mode & 0o077 == 0
    again = UserStore(tmp_path / "users.json", FAST_HASHER)
    assert again.verify("kim", "s3cret-password") is not None
    assert again.verify("kim", "s3cret-passwore") is None
    assert again.verify("nobody", "s3cret-password") is None
    with pytest.raises(ValueError):
        store.set_user("kim", "pw", "engineer")
    with pytest.raises(ValueError):
        store.set_user("kim", "long-enough", "god")  # type: ignore[arg-type]
    assert role_rank("viewer") < role_rank("operator") < role_rank("engineer") < role_rank("admin")


def test_demo_user_helper(tmp_path: Path) -> None:
    name, password = ensure_demo_user(tmp_path)
    assert UserStore(tmp_path / "users.json").verify(name, password) is not None


async def test_no_secrets_in_logs(
    platform: Platform, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(platform, auth=auth)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/api/auth/login", json={"username": "ada", "password": "not-the-password"})
        r = await c.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
        csrf = r.json()["csrf_token"]
        r = await c.post("/api/auth/tokens", json={"user": "ada"}, headers={"X-CSRF-Token": csrf})
        token = r.json()["token"]
        session = c.cookies["ironfield_session"]
    text = caplog.text
    assert "audit: login" in text  # the audit trail is logged ...
    for secret in (PASSWORD, "not-the-password", token, session, csrf):
        assert secret not in text  # ... but never a secret
