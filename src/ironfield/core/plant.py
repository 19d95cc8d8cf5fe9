"""The plant file: one YAML document that describes a plant.

Sites, areas and equipment (ISA-95 hierarchy) with their signals; connectors; the
historian backend and retention; which apps run and their settings. Validated with
pydantic; every error names the file, the line and the field, and says what was expected.

Equipment that repeats (680 robots) is declared once as an ``equipment_type`` and
instantiated with a brace range: ``ids: "robot-{001..680}"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from ironfield.core.errors import PlantFileError
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import parse_duration

_ID = r"^[A-Za-z0-9_.\-]+$"
_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SignalSpec(_Strict):
    name: str = Field(pattern=_ID)
    unit: str = ""
    type: Literal["float", "int", "bool", "state", "waveform"] = "float"
    range: tuple[float, float] | None = None
    description: str = ""
    class_: str = Field("default", alias="class")
    writable: bool = False
    states: dict[int, str] = Field(default_factory=dict)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and v[0] > v[1]:
            raise ValueError(f"range low {v[0]} is above high {v[1]}")
        return v


class EquipmentType(_Strict):
    description: str = ""
    signals: list[SignalSpec] = Field(default_factory=list)


class EquipmentSpec(_Strict):
    id: str | None = Field(None, pattern=_ID)
    ids: str | None = None
    type: str | None = None
    description: str = ""
    signals: list[SignalSpec] = Field(default_factory=list)
    equipment: list[EquipmentSpec] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_id(self) -> EquipmentSpec:
        if (self.id is None) == (self.ids is None):
            raise ValueError("give exactly one of 'id' (one item) or 'ids' (a range like robot-{001..680})")
        if self.ids is not None and not _RANGE.search(self.ids):
            raise ValueError(f"'ids' {self.ids!r} has no range; expected e.g. 'robot-{{001..680}}'")
        return self

    def expand_ids(self) -> list[str]:
        if self.id is not None:
            return [self.id]
        assert self.ids is not None
        m = _RANGE.search(self.ids)
        assert m is not None
        lo, hi = int(m.group(1)), int(m.group(2))
        width = len(m.group(1))
        return [
            self.ids[: m.start()] + str(i).zfill(width) + self.ids[m.end():] for i in range(lo, hi + 1)
        ]


class AreaSpec(_Strict):
    id: str = Field(pattern=_ID)
    description: str = ""
    equipment: list[EquipmentSpec] = Field(default_factory=list)


class SiteSpec(_Strict):
    id: str = Field(pattern=_ID)
    name: str = ""
    timezone: str = "UTC"
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    areas: list[AreaSpec] = Field(default_factory=list)


class RetentionSpec(_Strict):
    raw: str = "90d"
    rollup_1m: str = "2y"
    rollup_1h: str = "20y"

    @field_validator("raw", "rollup_1m", "rollup_1h")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class HistorianSpec(_Strict):
    backend: Literal["duckdb", "postgres"] = "duckdb"
    path: str = "data/ironfield.duckdb"
    dsn: str = "postgresql://127.0.0.1:5432/ironfield"
    schema_: str = Field("ironfield", alias="schema", pattern=r"^[a-z_][a-z0-9_]*$")
    retention: dict[str, RetentionSpec] = Field(default_factory=lambda: {"default": RetentionSpec()})
    flush_rows: int = Field(50_000, ge=1)
    flush_interval: str = "200ms"


class ConnectorSpec(BaseModel):
    """A connector's settings; ``type`` picks the plug-in, which validates the rest itself."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=_ID)
    type: str


class EdgeSpec(_Strict):
    """``ironfield edge``: run the connectors here and forward to the central platform."""

    uplink: str = Field("mqtt://127.0.0.1:1883", description="central MQTT broker")
    topic: str = Field("ironfield/edge/{plant}", description="topic the batches go to")
    client_id: str | None = None
    buffer_dir: str = "edge-buffer"
    buffer_max_bytes: int = Field(1 << 30, ge=1 << 16)
    buffer_policy: Literal["block", "drop_oldest"] = "block"
    max_batch_rows: int = Field(50_000, ge=1)


class ServerSpec(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8600, ge=0, le=65535)


