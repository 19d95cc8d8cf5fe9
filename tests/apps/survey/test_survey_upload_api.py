"""Uploading a survey through the REST API: roles, CSRF, size limit, bad names, processing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from apps.survey.survey_rig import SEED, events, plant, platform, wait_until, write_survey
from ironfield.apps.survey import synth
from ironfield.server.app import create_app
from server.server_rig import PASSWORD, make_auth, stop_platform


async def _login(c: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await c.post("/api/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200
    return {"X-CSRF-Token": c.cookies["ironfield_csrf"]}


async def test_upload_needs_an_engineer_is_limited_and_is_processed(tmp_path: Path) -> None:
    site = synth.make_site(SEED)
    laz = write_survey(tmp_path / "src" / "flight 12.laz", site, "after", seed=4, spacing=0.8)
    p = platform(tmp_path / "d", plant(cell_m=1.0, max_upload_mb=1.5))
    auth = make_auth(tmp_path / "d")
    await p.start()
    try:
        app = create_app(p, auth=auth)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            files = {"files": ("flight 12.laz", laz.read_bytes(), "application/octet-stream")}
            assert (await c.post("/api/apps/survey/surveys", files=files)).status_code == 401
            h = await _login(c, "otto")  # operator: may not upload
            r = await c.post("/api/apps/survey/surveys", files=files, headers=h)
            assert r.status_code == 403 and "engineer" in r.json()["detail"]
            h = await _login(c, "erin")
            r = await c.post("/api/apps/survey/surveys", files=files)  # no CSRF token
            assert r.status_code == 403 and "CSRF" in r.json()["detail"]
            r = await c.post("/api/apps/survey/surveys", headers=h,
                             files={"files": ("notes.txt", b"hello", "text/plain")})
            assert r.status_code == 400 and "notes.txt: not a .las or .laz file" in r.json()["detail"]
            big = {"files": ("big.laz", b"\0" * (2 * 2**20), "application/octet-stream")}
            r = await c.post("/api/apps/survey/surveys", files=big, headers=h)
            assert r.status_code == 413 and "1.5 MB" in r.json()["detail"]
            # chunked, with no Content-Length: cut off once past the limit, not read whole
            sent = [0]

            async def chunked_body() -> AsyncIterator[bytes]:
                yield (b"--xx\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.laz\"\r\n"
                       b"Content-Type: application/octet-stream\r\n\r\n")
                for _ in range(32):  # 8 MB
                    sent[0] += 2**18
                    yield b"\0" * 2**18
                yield b"\r\n--xx--\r\n"

            r = await c.post("/api/apps/survey/surveys", content=chunked_body(),
                             headers={**h, "Content-Type": "multipart/form-data; boundary=xx"})
            assert r.status_code == 413 and "1.5 MB" in r.json()["detail"]
            assert sent[0] <= 2 * 2**20, f"read {sent[0] / 2**20:.1f} MB of an upload over its 1.5 MB limit"
            r = await c.post("/api/apps/survey/surveys", content=b"flight=12", headers={
                **h, "Content-Type": "application/x-www-form-urlencoded"})
            assert r.status_code == 400 and "multipart/form-data" in r.json()["detail"]

            r = await c.post("/api/apps/survey/surveys", files=files, headers=h)
            assert r.status_code == 202, r.text
            job = r.json()
            assert job["source"] == "upload" and job["files"] == ["flight 12.laz"]
            await wait_until(lambda: len(events(p, "survey.processed")) == 1, what="upload processed")
            listing = (await c.get("/api/apps/survey/surveys")).json()
            assert listing["surveys"][0]["survey_id"] == job["id"]
            assert [j["state"] for j in listing["jobs"]] == ["done"]
            one = (await c.get(f"/api/apps/survey/surveys/{job['id']}")).json()
            assert one["points"] == events(p, "survey.processed")[0].payload["points"]
            png = await c.get(f"/api/apps/survey/surveys/{job['id']}/files/dem.png")
            assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
            r = await c.get(f"/api/apps/survey/surveys/{job['id']}/files/..%2Fh.duckdb")
            assert r.status_code == 404
            assert (await c.get("/api/apps/survey/surveys/nosuch")).status_code == 404
            assert not list((tmp_path / "d" / "survey" / ".uploads").glob("*"))  # staging cleaned
            audits = [e for e in events(p, "audit") if e.payload.get("action") == "survey.upload"]
            assert audits and audits[0].payload["user"] == "erin"
    finally:
        await stop_platform(p)
