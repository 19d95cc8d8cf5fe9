"""One OPC UA session: connect (with security), resolve nodes, subscribe, watch the link,
and on loss mark bad, report, back off, reconnect and re-create every subscription."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ironfield.connectors.fieldcommon import Backoff, where
from ironfield.connectors.opcua.columns import ColumnSubscription
from ironfield.connectors.opcua.config import NodeSpec, OpcUaConfig, SubscriptionSpec, seconds
from ironfield.connectors.opcua.uatypes import Client, SecurityPolicyBasic256Sha256, ua
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plugins import Sink
from ironfield.core.quality import Quality
from ironfield.core.timeutil import now_ns

if TYPE_CHECKING:
    from ironfield.core.plugins import ConnectorContext

log = logging.getLogger(__name__)
_CHUNK = 1000  # monitored items per CreateMonitoredItems request
_NUMERIC = {ua.VariantType.Boolean, ua.VariantType.SByte, ua.VariantType.Byte,
            ua.VariantType.Int16, ua.VariantType.UInt16, ua.VariantType.Int32,
            ua.VariantType.UInt32, ua.VariantType.Int64, ua.VariantType.UInt64,
            ua.VariantType.Float, ua.VariantType.Double}


@dataclass
class Item:
    spec: NodeSpec
    sub: SubscriptionSpec
    sub_index: int
    path: str
    sid: int
    where: tuple[str | int, ...]
    nodeid: Any = None  # ua.NodeId once resolved
    session: Session | None = field(default=None, repr=False)


def application_uri(cert_file: str) -> str | None:
    """The URI subjectAltName of an application certificate (DER or PEM), if any."""
    from cryptography import x509

    try:
        data = Path(cert_file).read_bytes()
        cert = (x509.load_pem_x509_certificate(data) if data.lstrip().startswith(b"-----")
                else x509.load_der_x509_certificate(data))
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    return uris[0] if uris else None


def status_text(code: int) -> str:
    name, doc = ua.status_codes.get_name_and_doc(code)
    return f"{name} ({doc.rstrip('.')})" if doc else name


class Session:
    def __init__(self, cfg: OpcUaConfig, ctx: ConnectorContext, index: int, items: list[Item],
                 asset: str) -> None:
        self.cfg, self.ctx, self.index, self.items, self.asset = cfg, ctx, index, items, asset
        for it in items:
            it.session = self
        self.sids = np.array([it.sid for it in items], np.int32)  # by client handle
        self.client: Any = None
        self.up: bool | None = None
        self.connects = 0
        self.problems: list[str] = []
        self.bad: set[int] = set()  # handles refused by the server
        self.subscriptions: list[ColumnSubscription] = []
        self.backoff = Backoff(0.2, seconds(cfg.backoff_max))

    @property
    def name(self) -> str:
        return f"{self.cfg.id}#{self.index}"

    # -- connecting ----------------------------------------------------------------------------
    async def _connect(self, lost: asyncio.Event) -> Any:
        cfg = self.cfg
        client = Client(cfg.endpoint, timeout=seconds(cfg.timeout),
                        watchdog_intervall=seconds(cfg.watchdog))
        client.name = client.description = f"ironfield {self.name}"
        if cfg.username:
            client.set_user(cfg.username)
        if cfg.password:
            client.set_password(cfg.password)
        sec = cfg.security
        if sec.policy == "Basic256Sha256":
            assert sec.certificate is not None and sec.private_key is not None
            mode = (ua.MessageSecurityMode.SignAndEncrypt if sec.mode == "SignAndEncrypt"
                    else ua.MessageSecurityMode.Sign)
            uri = application_uri(sec.certificate)
            if uri:  # servers check that the session's ApplicationUri matches the certificate
                client.application_uri = uri
            await client.set_security(SecurityPolicyBasic256Sha256, sec.certificate,
                                      sec.private_key, server_certificate=sec.server_certificate,
                                      mode=mode)

        async def on_lost(exc: Exception) -> None:
            lost.set()

        client.connection_lost_callback = on_lost
        await client.connect()
        return client

    async def _close(self) -> None:
        client, self.client = self.client, None
        self.subscriptions = []
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), seconds(self.cfg.timeout))

    async def _resolve(self, client: Any) -> dict[int, str]:
        """Node ids for every item; {handle: what the server said} for those it refused."""
        refused: dict[int, str] = {}
        ns_array: list[str] | None = None
        for h, it in enumerate(self.items):
            try:
                if it.spec.node is not None:
                    nid = ua.NodeId.from_string(it.spec.node)
                    if isinstance(nid, ua.ExpandedNodeId) and nid.NamespaceUri:
                        ns_array = ns_array or await client.get_namespace_array()
                        if nid.NamespaceUri not in ns_array:
                            refused[h] = f"namespace {nid.NamespaceUri!r} is not on the server"
                            continue
                        nid = ua.NodeId(nid.Identifier, ns_array.index(nid.NamespaceUri),
                                        nid.NodeIdType)
                    it.nodeid = nid
                else:
                    assert it.spec.path is not None
                    parts = [p for p in it.spec.path.split("/") if p and p != "0:Root"]
                    it.nodeid = (await client.nodes.root.get_child(parts)).nodeid
            except ua.UaStatusCodeError as e:
                refused[h] = f"server answered {status_text(e.code)}"
            except (ValueError, ua.UaError) as e:
                refused[h] = f"not a node id: {e}"
        return refused

    async def _check_types(self, client: Any, refused: dict[int, str]) -> None:
        """Refuse items whose value is not a number (a plant file pointing at the wrong node
        or expecting the wrong type)."""
        handles = [h for h in range(len(self.items)) if h not in refused]
        for i in range(0, len(handles), _CHUNK):
            part = handles[i:i + _CHUNK]
            dvs = await client.uaclient.read_attributes(
                [self.items[h].nodeid for h in part], ua.AttributeIds.Value)
            for h, dv in zip(part, dvs, strict=True):
                code = dv.StatusCode.value if dv.StatusCode is not None else 0
                if code in (ua.StatusCodes.BadNodeIdUnknown, ua.StatusCodes.BadNodeIdInvalid,
                            ua.StatusCodes.BadAttributeIdInvalid):
                    refused[h] = f"server answered {status_text(code)}"
                elif dv.Value is not None and dv.Value.Value is not None and (
                        dv.Value.VariantType not in _NUMERIC or dv.Value.is_array):
                    kind = "array of " if dv.Value.is_array else ""
                    refused[h] = (f"its value is {kind}{dv.Value.VariantType.name}; "
                                  f"ironfield signals take numbers or booleans")

    async def _subscribe(self, client: Any, sink: Sink) -> dict[int, str]:
        refused: dict[int, str] = {}
        groups: dict[int, list[int]] = {}
        for h, it in enumerate(self.items):
            if h not in self.bad:
                groups.setdefault(it.sub_index, []).append(h)
        per_sub = self.cfg.max_items_per_subscription
        for handles_all in groups.values():
            spec = self.items[handles_all[0]].sub
            pub_ms = seconds(spec.publishing_interval) * 1000
            for j in range(0, len(handles_all), per_sub):
                handles = handles_all[j:j + per_sub]
                params = ua.CreateSubscriptionParameters()
                params.RequestedPublishingInterval = pub_ms
                params.RequestedLifetimeCount = 10_000
                params.RequestedMaxKeepAliveCount = client.get_keepalive_count(pub_ms)
                params.MaxNotificationsPerPublish = 0  # no limit: one response per interval
                params.PublishingEnabled = True
                params.Priority = 0
                sub = ColumnSubscription(client.uaclient.session, params, self.sids, sink.submit)
                await sub.init()
                self.subscriptions.append(sub)
                for k in range(0, len(handles), _CHUNK):
                    part = handles[k:k + _CHUNK]
                    results = await sub.create_monitored_items(
                        [self._request(h, spec) for h in part])
                    for h, r in zip(part, results, strict=True):
                        if isinstance(r, ua.StatusCode):
                            refused[h] = f"server answered {status_text(r.value)}"
        return refused

    def _request(self, h: int, spec: SubscriptionSpec) -> Any:
        it = self.items[h]
        rv = ua.ReadValueId()
        rv.NodeId = it.nodeid
        rv.AttributeId = ua.AttributeIds.Value
        mp = ua.MonitoringParameters()
        mp.ClientHandle = h
        sampling = it.spec.sampling_interval or spec.sampling_interval or spec.publishing_interval
        mp.SamplingInterval = seconds(sampling) * 1000
        mp.QueueSize = spec.queue_size
        mp.DiscardOldest = True
        deadband = it.spec.deadband if it.spec.deadband is not None else spec.deadband
        if deadband > 0:
            f = ua.DataChangeFilter()
            f.Trigger = ua.DataChangeTrigger.StatusValue
            f.DeadbandType = ua.DeadbandType.Absolute
            f.DeadbandValue = deadband
            mp.Filter = f
        mir = ua.MonitoredItemCreateRequest()
        mir.ItemToMonitor = rv
        mir.MonitoringMode = ua.MonitoringMode.Reporting
        mir.RequestedParameters = mp
        return mir

    async def _report(self, sink: Sink, refused: dict[int, str]) -> None:
        new = {h: m for h, m in refused.items() if h not in self.bad}
        for h, msg in sorted(new.items()):
            it = self.items[h]
            text = (f"{where(self.ctx.plant_file, self.cfg.id, *it.where)}: node "
                    f"{it.spec.ref} for signal {it.path!r}: {msg}")
            self.problems.append(text)
            log.error("%s", text)
            await sink.emit(Event.make("config_fault", self.asset,
                                       {"connector": self.cfg.id, "message": text}))
        self.bad.update(new)
        if new:
            sids = self.sids[np.array(sorted(new), np.intp)]
            await sink.submit(Batch.build(sids, now_ns(), np.full(len(sids), math.nan),
                                          Quality.BAD_CONFIG))

    async def preflight(self) -> list[str]:
        """Connect, resolve and type-check every node, disconnect; the problems found."""
        lost = asyncio.Event()
        try:
            self.client = await self._connect(lost)
            refused = await self._resolve(self.client)
            await self._check_types(self.client, refused)
        except (OSError, TimeoutError, ConnectionError, ua.UaError) as e:
            return [f"{where(self.ctx.plant_file, self.cfg.id, 'endpoint')}: cannot connect to "
                    f"{self.cfg.endpoint}: {type(e).__name__}: {e}"]
        finally:
            await self._close()
        return [f"{where(self.ctx.plant_file, self.cfg.id, *self.items[h].where)}: node "
                f"{self.items[h].spec.ref} for signal {self.items[h].path!r}: {m}"
                for h, m in sorted(refused.items())]

    # -- the cycle -------------------------------------------------------------------------------
    async def run(self, sink: Sink) -> None:
        try:
            while True:
                lost = asyncio.Event()
                try:
                    self.client = await self._connect(lost)
                    self.connects += 1
                    refused = await self._resolve(self.client)
                    if self.connects == 1:
                        await self._check_types(self.client, refused)
                    await self._report(sink, refused)
                    refused = await self._subscribe(self.client, sink)
                    await self._report(sink, refused)
                    if self.up is False:
                        await sink.emit(Event.make("comm_restored", self.asset, {
                            "connector": self.cfg.id, "session": self.index,
                            "endpoint": self.cfg.endpoint}))
                    self.up = True
                    self.backoff.reset()
                    await lost.wait()
                    raise ConnectionError("the server stopped answering")
                except (OSError, TimeoutError, ConnectionError, ua.UaError) as e:
                    await self._close()
                    await self._lost(sink, e)
                    await asyncio.sleep(self.backoff.next())
                except Exception as e:  # a server answering nonsense must not stop collection
                    log.exception("%s: unexpected error", self.name)
                    await self._close()
                    await self._lost(sink, e)
                    await asyncio.sleep(self.backoff.next())
        finally:
            await self._close()

    async def _lost(self, sink: Sink, e: BaseException) -> None:
        if self.up is False:
            return
        first = self.up is None
        self.up = False
        error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        msg = f"{self.cfg.endpoint}: {error}"
        if first:  # never connected: most likely the plant file's endpoint
            msg = f"{where(self.ctx.plant_file, self.cfg.id, 'endpoint')}: cannot connect to {msg}"
        good = np.array([h for h in range(len(self.items)) if h not in self.bad], np.intp)
        if len(good):
            await sink.submit(Batch.build(self.sids[good], now_ns(), np.full(len(good), math.nan),
                                          Quality.BAD_COMM_FAILURE))
        await sink.emit(Event.make("comm_fault", self.asset, {
            "connector": self.cfg.id, "session": self.index, "endpoint": self.cfg.endpoint,
            "error": msg}))
        log.warning("%s: %s", self.name, msg)
