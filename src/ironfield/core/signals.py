"""Assets and signals, and the registry that gives every signal a stable integer id.

Signals are named by their ISA-95 asset path: ``site/area/equipment/signal``
(deeper paths are allowed, e.g. ``hongqi/body-shop/line-3/robot-112/weld_current_ka``).
Batches carry the integer id; the registry translates at the edges.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ironfield.core.errors import UnknownSignalError

_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+$")


def validate_path(path: str) -> str:
    """Check an asset or signal path: non-empty segments of letters, digits, ``_ . -``."""
    parts = path.split("/")
    if len(parts) < 2 or not all(_SEGMENT.match(p) for p in parts):
        raise ValueError(
            f"bad path {path!r}: expected segments of letters, digits, '_', '.', '-' "
            "joined by '/', e.g. 'luobei/pit/truck-07/payload_t'"
        )
    return path


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def in_subtree(path: str, root: str) -> bool:
    """Is ``path`` the asset ``root`` or below it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True, slots=True)
class SignalDef:
    """What a signal is: its path, unit, type, expected range and storage class."""

    path: str
    unit: str = ""
    type: str = "float"  # float | int | bool | state | waveform
    low: float | None = None
    high: float | None = None
    description: str = ""
    klass: str = "default"  # retention class
    writable: bool = False
    states: Mapping[int, str] = field(default_factory=dict)

    @property
    def asset(self) -> str:
        return parent(self.path)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]


class SignalRegistry:
    """Two-way map between signal paths and their int32 ids, plus each signal's definition.

    Ids are handed out in order and never reused; a historian persists the map so ids
    survive restarts (``load`` it back before registering anything new).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._paths: list[str | None] = []
        self._defs: dict[str, SignalDef] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, path: object) -> bool:
        return path in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._ids))

    def load(self, mapping: Mapping[str, int]) -> None:
        """Adopt ids already assigned (from a historian) so they stay stable."""
        with self._lock:
            for path, sid in mapping.items():
                known = self._ids.get(path)
                if known is not None and known != sid:
                    raise ValueError(f"signal {path!r} has id {known} here but {sid} in storage")
                while len(self._paths) <= sid:
                    self._paths.append(None)
                holder = self._paths[sid]
                if holder is not None and holder != path:
                    raise ValueError(f"signal id {sid} is {holder!r} here but {path!r} in storage")
                self._paths[sid] = path
                self._ids[path] = sid

    def register(self, definition: SignalDef | str) -> int:
        d = SignalDef(definition) if isinstance(definition, str) else definition
        with self._lock:
            # a bare path never replaces a full definition given earlier
            if not isinstance(definition, str) or d.path not in self._defs:
                self._defs[d.path] = d
            sid = self._ids.get(d.path)
            if sid is None:
                validate_path(d.path)
                sid = len(self._paths)
                self._paths.append(d.path)
                self._ids[d.path] = sid
            return sid

    def register_many(self, definitions: Iterable[SignalDef | str]) -> list[int]:
        return [self.register(d) for d in definitions]

    def id(self, path: str) -> int:
        try:
            return self._ids[path]
        except KeyError:
            raise UnknownSignalError(f"unknown signal {path!r}") from None

    def get_id(self, path: str) -> int | None:
        return self._ids.get(path)

    def path(self, sid: int) -> str:
        if 0 <= sid < len(self._paths):
            p = self._paths[sid]
            if p is not None:
                return p
        raise UnknownSignalError(f"unknown signal id {sid}")

    def definition(self, path: str) -> SignalDef:
        d = self._defs.get(path)
        if d is None:
            if path in self._ids:
                return SignalDef(path)
            raise UnknownSignalError(f"unknown signal {path!r}")
        return d

    def mapping(self) -> dict[str, int]:
        with self._lock:
            return dict(self._ids)

    def subtree(self, root: str) -> list[int]:
        """Ids of every signal at or below an asset path."""
        return [sid for p, sid in self._ids.items() if in_subtree(p, root)]
