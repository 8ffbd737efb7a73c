"""``prepare_dataset``: read, validate, ask, fix, split and write, as the legacy tool did."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from training.prepare.chat_reading import is_chat_file
from training.prepare.chat_workflow import prepare_chat_dataset
from training.prepare.console import Console, TranscriptConsole
from training.prepare.errors import PrepareDataError
from training.prepare.inference import common_suffix, infer_task_type
from training.prepare.reading import read_dataset
from training.prepare.remediation import Remediation
from training.prepare.report import PrepareReport
from training.prepare.session import PROCEED_QUESTION, Session, act, analyse, ask_split
from training.prepare.validators import VALIDATORS
from training.prepare.writing import (
    classes,
    output_paths,
    split_train_valid,
    unchanged_hint,
    write_all,
    write_prepared,
    written_hint,
)

logger = logging.getLogger(__name__)


def prepare_dataset(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    quiet: bool = True,
    output_dir: str | os.PathLike[str] | None = None,
    console: Console | None = None,
    name: str = "dataset.jsonl",
) -> PrepareReport:
    """Check and fix a prompt/completion dataset exactly as ``openai tools fine_tunes.prepare_data``,
    or a chat-format one in the same manner (``training.prepare.chat_workflow``).

    ``source`` is a CSV, TSV, XLSX, TXT, JSON or JSONL file, or a DataFrame with ``prompt`` and
    ``completion`` columns (then ``output_dir`` is required and ``name`` names its files). A
    JSONL file whose first row has ``messages`` is read as chat rows.
    ``quiet`` accepts every suggestion; otherwise each ``[Y/n]`` answer is read from ``console``.
    The human report goes to ``console`` (default: kept only in the returned report's
    ``transcript``). Raises ``PrepareDataError`` (a ``SportbotError``) for anything the user must fix.
    """
    session = Session(console or TranscriptConsole(), quiet)
    session.say("Analyzing...\n")
    if isinstance(source, pd.DataFrame):
        if output_dir is None:
            raise PrepareDataError("preparing a DataFrame needs an output folder for its files")
        label = os.path.join(os.fspath(output_dir), name)
        frame, reading = source.fillna("").astype(str), Remediation(name="read_any_format")
    else:
        label = os.fspath(source)
        if is_chat_file(label):
            return prepare_chat_dataset(session, label, output_dir)
        frame, reading = read_dataset(label)
    frame = frame.reset_index(drop=True)
    report = PrepareReport(source=label, n_rows=len(frame), task_type="")
    session.note(report, reading)
    frame, remediations = analyse(session, report, frame, VALIDATORS)
    report.task_type = infer_task_type(frame)
    frame, changed = act(session, report, frame, [reading, *remediations])
    _write_out(session, report, frame, changed, output_dir)
    report.transcript = "".join(session.transcript)
    return report


def _write_out(
    session: Session,
    report: PrepareReport,
    frame: pd.DataFrame,
    changed: bool,
    output_dir: str | os.PathLike[str] | None,
) -> None:
    """Ask about the split and writing, then write and tell how to fine-tune on the result."""
    prompt_suffix = common_suffix(frame["prompt"])
    completion_suffix = common_suffix(frame["completion"])
    report.prompt_separator = prompt_suffix
    report.n_prepared = len(frame)
    if report.task_type == "classification":
        ask_split(session, report)
    if not changed and not report.split:
        session.say(unchanged_hint(report.source, prompt_suffix, completion_suffix))
        return
    if not session.ask(PROCEED_QUESTION):
        session.say("Aborting... did not write the file\n")
        return

    folder = None if output_dir is None else os.fspath(output_dir)
    paths = output_paths(report.source, split=report.split, output_dir=folder)
    n_classes, positive_class = None, None
    if report.split:
        train, valid = split_train_valid(frame)
        write_all([(train, paths[0]), (valid, paths[1])], write_prepared)
        report.n_train, report.n_valid = len(train), len(valid)
        n_classes, positive_class = classes(frame["completion"])
        report.valid_file = Path(paths[1])
    else:
        write_all([(frame, paths[0])], write_prepared)
        report.n_train = len(frame)
    report.train_file = Path(paths[0])
    report.n_classes, report.positive_class = n_classes, positive_class
    session.say(
        written_hint(
            paths,
            n_classes=n_classes,
            positive_class=positive_class,
            prompt_suffix=prompt_suffix,
            completion_suffix=completion_suffix,
        )
    )
