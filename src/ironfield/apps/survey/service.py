"""The survey app at work: watch the inbox, queue surveys, process them off the loop, report.

A survey arrives as

* a ``.las``/``.laz`` file in the inbox, **complete when it appears**: write it elsewhere
  (or under a name starting with ``.`` or ending ``.part``/``.tmp``, which are ignored)
  and rename it in;
* a folder of tiles of one flight in the inbox, taken once it holds a ``.done`` marker
  (write the tiles, then the marker);
* an upload (``POST /api/apps/survey/surveys``), handed over by :meth:`SurveyService.enqueue`.

Each survey is moved into ``<data_dir>/survey/<id>/input/`` and processed in a worker
thread (:func:`.process.process_survey`); ``result.json`` is written last. A survey that
cannot be processed is moved to ``<inbox>/failed/`` with a ``.reason.txt`` beside it, its
folder removed, and a ``survey.failed`` event names the file and the reason. The survey's
time is the newest modification time of its files (an upload: when it arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ironfield.apps.survey.config import SurveyConfig
from ironfield.apps.survey.dem import Dem
from ironfield.apps.survey.events import FAILED, PROCESSED, ProcessedPayload, Reconciliation
from ironfield.apps.survey.process import load_dem, process_survey
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.signals import SignalRegistry
from ironfield.core.timeutil import now_ns

log = logging.getLogger("ironfield.apps.survey")
CLOUD = (".las", ".laz")
IGNORED = (".part", ".tmp")
NS = 1_000_000_000
LOOKBACK_NS = (600 * NS, 6 * 3600 * NS, 7 * 86400 * NS)


@dataclass
class Job:
    """A survey on its way: ``queued`` -> ``processing`` -> ``done`` | ``failed``."""

    id: str
    files: list[str]
    source: str  # inbox | upload | resumed
    survey_ns: int
    state: str = "queued"
    stage: str = ""
    progress: float = 0.0
    error: str = ""
    inputs: list[Path] = field(default_factory=list, repr=False)

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("inputs")
        return d


class SurveyService:
    def __init__(
        self, cfg: SurveyConfig, data_dir: Path, registry: SignalRegistry, history: Any,
        submit: Callable[[Batch], Awaitable[None]], emit: Callable[[Event], None],
    ) -> None:
        self.cfg, self.data_dir, self.registry, self.history = cfg, data_dir, registry, history
        self.submit, self.emit = submit, emit
        self.inbox = cfg.inbox_dir(data_dir)
        self.failed_dir = self.inbox / "failed"
        self.work = cfg.work_dir(data_dir)
        self.jobs: list[Job] = []
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.results: list[dict[str, Any]] = self._load_results()
        self._prev_dem: Dem | None = None
        self.wake = asyncio.Event()

    # ---- state ------------------------------------------------------------------------
    def _load_results(self) -> list[dict[str, Any]]:
        out = []
        for f in self.work.glob("*/result.json"):
            try:
                out.append(json.loads(f.read_text()))
            except (OSError, json.JSONDecodeError) as e:
                log.warning("survey: ignoring unreadable %s (%s)", f, e)
        return sorted(out, key=lambda r: (r["survey_ns"], r["survey_id"]))

    def previous_dem(self) -> Dem | None:
        if self._prev_dem is None and self.results:
            path = self.work / self.results[-1]["survey_id"] / "dem.npz"
            if path.exists():
                self._prev_dem = load_dem(path)
        return self._prev_dem

    def result(self, survey_id: str) -> dict[str, Any] | None:
        return next((r for r in self.results if r["survey_id"] == survey_id), None)

    def status(self) -> dict[str, Any]:
        return {"inbox": str(self.inbox), "jobs": [j.public() for j in reversed(self.jobs)]}

    # ---- intake -----------------------------------------------------------------------
    def _new_id(self, stem: str, survey_ns: int) -> str:
        when = datetime.fromtimestamp(survey_ns / NS, UTC).strftime("%Y%m%dT%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:40] or "survey"
        sid, k = f"{when}-{safe}", 1
        while (self.work / sid).exists() or any(j.id == sid for j in self.jobs):
            k += 1
            sid = f"{when}-{safe}-{k}"
        return sid

    def enqueue(self, files: Sequence[Path], source: str, survey_ns: int | None = None,
                stem: str | None = None) -> Job:
        """Take ``files`` (one survey) into its own folder and queue it."""
        files = list(files)
        t = survey_ns if survey_ns is not None else max(int(f.stat().st_mtime_ns) for f in files)
        job = Job(self._new_id(stem or files[0].stem, t), [f.name for f in files], source, t)
        dest = self.work / job.id / "input"
        dest.mkdir(parents=True)
        for f in files:
            target = dest / f.name
            shutil.move(str(f), target)
            job.inputs.append(target)
        self.jobs.append(job)
        del self.jobs[:-50]
        self.queue.put_nowait(job)
        return job

    def scan_inbox(self) -> list[Job]:
        """Queue what has arrived complete in the inbox (see the module docstring)."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        taken = []
        for entry in sorted(self.inbox.iterdir()):
            name = entry.name
            if name.startswith(".") or name.endswith(IGNORED) or entry == self.failed_dir:
                continue
            if entry.is_dir():
                if not (entry / ".done").exists():
                    continue
                tiles = sorted(p for p in entry.iterdir() if p.suffix.lower() in CLOUD)
                if not tiles:
                    self._reject(entry, f"folder {name}: .done marker but no .las/.laz tile in it")
                    continue
                t = max(int(p.stat().st_mtime_ns) for p in tiles)
                taken.append(self.enqueue(tiles, "inbox", t, stem=name))
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.suffix.lower() in CLOUD:
                taken.append(self.enqueue([entry], "inbox"))
            else:
                self._reject(entry, f"{name}: not a LAS/LAZ file (expected .las or .laz)")
        return taken

    def _reject(self, entry: Path, reason: str) -> None:
        job = Job(self._new_id(entry.stem, now_ns()), [entry.name], "inbox", now_ns(), "failed")
        self.jobs.append(job)
        self._fail(job, [entry], reason)

    # ---- processing -------------------------------------------------------------------
    def resume(self) -> list[Job]:
        """Queue again the surveys taken in but not finished before a restart."""
        jobs = []
        for d in sorted(self.work.glob("*/input")):
            if (d.parent / "result.json").exists() or d.parent.name.startswith("."):
                continue
            files = sorted(p for p in d.iterdir() if p.suffix.lower() in CLOUD)
            if not files:
                continue
            t = max(int(f.stat().st_mtime_ns) for f in files)
            job = Job(d.parent.name, [f.name for f in files], "resumed", t, inputs=files)
            self.jobs.append(job)
            self.queue.put_nowait(job)
            jobs.append(job)
        return jobs

    async def run(self) -> None:
        self.resume()
        worker = asyncio.create_task(self._worker(), name="survey-worker")
        try:
            while True:
                self.scan_inbox()  # listing and renames: quick, and the queue is not thread-safe
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.cfg.poll_s)
                if worker.done():
                    worker.result()  # a crashed worker fails the app: the runtime restarts it
        finally:
            worker.cancel()

    async def _worker(self) -> None:
        while True:
            job = await self.queue.get()
            await self.process(job)

    async def process(self, job: Job) -> None:
        job.state, job.stage = "processing", "reading"
        started = time.monotonic()

        def progress(stage: str, frac: float) -> None:
            job.stage, job.progress = stage, round(frac, 3)

        out = self.work / job.id
        prev = self.results[-1] if self.results else None
        try:
            previous = self.previous_dem()
            res, dem = await asyncio.to_thread(
                process_survey, job.inputs, out, self.cfg, self.data_dir, previous, progress)
        except Exception as e:  # every failure of one survey is reported, none kills the app
            log.warning("survey %s failed: %s", job.id, e)
            self._fail(job, job.inputs, f"{type(e).__name__}: {e}")
            shutil.rmtree(out, ignore_errors=True)
            return
        rec = self.reconcile(prev["survey_ns"] if prev else None, job.survey_ns, res["mined_t"])
        vol = res["volume"] or {}
        payload = ProcessedPayload(
            survey_id=job.id, files=job.files, points=res["points"], survey_ns=job.survey_ns,
            previous_id=prev["survey_id"] if prev and res["volume"] else None,
            cut_m3=vol.get("cut_m3"), fill_m3=vol.get("fill_m3"), net_m3=vol.get("net_m3"),
            mined_m3=res["mined_m3"], mined_t=res["mined_t"], mined_basis=res["mined_basis"],
            coverage=res["coverage"],
            level_of_detection_m=vol.get("median_lod_m"), min_change_m=self.cfg.min_change_m,
            cell_m=self.cfg.cell_m, stockpiles=res["stockpiles"], reconciliation=rec,
            warnings=res["warnings"], duration_s=round(time.monotonic() - started, 2),
        )
        full = {**res, **payload.model_dump(mode="json"), "source": job.source,
                "processed_ns": now_ns()}
        tmp = out / "result.json.part"
        tmp.write_text(json.dumps(full, default=float))
        tmp.replace(out / "result.json")
        self.results.append(full)
        self._prev_dem = dem
        job.state, job.stage, job.progress = "done", "done", 1.0
        self.emit(Event.make(PROCESSED, self.cfg.asset, payload, ts=job.survey_ns))
        await self.submit(self._signals(full))

    def _signals(self, r: dict[str, Any]) -> Batch:
        vals: dict[str, float | None] = {
            "coverage": r["coverage"], "mined_m3": r["mined_m3"], "mined_t": r["mined_t"],
            "cut_m3": r["cut_m3"], "fill_m3": r["fill_m3"],
            "reconciliation_ratio": r["reconciliation"]["ratio"],
        }
        for sp in r["stockpiles"]:
            vals[f"stockpile_{sp['id']}_t"] = sp.get("tonnes")
        ids, values = [], []
        for name, v in vals.items():
            if v is None:
                continue  # absent, not 0
            ids.append(self.registry.id(f"{self.cfg.asset}/{name}"))
            values.append(float(v))
        return Batch.build(np.asarray(ids, np.int32), np.full(len(ids), r["survey_ns"], np.int64),
                           np.asarray(values, np.float64))

    def _fail(self, job: Job, inputs: Sequence[Path], reason: str) -> None:
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        moved = []
        for f in inputs:
            if not f.exists():
                continue
            target = self.failed_dir / f.name
            k = 1
            while target.exists():
                k += 1
                target = self.failed_dir / f"{f.stem}-{k}{f.suffix}"
            shutil.move(str(f), target)
            moved.append(target)
        where = str(moved[0]) if moved else ", ".join(job.files)
        if moved:
            moved[0].with_name(moved[0].name + ".reason.txt").write_text(reason + "\n")
        job.state, job.error = "failed", reason
        self.emit(Event.make(FAILED, self.cfg.asset, {
            "survey_id": job.id, "file": where, "files": job.files, "reason": reason}))

    # ---- reconciliation ---------------------------------------------------------------
    def tonnes_at(self, sid: int, t: int) -> float | None:
        """Last value of haulage's cumulative tonnes at or before ``t`` [ns]."""
        for lb in LOOKBACK_NS:
            b = self.history.raw([sid], t - lb, t + 1)
            if len(b):
                return float(b.value[-1])
        return None

    def reconcile(self, t0: int | None, t1: int, mined_t: float | None) -> Reconciliation:
        """ratio = surveyed tonnes mined / haulage ``tonnes_total`` difference over
        (t0, t1]; absent when either is missing or haulage counted nothing."""
        rec = Reconciliation(start_ns=t0, end_ns=t1, surveyed_t=mined_t)
        name = self.cfg.tonnes_signal
        if t0 is None or mined_t is None:
            rec.note = "first survey: nothing to compare"
            return rec
        if name not in self.registry:
            rec.note = f"{name} is not a signal of this plant (haulage not running)"
            return rec
        sid = self.registry.id(name)
        a, b = self.tonnes_at(sid, t0), self.tonnes_at(sid, t1)
        if a is None or b is None:
            rec.note = f"no {name} value at or before the {'previous' if a is None else 'this'} survey"
            return rec
        rec.hauled_t = b - a
        if rec.hauled_t <= 0:
            rec.note = f"{name} did not increase between the surveys"
            return rec
        rec.ratio = mined_t / rec.hauled_t
        return rec
