"""``prepare-data`` on a chat-format file: the legacy tool's report, questions and files for
OpenAI's chat rows, as a successor to the tool OpenAI dropped.

The checks are ``training.prepare.chat_validators``'; classification data is split into
``<name>_prepared_train.jsonl`` and ``_valid.jsonl`` as the legacy tool split prompt/completion
rows (the same seed and sizes), and the closing hint is the ``sportbot fine-tune`` command that
trains on them, its classification options included.
"""

from __future__ import annotations

import os
from pathlib import Path

from training.prepare.chat_reading import read_chat_dataset
from training.prepare.chat_validators import CHAT_VALIDATORS, task_type
from training.prepare.report import PrepareReport
from training.prepare.session import PROCEED_QUESTION, Session, act, analyse, ask_split
from training.prepare.writing import (
    classes,
    output_paths,
    split_train_valid,
    write_all,
    write_chat_rows,
    written_hint,
)


def prepare_chat_dataset(
    session: Session, source: str, output_dir: str | os.PathLike[str] | None
) -> PrepareReport:
    """Check, fix, split and write the chat rows of ``source``; see ``prepare_dataset``."""
    frame = read_chat_dataset(source)
    report = PrepareReport(source=source, n_rows=len(frame), task_type="", data_format="chat")
    frame, remediations = analyse(session, report, frame, CHAT_VALIDATORS)
    report.task_type = task_type(frame)
    frame, changed = act(session, report, frame, remediations)
    report.n_prepared = len(frame)
    if report.task_type == "classification":
        ask_split(session, report)
    if not changed and not report.split:
        session.say(
            f'\nYou can use your file for fine-tuning:\n> sportbot fine-tune -t "{source}"\n'
        )
    elif not session.ask(PROCEED_QUESTION):
        session.say("Aborting... did not write the file\n")
    else:
        folder = None if output_dir is None else os.fspath(output_dir)
        paths = output_paths(source, split=report.split, output_dir=folder)
        if report.split:
            train, valid = split_train_valid(frame)
            write_all([(train, paths[0]), (valid, paths[1])], write_chat_rows)
            report.n_train, report.n_valid = len(train), len(valid)
            report.n_classes, report.positive_class = classes(frame["label"])
            report.valid_file = Path(paths[1])
        else:
            write_all([(frame, paths[0])], write_chat_rows)
            report.n_train = len(frame)
        report.train_file = Path(paths[0])
        hint = written_hint(
            paths,
            n_classes=report.n_classes,
            positive_class=report.positive_class,
            prompt_suffix="",
            completion_suffix="",
        )
        session.say(hint.rstrip("\n") + "\n")
    report.transcript = "".join(session.transcript)
    return report
