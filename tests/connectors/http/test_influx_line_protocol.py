from __future__ import annotations

import asyncio
import gzip
import time
from pathlib import Path

import httpx
import pytest

from ironfield.connectors.lineprotocol import parse
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.plant import PlantSpec
from ironfield.runtime.platform import Platform


def test_parse_types_escapes_and_timestamps() -> None:
    pts = parse(
        'weather,location=us\\ midwest,season=summer temperature=82,humidity=71i,ok=t,note="a \\"b\\", c" 1465839830100400200\n'
        "# comment\n\n"
        "my\\,meas,tag\\=key=tag\\,val f\\ 1=1.5e3,f2=2u"
    )
    assert pts[0].measurement == "weather"
    assert pts[0].tags == {"location": "us midwest", "season": "summer"}
    assert pts[0].fields == {"temperature": 82.0, "humidity": 71.0, "ok": 1.0, "note": 'a "b", c'}
    assert pts[0].ts == 1465839830100400200
    assert pts[1].measurement == "my,meas" and pts[1].tags == {"tag=key": "tag,val"}
    assert pts[1].ts is None
    assert pts[1].fields["f 1"] == 1500.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cpu", "line 1: expected"),
        ("cpu value=1\ncpu value=abc", "line 2: field 'value'"),
        ("cpu value=1 notatime", "timestamp 'notatime'"),
        ('cpu s="open', "unterminated"),
        ("cpu,host value=1", "bad tag"),
        ("cpu value=-1u", "not a number"),
    ],
)
def test_parse_errors_name_the_line(text: str, needle: str) -> None:
    with pytest.raises(MalformedPayloadError, match=needle):
        parse(text)


async def test_telegraf_style_post_lands_in_the_historian(tmp_path: Path, free_port: int) -> None:
    spec = PlantSpec.model_validate({
        "plant": "lp",
        "sites": [{"id": "luobei", "areas": [{"id": "plant", "equipment": [
            {"id": "pump-1", "signals": [{"name": "flow_m3h"}, {"name": "pressure_bar"}]}]}]}],
        "connectors": [{"id": "telegraf", "type": "influx", "listen": f"127.0.0.1:{free_port}",
                        "token": "s3cret",
                        "rules": [{"measurement": "pump*", "where": {"site": "luobei"},
                                   "signal": "luobei/plant/{name}/{field}"}]}],
    })
    p = Platform(plant=spec, data_dir=tmp_path)
    p.open()
    await p.start()
    try:
        conn = p.connectors["telegraf"]
        await asyncio.wait_for(conn.started.wait(), 10)  # type: ignore[attr-defined]
        url = f"http://127.0.0.1:{free_port}/api/v2/write?org=x&bucket=y&precision=s"
        t = time.time_ns() // 10**9 - 60  # [s] recent: the platform's retention keeps it
        body = f"pumps,site=luobei,name=pump-1 flow_m3h=120.5,pressure_bar=3.2 {t}\n" \
               f"pumps,site=luobei,name=pump-1 flow_m3h=121.0,pressure_bar=3.3,state=\"run\" {t + 1}"
        async with httpx.AsyncClient() as c:
            r = await c.post(url, content=gzip.compress(body.encode()),
                             headers={"Authorization": "Token s3cret", "Content-Encoding": "gzip"})
            assert r.status_code == 204, r.text
            bad = await c.post(url, content=b"pumps,site=luobei,name=pump-1 flow_m3h=oops 1",
                               headers={"Authorization": "Token s3cret"})
            unknown = await c.post(url, content=b"other,site=luobei v=1 1",
                                   headers={"Authorization": "Token s3cret"})
            noauth = await c.post(url, content=body.encode())
        assert bad.status_code == 400 and "line 1: field 'flow_m3h'" in bad.json()["message"]
        assert unknown.status_code == 400 and "matches no rule" in unknown.json()["message"]
        assert noauth.status_code == 401
        assert p.historian is not None
        fid = p.registry.id("luobei/plant/pump-1/flow_m3h")
        b = p.historian.raw([fid], 0, 2**62)
        assert b.value.tolist() == [120.5, 121.0]
        assert b.ts.tolist() == [t * 10**9, (t + 1) * 10**9]
        await asyncio.sleep(0.3)
        assert len(p.historian.dead_letters(10)) == 2
    finally:
        await p.stop()
