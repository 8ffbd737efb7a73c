"""``prepare-data``: the legacy ``openai tools fine_tunes.prepare_data`` (openai 0.28.1), rebuilt.

It reads a dataset, runs the legacy validators in their order, asks the same ``[Y/n]`` questions
(or accepts them all when quiet), splits classification data into train and validation files the
same way, and writes the same bytes. Chat-format files (OpenAI's ``{"messages": [...]}`` rows) get
checks of their own in the same manner: roles, one label per example, labels of one token, class
balance, duplicates, long examples, and the same split. ``prepare_dataset`` is the entry point for
code; ``sportbot prepare-data`` is the one for people.
"""

from training.prepare.console import Console, StreamConsole, TranscriptConsole
from training.prepare.errors import DatasetFileError, DatasetInvalidError, PrepareDataError
from training.prepare.report import Action, Finding, PrepareReport
from training.prepare.workflow import prepare_dataset

__all__ = [
    "Action",
    "Console",
    "DatasetFileError",
    "DatasetInvalidError",
    "Finding",
    "PrepareDataError",
    "PrepareReport",
    "StreamConsole",
    "TranscriptConsole",
    "prepare_dataset",
]
