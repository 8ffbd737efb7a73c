"""Job events say what they are about in fields: readers never parse their text."""

from __future__ import annotations

import pytest

from training.finetune.events import (
    JobEvent,
    epoch_event,
    message_event,
    status_event,
    step_event,
)


def test_each_kind_of_event_carries_its_fields() -> None:
    created = status_event("validating_files", job_id="ftjob-abc")
    assert (created.kind, created.status, created.job_id) == (
        "status",
        "validating_files",
        "ftjob-abc",
    )
    assert created.message == "Created fine-tune: ftjob-abc"
    assert not created.is_final_status and status_event("cancelled").is_final_status
    assert status_event("cancelled").level == "warn"

    epoch = epoch_event(2, 4)
    assert (epoch.kind, epoch.epoch, epoch.n_epochs, epoch.status) == ("epoch", 2, 4, None)
    assert epoch.message == "Completed epoch 2/4"

    step = step_event({"step": 7, "total_steps": 40, "epoch": 1, "n_epochs": 4, "train_loss": 0.5})
    assert (step.kind, step.type, step.step, step.total_steps) == ("step", "metrics", 7, 40)
    assert step.message == "Step 7/40: training loss=0.5000"

    plain = message_event("Completed epoch 3/4, Fine-tune succeeded")
    assert (plain.kind, plain.epoch, plain.status, plain.is_final_status) == (
        "message",
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"status": "succeeded"}, "status"),
        ({"epoch": 1, "n_epochs": 2}, "epoch"),
        ({}, "message"),
        ({"status": 3}, "message"),  # not a status
    ],
)
def test_the_kind_comes_from_the_data(data: dict, kind: str) -> None:
    event = JobEvent(created_at=0.0, level="info", message="whatever it says", data=data)
    assert event.kind == kind


def test_the_openai_shape_is_as_before() -> None:
    event = JobEvent.from_dict(
        {"created_at": 1.5, "level": "info", "message": "m", "data": None, "type": "message",
         "id": "ftevent-1", "job_id": "ftjob-1", "from_a_later_version": True}
    )  # fmt: skip
    assert event.to_openai() == {
        "object": "fine_tuning.job.event",
        "id": "ftevent-1",
        "created_at": 1,
        "level": "info",
        "message": "m",
        "data": {},
        "type": "message",
    }
