"""One ``prepare-data`` run's conversation: the report as it is written, the ``[Y/n]`` questions,
and the legacy tool's two passes over the validators (analyse, then act), whatever the format."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from training.prepare.console import Console
from training.prepare.errors import DatasetInvalidError
from training.prepare.remediation import Remediation
from training.prepare.report import Action, Finding, PrepareReport

Validator = Callable[[pd.DataFrame], Remediation | None]

SPLIT_QUESTION = "- [Recommended] Would you like to split into training and validation set? [Y/n]: "
PROCEED_QUESTION = "\n\nYour data will be written to a new JSONL file. Proceed [Y/n]: "


class Session:
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

    def note(self, report: PrepareReport, remediation: Remediation) -> None:
        """Show a remediation's finding and keep it in the report."""
        if remediation.finding:
            self.say(remediation.finding)
            report.findings.append(Finding(remediation.name, remediation.finding.strip()))


def analyse(
    session: Session,
    report: PrepareReport,
    frame: pd.DataFrame,
    validators: Iterable[Validator],
) -> tuple[pd.DataFrame, list[Remediation]]:
    """Run the validators in order, each on the data as the earlier necessary fixes left it;
    show their findings. Raises ``DatasetInvalidError`` at the first error."""
    remediations = []
    for validator in validators:
        remediation = validator(frame)
        if remediation is None:
            continue
        if remediation.error:
            raise DatasetInvalidError(remediation.name, remediation.error)
        remediations.append(remediation)
        session.note(report, remediation)
        if remediation.necessary_fix:
            frame = remediation.necessary_fix(frame, session.say)
    return frame, remediations


def act(
    session: Session,
    report: PrepareReport,
    frame: pd.DataFrame,
    remediations: list[Remediation],
) -> tuple[pd.DataFrame, bool]:
    """Ask about each recommended fix (applying those accepted) and announce the necessary ones,
    in the validators' order; return the data and whether it changed."""
    changed = any(remediation.necessary for remediation in remediations)
    if not any(remediation.suggestion or remediation.necessary for remediation in remediations):
        session.say("\n\nNo remediations found.\n")
        return frame, changed
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
    return frame, changed


def ask_split(session: Session, report: PrepareReport) -> bool:
    """Ask whether to split classification data; keep the answer in the report."""
    report.split = session.ask(SPLIT_QUESTION)
    report.actions.append(
        Action(
            "train_valid_split",
            "recommended",
            "Split into training and validation set",
            report.split,
        )
    )
    return report.split
