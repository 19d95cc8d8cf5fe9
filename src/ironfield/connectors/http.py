"""An HTTP collector that speaks InfluxDB's ``/api/v2/write`` (line protocol).

Telegraf and the many tools that write to InfluxDB can feed ironfield unchanged: point
their InfluxDB v2 output at this listener. Measurements, tags and fields become signals
through rules in the plant file, e.g.::

    - id: telegraf
      type: influx
      listen: 127.0.0.1:8186
      token: change-me            # optional: "Authorization: Token change-me"
      rules:
        - measurement: "modbus"   # glob on the measurement name
          where: {site: luobei}   # optional tag filter
          signal: "luobei/{area}/{name}/{field}"   # {tag}, {field}, {measurement}

The request is answered 204 only once the batch is durable (the pipeline's ack), so a
client that retries on error never loses a point. A body that cannot be parsed, or that
names a signal no rule maps, is refused whole with 400 and the line that is wrong, and
kept in the dead-letter table.
"""

from __future__ import annotations

import asyncio
import fnmatch
import gzip
import hmac
import logging
import time
from typing import Literal

import numpy as np
import uvicorn
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ironfield.connectors.fieldcommon import validate_spec
from ironfield.connectors.lineprotocol import PRECISION, parse
from ironfield.connectors.mqtt.topics import fill
from ironfield.core.batch import Batch
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.plant import ConnectorSpec
from ironfield.core.plugins import Command, CommandResult, ConnectorContext, Sink
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry

log = logging.getLogger(__name__)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measurement: str = "*"
    where: dict[str, str] = Field(default_factory=dict)
    signal: str


class InfluxSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: Literal["influx"] = "influx"
    listen: str = "127.0.0.1:8186"
    token: str | None = None
    max_body_bytes: int = Field(25 << 20, ge=1024)
    unknown_signals: Literal["reject", "register"] = "reject"
    rules: list[Rule] = Field(default_factory=list)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


class InfluxConnector:
    def __init__(self, spec: InfluxSpec, registry: SignalRegistry) -> None:
        self.spec = spec
        self.id = spec.id
        self.registry = registry
        self.port = spec.port
        self.started = asyncio.Event()
        self._sink: Sink | None = None
        self.points = 0

    def to_batch(self, body: str, precision: str, now: int) -> Batch:
        factor = PRECISION[precision]
        sid: list[int] = []
        ts: list[int] = []
        val: list[float] = []
        for p in parse(body):
            rule = next((r for r in self.spec.rules
                         if fnmatch.fnmatchcase(p.measurement, r.measurement)
                         and all(p.tags.get(k) == v for k, v in r.where.items())), None)
            if rule is None:
                raise MalformedPayloadError(f"measurement {p.measurement!r} with tags {p.tags} matches no rule")
            t = p.ts * factor if p.ts is not None else now
            for field, v in p.fields.items():
                if isinstance(v, str):
                    continue  # string fields are annotations, not process values
                try:
                    path = fill(rule.signal, {**p.tags, "field": field, "measurement": p.measurement})
                except KeyError as e:
                    raise MalformedPayloadError(f"{p.measurement}: {e.args[0]}") from None
                s = self.registry.get_id(path)
                if s is None and self.spec.unknown_signals == "register":
                    s = self.registry.register(SignalDef(path))
                if s is None:
                    raise MalformedPayloadError(f"unknown signal {path!r} (from {p.measurement} field {field!r})")
                sid.append(s)
                ts.append(t)
                val.append(v)
        return Batch(np.asarray(sid, np.int32), np.asarray(ts, np.int64), np.asarray(val, np.float64),
                     np.full(len(sid), Quality.GOOD, np.uint8))

    async def _write(self, request: Request) -> Response:
        sink = self._sink
        if sink is None:
            return _error(503, "unavailable", "collector is starting")
        if self.spec.token is not None:
            auth = request.headers.get("authorization", "")
            given = auth.split(" ", 1)[1] if " " in auth else ""
            if not hmac.compare_digest(given.encode(), self.spec.token.encode()):
                return _error(401, "unauthorized", "missing or wrong token (Authorization: Token ...)")
        precision = request.query_params.get("precision", "ns")
        if precision not in PRECISION:
            return _error(400, "invalid", f"precision {precision!r} is not one of ns, us, ms, s")
        raw = await request.body()
        if len(raw) > self.spec.max_body_bytes:
            return _error(413, "request too large", f"body over {self.spec.max_body_bytes} bytes")
        try:
            if request.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            batch = self.to_batch(raw.decode("utf-8"), precision, time.time_ns())
        except (MalformedPayloadError, UnicodeDecodeError, OSError) as e:
            sink.malformed(f"influx/{self.id}", raw, str(e))
            return _error(400, "invalid", str(e))
        durable = asyncio.Event()
        loop = asyncio.get_running_loop()

        def ack() -> None:
            loop.call_soon_threadsafe(durable.set)

        await sink.submit(batch, ack)
        try:
            await asyncio.wait_for(durable.wait(), 30)
        except TimeoutError:
            return _error(503, "unavailable", "not durable within 30 s; retry")
        self.points += len(batch)
        return Response(status_code=204)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"name": "ironfield", "status": "pass" if self._sink else "fail"})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/v2/write", self._write, methods=["POST"]),
            Route("/health", self._health, methods=["GET"]),
            Route("/ping", lambda r: Response(status_code=204), methods=["GET", "HEAD"]),
        ])

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        config = uvicorn.Config(self.app(), host=self.spec.host, port=self.spec.port, log_level="warning",
                                access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    await task
                    raise OSError(f"influx collector {self.id}: could not listen on {self.spec.listen}")
                await asyncio.sleep(0.02)
            if self.port == 0:
                self.port = server.servers[0].sockets[0].getsockname()[1]
            self.started.set()
            # shielded: on cancel, uvicorn must shut down itself to close its sockets
            await asyncio.shield(task)
        finally:
            server.should_exit = True
            await asyncio.gather(task, return_exceptions=True)

    def owns(self, signal: str) -> bool:
        return False

    async def write(self, command: Command) -> CommandResult:
        return CommandResult("rejected", message="the HTTP collector is receive-only")


def create(spec: ConnectorSpec, ctx: ConnectorContext) -> InfluxConnector:
    return InfluxConnector(validate_spec(InfluxSpec, spec, ctx.plant_file), ctx.registry)