class PlantSpec(_Strict):
    plant: str = Field(pattern=_ID)
    description: str = ""
    data_dir: str = "data"
    equipment_types: dict[str, EquipmentType] = Field(default_factory=dict)
    sites: list[SiteSpec]
    historian: HistorianSpec = Field(default_factory=HistorianSpec)
    connectors: list[ConnectorSpec] = Field(default_factory=list)
    apps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    alarms: list[dict[str, Any]] = Field(default_factory=list)
    edge: EdgeSpec | None = None
    server: ServerSpec = Field(default_factory=ServerSpec)

    @field_validator("apps", mode="before")
    @classmethod
    def _apps(cls, v: Any) -> Any:
        # ``apps:`` with every entry commented out, or ``haulage:`` with no settings
        if v is None:
            return {}
        if isinstance(v, dict):
            return {k: ({} if c is None else c) for k, c in v.items()}
        return v

    def reference_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        """Cross-references pydantic cannot check field by field: (location, message)."""
        out: list[tuple[tuple[int | str, ...], str]] = []
        seen: dict[str, int] = {}
        for i, c in enumerate(self.connectors):
            if c.id in seen:
                out.append((("connectors", i, "id"), f"connector id {c.id!r} is already used by connectors[{seen[c.id]}]"))
            seen[c.id] = i
        known = sorted(self.equipment_types) or "none declared"

        def walk(items: list[EquipmentSpec], loc: tuple[int | str, ...]) -> None:
            for k, eq in enumerate(items):
                if eq.type is not None and eq.type not in self.equipment_types:
                    out.append(((*loc, k, "type"), f"type {eq.type!r} is not in equipment_types ({known})"))
                walk(eq.equipment, (*loc, k, "equipment"))

        for i, site in enumerate(self.sites):
            for j, area in enumerate(site.areas):
                walk(area.equipment, ("sites", i, "areas", j, "equipment"))
        paths = [d.path for d in self.signal_defs_unchecked()]
        if len(paths) != len(set(paths)):
            dup = sorted({p for p in paths if paths.count(p) > 1})[:5]
            out.append(((), f"signal paths must be unique; repeated: {dup}"))
        return out

    def signal_defs_unchecked(self) -> list[SignalDef]:
        return [d for d in self._defs(strict=False)]

    def signal_defs(self) -> list[SignalDef]:
        """Every signal the plant declares, with its full path."""
        return self._defs(strict=True)

    def _defs(self, strict: bool) -> list[SignalDef]:
        out: list[SignalDef] = []
        for site in self.sites:
            for area in site.areas:
                for path, eq in _assets(f"{site.id}/{area.id}", area.equipment):
                    specs = list(eq.signals)
                    if eq.type is not None:
                        if eq.type not in self.equipment_types and not strict:
                            continue
                        specs = list(self.equipment_types[eq.type].signals) + specs
                    for s in specs:
                        out.append(
                            SignalDef(
                                path=f"{path}/{s.name}", unit=s.unit, type=s.type,
                                low=s.range[0] if s.range else None,
                                high=s.range[1] if s.range else None,
                                description=s.description, klass=s.class_,
                                writable=s.writable, states=dict(s.states),
                            )
                        )
        return out

    def assets(self) -> list[str]:
        """Every asset path (sites, areas, equipment), parents before children."""
        out: list[str] = []
        for site in self.sites:
            out.append(site.id)
            for area in site.areas:
                out.append(f"{site.id}/{area.id}")
                out.extend(p for p, _ in _assets(f"{site.id}/{area.id}", area.equipment))
        return out

    def retention_for(self, klass: str) -> RetentionSpec:
        r = self.historian.retention
        return r.get(klass) or r.get("default") or RetentionSpec()


def _assets(prefix: str, items: list[EquipmentSpec]) -> Iterator[tuple[str, EquipmentSpec]]:
    for eq in items:
        for eid in eq.expand_ids():
            path = f"{prefix}/{eid}"
            yield path, eq
            yield from _assets(path, eq.equipment)


def _line_of(node: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest YAML node that a pydantic error location reaches."""
    line: int | None = None
    for key in loc:
        if isinstance(node, CommentedMap):
            k = "class" if key == "class_" else ("schema" if key == "schema_" else key)
            if k in node:
                try:
                    line = node.lc.key(k)[0] + 1
                except (KeyError, TypeError, AttributeError):
                    line = node.lc.line + 1
                node = node[k]
                continue
            line = node.lc.line + 1
            break
        if isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            try:
                line = node.lc.item(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                line = node.lc.line + 1
            node = node[key]
            continue
        break
    return line


def _field(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for k in loc:
        if isinstance(k, int):
            parts.append(f"[{k}]")
        else:
            name = {"class_": "class", "schema_": "schema"}.get(k, k)
            parts.append(("." if parts else "") + name)
    return "".join(parts)


def parse_plant(text: str, file: str = "<plant>") -> PlantSpec:
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise PlantFileError(file, [(line, "", f"not valid YAML: {e.problem}")]) from e
    if not isinstance(doc, CommentedMap):
        raise PlantFileError(file, [(1, "", "expected a mapping with 'plant:' and 'sites:' at the top")])
    try:
        spec = PlantSpec.model_validate(_plain(doc))
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            problems.append((_line_of(doc, loc), _field(loc), msg))
        raise PlantFileError(file, problems) from None
    refs = spec.reference_problems()
    if refs:
        raise PlantFileError(file, [(_line_of(doc, loc), _field(loc), msg) for loc, msg in refs])
    return spec


def load_plant(path: str | Path) -> PlantSpec:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PlantFileError(str(p), [(None, "", f"cannot read: {e.strerror}")]) from e
    return parse_plant(text, str(p))


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def locate(file: str, field: str) -> int | None:
    """The line of a field path such as ``alarms[1].signal`` in a plant file, if found.

    For services that validate their own section after the plant file has loaded, so
    their errors can name the line too.
    """
    try:
        doc = YAML(typ="rt").load(Path(file).read_text(encoding="utf-8"))
    except (OSError, MarkedYAMLError):
        return None
    loc: list[int | str] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        loc.append(int(part[1:-1]) if part.startswith("[") else part)
    return _line_of(doc, tuple(loc))
