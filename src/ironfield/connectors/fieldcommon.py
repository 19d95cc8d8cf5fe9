"""Helpers shared by the field-device connectors (OPC UA, Modbus): backoff, write checks,
and pointing at the plant-file line a device complained about."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ironfield.core.errors import PlantFileError, UnknownSignalError
from ironfield.core.plant import ConnectorSpec
from ironfield.core.plugins import Command
from ironfield.core.signals import SignalRegistry

M = TypeVar("M", bound=BaseModel)


class Backoff:
    """Exponential reconnect delay with jitter, capped; ``reset`` after a success.

    Jitter keeps many connectors that lost the same network from reconnecting in lockstep
    (the "thundering herd"), cf. AWS Architecture Blog 2015, "Exponential Backoff and Jitter".
    """

    def __init__(self, initial_s: float = 0.5, max_s: float = 30.0, factor: float = 2.0) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self._next = initial_s

    def next(self) -> float:
        """The delay to wait now [s]; the following one is ``factor`` times longer."""
        d = self._next
        self._next = min(self._next * self.factor, self.max_s)
        return d * (0.8 + 0.4 * random.random())

    def reset(self) -> None:
        self._next = self.initial_s


def refuse_reason(registry: SignalRegistry, command: Command) -> str | None:
    """Why ``command`` must not be sent (unknown, read-only, not a number, outside the
    signal's range), or None when it may go down."""
    try:
        d = registry.definition(command.signal)
    except UnknownSignalError:
        return f"unknown signal {command.signal!r}"
    if not d.writable:
        return f"signal {command.signal!r} is read-only (not 'writable: true' in the plant file)"
    if command.method is not None:
        return None  # a method call's arguments are checked by the device
    v = command.value
    if isinstance(v, list | str):
        return f"signal {command.signal!r} takes a number, got {type(v).__name__}"
    if isinstance(v, bool):
        v = float(v)
    if not math.isfinite(v):
        return f"value {v!r} for {command.signal!r} is not a finite number"
    if d.low is not None and v < d.low:
        return f"value {v} for {command.signal!r} is below its low limit {d.low}"
    if d.high is not None and v > d.high:
        return f"value {v} for {command.signal!r} is above its high limit {d.high}"
    return None


def plant_line(plant_file: str, connector_id: str, *keys: str | int) -> int | None:
    """The 1-based line of ``connectors[id=connector_id].<keys...>`` in the plant file, when
    the file can be read; None otherwise (a plant built in code has no lines)."""
    try:
        from ruamel.yaml import YAML

        doc: Any = YAML(typ="rt").load(Path(plant_file).read_text(encoding="utf-8"))
    except Exception:
        return None
    try:
        node: Any = next(c for c in doc["connectors"] if c.get("id") == connector_id)
    except (KeyError, TypeError, StopIteration, AttributeError):
        return None
    line: int | None = node.lc.line + 1
    for k in keys:
        try:
            line = (node.lc.key(k) if isinstance(k, str) else node.lc.item(k))[0] + 1
            node = node[k]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


def where(plant_file: str, connector_id: str, *keys: str | int) -> str:
    """``file:line: connector 'id'`` for messages that send an engineer to the mistake."""
    line = plant_line(plant_file, connector_id, *keys)
    loc = f"{plant_file}:{line}" if line is not None else plant_file
    return f"{loc}: connector {connector_id!r}"


def validate_spec(model: type[M], spec: ConnectorSpec, plant_file: str) -> M:
    """The connector's own settings model from its plant-file entry; errors name the file,
    the line and the field."""
    try:
        return model.model_validate(spec.model_dump())
    except ValidationError as e:
        problems: list[tuple[int | None, str, str]] = []
        for err in e.errors():
            loc = tuple(k for k in err["loc"] if isinstance(k, str | int))
            msg = "unknown field (check the spelling)" if err["type"] == "extra_forbidden" \
                else err["msg"]
            field = ".".join(str(k) for k in loc)
            problems.append((plant_line(plant_file, spec.id, *loc),
                             f"connector {spec.id!r}: {field}", msg))
        raise PlantFileError(plant_file, problems) from None
