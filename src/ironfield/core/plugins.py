"""Plug-in protocols: how connectors and apps meet the runtime.

The runtime finds connectors through the ``ironfield.connectors`` entry-point group
(name = the plant file's connector ``type``, value = a :class:`ConnectorFactory`) and apps
through ``ironfield.apps``. Built-in plug-ins register exactly as a third-party one would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ironfield.core.batch import Batch
from ironfield.core.bus import Bus
from ironfield.core.events import Event
from ironfield.core.plant import ConnectorSpec, PlantSpec
from ironfield.core.signals import SignalDef, SignalRegistry
from ironfield.core.timeutil import now_ns

Ack = Callable[[], None]


@runtime_checkable
class Sink(Protocol):
    """Where a connector delivers what it collects (the pipeline, or an edge forwarder)."""

    async def submit(self, batch: Batch, ack: Ack | None = None) -> None:
        """Hand over a batch. ``ack`` is called once the batch is durable (it may be
        called from another thread); a connector acknowledges its source only then."""
        ...

    def malformed(self, source: str, payload: bytes, reason: str) -> None:
        """Count and set aside a message that could not be decoded; never raises."""
        ...

    async def emit(self, event: Event) -> None:
        """Publish an event (a communication fault, a device coming back, ...)."""
        ...


CommandStatus = Literal["confirmed", "rejected", "timeout", "failed"]


@dataclass(frozen=True, slots=True)
class Command:
    """A write-back request: set ``signal`` to ``value`` on the device that owns it."""

    signal: str
    value: float | str | list[float]
    user: str = "system"
    reason: str = ""
    timeout_s: float = 5.0
    ts: int = field(default_factory=now_ns)
    method: str | None = None  # OPC UA method call instead of a variable write


@dataclass(frozen=True, slots=True)
class CommandResult:
    status: CommandStatus
    old_value: float | str | None = None
    new_value: float | str | None = None
    message: str = ""


@runtime_checkable
class Connector(Protocol):
    id: str

    async def run(self, sink: Sink) -> None:
        """Collect until cancelled; reconnect with backoff on its own; never raise on
        a device fault (report it as an event and as bad quality instead)."""
        ...

    def owns(self, signal: str) -> bool:
        """Can this connector write ``signal`` down to its device."""
        ...

    async def write(self, command: Command) -> CommandResult:
        """Send one command down and confirm it (read-back or acknowledgement)."""
        ...


@dataclass(frozen=True)
class ConnectorContext:
    registry: SignalRegistry
    plant: PlantSpec
    data_dir: Path
    plant_file: str = "<plant>"
    extra: dict[str, Any] = field(default_factory=dict)


class ConnectorFactory(Protocol):
    def __call__(self, spec: ConnectorSpec, ctx: ConnectorContext) -> Connector: ...


@dataclass(frozen=True)
class AppContext:
    """What an app's processors get from the platform."""

    name: str
    config: Mapping[str, Any]  # the app's section of the plant file (``apps: {name: ...}``)
    plant: PlantSpec
    registry: SignalRegistry
    bus: Bus  # subscribe to batches and events
    data_dir: Path
    submit: Callable[[Batch], Awaitable[None]]  # derived values, into the pipeline
    emit: Callable[[Event], None]  # events, stored and streamed
    command: Callable[[Command], Awaitable[CommandResult]]  # write-back, journaled
    history: Any  # the historian (read side: raw, aggregate, last, events)


@runtime_checkable
class App(Protocol):
    """An app plug-in (entry-point group ``ironfield.apps``, value: a no-argument factory).

    ``signals`` declares the derived signals the app writes (registered before anything
    starts); ``run`` is its processing, supervised and restarted by the runtime.
    """

    name: str

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]: ...

    async def run(self, ctx: AppContext) -> None: ...


@dataclass(frozen=True)
class SimulationContext:
    """What an app's demo simulation gets: where the simulated plant publishes.

    The simulation stands in for the real plant (trucks, inverters, robots, a drone), so
    it talks to the platform only the way real equipment would: over the wire (MQTT at
    ``mqtt_host:mqtt_port``, or a device server it starts itself) and through files
    dropped in ``data_dir``; never through the platform's objects.
    """

    name: str
    config: Mapping[str, Any]  # the app's section of the plant file
    plant: PlantSpec
    data_dir: Path
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    seed: int = 7


@runtime_checkable
class SimulatedApp(Protocol):
    """An app that can simulate its own plant for ``ironfield demo`` (optional)."""

    async def simulate(self, ctx: SimulationContext) -> None: ...
