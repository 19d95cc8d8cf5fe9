"""The MQTT connector's section of the plant file."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ironfield.connectors.mqtt.topics import TopicTemplate

Format = Literal["value", "object", "columnar", "sparkplug", "arrow", "event"]


class TopicSpec(BaseModel):
    """How one family of topics maps to signals.

    - ``value``: the payload is one JSON number (or ``{"v": x, "ts": t, "q": quality}``);
      the signal is ``signal`` filled from the topic's variables.
    - ``object``: ``{"ts": t, "name": x, ...}``; each key becomes ``signal`` with ``{key}``.
    - ``columnar``: ``{"ts": [...], "values": {"name": [...]}}`` (optionally
      ``"quality": {"name": [...]}``); ``{key}`` is each name.
    - ``event``: an event from an ``ironfield edge`` (JSON: type, asset, ts, payload, id).
    - ``arrow``: a batch from an ``ironfield edge`` (Arrow IPC, signals named by path).
    - ``sparkplug``: Sparkplug B (protobuf) under ``spBv1.0/...``; ``signal`` may use
      ``{group}``, ``{node}``, ``{device}`` and ``{metric}``.
    """

    model_config = ConfigDict(extra="forbid")
    topic: str
    format: Format = "value"
    signal: str | None = None
    ts_unit: Literal["ns", "us", "ms", "s"] = "ms"

    @field_validator("topic")
    @classmethod
    def _template(cls, v: str) -> str:
        TopicTemplate(v)
        return v

    @model_validator(mode="after")
    def _signal(self) -> TopicSpec:
        if self.signal is None:
            if self.format in ("arrow", "event"):
                self.signal = "{path}"
            elif self.format == "sparkplug":
                self.signal = "{group}/{node}/{device}/{metric}"
            elif self.format == "value":
                if "#" in self.topic or "+" in self.topic.split("/"):
                    raise ValueError("give 'signal' when the topic has anonymous wildcards")
                self.signal = self.topic
            else:
                self.signal = self.topic.rstrip("/#") + "/{key}"
        if self.format == "sparkplug" and not self.topic.startswith("spBv1.0/"):
            raise ValueError("a sparkplug topic must start with 'spBv1.0/'")
        return self


class MqttConnectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: Literal["mqtt"] = "mqtt"
    url: str = "mqtt://127.0.0.1:1883"
    client_id: str | None = None
    username: str | None = None
    password: str | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    qos: Literal[0, 1] = 1
    session_expiry_s: int = Field(86_400, ge=0)
    shared_group: str | None = Field(None, pattern=r"^[A-Za-z0-9_\-]+$")
    receive_maximum: int = Field(65_535, ge=1, le=65_535)
    keepalive_s: int = Field(30, ge=5)
    unknown_signals: Literal["reject", "register"] = "reject"
    command_topic: str = "{signal}/set"
    topics: list[TopicSpec] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urlparse(v)
        if u.scheme not in ("mqtt", "mqtts", "tcp") or not u.hostname:
            raise ValueError(f"expected mqtt://host:port, got {v!r}")
        return v

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        u = urlparse(self.url)
        return u.port or (8883 if u.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlparse(self.url).scheme == "mqtts"
