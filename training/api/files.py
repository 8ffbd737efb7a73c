"""``/v1/files``: uploaded files under ``SPORTBOT_HOME/files/``, plus the jobs' result files.

An upload is stored as ``files/<id><suffix>`` (its bytes, keeping the uploaded name's suffix, such
as ``.jsonl``; a ``fine-tune`` upload named without one, as ``openai.File.create`` names it
``file``, is a ``.jsonl``) beside ``files/<id>.meta.json`` (OpenAI's file object). A fine-tune
job's result file (``file-<job hex>``, listed in the job's ``result_files``) is served from the
job's folder with purpose ``fine-tune-results``, as a plain CSV (``compiled_results.csv`` for a
legacy job, as OpenAI named it then); it can be deleted once the job has ended (the registered
model keeps its own copy).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from training.api.errors import ApiError, bad_request, not_found
from training.api.paging import page
from training.jobs import LEGACY_API, FineTuneJob, JobStore, UnknownJobError

PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
"""Purposes an upload may name (OpenAI's)."""
CHUNK = 1 << 16


@dataclass(frozen=True)
class StoredFile:
    """OpenAI's ``file`` object."""

    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str = "processed"
    object: str = "file"

    def to_openai(self) -> dict[str, Any]:
        return {**asdict(self), "status_details": None, "expires_at": None}


class FileStore:
    """Uploads under ``home/files``; result files read from the job store."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "files"
        self.jobs = JobStore(home)

    def content_path(self, file_id: str) -> Path:
        """Where a file's bytes are; ``ApiError`` 404 when there is no such file."""
        stored = self.get(file_id)
        if self._is_upload(file_id):
            path = self._upload_path(file_id, stored.filename, stored.purpose)
            return path if path.exists() else self._upload_path(file_id, stored.filename)
        return self._result(file_id)

    def id_of(self, path: str | Path) -> str | None:
        """The id of an uploaded file given its content path (jobs record paths)."""
        path = Path(path)
        return path.name.split(".")[0] if path.parent == self.root.resolve() else None

    def get(self, file_id: str) -> StoredFile:
        if self._is_upload(file_id):
            data = json.loads(self._meta_path(file_id).read_text(encoding="utf-8"))
            return StoredFile(**data)
        result = self._result(file_id)
        if result.is_file():
            legacy = self._result_job(file_id).api == LEGACY_API
            return StoredFile(
                id=file_id,
                bytes=result.stat().st_size,
                created_at=int(result.stat().st_mtime),
                filename="compiled_results.csv" if legacy else "step_metrics.csv",
                purpose="fine-tune-results",
            )
        raise not_found(f"No such File object: {file_id}", param="id")

    def list(self, purpose: str | None = None) -> list[StoredFile]:
        """Uploads and result files, oldest first."""
        found: list[StoredFile] = []
        if self.root.is_dir():
            for meta in self.root.glob("file-*.meta.json"):
                with contextlib.suppress(ValueError, TypeError, OSError):
                    found.append(StoredFile(**json.loads(meta.read_text(encoding="utf-8"))))
        for job in self.jobs.list():
            for file_id in job.result_files:
                with contextlib.suppress(ApiError):
                    found.append(self.get(file_id))
        if purpose:
            found = [f for f in found if f.purpose == purpose]
        return sorted(found, key=lambda f: (f.created_at, f.id))

    async def save_upload(self, request: web.Request) -> StoredFile:
        """Store a ``multipart/form-data`` upload with fields ``file`` and ``purpose``."""
        if not request.content_type.startswith("multipart/"):
            raise bad_request("Uploads must be multipart/form-data with 'file' and 'purpose'.")
        self.root.mkdir(parents=True, exist_ok=True)
        file_id = f"file-{time.time_ns():016x}{uuid.uuid4().hex[:8]}"  # sorts by creation
        target: Path | None = None
        purpose: str | None = None
        filename: str | None = None
        size = 0
        try:
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "purpose":
                    purpose = (await part.text()).strip()
                elif part.name == "file" and target is None:
                    filename = Path(part.filename or "upload").name
                    target = self._upload_path(file_id, filename)
                    with target.open("wb") as handle:
                        while chunk := await part.read_chunk(CHUNK):
                            handle.write(chunk)
                            size += len(chunk)
            if filename is None:
                raise bad_request("The upload has no 'file' field.", param="file")
            if purpose is None:
                raise bad_request("The upload has no 'purpose' field.", param="purpose")
            if purpose not in PURPOSES:
                raise bad_request(
                    f"'{purpose}' is not one of {sorted(PURPOSES)} - 'purpose'", param="purpose"
                )
            assert target is not None
            named = self._upload_path(file_id, filename, purpose)
            if named != target:
                target = target.rename(named)
        except BaseException:
            if target is not None:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
            raise
        stored = StoredFile(
            id=file_id,
            bytes=size,
            created_at=int(time.time()),
            filename=filename,
            purpose=purpose,
        )
        _write_atomic(self._meta_path(file_id), json.dumps(asdict(stored)))
        return stored

    def delete(self, file_id: str) -> None:
        if not self._is_upload(file_id):
            self._delete_result(file_id)
            return
        path = self.content_path(file_id)
        self._meta_path(file_id).unlink()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _delete_result(self, file_id: str) -> None:
        self.get(file_id)  # 404 when there is no such file
        if not self._result_job(file_id).is_final:
            raise bad_request(
                f"{file_id} is the result file of a job that has not ended: cancel the job or "
                "wait for it.",
                param="id",
            )
        with contextlib.suppress(FileNotFoundError):
            self._result(file_id).unlink()

    def _result_job(self, file_id: str) -> FineTuneJob:
        return self.jobs.get("ftjob-" + file_id.removeprefix("file-"))

    def _is_upload(self, file_id: str) -> bool:
        return _valid_id(file_id) and self._meta_path(file_id).is_file()

    def _upload_path(self, file_id: str, filename: str, purpose: str | None = None) -> Path:
        """``files/<id><suffix>``: the upload's suffix is kept (readers go by it); a fine-tune
        upload without one is JSONL."""
        suffix = Path(filename).suffix.lower()
        keep = suffix if 1 < len(suffix) <= 8 and suffix[1:].isalnum() else ""
        if not keep and purpose == "fine-tune":
            keep = ".jsonl"
        return self.root.resolve() / f"{file_id}{keep}"

    def _meta_path(self, file_id: str) -> Path:
        return self.root / f"{file_id}.meta.json"

    def _result(self, file_id: str) -> Path:
        if not _valid_id(file_id):
            raise not_found(f"No such File object: {file_id}", param="id")
        try:
            return self.jobs.result_file(file_id)
        except UnknownJobError:
            raise not_found(f"No such File object: {file_id}", param="id") from None


def _valid_id(file_id: str) -> bool:
    return file_id.startswith("file-") and file_id[5:].isalnum()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -- routes ------------------------------------------------------------------------------------


def add_routes(app: web.Application, store: FileStore) -> None:
    async def create(request: web.Request) -> web.Response:
        stored = await store.save_upload(request)
        return web.json_response(stored.to_openai())

    async def list_files(request: web.Request) -> web.Response:
        files = [f.to_openai() for f in store.list(request.query.get("purpose"))]
        return web.json_response(page(files, request, default_order="desc", default_limit=10000))

    async def retrieve(request: web.Request) -> web.Response:
        return web.json_response(store.get(request.match_info["file_id"]).to_openai())

    async def content(request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        stored = store.get(file_id)
        kind = "text/csv" if stored.purpose == "fine-tune-results" else "application/octet-stream"
        return web.FileResponse(store.content_path(file_id), headers={"Content-Type": kind})

    async def delete(request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        store.delete(file_id)
        return web.json_response({"id": file_id, "object": "file", "deleted": True})

    app.router.add_post("/v1/files", create)
    app.router.add_get("/v1/files", list_files)
    app.router.add_get("/v1/files/{file_id}", retrieve)
    app.router.add_delete("/v1/files/{file_id}", delete)
    app.router.add_get("/v1/files/{file_id}/content", content)
