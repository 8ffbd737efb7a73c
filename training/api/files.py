"""``/v1/files``: uploaded files under ``SPORTBOT_HOME/files/``, plus the jobs' result files.

An upload is stored as ``files/<id><suffix>`` (its bytes, keeping the uploaded name's suffix, such
as ``.jsonl``; a ``fine-tune`` upload named without one, as ``openai.File.create`` names it
``file``, is a ``.jsonl``) beside ``files/<id>.meta.json`` (OpenAI's file object). A fine-tune
job's result file (``file-<job hex>``, listed in the job's ``result_files``) is served from the
job's folder with purpose ``fine-tune-results``, as a plain CSV (``compiled_results.csv`` for a
legacy job, as OpenAI named it then), once its job has succeeded (a job that ended otherwise
lists none, and none is served); it can be deleted once the job has ended (the registered model
keeps its own copy). A file a live job trains on cannot be deleted.

An upload is counted as it arrives (at most ``ApiLimits.max_upload_bytes``, a 413 beyond, and
nothing kept), written under a temporary name (``.part~<host>~<pid>~<token>~<id>``), synced
and renamed, its file object last: a server killed meanwhile leaves no file that the API would
show half written, and what it left is removed when a server starts on the folder
(``remove_leftovers``). Every other form field is at most ``max_form_field_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from aiohttp import BodyPartReader, web

from classifier.files import fsync_dir
from training.api.bodies import UNREADABLE, too_large, within
from training.api.errors import ApiError, bad_request, not_found
from training.api.paging import page
from training.api.request_checks import has_control_characters
from training.job_owner import PROCESS_TOKEN
from training.jobs import LEGACY_API, FineTuneJob, JobStore, UnknownJobError
from training.limits import DEFAULT_API_LIMITS, ApiLimits

PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
"""Purposes an upload may name (OpenAI's)."""
CHUNK = 1 << 16
MAX_FIELDS = 16
"""Form fields an upload may have."""
MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""What a multipart body may hold besides the file's bytes (boundaries, headers, fields)."""
TEMPORARY_PREFIX = ".part~"
LEFTOVER_AGE_S = 24 * 3600.0
"""A temporary file of another host, or a content file without its file object, this old is a
leftover (its writer cannot still be at it)."""
ORPHAN_AGE_S = 60.0


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

    def __init__(self, home: Path, limits: ApiLimits = DEFAULT_API_LIMITS) -> None:
        self.root = Path(home) / "files"
        self.jobs = JobStore(home)
        self.limits = limits
        self.lock = threading.Lock()
        """Held while a file is deleted, and while a job is checked and recorded on files."""

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
        limit = self.limits.max_upload_bytes
        if (request.content_length or 0) > limit + MULTIPART_OVERHEAD_BYTES:
            raise too_large("The file", limit)
        file_id = f"file-{time.time_ns():016x}{uuid.uuid4().hex[:8]}"  # sorts by creation
        temporary = self._temporary_path(file_id)
        upload: _Upload | None = None
        try:
            upload = await self._receive(request, temporary)
            if upload.filename is None:
                raise bad_request("The upload has no 'file' field.", param="file")
            if upload.purpose is None:
                raise bad_request("The upload has no 'purpose' field.", param="purpose")
            if upload.purpose not in PURPOSES:
                raise bad_request(
                    f"'{upload.purpose}' is not one of {sorted(PURPOSES)} - 'purpose'",
                    param="purpose",
                )
            stored = StoredFile(
                id=file_id,
                bytes=upload.size,
                created_at=int(time.time()),
                filename=upload.filename,
                purpose=upload.purpose,
            )
            await asyncio.to_thread(self._commit, upload, temporary, stored)
        except BaseException:
            if upload is not None and upload.handle is not None:
                upload.handle.close()
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        return stored

    async def _receive(self, request: web.Request, temporary: Path) -> _Upload:
        """Read the form: the file's bytes into ``temporary``, the other fields' values."""
        idle = self.limits.body_idle_timeout_s
        upload = _Upload()
        fields = 0
        try:
            reader = await request.multipart()
            while (part := await within(reader.next(), idle, "The upload")) is not None:
                fields += 1
                if not isinstance(part, BodyPartReader) or fields > MAX_FIELDS:
                    raise bad_request(
                        f"An upload is a form of at most {MAX_FIELDS} plain fields: 'file' "
                        "and 'purpose'."
                    )
                if part.name != "file":
                    value = await self._field(part, idle)
                    if part.name == "purpose":
                        upload.purpose = value.strip()
                    continue
                if upload.filename is not None:
                    raise bad_request("An upload holds one 'file'.", param="file")
                upload.filename = _file_name(part.filename)
                await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
                upload.handle = temporary.open("wb")
                while chunk := await within(part.read_chunk(CHUNK), idle, "The upload"):
                    upload.size += len(chunk)
                    if upload.size > self.limits.max_upload_bytes:
                        raise too_large("The file", self.limits.max_upload_bytes)
                    upload.handle.write(chunk)
        except (ValueError, AssertionError, *UNREADABLE) as error:
            raise bad_request(
                f"The upload is not a well-formed multipart/form-data body ({error})."[:300]
            ) from None
        return upload

    async def _field(self, part: BodyPartReader, idle: float) -> str:
        """A form field's text, at most ``max_form_field_bytes``."""
        limit = self.limits.max_form_field_bytes
        raw = b""
        while chunk := await within(part.read_chunk(limit + 1), idle, "The upload"):
            raw += chunk
            if len(raw) > limit:
                name = str(part.name or "")[:64]
                raise bad_request(
                    f"The form field {name!r} is longer than {limit} bytes.", param=name or None
                )
        return raw.decode(part.get_charset(default="utf-8"))

    def _commit(self, upload: _Upload, temporary: Path, stored: StoredFile) -> None:
        """Sync the bytes, give them their name, then write the file object (synced, renamed):
        the file exists for the API once both are in place."""
        if upload.handle is not None:
            upload.handle.flush()
            os.fsync(upload.handle.fileno())
            upload.handle.close()
        else:  # an empty 'file' field never opened one
            temporary.touch()
        os.replace(temporary, self._upload_path(stored.id, stored.filename, stored.purpose))
        meta = self._temporary_path(stored.id, ".meta")
        with meta.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(stored)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(meta, self._meta_path(stored.id))
        fsync_dir(self.root)

    def delete(self, file_id: str) -> None:
        if not self._is_upload(file_id):
            self._delete_result(file_id)
            return
        with self.lock:
            path = self.content_path(file_id)
            users = [
                job.id
                for job in self.jobs.list()
                if not job.is_final and str(path) in (job.training_file, job.validation_file)
            ]
            if users:
                raise bad_request(
                    f"{file_id} is a file of fine-tuning job {users[0]}, which has not ended: "
                    "cancel the job or wait for it, then delete the file.",
                    param="id",
                )
            self._meta_path(file_id).unlink()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def remove_leftovers(self) -> None:
        """Remove what uploads of dead servers left: their temporary files (and content files
        that never got their file object)."""
        if not self.root.is_dir():
            return
        now = time.time()
        for entry in self.root.iterdir():
            name = entry.name
            with contextlib.suppress(OSError):
                age = now - entry.lstat().st_mtime
                if name.startswith(TEMPORARY_PREFIX):
                    if _leftover(name, age):
                        entry.unlink()
                elif name.startswith("file-") and not name.endswith(".meta.json"):
                    file_id = name.split(".")[0]
                    if age > ORPHAN_AGE_S and not self._meta_path(file_id).exists():
                        entry.unlink()

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

    def _temporary_path(self, file_id: str, suffix: str = "") -> Path:
        owner = f"{socket.gethostname()}~{os.getpid()}~{PROCESS_TOKEN}"
        return self.root / f"{TEMPORARY_PREFIX}{owner}~{file_id}{suffix}"

    def _meta_path(self, file_id: str) -> Path:
        return self.root / f"{file_id}.meta.json"

    def _result(self, file_id: str) -> Path:
        """The result file of a job that lists it (a job that did not succeed lists none)."""
        gone = not_found(f"No such File object: {file_id}", param="id")
        if not _valid_id(file_id):
            raise gone
        try:
            if file_id not in self._result_job(file_id).result_files:
                raise gone
            return self.jobs.result_file(file_id)
        except UnknownJobError:
            raise gone from None


@dataclass
class _Upload:
    """What an upload's form held, as it is read."""

    filename: str | None = None
    purpose: str | None = None
    size: int = 0
    handle: IO[bytes] | None = None


def _file_name(given: str | None) -> str:
    """The upload's file name as the API shows it: its last part, without control
    characters, at most 255 characters."""
    name = Path(given or "upload").name
    name = "".join(c for c in name if not has_control_characters(c))[:255]
    return name or "upload"


def _leftover(name: str, age: float) -> bool:
    """Whether the temporary file ``name`` was left by a server that is gone."""
    try:
        host, pid, token, _ = name.removeprefix(TEMPORARY_PREFIX).split("~", 3)
        owner = int(pid)
    except ValueError:
        return age > LEFTOVER_AGE_S
    if host != socket.gethostname():
        return age > LEFTOVER_AGE_S
    if owner == os.getpid():
        return token != PROCESS_TOKEN
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return age > LEFTOVER_AGE_S


def _valid_id(file_id: str) -> bool:
    return file_id.startswith("file-") and file_id[5:].isascii() and file_id[5:].isalnum()


# -- routes ------------------------------------------------------------------------------------


def add_routes(app: web.Application, store: FileStore) -> None:
    async def create(request: web.Request) -> web.Response:
        stored = await store.save_upload(request)
        return web.json_response(stored.to_openai())

    async def list_files(request: web.Request) -> web.Response:
        listed = await asyncio.to_thread(store.list, request.query.get("purpose"))
        files = [f.to_openai() for f in listed]
        return web.json_response(page(files, request, default_order="desc", default_limit=10000))

    async def retrieve(request: web.Request) -> web.Response:
        stored = await asyncio.to_thread(store.get, request.match_info["file_id"])
        return web.json_response(stored.to_openai())

    async def content(request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        stored = await asyncio.to_thread(store.get, file_id)
        path = await asyncio.to_thread(store.content_path, file_id)
        kind = "text/csv" if stored.purpose == "fine-tune-results" else "application/octet-stream"
        return web.FileResponse(path, headers={"Content-Type": kind})

    async def delete(request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        await asyncio.to_thread(store.delete, file_id)
        return web.json_response({"id": file_id, "object": "file", "deleted": True})

    app.router.add_post("/v1/files", create)
    app.router.add_get("/v1/files", list_files)
    app.router.add_get("/v1/files/{file_id}", retrieve)
    app.router.add_delete("/v1/files/{file_id}", delete)
    app.router.add_get("/v1/files/{file_id}/content", content)
