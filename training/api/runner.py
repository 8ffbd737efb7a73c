"""The jobs of both fine-tuning APIs: checked and recorded while the request waits, trained one
at a time on a worker thread by the fine-tune lifecycle (``training.finetune``).

A job is checked and recorded while the request waits (a bad file is a 400, as OpenAI rejects
it before a job exists), then ``queued`` with its place in the line, then trained by the local
provider: it outlives the request, and other requests (retrieve, events, cancel) read it from
the job store. Any base-model name is accepted and trains the local engine; the job keeps the
name asked for. Each API sees its own jobs: the legacy one (``fine-tunes``) the jobs made through
it, today's (``fine_tuning``) the others (sportbot's own local jobs included).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from classifier.errors import SportbotError
from classifier.registry import ModelRegistry
from training.api.errors import ApiError, bad_request, not_found
from training.api.files import FileStore
from training.finetune.lifecycle import cancel_waiting_job, create_job, enqueue_job, run_job
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.jobs import LEGACY_API, TODAYS_API, FineTuneJob, JobStore, UnknownJobError

logger = logging.getLogger(__name__)

__all__ = ["LEGACY_API", "TODAYS_API", "JobRunner"]


class JobRunner:
    """Creates local fine-tune jobs and trains them one at a time on a worker thread."""

    def __init__(self, home: Path, files: FileStore) -> None:
        self.store = JobStore(home)
        self.registry = ModelRegistry(home)
        self.files = files
        self.provider = LocalProvider(any_base_model=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fine-tune")
        self._running: dict[str, Future[Any]] = {}

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

    def submit(self, request: FineTuneRequest, file_ids: Mapping[str, str]) -> FineTuneJob:
        """Record the job (its files checked), queue it and return it. ``file_ids``: the
        request's file paths -> the ids the client gave, for the messages of bad files."""
        try:
            job = create_job(self.store, request, self.provider)
        except SportbotError as error:
            message = str(error)
            for path, file_id in file_ids.items():
                message = message.replace(path, file_id)  # file ids, not server paths
            raise bad_request(message, param="training_file", code="invalid_file") from None
        enqueue_job(self.store, job, queue_number=len(self._running))
        future = self._executor.submit(self._run, job)
        self._running[job.id] = future
        future.add_done_callback(lambda _: self._running.pop(job.id, None))
        return job

    def _run(self, job: FineTuneJob) -> None:
        try:
            run_job(job, self.store, self.registry, self.provider)
        except SportbotError as error:
            logger.info("fine-tune %s ended: %s", job.id, error)
        except Exception:
            logger.exception("fine-tune %s crashed", job.id)

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
        if job.is_final:
            raise bad_request(
                f"Job {shown_id or job.id} has already {job.status}: only running jobs can be "
                "cancelled.",
                param="fine_tuning_job_id",
            )
        future = self._running.get(job.id)
        if future is not None and future.cancel():
            cancel_waiting_job(self.store, job)
            return self.store.get(job.id)
        return self.store.request_cancel(job.id)

    def shutdown(self) -> None:
        """Ask every job of this server to stop, and wait for the worker."""
        for job_id in list(self._running):
            with contextlib.suppress(SportbotError, ApiError):
                self.cancel(self.store.get(job_id))
        self._executor.shutdown(wait=True, cancel_futures=True)
