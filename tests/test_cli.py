"""The front door: `ironfield demo` shows values within seconds, `query` prints them while
it runs (through its API), `write` sends a setpoint and a refused one says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CLI = [sys.executable, "-m", "ironfield.cli"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_demo_query_and_write(tmp_path: Path, free_port: int) -> None:
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen([*CLI, "demo", "--data-dir", "d", "--port", str(free_port), "--for", "120"],
                                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
    try:
        started = time.monotonic()
        deadline = started + 60
        while "control room" not in log.read_text():
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert "log in as demo / ironfield-demo" in log.read_text()
        while True:  # values arrive within seconds of starting
            q = run("query", "luobei/pit/truck-01/soc_pct", "--data-dir", "d", "--last", "--json", cwd=tmp_path)
            if q.returncode == 0 and '"value"' in q.stdout:
                break
            assert time.monotonic() < deadline, q.stdout + q.stderr
            time.sleep(0.5)
        assert "luobei/pit/truck-01/soc_pct" in q.stdout
        raw = run("query", "luobei/crusher/primary-crusher/*", "--data-dir", "d", "--start", "now-5m", cwd=tmp_path)
        assert raw.returncode == 0 and "bearing_temp_c" in raw.stdout, raw.stderr
        ok = run("write", "luobei/crusher/primary-crusher/feed_setpoint_tph", "750", "--data-dir", "d",
                 "--reason", "test", cwd=tmp_path)
        assert ok.returncode == 0 and "confirmed" in ok.stdout, ok.stdout + ok.stderr
        bad = run("write", "luobei/crusher/primary-crusher/feed_setpoint_tph", "5000", "--data-dir", "d", cwd=tmp_path)
        assert bad.returncode == 1 and "above its high limit" in bad.stdout
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
    assert not (tmp_path / "d" / "endpoint.json").exists()  # the CLI token is withdrawn on stop
    # stopped: query opens the embedded historian itself
    after = run("query", "luobei/pit/truck-01/soc_pct", "--data-dir", "d", "--last", "--json", cwd=tmp_path)
    assert after.returncode == 0 and '"value"' in after.stdout, after.stderr
    # and both commands are in the journal, with who asked and what came of it
    from ironfield.core.plant import HistorianSpec
    from ironfield.historian import open_historian

    h = open_historian(HistorianSpec(path="ironfield.duckdb"), tmp_path / "d")
    try:
        # the apps write back too (dispatch, weld schedules): only the CLI's commands here
        journal = [e.payload for e in h.events(0, 2**62, types=["command"]) if e.payload["user"] == "cli"]
    finally:
        h.close()
    assert [(j["status"], j["user"]) for j in journal] == [("confirmed", "cli"), ("rejected", "cli")]


def test_check_reports_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("plant: p\nsites:\n  - id: s\n    areaz: []\n")
    r = run("check", str(f), cwd=tmp_path)
    assert r.returncode == 2
    assert f"{f}:4" in r.stderr.replace("\n", "") or f"{f}:4" in r.stdout
