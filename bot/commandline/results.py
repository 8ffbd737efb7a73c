"""``sportbot results -i JOB``: the job's result CSV on stdout."""

from __future__ import annotations

import argparse
import sys

from classifier.errors import SportbotError
from classifier.loader import default_home
from training.jobs import JobStore


def run(args: argparse.Namespace) -> int:
    store = JobStore(default_home())
    job = store.get(args.id)
    path = store.results_path(job.id)
    if not path.is_file():
        raise SportbotError(f"Fine-tune {job.id} has no result file (status: {job.status}).")
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0
