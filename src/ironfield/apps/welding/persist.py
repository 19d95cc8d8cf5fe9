"""Learned spot references kept across restarts: one JSON snapshot under the data directory.

A spot's reference takes its first passing welds to learn and is then refined by hundreds
more and by QA results; losing it on a restart would put every spot back to learning (and
its verdicts on summary-only rules) for the first bodies after it. The app writes the
snapshot when references have changed, at most every ``interval`` seconds, and when it
stops; the write is atomic (temporary file, fsync, rename), so a crash leaves the previous
snapshot, never half of one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ironfield.apps.welding.timing_types import SpotReference, SpotReferenceError

FORMAT = 1


def references_path(data_dir: Path) -> Path:
    return data_dir / "welding" / "references.json"


def save_references(path: Path, refs: Mapping[str, SpotReference]) -> None:
    doc: dict[str, Any] = {"format": FORMAT, "references": {sid: r.to_dict() for sid, r in refs.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_references(path: Path) -> tuple[dict[str, SpotReference], list[str]]:
    """The saved references and what could not be read (file or spot, with why); a missing
    file is simply none."""
    if not path.exists():
        return {}, []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {}, [f"{path}: not readable ({e}); every spot learns again"]
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("references"), dict):
        return {}, [f"{path}: not a format-{FORMAT} reference snapshot; every spot learns again"]
    out: dict[str, SpotReference] = {}
    problems: list[str] = []
    for sid, d in doc["references"].items():
        try:
            if not isinstance(d, dict):
                raise SpotReferenceError("not an object")
            out[str(sid)] = SpotReference.from_dict(d)
        except (SpotReferenceError, TypeError, ValueError) as e:
            problems.append(f"{sid}: {e}")
    return out, problems
