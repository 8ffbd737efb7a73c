"""``sportbot serve``'s fine-tuning jobs with the official client: create, follow, read, cancel."""

from __future__ import annotations

import csv
import io
import re
import time

import openai
import pytest

from tests.support.sportbot_serve import (
    HOCKEY_TWEET,
    TRAIN,
    VALID,
    Served,
    served,
    upload,
    wait_for_job,
)


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
        method={
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": 50, "batch_size": 1}},
        },
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


def test_a_job_echoes_its_base_model_and_names_its_model_as_openai_does(
    client: openai.OpenAI, api: Served
) -> None:
    job = client.fine_tuning.jobs.retrieve(api.job_id)

    assert job.model == "babbage-002"
    assert re.fullmatch(r"ft:babbage-002:sportbot::[a-z0-9]{8}", job.fine_tuned_model or "")
    statuses = [
        e.data["status"]  # type: ignore[index]
        for e in reversed(list(client.fine_tuning.jobs.list_events(api.job_id, limit=100)))
        if e.data and "status" in e.data  # type: ignore[operator]
    ]
    assert statuses == ["validating_files", "queued", "running", "succeeded"]
    events = list(client.fine_tuning.jobs.list_events(api.job_id, limit=100))
    assert "Fine-tune enqueued. Queue number: 0" in [e.message for e in events]


def test_seed_metadata_and_hyperparameters_are_kept_and_jobs_list_newest_first(
    client: openai.OpenAI,
) -> None:
    train = upload(client, TRAIN)
    older = client.fine_tuning.jobs.create(model="babbage-002", training_file=train)
    job = client.fine_tuning.jobs.create(
        model="davinci-002",
        training_file=train,
        seed=42,
        suffix="Sport Tags",
        metadata={"team": "sports", "run": "7"},
        method={
            "type": "supervised",
            "supervised": {
                "hyperparameters": {"n_epochs": 1, "batch_size": 32, "learning_rate_multiplier": 2}
            },
        },
    )

    assert (job.seed, job.metadata, job.model) == (
        42,
        {"team": "sports", "run": "7"},
        "davinci-002",
    )
    hyper = job.method.supervised.hyperparameters  # type: ignore[union-attr]
    assert (hyper.n_epochs, hyper.batch_size, hyper.learning_rate_multiplier) == (1, 32, 2.0)
    assert job.hyperparameters.learning_rate_multiplier == 2.0
    listed = [j.id for j in client.fine_tuning.jobs.list(limit=100)]
    assert listed.index(job.id) < listed.index(older.id)
    ended = wait_for_job(client, job.id)
    assert ended.seed == 42 and ended.metadata == {"team": "sports", "run": "7"}  # type: ignore[attr-defined]
    assert re.fullmatch(
        r"ft:davinci-002:sportbot:sport-tags:[a-z0-9]{8}",
        ended.fine_tuned_model,  # type: ignore[attr-defined]
    )
    wait_for_job(client, older.id)


def test_the_result_file_has_todays_columns_beside_the_legacy_ones(
    client: openai.OpenAI, api: Served
) -> None:
    [result_id] = client.fine_tuning.jobs.retrieve(api.job_id).result_files
    rows = list(csv.DictReader(io.StringIO(client.files.content(result_id).text)))

    assert {
        "step",
        "train_loss",
        "train_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
    } <= set(rows[0])
    assert all(r["train_accuracy"] == r["training_token_accuracy"] != "" for r in rows)
    scored = [r for r in rows if r["valid_loss"]]
    assert scored and all(r["valid_loss"] == r["validation_loss"] for r in scored)


def test_every_epoch_has_a_checkpoint_that_completions_accept(
    client: openai.OpenAI, api: Served
) -> None:
    job = client.fine_tuning.jobs.retrieve(api.job_id)
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(api.job_id, limit=10))

    assert len(checkpoints) == job.hyperparameters.n_epochs == 4
    steps = [c.step_number for c in checkpoints]
    assert steps == sorted(steps, reverse=True)  # newest first
    for checkpoint in checkpoints:
        assert checkpoint.fine_tuned_model_checkpoint == (
            f"{job.fine_tuned_model}:ckpt-step-{checkpoint.step_number}"
        )
        assert checkpoint.fine_tuning_job_id == job.id
        assert checkpoint.metrics.step == checkpoint.step_number
        assert 0 <= checkpoint.metrics.full_valid_mean_token_accuracy <= 1  # type: ignore[operator]
    first = checkpoints[-1].fine_tuned_model_checkpoint
    answer = client.completions.create(
        model=first, prompt=HOCKEY_TWEET + "\n\n###\n\n", max_tokens=1, logprobs=2
    )
    assert answer.model == first and answer.choices[0].text == " hockey"
    assert client.models.retrieve(first).id == first
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model=f"{job.fine_tuned_model}:ckpt-step-99999", prompt="x")
    page = client.fine_tuning.jobs.checkpoints.list(api.job_id, limit=2)
    later = client.fine_tuning.jobs.checkpoints.list(api.job_id, limit=2, after=page.data[-1].id)
    assert [c.id for c in page.data + later.data] == [c.id for c in checkpoints]


def test_a_fine_tuned_model_and_a_result_file_can_be_deleted(
    client: openai.OpenAI, api: Served
) -> None:
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=upload(client, TRAIN),
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
    )
    ended = wait_for_job(client, job.id)
    model = ended.fine_tuned_model  # type: ignore[attr-defined]
    client.completions.create(model=model, prompt="Go Leafs", max_tokens=1)  # loaded, cached

    deleted = client.models.delete(model)

    assert (deleted.id, deleted.deleted) == (model, True)
    assert model not in [m.id for m in client.models.list()]
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model=model, prompt="Go Leafs", max_tokens=1)
    with pytest.raises(openai.NotFoundError):
        client.models.delete(model)
    with pytest.raises(openai.BadRequestError, match="current"):
        client.models.delete(api.model_id)  # the registry's current model stays
    [result_id] = ended.result_files  # type: ignore[attr-defined]
    assert client.files.delete(result_id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.content(result_id)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": "42"}, "seed"),
        ({"metadata": {"k": 1}}, "metadata"),
        ({"metadata": {str(n): "v" for n in range(17)}}, "metadata"),
        ({"hyperparameters": {"learning_rate_multiplier": 0}}, "learning_rate_multiplier"),
        ({"hyperparameters": {"learning_rate_multiplier": "fast"}}, "learning_rate_multiplier"),
        ({"compute_classification_metrics": "yes"}, "compute_classification_metrics"),
    ],
)
def test_malformed_new_fields_are_a_400_naming_them(
    client: openai.OpenAI, extra: dict[str, object], param: str
) -> None:
    body = {"model": "babbage-002", "training_file": upload(client, VALID), **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/fine_tuning/jobs", body=body, cast_to=object)
    assert caught.value.param == param
