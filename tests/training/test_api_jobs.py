"""``sportbot serve``'s fine-tuning jobs with the official client: create, follow, read, cancel."""

from __future__ import annotations

import csv
import io
import time

import openai
import pytest

from tests.support.sportbot_serve import TRAIN, VALID, Served, served, upload, wait_for_job


@pytest.fixture(scope="module")
def api() -> Served:
    return served()


@pytest.fixture
def client(api: Served) -> openai.OpenAI:
    return api.client(max_retries=0)


def test_a_finished_job_reads_like_openais(api: Served, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.retrieve(api.job_id)

    assert job.status == "succeeded"
    assert job.fine_tuned_model == api.model_id
    assert client.files.retrieve(job.training_file).filename == TRAIN.name
    assert client.files.retrieve(job.validation_file).filename == VALID.name  # type: ignore[arg-type]
    assert job.finished_at is not None and job.finished_at >= job.created_at
    assert job.hyperparameters.n_epochs == 4
    assert api.model_id in [m.id for m in client.models.list()]
    assert api.job_id in [j.id for j in client.fine_tuning.jobs.list()]


def test_result_file_has_held_out_classification_accuracy(
    client: openai.OpenAI, api: Served
) -> None:
    job = client.fine_tuning.jobs.retrieve(api.job_id)
    [result_id] = job.result_files
    assert client.files.retrieve(result_id).purpose == "fine-tune-results"

    rows = list(csv.DictReader(io.StringIO(client.files.content(result_id).text)))

    scored = [r for r in rows if r["classification/accuracy"]]
    assert scored, "no row has classification/accuracy"
    assert float(scored[-1]["classification/accuracy"]) >= 0.9  # on the 238 validation rows
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))


def test_events_come_newest_first_and_page_with_after(client: openai.OpenAI, api: Served) -> None:
    first = client.fine_tuning.jobs.list_events(api.job_id, limit=3)
    assert first.data[0].message == "Fine-tune succeeded"
    assert first.has_more is True
    older = client.fine_tuning.jobs.list_events(api.job_id, limit=3, after=first.data[-1].id)
    assert {e.id for e in older.data}.isdisjoint(e.id for e in first.data)

    every = list(client.fine_tuning.jobs.list_events(api.job_id, limit=50))
    times = [e.created_at for e in every]
    assert times == sorted(times, reverse=True)
    assert every[-1].message.startswith("Created fine-tune")
    metrics = [e for e in every if e.type == "metrics"]
    assert metrics and {"step", "train_loss"} <= set(metrics[0].data)  # type: ignore[arg-type]


def test_unknown_job_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-doesnotexist")


def test_a_file_that_is_not_prepared_data_is_refused_before_a_job_exists(
    client: openai.OpenAI,
) -> None:
    bad = client.files.create(
        file=("notes.jsonl", b'{"text": "no prompt here"}\n'), purpose="fine-tune"
    )
    before = len(client.fine_tuning.jobs.list().data)

    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="babbage-002", training_file=bad.id)

    assert caught.value.code == "invalid_file"
    assert len(client.fine_tuning.jobs.list().data) == before


def test_unknown_training_file_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="babbage-002", training_file="file-nope")
    assert caught.value.param == "training_file"


def test_a_running_job_can_be_cancelled_and_a_finished_one_cannot(
    client: openai.OpenAI, api: Served
) -> None:
    models_before = [m.id for m in client.models.list()]
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=upload(client, TRAIN),
        validation_file=upload(client, VALID),
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 500}}},
    )
    deadline = time.monotonic() + 60
    while client.fine_tuning.jobs.retrieve(job.id).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    client.fine_tuning.jobs.cancel(job.id)
    ended = wait_for_job(client, job.id, timeout_s=60)

    assert ended.status == "cancelled"  # type: ignore[attr-defined]
    assert ended.fine_tuned_model is None  # type: ignore[attr-defined]
    assert [m.id for m in client.models.list()] == models_before
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"method": {"type": "dpo"}}, "method"),
        ({"method": "supervised"}, "method"),
        (
            {"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}},
            "n_epochs",
        ),
        ({"hyperparameters": {"batch_size": "big"}}, "batch_size"),
        ({"suffix": "x" * 65}, "suffix"),
    ],
)
def test_malformed_job_requests_are_a_400_naming_the_param(
    client: openai.OpenAI, extra: dict[str, object], param: str
) -> None:
    body = {"model": "babbage-002", "training_file": upload(client, VALID), **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/fine_tuning/jobs", body=body, cast_to=object)
    assert caught.value.param == param
