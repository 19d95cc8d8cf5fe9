"""The web UI: server-rendered pages (Jinja) that small vanilla JS modules bring alive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader

from ironfield.core.signals import in_subtree
from ironfield.server.deps import ctx_of, principal_of
from ironfield.server.routes.assets import asset_paths, build_tree
from ironfield.server.routes.oee import state_signal

WEB = Path(__file__).resolve().parents[1] / "web"
templates = Jinja2Templates(directory=WEB / "templates")


def add_template_dir(folder: Path) -> None:
    """Let pages render templates from ``folder`` too (an app's; the server's win on a clash)."""
    loader = templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    if str(folder) not in [str(p) for p in loader.searchpath]:
        loader.searchpath.append(str(folder))
router = APIRouter(include_in_schema=False)

NAV = [("overview", "/", "Plant"), ("trends", "/trends", "Trends"),
       ("alarms", "/alarms", "Alarms"), ("events", "/events", "Events"),
       ("oee", "/oee", "OEE"), ("docs", "/docs", "API")]


def _page(request: Request, name: str, active: str, **extra: Any) -> Response:
    who = principal_of(request)
    if who is None:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(nxt, safe='')}", status_code=303)
    ctx = ctx_of(request)
    extra_nav = [(href, href, label) for label, href in ctx.settings.get("nav", [])]
    data = {"user": who.name, "role": who.role, "nav": NAV[:-1] + extra_nav + NAV[-1:],
            "active": active,
            "plant": ctx.platform.plant.plant, "title": extra.pop("title", active.title()),
            **extra}
    return templates.TemplateResponse(request, name, data)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    if not next.startswith("/") or next.startswith("//"):
        next = "/"  # only local targets: no open redirect
    if principal_of(request) is not None:
        return RedirectResponse(next, status_code=303)
    return templates.TemplateResponse(request, "login.html", {
        "next": next, "plant": ctx_of(request).platform.plant.plant, "title": "Log in"})


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request,
                   asset: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    ctx = ctx_of(request)
    tree = build_tree(asset_paths(ctx), ctx.platform.registry)
    if asset is None:
        # The first area of the first site is the natural landing view.
        first = tree[0] if tree else None
        asset = (first.children[0].path if first and first.children else
                 first.path if first else "")
    return _page(request, "overview.html", "overview", tree=tree, asset=asset,
                 title=f"Plant · {asset}")


@router.get("/equipment/{path:path}", response_class=HTMLResponse)
async def equipment(request: Request, path: str) -> Response:
    ctx = ctx_of(request)
    reg = ctx.platform.registry
    sigs = [reg.definition(p) for p in sorted(reg) if p.rsplit("/", 1)[0] == path]
    children = sorted({p.split("/")[path.count("/") + 1] for p in reg
                       if in_subtree(p, path) and p.count("/") > path.count("/") + 1})
    return _page(request, "equipment.html", "overview", asset=path, signals=sigs,
                 children=children, title=path, has_state=state_signal(reg, path) is not None)


@router.get("/trends", response_class=HTMLResponse)
async def trends(request: Request) -> Response:
    return _page(request, "trends.html", "trends", title="Trends")


@router.get("/alarms", response_class=HTMLResponse)
async def alarms_page(request: Request) -> Response:
    return _page(request, "alarms.html", "alarms", title="Alarms")


@router.get("/events", response_class=HTMLResponse)
async def events_page(request: Request) -> Response:
    return _page(request, "events.html", "events", title="Events")


@router.get("/oee", response_class=HTMLResponse)
async def oee_page(request: Request,
                   asset: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    reg = ctx_of(request).platform.registry
    assets = sorted({p.rsplit("/", 1)[0] for p in reg if reg.definition(p).type == "state"})
    return _page(request, "oee.html", "oee", assets=assets,
                 asset=asset if asset in assets else (assets[0] if assets else ""), title="OEE")


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> Response:
    spec = request.app.openapi()
    ops = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method, op in item.items():
            params = [f"{p['name']}{'' if p.get('required') else '?'}"
                      for p in op.get("parameters", [])]
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": (op.get("description") or "").strip(),
                        "tag": (op.get("tags") or [""])[0], "params": ", ".join(params),
                        "body": "requestBody" in op})
    return _page(request, "docs.html", "docs", ops=ops, title="API")
