"""How an app plug-in brings its own pages and REST routes into the control room.

An app that implements :class:`WebApp` returns an :class:`AppWeb`: its router (pages and
``/api/apps/<name>/...`` routes, which can use the dependencies of
:mod:`ironfield.server.deps`), its links in the page header, and the folders of its Jinja
templates (which extend ``base.html``) and static files (served at
``/apps/<name>/static``). :func:`render_page` renders an app's template inside the
common frame: header, alarm banner, login redirect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fastapi import APIRouter, Request
from fastapi.responses import Response


@dataclass(frozen=True)
class AppWeb:
    name: str
    router: APIRouter
    nav: Sequence[tuple[str, str]] = ()  # (label, href) links in the page header
    templates: Path | None = None  # folder of the app's Jinja templates
    static: Path | None = None  # folder served at /apps/<name>/static
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class WebApp(Protocol):
    """An app with pages (optional beside :class:`ironfield.core.plugins.App`)."""

    def web(self) -> AppWeb: ...


def render_page(request: Request, template: str, active: str, **extra: Any) -> Response:
    """Render ``template`` (an app's or the server's) in the control room's frame.

    ``active`` is the href of the app's nav link to highlight; redirects to the login page
    when nobody is logged in.
    """
    from ironfield.server.routes.pages import _page

    return _page(request, template, active, **extra)
