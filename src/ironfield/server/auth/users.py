"""Users, roles and API tokens, kept in one JSON file in the data dir.

``<data_dir>/users.json`` holds argon2id password hashes [1]_ and the SHA-256 of each API
token (a token is 32 random bytes, so a fast hash is enough: there is nothing to
brute-force, unlike a password). The file is rewritten atomically (write + rename) and
created with mode 0600. Plain passwords and tokens are never stored or logged.

.. [1] Biryukov, Dinu, Khovratovich 2016, Argon2: the memory-hard function for password
   hashing (RFC 9106, 2021); hashed with argon2-cffi's defaults.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Role = Literal["viewer", "operator", "engineer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "engineer", "admin")
TOKEN_PREFIX = "ifk_"


def role_rank(role: str) -> int:
    """viewer < operator < engineer < admin; an unknown role ranks below viewer."""
    return ROLES.index(role) if role in ROLES else -1


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    user: str
    label: str
    created_ns: int


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserStore:
    """Users and tokens in ``path`` (a JSON file); thread-safe."""

    def __init__(self, path: Path | str, hasher: PasswordHasher | None = None) -> None:
        """``hasher``: argon2-cffi's defaults (RFC 9106 low-memory profile) unless given."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._hasher = hasher or PasswordHasher()
        self._users: dict[str, dict[str, str]] = {}
        self._tokens: dict[str, dict[str, str | int]] = {}
        self._dummy_hash: str | None = None
        self._load()

    @property
    def _dummy(self) -> str:
        # A fixed hash to verify against for unknown users, so a login for a name that does
        # not exist costs as much as one that does (no user enumeration by timing).
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    # -- persistence --------------------------------------------------------------------

    def _load(self) -> None:
        if not self.path.exists():
            return
        doc = json.loads(self.path.read_text(encoding="utf-8"))
        self._users = dict(doc.get("users", {}))
        self._tokens = dict(doc.get("tokens", {}))

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"users": self._users, "tokens": self._tokens}, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    # -- users --------------------------------------------------------------------------

    def set_user(self, name: str, password: str, role: Role) -> User:
        """Create or replace a user (password hashed with argon2id)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError("user name: 1-64 letters, digits, '-', '_' or '.'")
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        h = self._hasher.hash(password)
        with self._lock:
            self._users[name] = {"hash": h, "role": role}
            self._save()
        return User(name, role)

    def delete_user(self, name: str) -> bool:
        with self._lock:
            if self._users.pop(name, None) is None:
                return False
            self._tokens = {k: v for k, v in self._tokens.items() if v["user"] != name}
            self._save()
            return True

    def get(self, name: str) -> User | None:
        u = self._users.get(name)
        if u is None:
            return None
        return User(name, u["role"])  # type: ignore[arg-type]

    def users(self) -> list[User]:
        return [User(n, u["role"]) for n, u in sorted(self._users.items())]  # type: ignore[arg-type]

    def verify(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (constant-ish time either way)."""
        u = self._users.get(name)
        stored = u["hash"] if u is not None else self._dummy
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if u is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            with self._lock:
                u["hash"] = self._hasher.hash(password)
                self._save()
        return User(name, u["role"])  # type: ignore[arg-type]

    # -- tokens -------------------------------------------------------------------------

    def create_token(self, user: str, label: str = "") -> tuple[str, TokenInfo]:
        """A new API token for ``user``: the plain token (shown once) and its record."""
        if user not in self._users:
            raise KeyError(f"unknown user {user!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(secrets.token_hex(6), user, label[:100], time.time_ns())
        with self._lock:
            self._tokens[token_digest(token)] = {
                "id": info.id, "user": user, "label": info.label, "created_ns": info.created_ns
            }
            self._save()
        return token, info

    def tokens(self) -> list[TokenInfo]:
        return [
            TokenInfo(str(t["id"]), str(t["user"]), str(t["label"]), int(t["created_ns"]))
            for t in self._tokens.values()
        ]

    def revoke_token(self, token_id: str) -> bool:
        with self._lock:
            for k, v in list(self._tokens.items()):
                if v["id"] == token_id:
                    del self._tokens[k]
                    self._save()
                    return True
        return False

    def user_for_token(self, token: str) -> User | None:
        rec = self._tokens.get(token_digest(token))
        if rec is None:
            return None
        return self.get(str(rec["user"]))


def token_info_dict(info: TokenInfo) -> dict[str, str | int]:
    return asdict(info)
