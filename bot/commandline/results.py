"""``sportbot results -i JOB``: the job's result CSV on stdout."""

from __future__ import annotations

import argparse
import sys

from bot.settings import HomeSettings, read_settings
from classifier.errors import SportbotError
from training.jobs import JobStore


def run(args: argparse.Namespace) -> int:
    store = JobStore(read_settings(HomeSettings).sportbot_home)
    job = store.get(args.id)
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
