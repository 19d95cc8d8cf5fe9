"""The Survey page and the ``/api/apps/survey/...`` routes.

* ``GET /apps/survey``: the latest change heatmap over the hillshade, cut/fill table,
  stockpiles, history (table and chart), surveys in progress, upload form (engineer);
* ``GET /api/apps/survey/surveys``: surveys in progress / failed (``jobs``) and results;
* ``GET /api/apps/survey/surveys/{id}``: one result; ``.../files/{name}`` its picture,
  DEM GeoTIFF or result JSON;
* ``POST /api/apps/survey/surveys``: multipart upload of one survey (one or several
  ``.las``/``.laz`` tiles), engineer role, at most ``max_upload_mb``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, Response
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from ironfield.apps.survey.service import CLOUD, SurveyService
from ironfield.core.timeutil import now_ns
from ironfield.server.appweb import AppWeb, render_page
from ironfield.server.deps import Principal, audit, ctx_of, require

if TYPE_CHECKING:
    from ironfield.apps.survey.app import SurveyApp

HERE = Path(__file__).resolve().parent / "web"
FILES = {"change.png": "image/png", "dem.png": "image/png", "dem.tif": "image/tiff",
         "result.json": "application/json"}
Viewer = Annotated[Principal, Depends(require("viewer"))]
Engineer = Annotated[Principal, Depends(require("engineer"))]


def summary(r: dict[str, Any]) -> dict[str, Any]:
    """A survey's row in the history: its figures without the DEM facts and warnings."""
    keys = ("survey_id", "survey_ns", "files", "points", "cut_m3", "fill_m3", "net_m3",
            "mined_m3", "mined_t", "coverage", "level_of_detection_m", "reconciliation",
            "image", "source")
    out = {k: r.get(k) for k in keys}
    out["stockpiles"] = [{"id": s["id"], "tonnes": s.get("tonnes")} for s in r.get("stockpiles", [])]
    return out


def survey_web(app: SurveyApp) -> AppWeb:
    router = APIRouter()

    def service() -> SurveyService:
        if app.service is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the survey app is not running yet")
        return app.service

    @router.get("/apps/survey", include_in_schema=False)
    async def page(request: Request) -> Response:
        svc = app.service
        results = list(reversed(svc.results)) if svc else []
        return render_page(request, "survey.html", "/apps/survey", title="Survey",
                           latest=results[0] if results else None,
                           history=[summary(r) for r in results[:100]],
                           jobs=svc.status()["jobs"] if svc else [],
                           running=svc is not None)

    @router.get("/api/apps/survey/surveys")
    async def surveys(_: Viewer, limit: int = 200) -> dict[str, Any]:
        svc = service()
        rows = [summary(r) for r in reversed(svc.results)][: max(1, min(limit, 2000))]
        return {**svc.status(), "surveys": rows}

    @router.get("/api/apps/survey/surveys/{survey_id}")
    async def one(survey_id: str, _: Viewer) -> dict[str, Any]:
        r = service().result(survey_id)
        if r is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no processed survey {survey_id!r}")
        return r

    @router.get("/api/apps/survey/surveys/{survey_id}/files/{name}")
    async def file(survey_id: str, name: str, _: Viewer) -> FileResponse:
        svc = service()
        if name not in FILES or svc.result(survey_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no file {name!r} for survey {survey_id!r} (files: {', '.join(FILES)})")
        path = svc.work / survey_id / name
        if not path.exists():
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"survey {survey_id!r} has no {name}")
        return FileResponse(path, media_type=FILES[name],
                            headers={"Cache-Control": "private, max-age=86400"})

    @router.post("/api/apps/survey/surveys", status_code=status.HTTP_202_ACCEPTED)
    async def upload(request: Request, who: Engineer) -> dict[str, Any]:
        svc = service()
        limit = int(svc.cfg.max_upload_mb * 2**20)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit + 2**16:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                f"upload of {int(declared) / 2**20:.1f} MB is over the limit of "
                                f"{svc.cfg.max_upload_mb:g} MB (apps.survey.max_upload_mb)")
        stage = svc.work / ".uploads" / uuid.uuid4().hex
        try:
            async with _limited_form(request, limit + 2**16, svc.cfg.max_upload_mb) as form:
                ups = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
                if not ups:
                    raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                        "no file: send one or more .las/.laz files as 'files'")
                for u in ups:
                    name = Path(u.filename or "").name
                    if Path(name).suffix.lower() not in CLOUD:
                        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                            f"{name or '(no name)'}: not a .las or .laz file")
                stage.mkdir(parents=True)
                paths = await asyncio.to_thread(_save, ups, stage, limit, svc.cfg.max_upload_mb)
            job = svc.enqueue(paths, "upload", now_ns(), stem=paths[0].stem)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        svc.wake.set()
        audit(ctx_of(request), who, "survey.upload", svc.cfg.asset,
              {"survey_id": job.id, "files": job.files})
        return job.public()

    return AppWeb("survey", router, nav=[("Survey", "/apps/survey")],
                  templates=HERE / "templates", static=HERE / "static")


@asynccontextmanager
async def _limited_form(request: Request, max_bytes: int, limit_mb: float) -> AsyncIterator[FormData]:
    """The multipart form, read with a byte count: a body without Content-Length (chunked)
    is cut off with a 413 as soon as it passes the limit, instead of being spooled to disk
    whole before the files' sizes are checked. Starlette closes the spooled parts when
    parsing stops on the error."""
    ctype, _ = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "send the survey as multipart/form-data with the tiles as 'files'")

    async def counted() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > max_bytes:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                    f"upload is over the limit of {limit_mb:g} MB "
                                    "(apps.survey.max_upload_mb)")
            yield chunk

    try:
        form = await MultiPartParser(request.headers, counted(), max_files=200, max_fields=50).parse()
    except MultiPartException as e:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad multipart upload: {e.message}") from None
    try:
        yield form
    finally:
        await form.close()


def _save(ups: list[UploadFile], stage: Path, limit: int, limit_mb: float) -> list[Path]:
    total = 0
    paths = []
    for u in ups:
        base = Path(u.filename or "survey.laz").name
        target = stage / base
        k = 1
        while target.exists():
            k += 1
            target = stage / f"{Path(base).stem}-{k}{Path(base).suffix}"
        with target.open("wb") as out:
            while chunk := u.file.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                        f"upload is over the limit of {limit_mb:g} MB "
                                        "(apps.survey.max_upload_mb)")
                out.write(chunk)
        paths.append(target)
    return paths
