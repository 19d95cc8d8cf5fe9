"""REST API against a real Platform with the DuckDB historian in a temp dir."""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Annotated

import httpx
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends

from ironfield.core.timeutil import NS_PER_S, now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.auth import Auth
from ironfield.server.deps import Principal, require
from ironfield.server.durable import settle
from ironfield.server.run import serve
from server.server_rig import (
    FLOW,
    PASSWORD,
    SETPOINT,
    STATE,
    TEMP,
    FakeConnector,
    Login,
    batch,
    feed,
    free_port,
)

T0 = 1_699_999_200 * NS_PER_S  # on an hour boundary: aggregates are epoch-aligned


async def test_assets_tree_and_signals(platform: Platform, client_for: Login) -> None:
    c = await client_for("vic")
    tree = (await c.get("/api/assets")).json()
    site = next(n for n in tree if n["path"] == "s1")
    area = site["children"][0]
    assert (site["kind"], area["kind"]) == ("site", "area")
    pump = next(n for n in area["children"] if n["name"] == "pump-1")
    assert pump["kind"] == "equipment"
    assert set(pump["signals"]) == {TEMP, FLOW, STATE, SETPOINT}
    sigs = (await c.get("/api/signals", params={"asset": "s1/a1/pump-1"})).json()
    by = {s["path"]: s for s in sigs}
    assert by[TEMP]["unit"] == "degC" and by[TEMP]["high"] == 150
    assert by[SETPOINT]["writable"] is True
    assert by[STATE]["states"] == {"0": "off", "1": "running", "2": "fault"}
    assert (await c.get("/api/signals/s1/a1/nope")).status_code == 404
    assert (await c.get("/api/assets", params={"root": "nowhere"})).status_code == 404


async def test_history_raw_plot_aggregate_last(platform: Platform, client_for: Login) -> None:
    n = 3600
    ts = T0 + np.arange(n, dtype=np.int64) * NS_PER_S
    rng = np.random.default_rng(1)
    v = 50 + 10 * np.sin(np.arange(n) / 300) + rng.normal(0, 1, n)
    v[1234] = 140.0  # a spike the plot must keep
    await feed(platform, batch(platform, FLOW, ts, v))
    c = await client_for("vic")
    q = {"signal": FLOW, "start": str(T0), "end": str(T0 + n * NS_PER_S)}

    raw = (await c.get("/api/history/raw", params={**q, "limit": 100_000})).json()
    s = raw["series"][0]
    assert s["signal"] == FLOW and s["unit"] == "m3/h" and len(s["ts"]) == n
    assert np.allclose(s["value"], v) and not raw["truncated"]
    cut = (await c.get("/api/history/raw", params={**q, "limit": 10})).json()
    assert cut["truncated"] and len(cut["series"][0]["ts"]) == 10

    plot = (await c.get("/api/history/plot", params={**q, "points": 50})).json()
    p = plot["series"][0]
    assert 50 <= len(p["ts"]) <= 100
    assert max(p["value"]) == 140.0 and min(p["value"]) == float(v.min())
    assert p["ts"] == sorted(p["ts"])
    lt = (await c.get("/api/history/plot", params={**q, "points": 50, "method": "lttb"})).json()
    assert len(lt["series"][0]["ts"]) <= 50

    agg = (await c.get("/api/history/aggregate", params={**q, "interval": "10min"})).json()
    a = agg["series"][0]
    assert sum(a["count"]) == n and len(a["bucket"]) == 6
    assert np.isclose(a["mean"][0], v[:600].mean()) and a["max"][2] == 140.0

    last = (await c.get("/api/last", params={"signal": FLOW})).json()
    assert last == [{"signal": FLOW, "unit": "m3/h", "ts": int(ts[-1]), "value": float(v[-1]),
                     "quality": 0xC0}]

    for bad in ({**q, "start": "yesterday"}, {**q, "end": str(T0 - 1)},
                {**q, "signal": "s1/a1/none"}):
        r = await c.get("/api/history/raw", params=bad)
        assert r.status_code in (404, 422), r.text


