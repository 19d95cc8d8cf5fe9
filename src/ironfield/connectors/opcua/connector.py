"""OPC UA client connector: monitored items over several sessions, write-back confirmed by
read-back. Settings: see :mod:`ironfield.connectors.opcua.config`."""

from __future__ import annotations

import asyncio
from typing import Any

from ironfield.connectors.fieldcommon import refuse_reason, validate_spec
from ironfield.connectors.opcua.config import OpcUaConfig
from ironfield.connectors.opcua.session import Item, Session, status_text
from ironfield.connectors.opcua.uatypes import ua
from ironfield.core.plant import ConnectorSpec
from ironfield.core.plugins import Command, CommandResult, ConnectorContext, Sink
from ironfield.core.signals import SignalDef, parent

_INTS = {ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16,
         ua.VariantType.UInt16, ua.VariantType.Int32, ua.VariantType.UInt32,
         ua.VariantType.Int64, ua.VariantType.UInt64}


class OpcUaConnector:
    def __init__(self, cfg: OpcUaConfig, ctx: ConnectorContext) -> None:
        self.id = cfg.id
        self.cfg, self.ctx = cfg, ctx
        items: list[Item] = []
        for si, sub in enumerate(cfg.subscriptions):
            for ni, node in enumerate(sub.nodes):
                path = cfg.path(node.signal)
                sid = ctx.registry.get_id(path)
                if sid is None:
                    sid = ctx.registry.register(SignalDef(path))
                items.append(Item(node, sub, si, path, sid, ("subscriptions", si, "nodes", ni)))
        self.asset = cfg.asset or parent(items[0].path)
        n = cfg.max_items_per_session
        self.sessions = [Session(cfg, ctx, k, items[i:i + n], self.asset)
                         for k, i in enumerate(range(0, len(items), n))]
        self.by_path = {it.path: it for it in items}

    @property
    def problems(self) -> list[str]:
        return [p for s in self.sessions for p in s.problems]

    @property
    def up(self) -> bool:
        return all(s.up for s in self.sessions)

    async def preflight(self) -> list[str]:
        """Start-up check without collecting: every node the server refuses or that is not
        a number, and an unreachable endpoint, each naming the plant file's line."""
        out: list[str] = []
        for s in self.sessions:
            out.extend(await s.preflight())
        return out

    async def run(self, sink: Sink) -> None:
        async with asyncio.TaskGroup() as tg:
            for s in self.sessions:
                tg.create_task(s.run(sink))

    def owns(self, signal: str) -> bool:
        return signal in self.by_path

    async def write(self, command: Command) -> CommandResult:
        it = self.by_path.get(command.signal)
        if it is None:
            return CommandResult("rejected", message=f"{self.id} has no node for {command.signal!r}")
        reason = refuse_reason(self.ctx.registry, command)
        if reason:
            return CommandResult("rejected", message=reason)
        assert it.session is not None
        client = it.session.client
        if client is None or not it.session.up or it.nodeid is None:
            return CommandResult("failed", message=f"{self.cfg.endpoint} is not connected")
        try:
            return await asyncio.wait_for(self._write(client, it, command), command.timeout_s)
        except TimeoutError:
            return CommandResult("timeout", message=(
                f"no confirmation from {self.cfg.endpoint} within {command.timeout_s} s"))
        except ua.UaStatusCodeError as e:
            return CommandResult("failed", message=f"server answered {status_text(e.code)}")
        except (OSError, ConnectionError, ua.UaError) as e:
            return CommandResult("failed", message=f"{self.cfg.endpoint}: {e}")

    async def _write(self, client: Any, it: Item, command: Command) -> CommandResult:
        node = client.get_node(it.nodeid)
        old_dv = await node.read_data_value(raise_on_bad_status=False)
        vtype = old_dv.Value.VariantType if old_dv.Value is not None else ua.VariantType.Double
        old = old_dv.Value.Value if old_dv.Value is not None else None
        raw: Any = command.value
        if isinstance(raw, int | float):
            if vtype == ua.VariantType.Boolean:
                raw = bool(raw)
            elif vtype in _INTS:
                raw = round(raw)
            else:
                raw = float(raw)
        if command.method is not None:
            mname = it.spec.methods.get(command.method, command.method)
            owner = await node.get_parent()
            mid: Any = ua.NodeId.from_string(mname) if "=" in mname else mname
            await owner.call_method(mid, ua.Variant(raw, vtype))
        else:
            await node.write_value(ua.DataValue(ua.Variant(raw, vtype)))
        new = await node.read_value()
        old_f = float(old) if isinstance(old, int | float) else None
        new_f = float(new) if isinstance(new, int | float) else None
        if new == raw or (new_f is not None and isinstance(raw, float)
                          and abs(new_f - raw) <= 1e-6 * max(1.0, abs(raw))):
            return CommandResult("confirmed", old_value=old_f, new_value=new_f)
        return CommandResult("failed", old_value=old_f, new_value=new_f, message=(
            f"read back {new!r} after {'calling ' + command.method if command.method else 'writing'}"
            f" {raw!r}: the device did not take the value"))


def create(spec: ConnectorSpec, ctx: ConnectorContext) -> OpcUaConnector:
    """Entry point ``ironfield.connectors: opcua``."""
    return OpcUaConnector(validate_spec(OpcUaConfig, spec, ctx.plant_file), ctx)
