"""The jobs of both fine-tuning APIs: checked and recorded while the request waits, then trained
one at a time, each in a child process (``training.finetune.job_process``) that a cancel or the
server's shutdown can stop at any point.

A job is checked and recorded while the request waits (a bad file is a 400, as OpenAI rejects
it before a job exists; a job beyond the ``TrainingLimits`` too), then ``queued`` with its place
in the line (at most ``ApiLimits.max_queued_jobs`` wait; more is a 429), then trained: it
outlives the request, and other requests (retrieve, events, cancel) read it from the job store.
This server owns its jobs: it keeps their heartbeat fresh while they wait, and ends a job whose
child died without ending it. A cancel asks the child to stop at its next step, interrupts it
after ``CANCEL_GRACE_S`` and kills it after as long again (not while it registers its model);
the cancel's answer waits for that. Any base-model name is accepted and trains the local
engine; the job keeps the name asked for. Each API sees its own jobs: the legacy one
(``fine-tunes``) the jobs made through it, today's (``fine_tuning``) the others (sportbot's own
local jobs included). What the API shows of a job names files by their ids, never by the
server's paths.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from classifier.errors import SportbotError
from classifier.registry import ModelRegistry
from training.api.errors import ApiError, bad_request, not_found
from training.api.files import FileStore
from training.finetune.job_process import EXIT_SUCCEEDED, JobProcess, describe_exit
from training.finetune.lifecycle import (
    cancel_waiting_job,
    create_job,
    end_stopped_job,
    enqueue_job,
)
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.job_owner import HEARTBEAT_EVERY_S
from training.jobs import (
    LEGACY_API,
    TODAYS_API,
    FineTuneJob,
    JobStore,
    UnknownJobError,
)
from training.limits import (
    CANCEL_GRACE_S,
    DEFAULT_API_LIMITS,
    DEFAULT_TRAINING_LIMITS,
    ApiLimits,
    TrainingLimits,
)

logger = logging.getLogger(__name__)

__all__ = ["LEGACY_API", "TODAYS_API", "JobRunner"]

WATCH_EVERY_S = 0.1
"""How often the runner looks at its child, its cancel flag and the clock."""
COMMIT_WAIT_S = 5.0
"""How long a child registering its model may take before it is killed all the same."""


class JobRunner:
    """Creates local fine-tune jobs and trains them one at a time, each in a child process."""

    def __init__(
        self,
        home: Path,
        files: FileStore,
        limits: ApiLimits = DEFAULT_API_LIMITS,
        training_limits: TrainingLimits = DEFAULT_TRAINING_LIMITS,
    ) -> None:
        self.home = Path(home)
        self.store = JobStore(home)
        self.registry = ModelRegistry(home)
        self.files = files
        self.limits = limits
        self.training_limits = training_limits
        self.provider = LocalProvider(any_base_model=True)
        self._changed = threading.Condition()
        self._waiting: collections.deque[str] = collections.deque()
        self._reserved = 0
        self._running: str | None = None
        self._stopping = False
        self._worker: threading.Thread | None = None

    def file_path(self, file_id: object, param: str) -> Path:
        """The content of an uploaded ``fine-tune`` file; a 400 naming ``param`` otherwise."""
        if not isinstance(file_id, str) or not file_id:
            raise bad_request(f"You must provide a {param} parameter.", param=param)
        try:
            stored = self.files.get(file_id)
        except ApiError:
            raise bad_request(
                f"invalid {param}: {file_id} (no such file)", param=param, code="invalid_file"
            ) from None
        if stored.purpose != "fine-tune":
            raise bad_request(
                f"invalid {param}: {file_id} was uploaded with purpose {stored.purpose!r}, "
                "not 'fine-tune'",
                param=param,
                code="invalid_file",
            )
        return self.files.content_path(file_id)

    # -- submitting ------------------------------------------------------------------------

    def submit(self, request: FineTuneRequest, file_ids: Mapping[str, str]) -> FineTuneJob:
        """Record the job (its files checked), queue it and return it. ``file_ids``: the
        request's file paths -> the ids the client gave, for the messages of bad files."""
        with self._changed:
            if self._stopping:
                raise ApiError(503, "The server is stopping.", type="server_error")
            if len(self._waiting) + self._reserved >= self.limits.max_queued_jobs:
                raise ApiError(
                    429,
                    f"{self.limits.max_queued_jobs} fine-tuning jobs are already waiting: cancel "
                    "one or wait for the queue to shorten.",
                    type="invalid_request_error",
                    code="rate_limit_exceeded",
                )
            self._reserved += 1
        try:
            # The files cannot be deleted between the check and the job's record.
            with self.files.lock:
                job = create_job(self.store, request, self.provider, limits=self.training_limits)
        except SportbotError as error:
            message = str(error)
            for path, file_id in file_ids.items():
                message = message.replace(path, file_id)  # file ids, not server paths
            raise bad_request(message, param="training_file", code="invalid_file") from None
        finally:
            with self._changed:
                self._reserved -= 1
        with self._changed:
            if self._stopping:
                cancel_waiting_job(self.store, job)
                raise ApiError(503, "The server is stopping.", type="server_error")
            ahead = len(self._waiting) + (self._running is not None)
            enqueue_job(self.store, job, queue_number=ahead)
            self._waiting.append(job.id)
            self._start_worker()
            self._changed.notify_all()
        return job

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="fine-tune-runner", daemon=True)
            self._worker.start()

    # -- training, one job at a time --------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                job_id = self._waiting.popleft()
                self._running = job_id
            try:
                self._train(job_id)
            except Exception:
                logger.exception("fine-tune %s: its run could not be watched", job_id)
                with contextlib.suppress(SportbotError, OSError):
                    end_stopped_job(self.store, job_id, "failed", reason="internal error")
            finally:
                with self._changed:
                    self._running = None
                    self._changed.notify_all()

    def _train(self, job_id: str) -> None:
        if self.store.cancel_requested(job_id):
            end_stopped_job(self.store, job_id, "cancelled")
            return
        child = JobProcess.start(self.home, job_id)
        asked_at: float | None = None
        interrupted_at: float | None = None
        last_beat = 0.0
        while (code := child.wait(WATCH_EVERY_S)) is None:
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT_EVERY_S:
                self._beat()
                last_beat = now
            if asked_at is None and (self._stopping or self.store.cancel_requested(job_id)):
                asked_at = now - (CANCEL_GRACE_S if self._stopping else 0.0)
            if asked_at is None:
                continue
            if interrupted_at is None and now - asked_at >= CANCEL_GRACE_S:
                child.interrupt()
                interrupted_at = now
            elif interrupted_at is not None and self._may_kill(job_id, now - interrupted_at):
                child.kill()
        peak = f"{child.peak_rss_bytes / 2**20:.0f} MB" if child.peak_rss_bytes else "unknown"
        logger.info("fine-tune %s: its process ended (code %d, peak memory %s)", job_id, code, peak)
        job = self.store.get(job_id)
        if job.is_final:
            return
        if asked_at is not None:
            end_stopped_job(self.store, job_id, "cancelled")
        else:
            reason = describe_exit(code) if code != EXIT_SUCCEEDED else "internal error"
            logger.warning("fine-tune %s ended without its status: %s", job_id, reason)
            end_stopped_job(self.store, job_id, "failed", reason=f"internal error: {reason}")

    def _may_kill(self, job_id: str, interrupted_for: float) -> bool:
        """Whether an interrupted child may be killed: after a grace, unless it is registering
        its model (then after ``COMMIT_WAIT_S``)."""
        if interrupted_for < CANCEL_GRACE_S:
            return False
        return interrupted_for >= COMMIT_WAIT_S or not self.store.committing(job_id)

    def _beat(self) -> None:
        """Keep the heartbeat of this server's live jobs fresh (the running one's child keeps
        its own too): readers take a silent job for one whose server died."""
        with self._changed:
            live = [*self._waiting, *([self._running] if self._running else [])]
        for job_id in live:
            with contextlib.suppress(OSError, UnknownJobError):
                self.store.touch_heartbeat(job_id)

    # -- reading and cancelling -------------------------------------------------------------

    def get(self, job_id: str, api: str, shown_id: str | None = None) -> FineTuneJob:
        """A local job of ``api`` (jobs the openai provider mirrors from elsewhere are not this
        server's); a 404 naming ``shown_id`` (the id the client gave) otherwise."""
        try:
            job = self.store.get(job_id)
        except UnknownJobError:
            job = None
        if job is None or job.provider != "local" or (job.api == LEGACY_API) != (api == LEGACY_API):
            what = "fine-tune" if api == LEGACY_API else "fine-tuning job"
            raise not_found(
                f"Could not find {what} {shown_id or job_id!r}.", param="fine_tuning_job_id"
            )
        return job

    def jobs(self, api: str) -> list[FineTuneJob]:
        """The local jobs of ``api``, newest first."""
        return [
            job
            for job in self.store.list()
            if job.provider == "local" and (job.api == LEGACY_API) == (api == LEGACY_API)
        ]

    def cancel(self, job: FineTuneJob, shown_id: str | None = None) -> FineTuneJob:
        """Cancel a job that has not ended; the answer waits (a few seconds at most) for the
        job to end, and gives it as it then is."""
        if job.is_final:
            raise bad_request(
                f"Job {shown_id or job.id} has already {job.status}: only running jobs can be "
                "cancelled.",
                param="fine_tuning_job_id",
            )
        with self._changed:
            if job.id in self._waiting:
                self._waiting.remove(job.id)
                cancel_waiting_job(self.store, job)
                return self.store.get(job.id)
        self.store.request_cancel(job.id)
        deadline = time.monotonic() + 2 * CANCEL_GRACE_S + 1.0
        while not (job := self.store.get(job.id)).is_final and time.monotonic() < deadline:
            time.sleep(WATCH_EVERY_S / 2)
        return job

    def stop(self) -> None:
        """Take no more jobs and cancel every job of this server: the waiting ones at once,
        the running one's child interrupted now and killed after ``CANCEL_GRACE_S``."""
        with self._changed:
            self._stopping = True
            waiting, self._waiting = list(self._waiting), collections.deque()
            running = self._running
            self._changed.notify_all()
        for job_id in [*waiting, *([running] if running else [])]:
            with contextlib.suppress(SportbotError, OSError):
                self.store.request_cancel(job_id)
        for job_id in waiting:
            with contextlib.suppress(SportbotError, OSError):
                end_stopped_job(self.store, job_id, "cancelled")

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """``stop``, then wait (at most ``timeout_s``) for the running job's child to end."""
        self.stop()
        if self._worker is not None:
            self._worker.join(timeout=timeout_s)

    def public_text(self, job: FineTuneJob, text: str) -> str:
        """``text`` (a job's error or event message) with the server's paths replaced: the
        job's files by their ids (or, for a job made outside the API, their names), the rest
        of ``SPORTBOT_HOME`` by that name."""
        for path in (job.training_file, job.validation_file):
            if path:
                text = text.replace(path, self.public_file(path))
        return text.replace(str(self.home.resolve()), "SPORTBOT_HOME").replace(
            str(self.home), "SPORTBOT_HOME"
        )

    def public_file(self, path: str) -> str:
        """How the API names a job's file: its upload's id, else the file's name."""
        return self.files.id_of(path) or Path(path).name
