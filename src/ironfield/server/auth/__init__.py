"""Authentication and roles: users (argon2), browser sessions with CSRF, API tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher

from ironfield.server.auth.sessions import LoginLimiter, SessionStore
from ironfield.server.auth.users import ROLES, Role, User, UserStore, role_rank

USERS_FILE = "users.json"


@dataclass
class Auth:
    """Everything the server needs to know who is asking.

    ``secure_cookies`` adds the ``Secure`` flag (set it when served over HTTPS).
    """

    users: UserStore
    sessions: SessionStore = field(default_factory=SessionStore)
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    secure_cookies: bool = False

    @classmethod
    def in_data_dir(cls, data_dir: Path | str, *, hasher: PasswordHasher | None = None,
                    secure_cookies: bool = False) -> Auth:
        """Users in ``<data_dir>/users.json``."""
        return cls(UserStore(Path(data_dir) / USERS_FILE, hasher), secure_cookies=secure_cookies)


def ensure_demo_user(
    data_dir: Path | str, name: str = "demo", password: str = "ironfield-demo", role: Role = "admin"
) -> tuple[str, str]:
    """Create (or reset) the demo user in ``<data_dir>/users.json``; returns (name, password).

    For ``ironfield demo`` only: the password is well known, so never call it on a plant.
    """
    UserStore(Path(data_dir) / USERS_FILE).set_user(name, password, role)
    return name, password


__all__ = ["ROLES", "USERS_FILE", "Auth", "Role", "User", "UserStore", "ensure_demo_user", "role_rank"]
