"""The asset tree, signal definitions and last values."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from ironfield.core.signals import SignalRegistry, in_subtree
from ironfield.server.convert import opt_float, resolve_signals
from ironfield.server.deps import Principal, ServerContext, get_ctx, require
from ironfield.server.schemas import AssetNode, LastValue, Problem, SignalOut

router = APIRouter(prefix="/api", tags=["assets"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]
Viewer = Annotated[Principal, Depends(require("viewer"))]

_KINDS = {1: "site", 2: "area"}


def asset_paths(ctx: ServerContext) -> list[str]:
    """Assets of the plant file plus any asset a registered signal lives under."""
    seen: dict[str, None] = dict.fromkeys(ctx.platform.plant.assets())
    for p in ctx.platform.registry:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            seen.setdefault("/".join(parts[:i]), None)
    return list(seen)


def build_tree(paths: list[str], registry: SignalRegistry, root: str | None = None) -> list[AssetNode]:
    nodes: dict[str, AssetNode] = {}
    tops: list[AssetNode] = []
    by_asset: dict[str, list[str]] = {}
    for sp in registry:
        by_asset.setdefault(sp.rsplit("/", 1)[0], []).append(sp)
    for p in sorted(paths, key=lambda s: (s.count("/"), s)):
        if root is not None and not in_subtree(p, root):
            continue
        depth = p.count("/") + 1
        node = AssetNode(path=p, name=p.rsplit("/", 1)[-1],
                         kind=_KINDS.get(depth, "equipment"),
                         signals=sorted(by_asset.get(p, [])))
        nodes[p] = node
        parent = nodes.get(p.rsplit("/", 1)[0]) if "/" in p else None
        if parent is not None:
            parent.children.append(node)
        else:
            tops.append(node)
    for n in nodes.values():
        n.children.sort(key=lambda c: c.name)
    return tops


@router.get("/assets", response_model=list[AssetNode], responses={404: {"model": Problem}})
async def assets(ctx: Ctx, _: Viewer,
                 root: Annotated[str | None, Query(max_length=300)] = None) -> list[AssetNode]:
    """The asset tree (site / area / equipment ...), each node with its own signals."""
    tree = build_tree(asset_paths(ctx), ctx.platform.registry, root)
    if root is not None and not tree:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {root!r}")
    return tree


def signal_out(registry: SignalRegistry, path: str) -> SignalOut:
    d = registry.definition(path)
    return SignalOut(path=path, id=registry.id(path), unit=d.unit, type=d.type,
                     low=opt_float(d.low), high=opt_float(d.high), description=d.description,
                     writable=d.writable, states=dict(d.states))


@router.get("/signals", response_model=list[SignalOut])
async def signals(ctx: Ctx, _: Viewer,
                  asset: Annotated[str | None, Query(max_length=300)] = None,
                  limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> list[SignalOut]:
    """Signal definitions, optionally only those at or below an asset."""
    reg = ctx.platform.registry
    paths = sorted(p for p in reg if asset is None or in_subtree(p, asset))
    return [signal_out(reg, p) for p in paths[:limit]]


@router.get("/signals/{path:path}", response_model=SignalOut, responses={404: {"model": Problem}})
async def signal(path: str, ctx: Ctx, _: Viewer) -> SignalOut:
    if path not in ctx.platform.registry:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown signal {path!r}")
    return signal_out(ctx.platform.registry, path)


@router.get("/last", response_model=list[LastValue],
            responses={404: {"model": Problem}, 422: {"model": Problem}})
async def last(ctx: Ctx, _: Viewer,
               signal: Annotated[list[str] | None, Query(max_length=1000)] = None,
               asset: Annotated[str | None, Query(max_length=300)] = None) -> list[LastValue]:
    """The last stored value of each named signal and of every signal under ``asset``."""
    reg = ctx.platform.registry
    pairs = resolve_signals(reg, signal, asset, limit=5000)
    h = ctx.historian
    b = await asyncio.to_thread(h.last, [sid for _, sid in pairs])
    out = []
    for sid, ts, v, q in b.rows():
        p = reg.path(sid)
        out.append(LastValue(signal=p, unit=reg.definition(p).unit, ts=ts, value=opt_float(v),
                             quality=q))
    return out
