"""``sportbot results -i JOB``: the job's result CSV on stdout."""

from __future__ import annotations

import argparse
import sys

from classifier.errors import SportbotError
from classifier.loader import default_home
from training.jobs import FineTuneJob, JobStore


def run(args: argparse.Namespace) -> int:
    store = JobStore(default_home())
    job = read_job(store, args.id)
    path = store.results_path(args.id)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SportbotError(
            f"Fine-tune {args.id} has no result file (status: {job.status})."
        ) from None
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise SportbotError(f"The result file {path} cannot be read: {reason}.") from None
    sys.stdout.write(text)
    return 0


def read_job(store: JobStore, job_id: str) -> FineTuneJob:
    """The job ``job_id``; a ``job.json`` that cannot be read, or is not a job, gives one line
    naming it (a job that is not there: ``UnknownJobError``)."""
    path = store.job_dir(job_id) / "job.json"
    try:
        job = store.get(job_id)
    except SportbotError:
        raise
    except OSError as error:
        if error.filename is None or str(error.filename) != str(path):
            raise  # not the job file (e.g. marking a stale job failed): main says which
        raise SportbotError(f"The job file {path} cannot be read: {error.strerror}.") from None
    except UnicodeDecodeError as error:
        raise SportbotError(f"The job file {path} is not UTF-8 text ({error.reason}).") from None
    except ValueError as error:
        raise SportbotError(f"The job file {path} is not valid JSON ({error}).") from None
    except (TypeError, AttributeError):  # JSON, but not the fields of a job
        raise SportbotError(f"The job file {path} does not hold a fine-tune job.") from None
    if not isinstance(job.id, str) or not isinstance(job.status, str):
        raise SportbotError(f"The job file {path} does not hold a fine-tune job.")
    return job
