"""One Modbus TCP connection to one unit: reads and writes that either return registers or
raise an error saying whether the link is gone or the device refused the request."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import numpy.typing as npt
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from ironfield.connectors.modbus.config import Function

# Modbus exception codes [1] sec. 7.
# .. [1] Modbus Organization 2012, "MODBUS Application Protocol Specification V1.1b3".
EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value",
    4: "server device failure", 5: "acknowledge", 6: "server device busy",
    8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class DeviceLost(Exception):
    """The device did not answer (connection refused, closed, or timed out)."""


class DeviceRefused(Exception):
    """The device answered with a Modbus exception (the request itself is wrong)."""

    def __init__(self, code: int, request: str) -> None:
        self.code = code
        self.request = request
        name = EXCEPTION_NAMES.get(code, "unknown")
        super().__init__(f"{request}: device answered exception {code} ({name})")


class ModbusLink:
    """Requests are serialised: a unit handles one at a time and ordering keeps write
    read-backs honest."""

    def __init__(self, host: str, port: int, unit: int, timeout_s: float) -> None:
        self.host, self.port, self.unit, self.timeout_s = host, port, unit, timeout_s
        self._client: Any = None
        self._lock = asyncio.Lock()

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} unit {self.unit}"

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    async def open(self) -> None:
        self.close()
        # reconnect_delay=0: the connector owns reconnecting (with its backoff and events)
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s,
                                      retries=0, reconnect_delay=0, reconnect_delay_max=0)
        try:
            ok = await asyncio.wait_for(client.connect(), self.timeout_s * 2)
        except (OSError, TimeoutError, ModbusException) as e:
            client.close()
            raise DeviceLost(f"cannot connect to {self.where}: {e}") from e
        if not ok:
            client.close()
            raise DeviceLost(f"cannot connect to {self.where}: connection refused")
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _call(self, request: str, fn: str, *args: Any, **kw: Any) -> Any:
        if self._client is None:
            raise DeviceLost(f"{self.where}: not connected")
        async with self._lock:
            try:
                rr = await asyncio.wait_for(
                    getattr(self._client, fn)(*args, device_id=self.unit, **kw),
                    self.timeout_s * 2,
                )
            except (OSError, TimeoutError, ModbusException) as e:
                self.close()
                raise DeviceLost(f"{self.where}: {request}: no answer ({e})") from e
        if rr.isError():
            raise DeviceRefused(int(getattr(rr, "exception_code", 0)), request)
        return rr

    async def read(self, function: Function, address: int, count: int) -> npt.NDArray[np.uint16]:
        """``count`` registers (or bits, as 0/1) from ``address``."""
        req = f"read {function} {address}..{address + count - 1}"
        if function == "holding":
            rr = await self._call(req, "read_holding_registers", address, count=count)
        elif function == "input":
            rr = await self._call(req, "read_input_registers", address, count=count)
        elif function == "coil":
            rr = await self._call(req, "read_coils", address, count=count)
            return np.asarray(rr.bits[:count], dtype=np.uint16)
        else:
            rr = await self._call(req, "read_discrete_inputs", address, count=count)
            return np.asarray(rr.bits[:count], dtype=np.uint16)
        regs = np.asarray(rr.registers, dtype=np.uint16)
        if len(regs) != count:
            raise DeviceLost(f"{self.where}: {req}: answered {len(regs)} registers")
        return regs

    async def read_span(self, function: Function, address: int, count: int,
                        limit: int = 125) -> npt.NDArray[np.uint16]:
        """Like :meth:`read` for spans longer than one request may carry."""
        parts = [await self.read(function, a, min(limit, address + count - a))
                 for a in range(address, address + count, limit)]
        return np.concatenate(parts) if parts else np.empty(0, np.uint16)

    async def write(self, function: Function, address: int, values: list[int]) -> None:
        req = f"write {function} {address}..{address + len(values) - 1}"
        if function == "holding":
            if len(values) == 1:
                await self._call(req, "write_register", address, values[0])
            else:
                await self._call(req, "write_registers", address, values)
        elif function == "coil":
            await self._call(req, "write_coil", address, bool(values[0]))
        else:
            raise DeviceRefused(1, f"{req} (a {function} cannot be written)")
