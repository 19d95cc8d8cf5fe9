"""Login, logout, who am I; users and API tokens (admin)."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from ironfield.server.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from ironfield.server.deps import (
    Principal,
    ServerContext,
    audit,
    client_addr,
    current_user,
    get_ctx,
    require,
)
from ironfield.server.schemas import LoginIn, Problem, TokenIn, TokenOut, UserIn, UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])
Ctx = Annotated[ServerContext, Depends(get_ctx)]


@router.post("/login", response_model=UserOut,
             responses={401: {"model": Problem}, 429: {"model": Problem}})
async def login(body: LoginIn, request: Request, response: Response, ctx: Ctx) -> UserOut:
    """Start a browser session: sets the session cookie (HttpOnly, SameSite=Strict) and the
    CSRF cookie; the CSRF token is also in the answer. 5 failures a minute per user and
    address lock that pair out for the rest of the minute (429)."""
    auth = ctx.auth
    addr = client_addr(request)
    wait = auth.limiter.retry_after(body.username, addr)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins; wait",
                            headers={"Retry-After": str(math.ceil(wait))})
    # argon2 takes tens of ms by design; keep the event loop free meanwhile.
    user = await asyncio.to_thread(auth.users.verify, body.username, body.password)
    if user is None:
        auth.limiter.failed(body.username, addr)
        audit(ctx, body.username[:64], "login_failed", "", {"addr": addr})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    auth.limiter.succeeded(body.username, addr)
    old = request.cookies.get(SESSION_COOKIE)
    auth.sessions.drop(old)  # a fresh id on every login (no session fixation)
    sess = auth.sessions.create(user)
    max_age = int(auth.sessions.ttl_s)
    response.set_cookie(SESSION_COOKIE, sess.id, max_age=max_age, httponly=True,
                        samesite="strict", secure=auth.secure_cookies, path="/")
    response.set_cookie(CSRF_COOKIE, sess.csrf, max_age=max_age, httponly=False,
                        samesite="strict", secure=auth.secure_cookies, path="/")
    audit(ctx, user.name, "login", "", {"addr": addr})
    return UserOut(name=user.name, role=user.role, via="session", csrf_token=sess.csrf)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request, ctx: Ctx,
                 who: Annotated[Principal, Depends(current_user)]) -> Response:
    if who.session is not None:
        ctx.auth.sessions.drop(who.session.id)
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    resp.delete_cookie(CSRF_COOKIE, path="/")
    return resp


@router.get("/me", response_model=UserOut, responses={401: {"model": Problem}})
async def me(who: Annotated[Principal, Depends(current_user)]) -> UserOut:
    csrf = who.session.csrf if who.session is not None else None
    return UserOut(name=who.name, role=who.role, via=who.via, csrf_token=csrf)


@router.get("/users", response_model=list[UserOut])
async def list_users(ctx: Ctx, _: Annotated[Principal, Depends(require("admin"))]) -> list[UserOut]:
    return [UserOut(name=u.name, role=u.role) for u in ctx.auth.users.users()]


@router.post("/users", response_model=UserOut, status_code=201)
async def put_user(body: UserIn, ctx: Ctx,
                   who: Annotated[Principal, Depends(require("admin"))]) -> UserOut:
    """Create a user or replace their password and role (admin)."""
    try:
        u = await asyncio.to_thread(ctx.auth.users.set_user, body.name, body.password, body.role)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    ctx.auth.sessions.drop_user(u.name)
    audit(ctx, who, "user_set", "", {"target": u.name, "role": u.role})
    return UserOut(name=u.name, role=u.role)


@router.delete("/users/{name}", status_code=204, response_class=Response,
               responses={404: {"model": Problem}})
async def delete_user(name: str, ctx: Ctx,
                      who: Annotated[Principal, Depends(require("admin"))]) -> Response:
    if not ctx.auth.users.delete_user(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {name!r}")
    ctx.auth.sessions.drop_user(name)
    audit(ctx, who, "user_deleted", "", {"target": name})
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(ctx: Ctx,
                      _: Annotated[Principal, Depends(require("admin"))]) -> list[TokenOut]:
    return [TokenOut(id=t.id, user=t.user, label=t.label, created_ns=t.created_ns)
            for t in ctx.auth.users.tokens()]


@router.post("/tokens", response_model=TokenOut, status_code=201,
             responses={404: {"model": Problem}})
async def create_token(body: TokenIn, ctx: Ctx,
                       who: Annotated[Principal, Depends(require("admin"))]) -> TokenOut:
    """An API token acting as ``user`` (with that user's role). Shown once; stored hashed."""
    try:
        token, info = ctx.auth.users.create_token(body.user, body.label)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {body.user!r}") from None
    audit(ctx, who, "token_created", "", {"token_id": info.id, "for": info.user})
    return TokenOut(id=info.id, user=info.user, label=info.label, created_ns=info.created_ns,
                    token=token)


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response,
               responses={404: {"model": Problem}})
async def revoke_token(token_id: str, ctx: Ctx,
                       who: Annotated[Principal, Depends(require("admin"))]) -> Response:
    if not ctx.auth.users.revoke_token(token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id!r}")
    audit(ctx, who, "token_revoked", "", {"token_id": token_id})
    return Response(status_code=204)
