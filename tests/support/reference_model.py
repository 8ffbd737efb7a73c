"""A model fine-tuned once per test process on the reference 948/238 files.

Training takes seconds, so tests share one trained ``SPORTBOT_HOME``: read it through
``trained_home()``, or take a private copy with ``copy_trained_home(dest)`` before changing it.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.data_files import TRAIN_FILE, VALID_FILE

TRAIN = TRAIN_FILE
VALID = VALID_FILE


@dataclass(frozen=True)
class TrainedHome:
    home: Path
    job_id: str
    model_id: str
    messages: tuple[str, ...]
    """The job's message events, in order."""


@functools.cache
def trained_home() -> TrainedHome:
    from training.finetune.lifecycle import fine_tune
    from training.finetune.local_provider import LocalProvider
    from training.finetune.request import FineTuneRequest

    home = Path(tempfile.mkdtemp(prefix="sportbot-trained-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    messages: list[str] = []
    request = FineTuneRequest(
        TRAIN, VALID, compute_classification_metrics=True, classification_positive_class=" baseball"
    )
    job = fine_tune(
        home,
        request,
        LocalProvider(),
        on_event=lambda event: messages.append(event.message) if event.type == "message" else None,
    )
    return TrainedHome(home, job.id, str(job.fine_tuned_model), tuple(messages))


def copy_trained_home(dest: Path) -> TrainedHome:
    trained = trained_home()
    shutil.copytree(trained.home, dest)
    return TrainedHome(dest, trained.job_id, trained.model_id, trained.messages)
