"""Fine-tune jobs in OpenAI's vocabulary, persisted under ``SPORTBOT_HOME/jobs/<id>/``.

Each job folder holds ``job.json`` (replaced atomically on every change), ``events.jsonl``
(appended one line per event), ``results.csv`` (the per-step result file), ``checkpoints.jsonl``
with ``checkpoints/step-<n>.skops`` (the model at the end of each epoch) and, while a cancel is
pending, a ``cancel`` flag file. Another process may read a job while it runs: it sees
the last complete ``job.json`` and every complete event line.

A job whose status is not final is owned by the process that made it, which keeps its
heartbeat fresh; readers mark a job failed when its owner is gone (``training.job_owner`` says
how that is told, on this host and on others).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from classifier.errors import SportbotError
from training.data import write_text_atomic
from training.finetune.events import FINAL_STATUSES, JobEvent, message_event, status_event
from training.job_owner import LOCAL_STALE_AFTER_S as LOCAL_STALE_AFTER_S
from training.job_owner import (
    PROCESS_TOKEN,
    keep_heartbeat,
    last_heartbeat,
    owner_alive,
    touch_heartbeat,
)
from training.job_owner import STALE_AFTER_S as STALE_AFTER_S

logger = logging.getLogger(__name__)

JobStatus = Literal["validating_files", "queued", "running", "succeeded", "failed", "cancelled"]
LEGACY_API = "fine-tunes"
TODAYS_API = "fine_tuning"
"""The OpenAI APIs a job may be created through (``FineTuneJob.api``)."""
_JOB_ID_RE = re.compile(r"ftjob-[A-Za-z0-9_-]{1,64}")


class UnknownJobError(SportbotError, LookupError):
    """No fine-tune job with that id exists."""


class JobFileError(SportbotError):
    """A job's ``job.json`` cannot be read or does not hold a job; the message names the file."""


class FineTuneError(SportbotError):
    """A fine-tune job failed; the message says why."""


class JobCancelledError(SportbotError):
    """A fine-tune job was cancelled while it ran."""


@dataclass
class FineTuneJob:
    """One fine-tune job, field names as in OpenAI's ``fine_tuning.job`` object."""

    id: str
    created_at: int
    model: str
    status: str
    training_file: str
    validation_file: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """``n_epochs``, ``batch_size``; plus the legacy ``compute_classification_metrics`` and
    ``classification_positive_class`` when they were asked for."""
    fine_tuned_model: str | None = None
    result_files: list[str] = field(default_factory=list)
    """Ids of result files; ``JobStore.result_file`` gives the path of ``file-<job hex>``."""
    error: dict[str, Any] | None = None
    """``{"code", "message", "param"}`` when the job failed."""
    trained_tokens: int | None = None
    finished_at: int | None = None
    suffix: str | None = None
    provider: str = "local"
    seed: int | None = None
    metadata: dict[str, str] | None = None
    api: str | None = None
    """The OpenAI API the job was created through (``fine-tunes``, the legacy one, or
    ``fine_tuning``); None for sportbot's own (the CLI, the Slack bot)."""
    planned_model_id: str | None = None
    """The registry id its model gets, chosen before it trains (checkpoints are named by it)."""
    pid: int | None = None
    host: str | None = None
    heartbeat_at: float | None = None
    owner_token: str | None = None
    """The token of the process that owns the job (``PROCESS_TOKEN`` there)."""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_openai(self) -> dict[str, Any]:
        """The job as OpenAI's API returns it (``object: "fine_tuning.job"``)."""
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "created_at": self.created_at,
            "model": self.model,
            "status": self.status,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "hyperparameters": dict(self.hyperparameters),
            "fine_tuned_model": self.fine_tuned_model,
            "result_files": list(self.result_files),
            "error": self.error,
            "trained_tokens": self.trained_tokens,
            "finished_at": self.finished_at,
            "organization_id": "org-local",
            "seed": self.seed if self.seed is not None else 0,
            "metadata": dict(self.metadata) if self.metadata is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FineTuneJob:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class Checkpoint:
    """The model of a job at the end of an epoch (OpenAI's ``fine_tuning.job.checkpoint``)."""

    id: str
    created_at: int
    step_number: int
    metrics: dict[str, float]
    sha256: str

    @property
    def file_name(self) -> str:
        return f"step-{self.step_number}.skops"


def new_job_id() -> str:
    """``ftjob-`` and 24 hex digits, the first 16 the creation time: ids sort by creation."""
    return f"ftjob-{time.time_ns():016x}{uuid.uuid4().hex[:8]}"


