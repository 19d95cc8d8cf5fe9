"""The live WebSocket feed on a real uvicorn server: subscribe, coalesce, resume, refuse."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection

from ironfield.core.timeutil import NS_PER_MS, now_ns
from server.server_rig import FLOW, PASSWORD, TEMP, LiveServer


def _session(server: LiveServer, user: str = "vic") -> str:
    r = httpx.post(f"{server.url}/api/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200
    return str(r.cookies["ironfield_session"])


def _ws(server: LiveServer, sid: str | None) -> ClientConnection:
    headers = {"Cookie": f"ironfield_session={sid}"} if sid else {}
    return connect(f"ws://127.0.0.1:{server.port}/api/live", additional_headers=headers,
                   open_timeout=10)


def _recv(ws: Connection, timeout: float = 5.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return msg


def _until(ws: Connection, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        m = _recv(ws, max(0.05, deadline - time.monotonic()))
        if pred(m):
            return m


def test_subscribe_receives_live_values(live_server: LiveServer) -> None:
    with _ws(live_server, _session(live_server)) as ws:
        assert _recv(ws)["type"] == "hello"
        ws.send(json.dumps({"op": "subscribe", "assets": ["s1/a1/pump-1"], "max_hz": 20}))
        sub = _recv(ws)
        assert sub["type"] == "subscribed" and TEMP in sub["signals"]
        t = now_ns()
        live_server.feed(TEMP, [t], [42.5])
        live_server.feed("s1/a1/pump-2/temp_c", [t], [1.0])  # not subscribed
        m = _until(ws, lambda m: m["type"] == "batch")
        assert m["signal"] == [TEMP] and m["value"] == [42.5] and m["ts"] == [t]
        assert m["quality"] == [0xC0] and m["replay"] is False
        ws.send('{"op": "ping"}')
        assert _until(ws, lambda m: m["type"] == "pong")


def test_slow_client_gets_latest_values_coalesced(live_server: LiveServer) -> None:
    bus = live_server.platform.bus
    before = bus.subscribers  # the runtime's own (e.g. the alarm service)
    with _ws(live_server, _session(live_server)) as ws:
        _recv(ws)
        ws.send(json.dumps({"op": "subscribe", "signals": [FLOW], "max_hz": 2}))
        _recv(ws)
        t0 = now_ns()
        n = 200
        # 200 batches in quick succession, far faster than the 2 Hz this client takes.
        for i in range(0, n, 20):
            ts = t0 + np.arange(i, i + 20) * NS_PER_MS
            live_server.feed(FLOW, ts, np.arange(i, i + 20, dtype=np.float64))
        got: list[float] = []
        msgs = 0
        while not got or got[-1] != n - 1:
            m = _until(ws, lambda m: m["type"] == "batch", timeout=5)
            msgs += 1
            assert len(m["signal"]) == 1  # latest value per signal only
            got.extend(m["value"])
        assert msgs < n // 20  # merged: fewer messages than batches published
        assert got == sorted(got)
        assert bus.subscribers == before + 1
    deadline = time.monotonic() + 5
    while bus.subscribers > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bus.subscribers == before  # the subscription goes with the socket


def test_resume_replays_the_gap(live_server: LiveServer) -> None:
    sid = _session(live_server)
    t0 = now_ns() - 10_000 * NS_PER_MS
    ts = t0 + np.arange(10) * 100 * NS_PER_MS
    live_server.feed(TEMP, ts, np.arange(10.0))
    with _ws(live_server, sid) as ws:
        _recv(ws)
        # The client saw up to the 4th value before it lost its connection.
        ws.send(json.dumps({"op": "subscribe", "signals": [TEMP], "since": int(ts[3])}))
        assert _recv(ws)["type"] == "subscribed"
        replay = _recv(ws)
        assert replay["type"] == "batch" and replay["replay"] is True
        assert replay["ts"] == [int(x) for x in ts[4:]] and replay["value"] == list(np.arange(4.0, 10.0))
        assert _recv(ws)["type"] == "live"
        live_server.feed(TEMP, [now_ns()], [99.0])
        m = _until(ws, lambda m: m["type"] == "batch")
        assert m["value"] == [99.0] and m["replay"] is False


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("{not json", 1008, "malformed JSON"),
        (b"\x00\x01", 1003, "binary"),
        ('{"op": "subscribe", "signals": "s1"}', 1008, "signals"),
        ('{"op": "launch"}', 1008, "op"),
        ('{"op": "subscribe", "signals": ["s1/a1/nope"]}', 1008, "unknown signal"),
        ('{"op": "subscribe", "max_hz": -1}', 1008, "max_hz"),
        ('[1, 2, 3]', 1008, "bad request"),
    ],
)
def test_malformed_messages_close_that_socket_only(
    live_server: LiveServer, frame: str | bytes, code: int, reason: str
) -> None:
    sid = _session(live_server)
    with _ws(live_server, sid) as bad, _ws(live_server, sid) as good:
        _recv(bad)
        _recv(good)
        bad.send(frame)
        with pytest.raises(ConnectionClosed) as exc:
            while True:
                bad.recv(timeout=5)
        assert exc.value.rcvd is not None
        assert exc.value.rcvd.code == code and reason in exc.value.rcvd.reason
        good.send('{"op": "ping"}')  # the server and the other socket carry on
        assert _until(good, lambda m: m["type"] == "pong")


def test_unauthenticated_socket_is_closed(live_server: LiveServer) -> None:
    with _ws(live_server, None) as ws, pytest.raises(ConnectionClosed) as exc:
        ws.recv(timeout=5)
    assert exc.value.rcvd is not None
    assert exc.value.rcvd.code == 1008 and exc.value.rcvd.reason == "not logged in"


def test_cross_origin_socket_with_a_session_cookie_is_refused(live_server: LiveServer) -> None:
    sid = _session(live_server)
    headers = {"Cookie": f"ironfield_session={sid}", "Origin": "http://evil.example"}
    with connect(f"ws://127.0.0.1:{live_server.port}/api/live", additional_headers=headers,
                 open_timeout=10) as ws, pytest.raises(ConnectionClosed) as exc:
        ws.recv(timeout=5)
    assert exc.value.rcvd is not None and exc.value.rcvd.code == 1008
    same = {"Cookie": f"ironfield_session={sid}", "Origin": live_server.url}
    with connect(f"ws://127.0.0.1:{live_server.port}/api/live", additional_headers=same,
                 open_timeout=10) as ws:
        assert _recv(ws)["type"] == "hello"
