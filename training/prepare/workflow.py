"""``prepare_dataset``: read, validate, ask, fix, split and write, as the legacy tool did."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from training.prepare.console import Console, TranscriptConsole
from training.prepare.errors import DatasetInvalidError, PrepareDataError
from training.prepare.inference import common_suffix, infer_task_type
from training.prepare.reading import read_dataset
from training.prepare.remediation import Remediation
from training.prepare.report import Action, Finding, PrepareReport
from training.prepare.validators import VALIDATORS
from training.prepare.writing import (
    classes,
    output_paths,
    split_train_valid,
    unchanged_hint,
    write_prepared,
    written_hint,
)

logger = logging.getLogger(__name__)

SPLIT_QUESTION = "- [Recommended] Would you like to split into training and validation set? [Y/n]: "
PROCEED_QUESTION = "\n\nYour data will be written to a new JSONL file. Proceed [Y/n]: "


class _Session:
    """One run's console, transcript and answers."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.transcript: list[str] = []

    def say(self, text: str) -> None:
        self.transcript.append(text)
        self.console.write(text)

    def ask(self, question: str) -> bool:
        """Ask a [Y/n] question: anything but ``n`` (any case) is yes; quiet answers ``Y``."""
        self.say(question)
        if self.quiet:
            self.say("Y\n")
            return True
        return self.console.answer().lower() != "n"


def prepare_dataset(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    quiet: bool = True,
    output_dir: str | os.PathLike[str] | None = None,
    console: Console | None = None,
    name: str = "dataset.jsonl",
) -> PrepareReport:
    """Check and fix a prompt/completion dataset exactly as ``openai tools fine_tunes.prepare_data``.

    ``source`` is a CSV, TSV, XLSX, TXT, JSON or JSONL file, or a DataFrame with ``prompt`` and
    ``completion`` columns (then ``output_dir`` is required and ``name`` names its files).
    ``quiet`` accepts every suggestion; otherwise each ``[Y/n]`` answer is read from ``console``.
    The human report goes to ``console`` (default: kept only in the returned report's
    ``transcript``). Raises ``PrepareDataError`` (a ``SportbotError``) for anything the user must fix.
    """
    session = _Session(console or TranscriptConsole(), quiet)
    session.say("Analyzing...\n")
    if isinstance(source, pd.DataFrame):
        if output_dir is None:
            raise PrepareDataError("preparing a DataFrame needs an output folder for its files")
        label = os.path.join(os.fspath(output_dir), name)
        frame, reading = source.fillna("").astype(str), Remediation(name="read_any_format")
    else:
        label = os.fspath(source)
        frame, reading = read_dataset(label)
    frame = frame.reset_index(drop=True)
    report = PrepareReport(source=label, n_rows=len(frame), task_type="")
    if reading.finding:
        session.say(reading.finding)
        report.findings.append(Finding(reading.name, reading.finding.strip()))

    remediations = [reading]
    for validator in VALIDATORS:
        remediation = validator(frame)
        if remediation is None:
            continue
        if remediation.error:
            raise DatasetInvalidError(remediation.name, remediation.error)
        remediations.append(remediation)
        if remediation.finding:
            session.say(remediation.finding)
            report.findings.append(Finding(remediation.name, remediation.finding.strip()))
        if remediation.necessary_fix:
            frame = remediation.necessary_fix(frame, session.say)
    report.task_type = infer_task_type(frame)

    changed = any(remediation.necessary for remediation in remediations)
    if any(remediation.suggestion or remediation.necessary for remediation in remediations):
        session.say("\n\nBased on the analysis we will perform the following actions:\n")
        for remediation in remediations:
            if remediation.suggestion and remediation.optional_fix:
                accepted = session.ask(f"- [Recommended] {remediation.suggestion} [Y/n]: ")
                if accepted:
                    frame = remediation.optional_fix(frame, session.say)
                    changed = True
                report.actions.append(
                    Action(remediation.name, "recommended", remediation.suggestion, accepted)
                )
            if remediation.necessary:
                session.say(f"- [Necessary] {remediation.necessary}\n")
                report.actions.append(
                    Action(remediation.name, "necessary", remediation.necessary, True)
                )
    else:
        session.say("\n\nNo remediations found.\n")

    _write_out(session, report, frame, changed, output_dir)
    report.transcript = "".join(session.transcript)
    return report


def _write_out(
    session: _Session,
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
        report.split = session.ask(SPLIT_QUESTION)
        report.actions.append(
            Action(
                "train_valid_split",
                "recommended",
                "Split into training and validation set",
                report.split,
            )
        )
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
        _write_all([(train, paths[0]), (valid, paths[1])])
        report.n_train, report.n_valid = len(train), len(valid)
        n_classes, positive_class = classes(frame["completion"])
        report.valid_file = Path(paths[1])
    else:
        _write_all([(frame, paths[0])])
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


def _write_all(parts: list[tuple[pd.DataFrame, str]]) -> None:
    """Write every part, or none: a failure removes the files already written."""
    done: list[str] = []
    try:
        for frame, path in parts:
            write_prepared(frame, path)
            done.append(path)
    except OSError as error:
        for path in done:
            Path(path).unlink(missing_ok=True)
        raise PrepareDataError(f"cannot write {path}: {error.strerror or error}") from error