class JobStore:
    """Jobs on disk under ``home/jobs``; every method is safe to call from another process."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.root = self.home / "jobs"

    # -- paths -------------------------------------------------------------------------------

    def job_dir(self, job_id: str) -> Path:
        if not _JOB_ID_RE.fullmatch(job_id):
            raise UnknownJobError(
                f"There is no fine-tune job {job_id!r}: job ids look like ftjob-…."
            )
        return self.root / job_id

    def results_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "results.csv"

    def result_file_id(self, job_id: str) -> str:
        return "file-" + job_id.removeprefix("ftjob-")

    def result_file(self, file_id: str) -> Path:
        """The path of a result file id that a job listed in ``result_files``."""
        return self.results_path("ftjob-" + file_id.removeprefix("file-"))

    # -- jobs --------------------------------------------------------------------------------

    def create(
        self,
        *,
        model: str,
        training_file: str,
        validation_file: str | None,
        hyperparameters: dict[str, Any],
        suffix: str | None = None,
        provider: str = "local",
        seed: int | None = None,
        metadata: dict[str, str] | None = None,
        api: str | None = None,
        planned_model_id: str | None = None,
    ) -> FineTuneJob:
        """Record a new job in ``validating_files``, owned by this process."""
        job = FineTuneJob(
            id=new_job_id(),
            created_at=int(time.time()),
            model=model,
            status="validating_files",
            training_file=training_file,
            validation_file=validation_file,
            hyperparameters=dict(hyperparameters),
            suffix=suffix,
            provider=provider,
            seed=seed,
            metadata=metadata,
            api=api,
            planned_model_id=planned_model_id,
            pid=os.getpid(),
            host=socket.gethostname(),
            heartbeat_at=time.time(),
            owner_token=PROCESS_TOKEN,
        )
        self.job_dir(job.id).mkdir(parents=True, exist_ok=False)
        self.save(job)
        return job

    def save(self, job: FineTuneJob) -> None:
        """Write ``job.json`` atomically (readers never see half a file)."""
        write_text_atomic(self.job_dir(job.id) / "job.json", json.dumps(job.to_dict(), indent=2))

    def heartbeat(self, job: FineTuneJob) -> None:
        job.heartbeat_at = time.time()
        self.save(job)
        self.touch_heartbeat(job.id)

    def touch_heartbeat(self, job_id: str) -> None:
        touch_heartbeat(self.job_dir(job_id))

    def keep_heartbeat(self, job_id: str) -> contextlib.AbstractContextManager[None]:
        """The job's heartbeat refreshed on a thread while the block runs."""
        return keep_heartbeat(self.job_dir(job_id))

    def get(self, job_id: str) -> FineTuneJob:
        """Read a job; a live-looking job whose runner is gone is marked failed first.

        ``UnknownJobError`` when there is no such job, ``JobFileError`` when its ``job.json``
        cannot be read or does not hold a job.
        """
        path = self.job_dir(job_id) / "job.json"
        try:
            job = FineTuneJob.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UnknownJobError(f"There is no fine-tune job {job_id!r}.") from None
        except OSError as error:
            raise JobFileError(f"The job file {path} cannot be read: {error.strerror}.") from None
        except UnicodeDecodeError as error:
            raise JobFileError(f"The job file {path} is not UTF-8 text ({error.reason}).") from None
        except ValueError as error:
            raise JobFileError(f"The job file {path} is not valid JSON ({error}).") from None
        except (TypeError, AttributeError):  # JSON, but not the fields of a job
            raise JobFileError(f"The job file {path} does not hold a fine-tune job.") from None
        if not isinstance(job.id, str) or not isinstance(job.status, str):
            raise JobFileError(f"The job file {path} does not hold a fine-tune job.")
        return self._reap_if_stale(job)

    def list(self) -> list[FineTuneJob]:
        """Every job, newest first."""
        if not self.root.is_dir():
            return []
        jobs = []
        for entry in self.root.iterdir():
            if (entry / "job.json").is_file():
                with contextlib.suppress(UnknownJobError, JobFileError):
                    jobs.append(self.get(entry.name))
        return sorted(jobs, key=lambda job: (job.created_at, job.id), reverse=True)

    def set_status(
        self, job: FineTuneJob, status: JobStatus, *, error: str | None = None, code: str = ""
    ) -> None:
        """Write a status to ``job.json`` alone; ``change_status`` also says so in the log."""
        job.status = status
        if status in FINAL_STATUSES:
            job.finished_at = int(time.time())
        if error is not None:
            job.error = {"code": code or "training_failed", "message": error, "param": None}
        job.heartbeat_at = time.time()
        self.save(job)

    def change_status(
        self,
        job: FineTuneJob,
        status: JobStatus,
        *,
        reason: str | None = None,
        code: str = "",
        queue_number: int | None = None,
    ) -> JobEvent:
        """Move ``job`` to ``status`` and append its status event (``reason``: why it failed;
        ``queue_number``: the jobs ahead of a queued one).

        The job's runner (``training.finetune.lifecycle``) calls this; the store itself only for
        a job nobody runs any more."""
        self.set_status(job, status, error=reason, code=code)
        event = status_event(status, job_id=job.id, reason=reason, queue_number=queue_number)
        return self.append_event(job.id, event)

    # -- events ------------------------------------------------------------------------------

    def add_event(
        self,
        job_id: str,
        message: str,
        *,
        level: str = "info",
        data: dict[str, Any] | None = None,
        type: str = "message",
    ) -> JobEvent:
        """Append a message event (see ``append_event``)."""
        return self.append_event(job_id, message_event(message, level=level, data=data, type=type))

    def append_event(self, job_id: str, event: JobEvent) -> JobEvent:
        """Append ``event`` to the job's log, with an id and the job's id; one ``write`` per line
        so readers see whole lines only."""
        event = replace(event, id=f"ftevent-{uuid.uuid4().hex[:24]}", job_id=job_id)
        line = json.dumps(event.to_dict(), ensure_ascii=False) + "\n"
        fd = os.open(
            self.job_dir(job_id) / "events.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return event

    def events(self, job_id: str, *, after: int = 0) -> builtins.list[JobEvent]:
        """Complete events in order, skipping the first ``after`` (for polling and streaming)."""
        return list(self.iter_events(job_id))[after:]

    def iter_events(self, job_id: str) -> Iterator[JobEvent]:
        yield from self.events_from(job_id, 0)[0]

    def events_from(self, job_id: str, offset: int) -> tuple[builtins.list[JobEvent], int]:
        """The complete events written after byte ``offset`` of the job's log, and the offset
        to read on from (a reader that follows a log reads each line once)."""
        path = self.job_dir(job_id) / "events.jsonl"
        if not path.parent.is_dir():
            raise UnknownJobError(f"There is no fine-tune job {job_id!r}.")
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                raw = handle.read()
        except FileNotFoundError:
            return [], offset
        complete = raw.rfind(b"\n") + 1  # a line still being written is read next time
        return builtins.list(self._parse_events(job_id, path, raw[:complete])), offset + complete

    def _parse_events(self, job_id: str, path: Path, raw: bytes) -> Iterator[JobEvent]:
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                yield JobEvent.from_dict({"job_id": job_id, **json.loads(line)})
            except (json.JSONDecodeError, TypeError):
                logger.debug("skipping an incomplete event line in %s", path)

    # -- checkpoints -------------------------------------------------------------------------

    def checkpoint_path(self, job_id: str, checkpoint: Checkpoint) -> Path:
        return self.job_dir(job_id) / "checkpoints" / checkpoint.file_name

    def add_checkpoint(self, job_id: str, checkpoint: Checkpoint) -> None:
        """Record a checkpoint whose model file is in place (one ``write`` per line)."""
        line = json.dumps(asdict(checkpoint)) + "\n"
        with (self.job_dir(job_id) / "checkpoints.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line)

    def checkpoints(self, job_id: str) -> builtins.list[Checkpoint]:
        """The job's checkpoints, oldest first (none for an unknown job)."""
        try:
            raw = (self.job_dir(job_id) / "checkpoints.jsonl").read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in raw.splitlines():
            with contextlib.suppress(ValueError, TypeError):
                found.append(Checkpoint(**json.loads(line)))
        return found

    # -- cancelling --------------------------------------------------------------------------

    def request_cancel(self, job_id: str) -> FineTuneJob:
        """Ask for a job to stop; its runner notices between steps. A job nobody runs any more
        is marked cancelled at once. Final jobs are returned unchanged."""
        job = self.get(job_id)
        if job.is_final:
            return job
        (self.job_dir(job_id) / "cancel").touch()
        if not self.owner_alive(job):
            self.change_status(job, "cancelled")
        return job

    def cancel_requested(self, job_id: str) -> bool:
        return (self.job_dir(job_id) / "cancel").exists()

    def mark_committing(self, job_id: str) -> None:
        """The job's model is being registered: whoever stops the job lets that finish."""
        (self.job_dir(job_id) / "committing").touch()

    def committing(self, job_id: str) -> bool:
        return (self.job_dir(job_id) / "committing").exists()

    # -- stale jobs --------------------------------------------------------------------------

    def _reap_if_stale(self, job: FineTuneJob) -> FineTuneJob:
        if job.is_final or self.owner_alive(job):
            return job
        reason = (
            f"The process that ran this job (pid {job.pid} on {job.host}) stopped before it "
            "finished; start a new fine-tune."
        )
        logger.warning("fine-tune job %s is stale: %s", job.id, reason)
        self.change_status(job, "failed", reason=reason, code="runner_died")
        return job

    def owner_alive(self, job: FineTuneJob) -> bool:
        """Whether the process that owns a live job still looks alive."""
        beat = last_heartbeat(self.job_dir(job.id), job.heartbeat_at)
        return owner_alive(job.pid, job.host, job.owner_token, beat)