async def test_nan_values_come_back_as_null(platform: Platform, client_for: Login) -> None:
    await feed(platform, batch(platform, FLOW, [T0, T0 + NS_PER_S], [1.0, float("nan")]))
    c = await client_for("vic")
    r = await c.get("/api/history/raw", params={"signal": FLOW, "start": str(T0), "end": str(T0 + 10 * NS_PER_S)})
    assert r.json()["series"][0]["value"] == [1.0, None]


async def test_alarm_lifecycle_over_rest_is_journaled(platform: Platform, client_for: Login) -> None:
    t = now_ns()
    await feed(platform, batch(platform, TEMP, [t - 2 * NS_PER_S, t - NS_PER_S], [60.0, 88.0]))
    c = await client_for("otto")
    lst = (await c.get("/api/alarms")).json()
    assert lst["summary"]["counts"]["high"] == 1 and lst["summary"]["unacknowledged"] == 1
    (alarm,) = lst["alarms"]
    assert (alarm["alarm_id"], alarm["state"], alarm["value"]) == ("pump-hot.H", "unack", 88.0)

    r = await c.post("/api/alarms/pump-hot.H/ack", json={"comment": "checking the cooler"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["acked_by"]) == ("acked", "otto")
    assert (await c.post("/api/alarms/pump-hot.H/ack", json={})).status_code == 409
    assert (await c.post("/api/alarms/nope/ack", json={})).status_code == 404

    r = await c.post("/api/alarms/pump-hot.H/shelve", json={"duration": "30min", "comment": "maint"})
    assert r.json()["state"] == "shelved" and r.json()["shelved_by"] == "otto"
    assert (await c.get("/api/alarms/summary")).json()["shelved"] == 1
    r = await c.post("/api/alarms/pump-hot.H/shelve", json={"duration": "30d"})
    assert r.status_code == 422  # longer than the 7-day cap
    r = await c.post("/api/alarms/pump-hot.H/unshelve", json={"comment": "done"})
    assert r.json()["state"] != "shelved"

    await settle(platform)
    evs = (await c.get("/api/events", params={"type": "alarm", "start": "now-1h"})).json()
    actions = [(e["payload"]["action"], e["payload"]["user"]) for e in evs]
    assert ("acknowledge", "otto") in actions and ("shelve", "otto") in actions
    ack = next(e for e in evs if e["payload"]["action"] == "acknowledge")
    assert ack["payload"]["comment"] == "checking the cooler"
    audits = (await c.get("/api/events", params={"type": "audit", "start": "now-1h"})).json()
    assert {"alarm_acknowledge", "alarm_shelve", "alarm_unshelve"} <= {a["payload"]["action"] for a in audits}


async def test_command_write_back_is_journaled_and_audited(platform: Platform, client_for: Login) -> None:
    c = await client_for("otto")
    r = await c.post("/api/commands", json={"signal": SETPOINT, "value": 1450, "reason": "more flow"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["new_value"] == 1450
    fake = platform.connectors["fake"]
    assert isinstance(fake, FakeConnector)
    assert fake.writes[0].user == "otto" and fake.writes[0].value == 1450
    r = await c.post("/api/commands", json={"signal": TEMP, "value": 1})
    assert r.status_code == 403  # not writable
    await settle(platform)
    cmds = (await c.get("/api/events", params={"type": "command", "start": "now-1h"})).json()
    assert cmds[0]["payload"]["signal"] == SETPOINT and cmds[0]["payload"]["user"] == "otto"
    audits = (await c.get("/api/events", params={"type": "audit", "start": "now-1h"})).json()
    assert any(a["payload"]["action"] == "command" and a["payload"]["value"] == 1450 for a in audits)


async def test_exports_csv_and_parquet(platform: Platform, client_for: Login) -> None:
    ts = T0 + np.arange(120, dtype=np.int64) * NS_PER_S
    await feed(platform, batch(platform, FLOW, ts, np.arange(120.0)))
    c = await client_for("vic")
    q = {"signal": FLOW, "start": str(T0), "end": str(T0 + 120 * NS_PER_S)}
    r = await c.get("/api/exports", params={**q, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    t = pacsv.read_csv(io.BytesIO(r.content))
    assert t.num_rows == 120 and t.column("signal")[0].as_py() == FLOW
    r = await c.get("/api/exports", params={**q, "format": "parquet", "interval": "1min"})
    t = pq.read_table(io.BytesIO(r.content))
    assert t.num_rows == 2 and t.column("count").to_pylist() == [60, 60]
    assert t.column("mean").to_pylist() == [29.5, 89.5]


async def test_health_and_docs(platform: Platform, client_for: Login) -> None:
    c = await client_for("vic")
    h = (await c.get("/api/health")).json()
    assert h["plant"] == "testplant" and h["pipeline"]["values_in"] >= 0
    assert h["alarms"]["total"] == 2  # pump-hot.H and pump-hot.HH
    spec = (await c.get("/openapi.json")).json()
    assert "/api/alarms/{alarm_id}/ack" in spec["paths"]
    page = await c.get("/docs")
    assert page.status_code == 200 and "/api/history/plot" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text


async def test_pages_need_login_and_render(platform: Platform, client_for: Login) -> None:
    anon = await client_for(None)
    r = await anon.get("/trends")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Ftrends")
    assert (await anon.get("/api/assets")).status_code == 401
    c = await client_for("vic")
    for path in ("/", "/equipment/s1/a1/pump-1", "/trends", "/alarms", "/events", "/oee"):
        r = await c.get(path)
        assert r.status_code == 200, path
        assert "https://" not in r.text, path  # nothing from the internet
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "temp_c" in (await c.get("/equipment/s1/a1/pump-1")).text
    css = await c.get("/static/vendor/uplot/uPlot.iife.min.js")
    assert css.status_code == 200 and len(css.content) > 10_000


async def test_oee_endpoint(platform: Platform, client_for: Login) -> None:
    # Shift A of a UTC day 06:00-14:00: running 6 h, fault 1 h, off (planned stop) 1 h.
    day = 1_700_006_400 * NS_PER_S  # 2023-11-15 00:00 UTC
    h = 3600 * NS_PER_S
    ts = [day + 6 * h, day + 12 * h, day + 13 * h]
    await feed(platform, batch(platform, STATE, ts, [1, 2, 0]))
    c = await client_for("vic")
    r = await c.get("/api/oee", params={"asset": "s1/a1/pump-1", "start": str(day + 6 * h),
                                        "end": str(day + 14 * h)})
    assert r.status_code == 200, r.text
    (a,) = r.json()["shifts"]
    assert a["shift"].endswith("A") and a["planned_s"] == 7 * 3600 and a["run_s"] == 6 * 3600
    assert np.isclose(a["availability"], 6 / 7) and a["oee"] is None
    assert (await c.get("/api/oee", params={"asset": "s1/a1/pump-2"})).status_code == 404


async def test_app_plugins_add_routes_and_nav(platform: Platform, auth: Auth) -> None:
    r = APIRouter()

    @r.get("/api/apps/demo/ping")
    async def ping(who: Annotated[Principal, Depends(require("viewer"))]) -> dict[str, str]:
        return {"pong": who.name}

    app = create_app(platform, auth=auth, routers=[r], nav=[("Welding", "/apps/welding")])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/api/apps/demo/ping")).status_code == 401
        await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
        assert (await c.get("/api/apps/demo/ping")).json() == {"pong": "vic"}
        assert 'href="/apps/welding"' in (await c.get("/alarms")).text


async def test_serve_runs_in_the_platforms_loop(platform: Platform, auth: Auth) -> None:
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve(platform, port=port, auth=auth, started=started))
    try:
        await asyncio.wait_for(started.wait(), 20)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            r = await c.get("/login")
            assert r.status_code == 200 and "ironfield" in r.text
            r = await c.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})
            assert r.status_code == 200
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
