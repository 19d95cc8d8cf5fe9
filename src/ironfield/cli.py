"""The ``ironfield`` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from ironfield.core.errors import IronfieldError, PlantFileError
from ironfield.core.plant import PlantSpec, load_plant, locate
from ironfield.core.timeutil import format_ns, parse_duration, parse_time

app = typer.Typer(
    help="ironfield: open industrial internet platform (collect, store, watch, analyse).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def _fail(e: Exception) -> None:
    err.print(f"[red]error:[/red] {e}")
    raise typer.Exit(2)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("amqtt", "transitions", "asyncua", "pymodbus", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command("check")
def check(plant: Annotated[Path, typer.Argument(help="plant file (YAML)")]) -> None:
    """Validate a plant file and summarise it."""
    from ironfield.alarms.engine import AlarmEngine
    from ironfield.alarms.errors import AlarmRuleError
    from ironfield.core.plugins import ConnectorContext
    from ironfield.core.signals import SignalRegistry
    from ironfield.runtime.plugins import load_entry_point

    try:
        spec = load_plant(plant)
        registry = SignalRegistry()
        registry.register_many(spec.signal_defs())
        ctx = ConnectorContext(registry, spec, Path("."), str(plant))
        for c in spec.connectors:
            load_entry_point("ironfield.connectors", c.type)(c, ctx)
        try:
            AlarmEngine(spec.alarms, registry, lambda e: None)
        except AlarmRuleError as e:
            raise PlantFileError(str(plant), [(locate(str(plant), f), f, m) for f, m in e.problems]) from None
    except IronfieldError as e:
        _fail(e)
        return
    sigs = spec.signal_defs()
    console.print(
        f"[green]ok[/green] {plant}: plant {spec.plant!r}, {len(spec.sites)} sites, "
        f"{len(spec.assets())} assets, {len(sigs)} signals, {len(spec.connectors)} connectors, "
        f"historian {spec.historian.backend}"
    )


async def _serve(plant_file: Path, data_dir: Path | None, seconds: float | None,
                 overrides: dict[str, Any] | None = None, extra: Any = None,
                 ui: bool = True, port: int | None = None, on_ready: Any = None) -> None:
    from ironfield.cli_remote import publish_endpoint, withdraw_endpoint
    from ironfield.runtime.platform import Platform

    platform = Platform.from_file(plant_file, data_dir=data_dir)
    if overrides:
        for c in platform.plant.connectors:
            for k, v in overrides.get(c.id, {}).items():
                setattr(c, k, v)
    platform.open()
    if ui:
        _check_port_free(platform.plant.server.host, platform.plant.server.port if port is None else port)
    await platform.start()
    console.print(
        f"[green]ironfield[/green] plant {platform.plant.plant!r}: {len(platform.registry)} signals, "
        f"historian {platform.plant.historian.backend} in {platform.data_dir}"
    )
    tasks: list[asyncio.Task[Any]] = []
    published = False
    if on_ready is not None:
        on_ready(platform)  # before the server starts: it reads its users once, at start
    if ui:
        from ironfield.server.run import serve as serve_http

        host = platform.plant.server.host
        port = platform.plant.server.port if port is None else port
        url = f"http://{host}:{port}"
        _check_port_free(host, port)
        publish_endpoint(platform.data_dir, url)
        published = True
        started = asyncio.Event()
        tasks.append(asyncio.create_task(serve_http(platform, host=host, port=port, started=started)))
        await asyncio.wait_for(started.wait(), 30)
        console.print(f"control room: [bold]{url}/[/bold]  (API: {url}/openapi.json)")
    if extra is not None:
        tasks.append(asyncio.create_task(extra(platform)))
    try:
        if seconds is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(seconds)
    finally:
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if published:
            withdraw_endpoint(platform.data_dir)
        await platform.stop()


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            raise IronfieldError(
                f"HTTP port {host}:{port} is already in use (another ironfield?); choose one with --port"
            ) from None


@app.command("serve")
def serve(
    plant: Annotated[Path, typer.Option("--plant", "-p", help="plant file (YAML)")],
    data_dir: Annotated[Path | None, typer.Option(help="where embedded data lives")] = None,
    seconds: Annotated[float | None, typer.Option("--for", help="stop after this many seconds")] = None,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="serve the control room and API")] = True,
    port: Annotated[int | None, typer.Option(help="HTTP port (default: the plant file's server.port)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the platform for a plant file: connectors, pipeline, historian, alarms, API and UI."""
    _logging(verbose)
    try:
        asyncio.run(_serve(plant, data_dir, seconds, ui=ui, port=port))
    except IronfieldError as e:
        _fail(e)
    except KeyboardInterrupt:
        pass


