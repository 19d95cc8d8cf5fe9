"""Browser sessions (in memory) and the login rate limit.

A session is a random id in an HttpOnly, SameSite=Strict cookie; each session carries its
own CSRF token, which the page reads from a second (script-readable) cookie and echoes in
the ``X-CSRF-Token`` header of every unsafe request (the double-submit pattern [1]_). The
server compares the header against the token it holds for the session, so a forged
cookie alone does not pass.

Sessions live in memory: a restart logs everyone out, which is acceptable for a control
room and avoids keeping session secrets on disk.

.. [1] OWASP Cheat Sheet Series, Cross-Site Request Forgery Prevention, "Signed Double-Submit
   Cookie" / "Synchronizer Token Pattern".
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from ironfield.server.auth.users import User

SESSION_COOKIE = "ironfield_session"
CSRF_COOKIE = "ironfield_csrf"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Session:
    id: str
    user: User
    csrf: str
    expires: float
    created: float = field(default_factory=time.monotonic)


class SessionStore:
    def __init__(self, ttl_s: float = 12 * 3600) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def create(self, user: User) -> Session:
        now = time.monotonic()
        s = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now + self.ttl_s)
        with self._lock:
            self._sessions = {k: v for k, v in self._sessions.items() if v.expires > now}
            self._sessions[s.id] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                return None
            if s.expires <= time.monotonic():
                del self._sessions[sid]
                return None
            return s

    def drop(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)

    def drop_user(self, name: str) -> None:
        with self._lock:
            self._sessions = {k: v for k, v in self._sessions.items() if v.user.name != name}


class LoginLimiter:
    """At most ``max_failures`` failed logins per (user, client address) per ``window_s``."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._lock = threading.Lock()
        self._fails: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, user: str, addr: str) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        now = time.monotonic()
        with self._lock:
            q = self._recent((user, addr), now)
            if len(q) < self.max_failures:
                return 0.0
            return max(0.0, q[0] + self.window_s - now)

    def failed(self, user: str, addr: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._fails) > 10_000:  # bound memory under a spray of names
                self._fails = {k: v for k, v in self._fails.items() if v and v[-1] > now - self.window_s}
            self._recent((user, addr), now).append(now)

    def succeeded(self, user: str, addr: str) -> None:
        with self._lock:
            self._fails.pop((user, addr), None)
