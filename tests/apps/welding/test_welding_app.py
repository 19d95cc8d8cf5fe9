"""The welding app inside a real Platform: welds in over MQTT (real Mosquitto), curves in
the historian as their own signals, verdicts, electrode care, bad records, QA, write-back."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from apps.welding.welding_rig import Robot, Welds, plant_text
from ironfield.apps.welding.app import WeldingApp
from ironfield.apps.welding.shop import DEFAULT_FAMILIES, weld_id
from ironfield.core.errors import PlantFileError
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.durable import settle
from server.server_rig import PASSWORD, make_auth, stop_platform


async def until(pred: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def expected_life_pct(counts: dict[int, int], spots: int = 2) -> float:
    """Electrode life with no beta resistance to go by: the count prior of WearModel
    (face = f0·√(1 + g·n), limit 1.12·f0) and the count limit (dress_every · share)."""
    lives = []
    for fam, n in counts.items():
        f = DEFAULT_FAMILIES[fam]
        g = 5e-4 if f.coating.value == "galvanised" else 1.5e-4
        face_used = (math.sqrt(1 + g * n) - 1) / 0.12
        count_used = n / max(10, int(f.dress_every * (1 / spots)))
        lives.append(min(1 - face_used, 1 - count_used))
    return round(100 * min(lives), 1)


async def test_welds_over_mqtt_verdicts_bad_records_electrodes_and_qa(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"w{unique}"
    text = plant_text(site, host, port, f"ing{unique}", robots=3, spots=2,
                      app="    dress_at_life_pct: 95")
    p = Platform(plant=parse_plant(text), data_dir=tmp_path, app_factories={"welding": WeldingApp})
    p.open()
    app = p.apps["welding"]
    assert isinstance(app, WeldingApp)
    await p.start()
    robot = Robot(host, port, f"rob{unique}", site)
    try:
        conn = p.connectors["shop-mqtt"]
        await until(lambda: conn.connected.is_set() and app.processor is not None, "connector and app")  # type: ignore[attr-defined]
        proc = app.processor
        assert proc is not None
        r1, r2, r3 = (f"{site}/body-shop/line-1/robot-{k:03d}" for k in (1, 2, 3))
        assert proc.shop.robots == (r1, r2, r3)
        W = Welds(DEFAULT_FAMILIES[1])  # r1 spot 1 welds family (0 + 1) % 4 = 1.0 GI
        t0 = now_ns() - 120_000_000_000
        sec = 1_000_000_000
        sent = []
        # r1: six passing welds of spot 1 (the first five teach its reference), then one that expels
        for k, row in enumerate(W.rows("normal")[:6]):
            sent.append(W.make(r1, 1, t0 + k * sec, row=row))
        expelled = W.make(r1, 1, t0 + 6 * sec, row=W.expelling_row())
        sent.append(expelled)
        # r2: three bad records, each with one fault
        short = W.make(r2, 1, t0 + 10 * sec)
        short.curves = {k: v[: len(v) // 2] for k, v in short.curves.items()}  # half the samples lost
        amps = W.make(r2, 1, t0 + 11 * sec)
        amps.curves["curve_current_ka"] = amps.curves["curve_current_ka"] * 1000.0  # A, not kA
        stray = W.make(r2, 7, t0 + 12 * sec)  # robot has spots 1..2
        sent += [short, amps, stray]
        # r3: one weld with a clipped current sensor (flagged, kept), then summaries only
        clipped = W.make(r3, 2, t0 + 20 * sec)
        c = clipped.curves["curve_current_ka"]
        c[60:90] = float(np.max(c))
        c[c > c[60]] = c[60]
        sent.append(clipped)
        for k in range(5):
            sent.append(W.make(r3, 1, t0 + (21 + k) * sec, curves=False))
        for w in sent[:3]:
            robot.send(w)
        # a message that is not a weld batch at all: dead-lettered by the connector, counted
        robot.c.publish(f"{r2}/weld", b'{"spot": 1, "current": "lots"}', qos=1).wait_for_publish(10)
        for w in sent[3:]:
            robot.send(w)
        await until(lambda: proc.welds_total + proc.rejected_total == len(sent), "every weld analysed")
        # r3's dress request comes with its last weld, so its command arriving at the robot
        # means every weld's derived values were submitted before it
        await until(lambda: (f"{r3}/dress_cmd", 1.0) in robot.commands, "r3's dress command at the robot")
        await settle(p)
        h = p.historian
        assert h is not None
        reg = p.registry

        # curves are stored as their own signals, one row per sample at the sample's time
        first = sent[0]
        b = h.raw([reg.id(f"{r1}/curve_current_ka")], first.start_ns, first.start_ns + sec)
        assert len(b) == W.n
        assert np.array_equal(b.ts, first.start_ns + np.arange(1, W.n + 1) * 1_000_000)
        assert np.allclose(b.value, first.curves["curve_current_ka"])
        d = h.raw([reg.id(f"{r1}/curve_displacement_mm")], first.start_ns, first.start_ns + sec)
        assert np.allclose(d.value, first.curves["curve_displacement_mm"])
        assert h.raw([reg.id(f"{r1}/spot_no")], first.start_ns, first.start_ns + 1).value.tolist() == [1.0]

        events = h.events(0, 2**62)
        by_type: dict[str, list[object]] = {}
        for e in events:
            by_type.setdefault(e.type, []).append(e)

        # bad records: rejected with the reason, the others go on
        rejected = {e.payload["weld_id"]: e.payload for e in by_type["welding.weld_rejected"]}  # type: ignore[attr-defined]
        assert set(rejected) == {weld_id(r2, w.start_ns) for w in (short, amps, stray)}
        assert rejected[weld_id(r2, short.start_ns)]["codes"] == ["missing_samples"]
        assert any(f"{W.n // 2} samples for {W.n} ms" in r for r in rejected[weld_id(r2, short.start_ns)]["reasons"])
        assert rejected[weld_id(r2, amps.start_ns)]["codes"] == ["wrong_unit"]
        assert "looks like A, expected kA" in " ".join(rejected[weld_id(r2, amps.start_ns)]["reasons"])
        assert rejected[weld_id(r2, stray.start_ns)]["codes"] == ["unknown_spot"]
        assert proc.rejected_total == 3 and proc.welds_total == len(sent) - 3
        assert p.pipeline is not None and p.pipeline.stats.malformed == 1
        dead = h.dead_letters()
        assert len(dead) == 1 and f"{r2}/weld" in dead[0].source and "not an ironfield Arrow batch" in dead[0].reason

        # the reference was learned from the first five passing welds of r1's spot 1
        learned = [e for e in by_type["welding.reference_update"] if e.payload["spot"] == f"{r1}/spot-01"]  # type: ignore[attr-defined]
        assert learned and learned[0].payload["reason"] == "learned from 5 passing welds"  # type: ignore[attr-defined]
        spot = proc.spots[f"{r1}/spot-01"]
        assert spot.reference is not None and spot.reference.n_welds == 5

        # the expelled weld: an event, the robot's quality and streak
        ex = [e.payload for e in by_type["welding.expulsion"]]  # type: ignore[attr-defined]
        assert [x["weld_id"] for x in ex] == [weld_id(r1, expelled.start_ns)]
        assert ex[0]["streak"] == 1
        last = {reg.path(int(s)): v for s, v in zip(*(lambda b: (b.signal, b.value))(h.last()), strict=True)}
        assert last[f"{r1}/quality"] == 2.0 and last[f"{r1}/expulsion_streak"] == 1.0
        assert last[f"{r3}/quality"] == 0.0  # the clipped weld is kept, flagged
        assert proc.flagged_total == 1
        flagged = [e.payload for e in by_type["welding.weld_flagged"]]  # type: ignore[attr-defined]
        assert [(f["weld_id"], f["codes"]) for f in flagged] == [(weld_id(r3, clipped.start_ns), ["saturated"])]
        assert "current sensor sat at" in flagged[0]["reasons"][0]
        assert any("saturated" in r for w in proc.robots[2].recent for r in w.get("reasons", []))

        # electrodes: life from the weld counts (no beta peak in summaries), dress request at 95 %
        # r3 = robot index 2: spot 1 welds family 3 (2.0 GI), spot 2 family 0 (0.8 uncoated)
        assert last[f"{r3}/electrode_life_pct"] == expected_life_pct({3: 5, 0: 1})
        dress = {e.asset: e.payload for e in by_type["welding.dress_request"]}  # type: ignore[attr-defined]
        assert set(dress) == {r1, r3}
        assert dress[r3]["life_pct"] == expected_life_pct({3: 5, 0: 1}) == 95.0
        assert (f"{r3}/dress_cmd", 1.0) in robot.commands and (f"{r1}/dress_cmd", 1.0) in robot.commands
        journal = [e.payload for e in by_type["command"] if e.payload["signal"] == f"{r3}/dress_cmd"]  # type: ignore[attr-defined]
        assert journal and journal[0]["status"] == "confirmed" and journal[0]["user"] == "welding"
        assert last[f"{r3}/dress_due"] == 1.0
        # the shop's counters are submitted once a second
        total = reg.id(f"{site}/body-shop/welds_total")
        async with asyncio.timeout(10):
            while h.last([total]).value.tolist() != [float(len(sent) - 3)]:
                await asyncio.sleep(0.2)
                await settle(p)

        # QA results: only for welds that exist; engineers only
        web = create_app(p, auth=make_auth(tmp_path))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as cl:
            assert (await cl.post("/api/auth/login", json={"username": "vic", "password": PASSWORD})).status_code == 200
            csrf = cl.cookies.get("ironfield_csrf") or ""
            first_id = weld_id(r1, first.start_ns)
            qa: dict[str, str | float] = {"weld_id": first_id, "method": "chisel", "nugget_mm": 5.1}
            r = await cl.post("/api/apps/welding/qa", json=qa, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 403
            await cl.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
            cl.cookies.clear()
            assert (await cl.post("/api/auth/login", json={"username": "erin", "password": PASSWORD})).status_code == 200
            csrf = cl.cookies.get("ironfield_csrf") or ""
            ghost = weld_id(r1, first.start_ns + 5)
            r = await cl.post("/api/apps/welding/qa", json={**qa, "weld_id": ghost}, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 404 and ghost in r.json()["detail"]
            r = await cl.post("/api/apps/welding/qa", json=qa, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["nugget_ok"] is (DEFAULT_FAMILIES[1].stackup.d_min_mm <= 5.1)
            assert body["spot"] == f"{r1}/spot-01"
            r = await cl.get("/api/apps/welding/weld", params={"id": first_id})
            assert r.status_code == 200
            got = r.json()
            assert np.allclose(got["curves"]["curve_current_ka"]["v"], first.curves["curve_current_ka"], atol=1e-4)
            assert got["band"] is not None and len(got["band"]["p50"]) > 10
            s = (await cl.get("/api/apps/welding/shop")).json()
            assert s["quality"] == [2, 3, 0] and s["kpi"]["rejected"] == 3
    finally:
        robot.close()
        await stop_platform(p)

    # restarted on the same data, the app carries on where the shop was
    again = Platform(plant=parse_plant(text), data_dir=tmp_path, app_factories={"welding": WeldingApp})
    again.open()
    app2 = again.apps["welding"]
    assert isinstance(app2, WeldingApp)
    await again.start()
    try:
        await until(lambda: app2.processor is not None, "the app after a restart")
        p2 = app2.processor
        assert p2 is not None
        assert (p2.welds_total, p2.rejected_total) == (len(sent) - 3, 3)
        assert p2.shop.robots == (r1, r2, r3)  # plant order, whatever the stored registry's
        assert [r.quality for r in p2.robots] == [2, 3, 0]
        assert p2.robots[0].streak == 1 and p2.robots[2].dress_due
        assert p2.robots[2].life_pct == expected_life_pct({3: 5, 0: 1})
        # the learned reference is back (not learned again from five new welds)
        back = p2.spots[f"{r1}/spot-01"]
        assert back.reference is not None and back.learner is not None and not back.learning
        assert spot.reference is not None and back.reference.to_dict() == spot.reference.to_dict()
        assert p2.spots[f"{r2}/spot-01"].reference is None  # never learned: still learning
        await settle(again)
        assert again.historian is not None
        restored = again.historian.events(0, 2**62, types=["welding.references_restored"])
        assert [e.payload["spots"] for e in restored] == [1]
    finally:
        await stop_platform(again)


def test_a_bad_welding_section_is_named_at_open(tmp_path: Path) -> None:
    text = plant_text("wbad", "127.0.0.1", 1883, "unused", robots=2, spots=0)
    p = Platform(plant=parse_plant(text), data_dir=tmp_path, app_factories={"welding": WeldingApp})
    with pytest.raises(PlantFileError, match=r"apps\.welding.*spots_per_robot.*greater than or equal to 1"):
        p.open()
    assert p.historian is not None
    p.historian.close()
