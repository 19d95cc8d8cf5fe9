"""Events: typed records with a type, an asset, a time and a payload.

Alarm transitions, a finished weld, a truck cycle, a survey result: each is an event. The
payload is a JSON-able mapping; an event type may register a pydantic model so payloads
are checked where they are made rather than where they are read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ironfield.core.errors import IronfieldError
from ironfield.core.timeutil import now_ns

_PAYLOAD_MODELS: dict[str, type[BaseModel]] = {}


def register_event_type(event_type: str, model: type[BaseModel]) -> None:
    """Declare the payload model of an event type (apps do this at import)."""
    _PAYLOAD_MODELS[event_type] = model


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    asset: str
    ts: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def make(
        cls, type: str, asset: str, payload: Mapping[str, Any] | BaseModel, ts: int | None = None
    ) -> Event:
        if isinstance(payload, BaseModel):
            data = payload.model_dump(mode="json")
        else:
            data = dict(payload)
        model = _PAYLOAD_MODELS.get(type)
        if model is not None:
            try:
                data = model.model_validate(data).model_dump(mode="json")
            except ValidationError as e:
                raise IronfieldError(f"event {type!r} for {asset!r}: bad payload: {e}") from e
        return cls(type=type, asset=asset, ts=now_ns() if ts is None else ts, payload=data)

    def payload_json(self) -> str:
        return json.dumps(self.payload, separators=(",", ":"), sort_keys=True, default=str)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "asset": self.asset, "ts": self.ts,
                "payload": dict(self.payload)}
