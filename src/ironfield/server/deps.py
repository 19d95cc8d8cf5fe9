"""Request context and the FastAPI dependencies that decide who may do what.

Every request is authenticated either by the session cookie (browsers) or by
``Authorization: Bearer <token>`` (machines). For session requests, every unsafe method
(anything but GET/HEAD/OPTIONS) must echo the session's CSRF token in ``X-CSRF-Token``;
bearer requests carry no ambient credentials and need no CSRF token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import HTTPException, Request, status
from starlette.requests import HTTPConnection

from ironfield.core.events import Event
from ironfield.runtime.platform import Platform
from ironfield.server.auth import Auth, Role, User, role_rank
from ironfield.server.auth.sessions import CSRF_HEADER, SESSION_COOKIE, Session

log = logging.getLogger("ironfield.server")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ServerContext:
    platform: Platform
    auth: Auth
    live_max_hz: float = 10.0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def historian(self) -> Any:
        h = self.platform.historian
        if h is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "historian is not open")
        return h


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    via: Literal["session", "token"]
    session: Session | None = None

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> Role:
        return self.user.role


def ctx_of(conn: HTTPConnection) -> ServerContext:
    c: ServerContext = conn.app.state.ctx
    return c


def get_ctx(request: Request) -> ServerContext:
    return ctx_of(request)


def client_addr(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def principal_of(conn: HTTPConnection) -> Principal | None:
    """Who is asking, or None (no check of CSRF or role here)."""
    auth = ctx_of(conn).auth
    header = conn.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user = auth.users.user_for_token(header[7:].strip())
        return Principal(user, "token") if user is not None else None
    sess = auth.sessions.get(conn.cookies.get(SESSION_COOKIE))
    if sess is None:
        return None
    # The role may have changed since login: always take the stored one.
    user = auth.users.get(sess.user.name)
    if user is None:
        return None
    return Principal(user, "session", sess)


def current_user(request: Request) -> Principal:
    p = principal_of(request)
    if p is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "not logged in", headers={"WWW-Authenticate": "Bearer"}
        )
    if p.via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        assert p.session is not None
        if not sent or not hmac.compare_digest(sent, p.session.csrf):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return p


def require(role: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency: the caller, if their role is at least ``role`` (else 403)."""

    async def dep(request: Request) -> Principal:
        p = current_user(request)
        if role_rank(p.role) < role_rank(role):
            audit(ctx_of(request), p, "denied", "", {"path": request.url.path,
                                                    "method": request.method, "needs": role})
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {role} (you are {p.role})")
        return p

    dep.__name__ = f"require_{role}"
    return dep


def audit(ctx: ServerContext, who: Principal | str, action: str, asset: str,
          details: dict[str, Any]) -> None:
    """Journal a write (or a refused one) as an ``audit`` event; never carries secrets."""
    user = who if isinstance(who, str) else who.name
    via = "" if isinstance(who, str) else who.via
    site = ctx.platform.plant.sites[0].id if ctx.platform.plant.sites else ctx.platform.plant.plant
    ev = Event.make("audit", asset or f"{site}/platform/server",
                    {"action": action, "user": user, "via": via, **details})
    pipe = ctx.platform.pipeline
    if pipe is not None:
        pipe.emit_nowait(ev)
    else:
        ctx.platform.bus.publish(ev)
    log.info("audit: %s by %s on %s", action, user, asset or "-")
