"""Plant-file settings of the OPC UA connector (validated strictly).

Plant file::

    - id: line3-plc
      type: opcua
      endpoint: opc.tcp://10.0.3.21:4840
      asset: hongqi/body-shop/line-3
      security: {policy: Basic256Sha256, mode: SignAndEncrypt,
                 certificate: pki/client.der, private_key: pki/client.pem}
      subscriptions:
        - publishing_interval: 500ms
          sampling_interval: 250ms
          deadband: 0.01
          nodes:
            - {signal: conveyor_speed, node: "ns=2;s=PLC.Line1.ConveyorSpeed"}
            - {signal: tank_level, path: "0:Objects/2:PLC/2:Line1/2:TankLevel", deadband: 0.5}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ironfield.core.timeutil import NS_PER_S, parse_duration


def seconds(v: str | float) -> float:
    return parse_duration(v) / NS_PER_S


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecuritySpec(_Strict):
    policy: Literal["None", "Basic256Sha256"] = "None"
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: str | None = None  # client certificate (DER or PEM)
    private_key: str | None = None  # its private key (PEM)
    server_certificate: str | None = None  # pin the server's certificate

    @model_validator(mode="after")
    def _keys(self) -> SecuritySpec:
        if self.policy != "None" and (self.certificate is None or self.private_key is None):
            raise ValueError(f"policy {self.policy} needs 'certificate' and 'private_key'")
        return self


class NodeSpec(_Strict):
    signal: str
    node: str | None = None  # "ns=2;s=PLC.Speed", "nsu=urn:...;i=42"
    path: str | None = None  # browse path "0:Objects/2:PLC/2:Speed"
    sampling_interval: str | float | None = None
    deadband: float | None = Field(None, ge=0)  # absolute, in the value's unit
    methods: dict[str, str] = Field(default_factory=dict)  # name -> method node id

    @model_validator(mode="after")
    def _one(self) -> NodeSpec:
        if (self.node is None) == (self.path is None):
            raise ValueError("give exactly one of 'node' (a node id) or 'path' (a browse path)")
        return self

    @property
    def ref(self) -> str:
        return self.node if self.node is not None else f"path {self.path}"


class SubscriptionSpec(_Strict):
    name: str = "default"
    publishing_interval: str | float = "1s"
    sampling_interval: str | float | None = None  # None: the publishing interval
    deadband: float = Field(0.0, ge=0)
    queue_size: int = Field(1, ge=1, le=10_000)
    nodes: list[NodeSpec] = Field(min_length=1)

    @field_validator("publishing_interval")
    @classmethod
    def _positive(cls, v: str | float) -> str | float:
        if seconds(v) <= 0:
            raise ValueError("publishing_interval must be above 0")
        return v


class OpcUaConfig(_Strict):
    id: str
    type: Literal["opcua"] = "opcua"
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    asset: str | None = None
    username: str | None = None
    password: str | None = None
    security: SecuritySpec = Field(default_factory=SecuritySpec)
    timeout: str | float = "4s"
    watchdog: str | float = "5s"  # a busy server can take seconds to answer a probe
    backoff_max: str | float = "30s"
    # a single asyncua session lags at a few thousand items: spread them out
    max_items_per_subscription: int = Field(1000, ge=1)
    max_items_per_session: int = Field(2500, ge=1)
    subscriptions: list[SubscriptionSpec] = Field(min_length=1)

    def path(self, signal: str) -> str:
        if self.asset and "/" not in signal:
            return f"{self.asset}/{signal}"
        return signal
