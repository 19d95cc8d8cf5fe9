"""The platform: one plant file brought to life.

Owns the signal registry, the historian, the bus, the pipeline and the connectors;
starts them, supervises the long-running tasks (a task that dies is logged, reported as
an event and restarted with backoff) and routes write-back commands to the connector
that owns the target signal, journaling each one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironfield.alarms.engine import AlarmEngine
from ironfield.alarms.errors import AlarmRuleError
from ironfield.alarms.service import AlarmService
from ironfield.core.batch import Batch
from ironfield.core.bus import Bus
from ironfield.core.errors import PlantFileError
from ironfield.core.events import Event
from ironfield.core.plant import PlantSpec, load_plant, locate
from ironfield.core.plugins import (
    App,
    AppContext,
    Command,
    CommandResult,
    Connector,
    ConnectorContext,
)
from ironfield.core.signals import SignalRegistry
from ironfield.core.timeutil import NS_PER_DAY, now_ns, parse_duration
from ironfield.historian import open_historian
from ironfield.historian.base import Historian
from ironfield.runtime.pipeline import Pipeline
from ironfield.runtime.plugins import load_entry_point

log = logging.getLogger(__name__)


@dataclass
class TaskHealth:
    name: str
    restarts: int = 0
    last_error: str = ""
    running: bool = False


@dataclass
class Platform:
    plant: PlantSpec
    plant_file: str = "<plant>"
    data_dir: Path = field(default_factory=lambda: Path("data"))
    registry: SignalRegistry = field(default_factory=SignalRegistry)
    bus: Bus = field(default_factory=Bus)
    historian: Historian | None = None
    pipeline: Pipeline | None = None
    connectors: dict[str, Connector] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    # apps by name, for embedding and tests; otherwise found through entry points
    app_factories: dict[str, Callable[[], App]] = field(default_factory=dict)
    tasks: dict[str, TaskHealth] = field(default_factory=dict)
    started_ns: int = 0
    _running: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: str | Path, *, data_dir: Path | None = None) -> Platform:
        plant = load_plant(path)
        dd = data_dir or Path(plant.data_dir)
        return cls(plant=plant, plant_file=str(path), data_dir=dd)

    # -- lifecycle --------------------------------------------------------------------

    def open(self) -> None:
        """Open storage and build connectors (no network yet): fails fast on bad config."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        h = open_historian(self.plant.historian, self.data_dir)
        h.open()
        self.historian = h
        self.registry.load(h.load_signal_ids())
        defs = self.plant.signal_defs()
        self.registry.register_many(defs)
        site = self.plant.sites[0].id if self.plant.sites else self.plant.plant
        self.pipeline = Pipeline(
            h, self.bus.publish, self.registry,
            flush_rows=self.plant.historian.flush_rows,
            flush_interval_ns=parse_duration(self.plant.historian.flush_interval),
            metrics_root=f"{site}/platform/pipeline",
            bus_subscribers=lambda: self.bus.subscribers,
        )
        self.save_signals()
        ctx = ConnectorContext(self.registry, self.plant, self.data_dir, self.plant_file)
        for spec in self.plant.connectors:
            factory = load_entry_point("ironfield.connectors", spec.type)
            self.connectors[spec.id] = factory(spec, ctx)
        # apps first: alarm rules may name the signals an app derives
        self._open_apps()
        self._open_alarms()

    def _open_apps(self) -> None:
        for name, config in self.plant.apps.items():
            factory = self.app_factories.get(name) or load_entry_point("ironfield.apps", name)
            app = factory()
            self.registry.register_many(app.signals(config, self.plant))
            self.apps[name] = app
        if self.apps:
            self.save_signals()

    def _app_context(self, name: str) -> AppContext:
        assert self.pipeline is not None
        pipeline = self.pipeline

        async def submit(batch: Batch) -> None:
            await pipeline.submit(batch)

        return AppContext(
            name=name, config=self.plant.apps.get(name, {}), plant=self.plant,
            registry=self.registry, bus=self.bus, data_dir=self.data_dir, submit=submit,
            emit=pipeline.emit_nowait, command=self.command, history=self.historian,
        )

    def _open_alarms(self) -> None:
        """The alarm engine, its rules from the plant file, its state from the journal."""
        assert self.pipeline is not None and self.historian is not None
        try:
            engine = AlarmEngine(self.plant.alarms, self.registry, self.pipeline.emit_nowait)
        except AlarmRuleError as e:
            raise PlantFileError(self.plant_file, [(locate(self.plant_file, f), f, m) for f, m in e.problems]) from None
        # Shelving lasts at most 7 days, so a journal window of 8 days restores every state.
        since = now_ns() - 8 * NS_PER_DAY
        journal: list[Event] = []
        while True:
            page = self.historian.events(since, now_ns() + 1, types=["alarm", "alarm_service"], limit=10_000)
            journal += page
            if len(page) < 10_000:
                break
            since = page[-1].ts + 1
        engine.restore(journal)
        self.services["alarms"] = engine

    def save_signals(self) -> None:
        assert self.historian is not None
        mapping = self.registry.mapping()
        self.historian.save_signals([self.registry.definition(p) for p in mapping], mapping)

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` as a task; restart it with backoff if it fails."""
        health = self.tasks.setdefault(name, TaskHealth(name))

        async def runner() -> None:
            backoff = 0.5
            while True:
                health.running = True
                started = time.monotonic()
                try:
                    await factory()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    health.restarts += 1
                    health.last_error = f"{type(e).__name__}: {e}"
                    log.exception("%s failed; restarting in %.1f s", name, backoff)
                    if self.pipeline is not None:
                        self.pipeline.emit_nowait(
                            Event.make("task_failed", f"platform/{name}", {"error": health.last_error})
                        )
                finally:
                    health.running = False
                if time.monotonic() - started > 60:
                    backoff = 0.5
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

        self._running.append(asyncio.create_task(runner(), name=name))

    async def start(self) -> None:
        if self.historian is None:
            self.open()
        assert self.pipeline is not None
        self.started_ns = now_ns()
        self.supervise("pipeline", self.pipeline.run)
        pipeline = self.pipeline
        for cid, conn in self.connectors.items():
            self.supervise(f"connector/{cid}", lambda c=conn: c.run(pipeline))  # type: ignore[misc]
        self.supervise("signal-sync", self._sync_signals)
        self.supervise("retention", self._retention)
        for name, app in self.apps.items():
            ctx = self._app_context(name)
            self.supervise(f"app/{name}", lambda a=app, c=ctx: a.run(c))  # type: ignore[misc]
        engine = self.services.get("alarms")
        if isinstance(engine, AlarmEngine):
            service = AlarmService(engine, self.bus)
            self.services["alarm_service"] = service
            self.supervise("alarms", service.run)

    async def _retention(self) -> None:
        """Apply each signal class's retention once an hour (and once at start)."""
        assert self.historian is not None
        h = self.historian
        while True:
            dropped = await asyncio.to_thread(h.apply_retention, now_ns(), self.plant.historian.retention)
            if any(dropped.values()):
                log.info("retention dropped %s", dropped)
            await asyncio.sleep(3600)

    async def _sync_signals(self) -> None:
        known = len(self.registry)
        while True:
            await asyncio.sleep(1.0)
            if len(self.registry) != known:
                known = len(self.registry)
                await asyncio.to_thread(self.save_signals)

    async def stop(self) -> None:
        for t in self._running:
            t.cancel()
        for t in self._running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._running.clear()
        if self.pipeline is not None:
            await self.pipeline.close()
        if self.historian is not None:
            self.save_signals()
            self.historian.close()

    async def __aenter__(self) -> Platform:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- write-back ---------------------------------------------------------------------

    async def command(self, cmd: Command) -> CommandResult:
        """Send a command down through the connector that owns its signal; journal it."""
        owner = next((c for c in self.connectors.values() if c.owns(cmd.signal)), None)
        old: float | None = None
        if cmd.signal in self.registry and self.historian is not None:
            last = self.historian.last([self.registry.id(cmd.signal)])
            if len(last):
                old = float(last.value[0])
        if owner is None:
            result = CommandResult("rejected", old_value=old, message=f"no connector owns {cmd.signal!r}")
        else:
            try:
                result = await asyncio.wait_for(owner.write(cmd), cmd.timeout_s + 1.0)
            except TimeoutError:
                result = CommandResult("timeout", old_value=old, message=f"no answer within {cmd.timeout_s} s")
            except Exception as e:
                result = CommandResult("failed", old_value=old, message=f"{type(e).__name__}: {e}")
            if result.old_value is None and old is not None:
                result = CommandResult(result.status, old, result.new_value, result.message)
        asset = cmd.signal.rsplit("/", 1)[0]
        if self.pipeline is not None:
            self.pipeline.emit_nowait(Event.make("command", asset, {
                "signal": cmd.signal, "value": cmd.value, "user": cmd.user, "reason": cmd.reason,
                "status": result.status, "old_value": result.old_value,
                "new_value": result.new_value, "message": result.message,
                "requested_ns": cmd.ts,
            }))
        return result

    # -- health -------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        p = self.pipeline
        st = p.stats if p is not None else None
        return {
            "plant": self.plant.plant,
            "uptime_s": (now_ns() - self.started_ns) / 1e9 if self.started_ns else 0.0,
            "signals": len(self.registry),
            "pipeline": None if st is None or p is None else {
                "values_in": st.values_in, "values_written": st.values_written,
                "values_duplicate": st.values_duplicate, "malformed": st.malformed,
                "out_of_range": st.out_of_range, "queue_depth": p.queue_depth,
                "write_lag_ms": st.last_write_lag_ms, "max_write_lag_ms": st.max_write_lag_ms,
                "write_errors": st.write_errors, "events": st.events,
            },
            "bus_subscribers": self.bus.subscribers,
            "tasks": {n: {"running": t.running, "restarts": t.restarts, "last_error": t.last_error}
                      for n, t in self.tasks.items()},
        }
