"""Fine-tune job events, in the shape of OpenAI's ``fine_tuning.job.event``, saying what they
are about in fields.

``type`` is OpenAI's: ``"message"`` for a line a person reads, ``"metrics"`` for one training
step's numbers. What an event is about is in its ``data``:

- a status event: ``{"status": "running"}`` (and ``"error"``, the reason, when it failed;
  ``"queue_number"`` when a queued job has its place);
- an epoch event: ``{"epoch": 2, "n_epochs": 4}``, once that epoch is complete;
- a step event (``type="metrics"``): ``step``, ``total_steps``, ``epoch``, ``n_epochs``,
  ``train_loss``, ``train_mean_token_accuracy``, and the validation numbers of an evaluated step;
- a plain message: no data.

Readers (the CLI's progress, Slack's retrain message, the API, the OpenAI mirror) read the
properties (``kind``, ``status``, ``epoch``, ``step``, ...); the message text is for people.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

EventKind = Literal["status", "epoch", "step", "message"]

FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

_STATUS_MESSAGES = {
    "validating_files": "Created fine-tune: {job_id}",
    "queued": "Fine-tune enqueued",
    "running": "Fine-tune started",
    "succeeded": "Fine-tune succeeded",
    "failed": "Fine-tune failed: {reason}",
    "cancelled": "Fine-tune cancelled",
}
_STATUS_LEVELS = {"failed": "error", "cancelled": "warn"}


@dataclass(frozen=True)
class JobEvent:
    """One line of a job's log (see the module doc for what ``data`` holds)."""

    created_at: float
    level: str
    message: str
    data: dict[str, Any] | None = None
    type: str = "message"
    id: str = ""
    job_id: str | None = None
    """The job the event is about; None for a training pipeline's own stage events."""

    @property
    def kind(self) -> EventKind:
        data = self.data or {}
        if self.type == "metrics" and "step" in data:
            return "step"
        if isinstance(data.get("status"), str):
            return "status"
        if "epoch" in data and self.type == "message":
            return "epoch"
        return "message"

    @property
    def status(self) -> str | None:
        """The job's new status, for a status event."""
        return str((self.data or {})["status"]) if self.kind == "status" else None

    @property
    def is_final_status(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def epoch(self) -> int | None:
        """The epoch an epoch event completed, or the epoch a step event trained in."""
        return self._int("epoch") if self.kind in ("epoch", "step") else None

    @property
    def n_epochs(self) -> int | None:
        return self._int("n_epochs") if self.kind in ("epoch", "step") else None

    @property
    def step(self) -> int | None:
        return self._int("step") if self.kind == "step" else None

    @property
    def total_steps(self) -> int | None:
        return self._int("total_steps") if self.kind == "step" else None

    def _int(self, key: str) -> int | None:
        value = (self.data or {}).get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at,
            "level": self.level,
            "message": self.message,
            "data": self.data,
            "type": self.type,
            "id": self.id,
            "job_id": self.job_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobEvent:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def to_openai(self) -> dict[str, Any]:
        """The event as OpenAI's API lists it (``object: "fine_tuning.job.event"``)."""
        return {
            "object": "fine_tuning.job.event",
            "id": self.id,
            "created_at": int(self.created_at),
            "level": self.level,
            "message": self.message,
            "data": self.data or {},
            "type": self.type,
        }


def status_event(
    status: str,
    *,
    job_id: str | None = None,
    reason: str | None = None,
    queue_number: int | None = None,
) -> JobEvent:
    """The event of a job moving to ``status`` (``reason``: why it failed; ``queue_number``: the
    jobs ahead of a queued one, said as OpenAI's legacy API said it)."""
    data: dict[str, Any] = {"status": status}
    if reason is not None:
        data["error"] = reason
    message = _STATUS_MESSAGES[status].format(job_id=job_id, reason=reason)
    if queue_number is not None:
        data["queue_number"] = queue_number
        message += f". Queue number: {queue_number}"
    return JobEvent(
        created_at=time.time(),
        level=_STATUS_LEVELS.get(status, "info"),
        message=message,
        data=data,
        job_id=job_id,
    )


def epoch_event(epoch: int, n_epochs: int) -> JobEvent:
    """Epoch ``epoch`` of ``n_epochs`` is complete."""
    return JobEvent(
        created_at=time.time(),
        level="info",
        message=f"Completed epoch {epoch}/{n_epochs}",
        data={"epoch": epoch, "n_epochs": n_epochs},
    )


def step_event(data: Mapping[str, Any]) -> JobEvent:
    """One training step's numbers (``data`` has ``step``, ``total_steps``, ``train_loss``)."""
    message = f"Step {data['step']}/{data['total_steps']}: training loss={data['train_loss']:.4f}"
    return JobEvent(
        created_at=time.time(), level="info", message=message, data=dict(data), type="metrics"
    )


def message_event(
    message: str,
    *,
    level: str = "info",
    data: dict[str, Any] | None = None,
    type: str = "message",
) -> JobEvent:
    """A line for people (or, as mirrored from another API, whatever it said)."""
    return JobEvent(created_at=time.time(), level=level, message=message, data=data, type=type)
