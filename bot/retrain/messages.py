"""What a retrain says in Slack: the progress message, the metrics table, and where it posts them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin import slack_error_code

if TYPE_CHECKING:
    from training.finetune.events import JobEvent
    from training.pipeline import TrainingReport

logger = logging.getLogger(__name__)

FALLBACK_TO_DM_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
"""Answers to ``chat.postMessage`` that mean "the bot cannot post here": the admin gets a DM."""

METRIC_ROWS = (
    ("validation accuracy", "validation", "accuracy"),
    ("test accuracy", "test", "accuracy"),
    ("test precision", "test", "precision"),
    ("test recall", "test", "recall"),
    ("test F1", "test", "f1"),
    ("test AUROC", "test", "auroc"),
    ("test AUPRC", "test", "auprc"),
)
MULTICLASS_METRIC_ROWS = (
    ("validation accuracy", "validation", "accuracy"),
    ("validation weighted F1", "validation", "weighted_f1"),
    ("test accuracy", "test", "accuracy"),
    ("test weighted F1", "test", "weighted_f1"),
)
"""The rows for a model of more than two labels (its metrics have ``weighted_f1``)."""
SECTION_TEXT_LIMIT = 3000
"""Slack's limit on a section block's text."""


@dataclass
class RetrainProgress:
    """What the progress message shows, folded from the training run's events: the job's id,
    the last completed epoch, and the last event's message as the status."""

    user_id: str
    source: str
    force: bool
    job_id: str | None = None
    epoch: int | None = None
    n_epochs: int | None = None
    status: str = "loading the training data"
    outcome: str | None = None

    def apply(self, event: JobEvent) -> None:
        """Fold one event in."""
        if self.job_id is None and event.job_id:
            self.job_id = event.job_id
        if event.kind == "epoch" and event.epoch is not None and event.n_epochs:
            self.epoch, self.n_epochs = event.epoch, event.n_epochs
        message = event.message.strip()
        if message:
            self.status = message.splitlines()[0][:200]

    def text(self) -> str:
        forced = ", forced" if self.force else ""
        lines = [
            f":gear: Retrain started by <@{self.user_id}> (source `{self.source}`{forced})",
            f"Job: `{self.job_id}`" if self.job_id else "Job: not created yet",
        ]
        if self.n_epochs:
            lines.append(f"Epoch {self.epoch}/{self.n_epochs}")
        lines.append(self.outcome or f"Status: {self.status}")
        return "\n".join(lines)


@dataclass
class Conversation:
    """Where a retrain talks: the command's channel, or a DM with the admin when the bot can't post there."""

    client: AsyncWebClient
    channel: str
    user_id: str
    moved_to_dm: bool = False

    async def post(self, text: str, blocks: list[dict[str, Any]] | None = None) -> str:
        """Post a message; return its ``ts``."""
        try:
            response = await self.client.chat_postMessage(
                channel=self.channel, text=text, blocks=blocks
            )
        except SlackApiError as error:
            if self.moved_to_dm or slack_error_code(error) not in FALLBACK_TO_DM_ERRORS:
                raise
            logger.info(
                "cannot post in %s (%s); writing to the admin",
                self.channel,
                slack_error_code(error),
            )
            opened = await self.client.conversations_open(users=self.user_id)
            self.channel = str(opened["channel"]["id"])
            self.moved_to_dm = True
            response = await self.client.chat_postMessage(
                channel=self.channel, text=text, blocks=blocks
            )
        return str(response["ts"])

    async def update(self, ts: str, text: str) -> None:
        await self.client.chat_update(channel=self.channel, ts=ts, text=text)

    async def upload(self, path: Path, title: str) -> None:
        await self.client.files_upload_v2(
            channel=self.channel,
            file=str(path),
            filename=path.name,
            title=title,
            request_file_info=False,
        )


def metric_value(metrics: Any, name: str) -> float | None:
    """Read one metric off a mapping (a report's or a card's metrics) or an object; None if absent."""
    if metrics is None:
        return None
    value = metrics.get(name) if isinstance(metrics, Mapping) else getattr(metrics, name, None)
    return None if value is None else float(value)


def metrics_message(
    report: TrainingReport, previous_validation: Any = None
) -> tuple[str, list[dict[str, Any]]]:
    """The new model's metrics beside the current one's, as text and Block Kit. A model of more
    than two labels shows accuracy and weighted F1, then each class's test precision and recall."""
    new_id = str(report.model_id)
    old_id = str(report.previous_model_id) if report.previous_model_id else None
    columns = {"validation": report.validation_metrics, "test": report.test_metrics}
    old_columns = {"validation": previous_validation, "test": report.previous_test_metrics}
    per_class = report.test_metrics.get("per_class")
    metric_rows = MULTICLASS_METRIC_ROWS if per_class is not None else METRIC_ROWS
    width = max(len(label) for label, _, _ in metric_rows)
    rows = [f"{'':<{width}}  {'current':>9}  {'new':>9}"]
    for label, split, name in metric_rows:
        old = metric_value(old_columns[split], name)
        new = metric_value(columns[split], name)
        rows.append(f"{label:<{width}}  {_cell(old):>9}  {_cell(new):>9}")
    verdict = "promoted" if report.promoted else "not promoted"
    before = f"current: `{old_id}`" if old_id else "no model was serving before"
    summary = (
        f"*Retrain finished* (job `{report.job_id}`): `{new_id}` {verdict} ({report.reason})\n"
        f"{before}; new: `{new_id}`"
    )
    table = "```\n" + "\n".join(rows) + "\n```"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        {"type": "section", "text": {"type": "mrkdwn", "text": table}},
    ]
    text = f"{summary}\n{table}"
    if per_class is not None:
        class_lines = _class_lines(per_class)
        text += "\n```\n" + "\n".join(class_lines) + "\n```"
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _fitted_table(class_lines)}}
        )
    blocks += [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Test metrics: the 20 Newsgroups test split, which no model trains on.",
                }
            ],
        },
    ]
    return text, blocks


def _class_lines(per_class: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The new model's test precision and recall, one line per class."""
    heading = "new model on the test split"
    width = max(len(heading), *(len(name) for name in per_class))
    lines = [f"{heading:<{width}}  {'precision':>9}  {'recall':>9}"]
    for name, scores in per_class.items():
        precision = _cell(metric_value(scores, "precision"))
        recall = _cell(metric_value(scores, "recall"))
        lines.append(f"{name:<{width}}  {precision:>9}  {recall:>9}")
    return lines


def _fitted_table(lines: list[str]) -> str:
    """``lines`` as a code block within Slack's section limit, the classes that do not fit
    counted on a last line."""
    for keep in range(len(lines), 0, -1):
        left = len(lines) - keep
        shown = lines[:keep] + ([f"... and {left} more classes"] if left else [])
        table = "```\n" + "\n".join(shown) + "\n```"
        if len(table) <= SECTION_TEXT_LIMIT:
            return table
    return "```\n```"


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def failure_text(error: BaseException) -> str:
    """What went wrong talking to Slack, for the log (never a token or message text)."""
    if isinstance(error, SlackApiError):
        return slack_error_code(error)
    return type(error).__name__