@app.command("edge")
def edge(
    plant: Annotated[Path, typer.Option("--plant", "-p", help="plant file with an 'edge:' section")],
    data_dir: Annotated[Path | None, typer.Option(help="where the store-and-forward buffer lives")] = None,
    seconds: Annotated[float | None, typer.Option("--for", help="stop after this many seconds")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run connectors near the machines; store and forward to the central platform."""
    from ironfield.runtime.edge import Edge

    _logging(verbose)

    async def main() -> None:
        e = Edge.from_file(plant, data_dir)
        e.open()
        assert e.forwarder is not None
        console.print(
            f"[green]ironfield edge[/green] {e.plant.plant!r}: {len(e.connectors)} connectors, "
            f"forwarding to {e.forwarder.spec.uplink} topic {e.forwarder.topic}/batch, "
            f"buffer {e.forwarder.buffer.dir}"
        )
        if seconds is None:
            await e.run()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(e.run(), seconds)

    try:
        asyncio.run(main())
    except IronfieldError as e:
        _fail(e)
    except KeyboardInterrupt:
        pass


@app.command("demo")
def demo(
    broker: Annotated[str | None, typer.Option(help="use this MQTT broker (mqtt://host:port) instead of the embedded one")] = None,
    data_dir: Annotated[Path, typer.Option(help="where the demo keeps its data")] = Path("data/demo"),
    seconds: Annotated[float | None, typer.Option("--for", help="stop after this many seconds")] = None,
    port: Annotated[int, typer.Option(help="HTTP port of the control room")] = 8600,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run both demo sites, simulated, on this machine with no servers to install."""
    from ironfield.demo import plant_path
    from ironfield.demo.broker import start_embedded_broker
    from ironfield.demo.sim import SimulatedSite

    _logging(verbose)

    async def main() -> None:
        from paho.mqtt.enums import MQTTProtocolVersion

        embedded = None
        http_port = port
        protocol: Literal["3.1.1", "5"]
        if broker is None:
            embedded, mqtt_port = await start_embedded_broker()
            host, protocol = "127.0.0.1", "3.1.1"
            console.print(f"embedded MQTT broker (amqtt) on 127.0.0.1:{mqtt_port}")
        else:
            from urllib.parse import urlparse

            u = urlparse(broker)
            host, mqtt_port, protocol = u.hostname or "127.0.0.1", u.port or 1883, "5"
        async def extra(platform: Any) -> None:
            from ironfield.core.plugins import SimulatedApp, SimulationContext

            # An app that simulates its own plant (the haul fleet, the PV plant, the weld
            # shop, the drone) replaces the generic simulator's stand-in for it.
            simulated = {n for n, a in platform.apps.items() if isinstance(a, SimulatedApp)}
            for name in sorted(simulated):
                sctx = SimulationContext(
                    name=name, config=platform.plant.apps.get(name, {}), plant=platform.plant,
                    data_dir=platform.data_dir, mqtt_host=host, mqtt_port=mqtt_port,
                    mqtt_protocol=protocol)
                platform.supervise(f"sim/{name}", lambda a=platform.apps[name], c=sctx: a.simulate(c))
            site = SimulatedSite(
                host, mqtt_port,
                protocol=MQTTProtocolVersion.MQTTv311 if protocol == "3.1.1" else MQTTProtocolVersion.MQTTv5,
                trucks=0 if "haulage" in simulated else 6, robots=0 if "welding" in simulated else 12,
                pv="energy" not in simulated)
            console.print(
                f"simulated site publishing to mqtt://{host}:{mqtt_port}"
                + (f" (apps simulating their own plant: {', '.join(sorted(simulated))})" if simulated else "")
                + f"; try: ironfield query 'luobei/crusher/primary-crusher/*' --data-dir {data_dir} --last"
            )
            await site.run()

        def ready(platform: Any) -> None:
            from ironfield.server.auth import ensure_demo_user

            name, password = ensure_demo_user(platform.data_dir)
            console.print(f"log in as [bold]{name}[/bold] / [bold]{password}[/bold] (demo only)")

        try:
            await _serve(
                plant_path("demo"), data_dir, seconds,
                overrides={"site-mqtt": {"url": f"mqtt://{host}:{mqtt_port}", "protocol": protocol}},
                extra=extra, port=http_port, on_ready=ready,
            )
        finally:
            if embedded is not None:
                await embedded.shutdown()

    try:
        asyncio.run(main())
    except IronfieldError as e:
        _fail(e)
    except KeyboardInterrupt:
        pass


def _open_historian(plant: Path | None, data_dir: Path | None) -> tuple[Any, PlantSpec | None]:
    from ironfield.core.plant import HistorianSpec
    from ironfield.historian import open_historian

    spec = load_plant(plant) if plant else None
    dd = data_dir or Path(spec.data_dir if spec else "data/demo")
    if spec:
        hspec = spec.historian
    else:
        found = sorted(dd.glob("*.duckdb"))
        if len(found) > 1:
            raise IronfieldError(f"several historians in {dd}: {[f.name for f in found]}; give --plant")
        hspec = HistorianSpec(path=found[0].name) if found else HistorianSpec()
    if hspec.backend == "duckdb" and not (dd / hspec.path).exists():
        raise IronfieldError(f"no historian at {dd / hspec.path} (give --plant or --data-dir)")
    try:
        h = open_historian(hspec, dd)
    except Exception as e:
        if "lock" in str(e).lower():
            raise IronfieldError(
                f"{dd / hspec.path} is held by a running ironfield that has no API to ask "
                "(start it with the UI, or stop it first)"
            ) from None
        raise
    return h, spec


@app.command("query")
def query(
    signals: Annotated[list[str], typer.Argument(help="signal paths; a trailing /* takes a subtree")],
    plant: Annotated[Path | None, typer.Option("--plant", "-p")] = None,
    data_dir: Annotated[Path | None, typer.Option()] = None,
    start: Annotated[str, typer.Option(help="ns, ISO 8601 with zone, or now-1h")] = "now-10m",
    end: Annotated[str, typer.Option()] = "now",
    agg: Annotated[str | None, typer.Option(help="aggregate by interval, e.g. 1m")] = None,
    last: Annotated[bool, typer.Option("--last", help="only the last value of each signal")] = False,
    points: Annotated[int | None, typer.Option(help="downsample each signal to about N points")] = None,
    limit: Annotated[int, typer.Option(help="at most this many rows")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print values from the historian (through the running server when there is one)."""
    from ironfield.cli_remote import Remote

    dd = data_dir or (Path(load_plant(plant).data_dir) if plant else Path("data/demo"))
    remote = Remote.find(dd)
    rows: list[dict[str, Any]] = []
    if remote is not None:
        try:
            if last:
                rows = remote.last(signals)
            elif agg:
                rows = remote.aggregate(signals, start, end, agg)
            else:
                rows = remote.series(signals, start, end, points)
        except IronfieldError as e:
            _fail(e)
            return
        finally:
            remote.close()
        _print_rows(rows if last else rows[-limit:], as_json)
        return
    try:
        h, _ = _open_historian(plant, dd)
    except IronfieldError as e:
        _fail(e)
        return
    try:
        mapping = h.load_signal_ids()
        ids: list[int] = []
        for s in signals:
            if s.endswith("/*"):
                root = s[:-2]
                ids += [i for p, i in mapping.items() if p.startswith(root + "/")]
            elif s in mapping:
                ids.append(mapping[s])
            else:
                _fail(IronfieldError(f"unknown signal {s!r}"))
        paths = {i: p for p, i in mapping.items()}
        t0, t1 = parse_time(start), parse_time(end)
        if last:
            b = h.last(ids)
            rows = [{"signal": paths[s], "ts": format_ns(t), "value": v, "quality": q} for s, t, v, q in b.rows()]
        elif agg:
            tab = h.aggregate(ids, t0, t1, parse_duration(agg)).to_pylist()
            rows = [{"signal": paths[r["signal_id"]], "bucket": format_ns(r["bucket"]),
                     **{k: r[k] for k in ("min", "max", "mean", "count", "first", "last")}} for r in tab]
        elif points:
            for i in ids:
                b = h.downsample(i, t0, t1, points)
                rows += [{"signal": paths[s], "ts": format_ns(t), "value": v, "quality": q} for s, t, v, q in b.rows()]
        else:
            b = h.raw(ids, t0, t1)
            rows = [{"signal": paths[s], "ts": format_ns(t), "value": v, "quality": q} for s, t, v, q in b.rows()]
        _print_rows(rows if last else rows[-limit:], as_json)
    finally:
        h.close()


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("no values in that range")
        return
    table = Table(*rows[0].keys())
    for r in rows:
        table.add_row(*(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r.values()))
    console.print(table)


@app.command("write")
def write(
    signal: Annotated[str, typer.Argument(help="writable signal path")],
    value: Annotated[float, typer.Argument(help="new value, in the signal's unit")],
    reason: Annotated[str, typer.Option(help="why (kept in the command journal)")] = "",
    plant: Annotated[Path | None, typer.Option("--plant", "-p")] = None,
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Send a setpoint down to the device that owns it (through the running platform)."""
    from ironfield.cli_remote import Remote

    dd = data_dir or (Path(load_plant(plant).data_dir) if plant else Path("data/demo"))
    remote = Remote.find(dd)
    if remote is None:
        _fail(IronfieldError(f"no running ironfield found for {dd} (start `ironfield serve` first)"))
        return
    try:
        r = remote.command(signal, value, reason)
    except IronfieldError as e:
        _fail(e)
        return
    finally:
        remote.close()
    status = r.get("status", "?")
    colour = "green" if status == "confirmed" else "red"
    console.print(f"[{colour}]{status}[/{colour}] {signal}: {r.get('old_value')} -> {r.get('new_value')} {r.get('message', r.get('detail', ''))}")
    if status != "confirmed":
        raise typer.Exit(1)


@app.command("bench")
def bench(
    name: Annotated[str | None, typer.Argument(help="benchmark to run (file in bench/ without .py)")] = None,
    args: Annotated[list[str] | None, typer.Argument(help="arguments passed to the benchmark")] = None,
) -> None:
    """List or run the benchmarks in ./bench (each prints ratios against a same-run baseline)."""
    root = Path.cwd() / "bench"
    if not root.is_dir():
        _fail(IronfieldError(f"no bench/ folder under {Path.cwd()} (run from the repository root)"))
    scripts = sorted(p.stem for p in root.glob("*.py") if not p.name.startswith("_"))
    if name is None:
        for s in scripts:
            console.print(s)
        return
    if name not in scripts:
        _fail(IronfieldError(f"no benchmark {name!r}; have: {', '.join(scripts)}"))
    env = dict(os.environ)
    started = time.monotonic()
    rc = subprocess.call([sys.executable, str(root / f"{name}.py"), *(args or [])], env=env)
    err.print(f"bench {name} finished in {time.monotonic() - started:.1f} s (exit {rc})")
    raise typer.Exit(rc)


def _mount_apps() -> None:
    """Apps that bring their own commands (the CLI sits above every layer)."""
    from ironfield.apps.survey.cli import app as survey_app

    app.add_typer(survey_app, name="survey", help="drone LiDAR surveys: ground, DEM, volumes, stockpiles")


def _mount_admin() -> None:
    from ironfield.cli_users import app as user_app

    app.add_typer(user_app, name="user", help="control-room users and API tokens")


_mount_apps()
_mount_admin()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
