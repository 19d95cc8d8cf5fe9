"""Plant-file settings of the Modbus TCP and SunSpec connectors (validated strictly)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ironfield.connectors.modbus.codec import WORDS, Order, RegType
from ironfield.core.timeutil import NS_PER_S, parse_duration

Function = Literal["holding", "input", "coil", "discrete"]
BIT_FUNCTIONS = ("coil", "discrete")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def seconds(v: str | float) -> float:
    return parse_duration(v) / NS_PER_S


class RegisterSpec(_Strict):
    """One point: where it is, how it is encoded and which signal it feeds."""

    signal: str
    address: int = Field(ge=0, le=65535)
    function: Function = "holding"
    type: RegType = "uint16"
    length: int | None = Field(None, ge=1, le=123)  # [registers], strings only
    word_order: Order = "big"
    byte_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0

    @model_validator(mode="after")
    def _fits(self) -> RegisterSpec:
        if self.function in BIT_FUNCTIONS and self.type not in ("uint16", "int16"):
            raise ValueError(f"a {self.function} is one bit; 'type: {self.type}' does not apply")
        if self.type == "string" and self.length is None:
            raise ValueError("a string needs 'length' (registers, two characters each)")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        if self.address + self.size - 1 > 65535:
            raise ValueError(f"address {self.address} + {self.size} registers passes 65535")
        return self

    @property
    def size(self) -> int:
        """Registers (or bits) the point occupies."""
        if self.function in BIT_FUNCTIONS:
            return 1
        if self.type == "string":
            return self.length or 1
        return WORDS[self.type]


class GroupSpec(_Strict):
    name: str = "default"
    interval: str | float = "1s"
    registers: list[RegisterSpec] = Field(min_length=1)

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: str | float) -> str | float:
        if seconds(v) <= 0:
            raise ValueError("interval must be above 0")
        return v

    @property
    def interval_s(self) -> float:
        return seconds(self.interval)


class ModbusConfig(_Strict):
    id: str
    type: Literal["modbus"] = "modbus"
    host: str
    port: int = Field(502, ge=1, le=65535)
    unit: int = Field(1, ge=0, le=255)
    asset: str | None = None  # prefix for register signals that are bare names
    timeout: str | float = "2s"
    max_gap: int = Field(0, ge=0, le=100)  # [registers] unused registers a read may span
    max_registers: int = Field(125, ge=1, le=125)
    max_bits: int = Field(2000, ge=1, le=2000)
    backoff_max: str | float = "30s"
    groups: list[GroupSpec] = Field(min_length=1)

    @property
    def timeout_s(self) -> float:
        return seconds(self.timeout)

    def path(self, signal: str) -> str:
        if self.asset and "/" not in signal:
            return f"{self.asset}/{signal}"
        return signal


class SunSpecConfig(_Strict):
    id: str
    type: Literal["sunspec"] = "sunspec"
    host: str
    port: int = Field(502, ge=1, le=65535)
    unit: int = Field(1, ge=0, le=255)
    asset: str  # the inverter: its signals are <asset>/ac_power_w, ...
    base: int | None = Field(None, ge=0, le=65535)  # None: try 40000, 0, 50000
    interval: str | float = "1s"
    timeout: str | float = "2s"
    backoff_max: str | float = "30s"

    @property
    def timeout_s(self) -> float:
        return seconds(self.timeout)

    @property
    def interval_s(self) -> float:
        return seconds(self.interval)
