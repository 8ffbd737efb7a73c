"""The notebook's OpenAI workflow, with the official ``openai`` client, against ``sportbot serve``
started as a real process on loopback.

Upload both prepared files, create a job on ``babbage-002``, follow its events to ``succeeded``,
read the result file's ``classification/accuracy``, classify the notebook's hockey tweet with
``logprobs=2``; then the ``openai`` backend and the ``openai`` fine-tune provider of sportbot
itself, pointed at the same server, and the Slack bot answering ``/sport`` through it.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.settings import ClassifierSettings, read_settings
from classifier.loader import load_classifier
from tests.e2e.conftest import SIGNING_SECRET, StartBot
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender
from tests.support.sportbot_serve import (
    API_KEY,
    HOCKEY_TWEET,
    TRAIN,
    VALID,
    ServeProcess,
)

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``sportbot serve`` as its own process, as a user starts it."""
    process = ServeProcess.start(tmp_path_factory.mktemp("serve-home"))
    yield process
    process.stop()


@dataclass
class Workflow:
    job_id: str = ""
    statuses: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    final: object = None
    results: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def workflow(serve: ServeProcess) -> Workflow:
    """The notebook's steps, recorded for the tests to check."""
    client = serve.client()
    record = Workflow()
    with TRAIN.open("rb") as train, VALID.open("rb") as valid:
        train_file = client.files.create(file=train, purpose="fine-tune")
        valid_file = client.files.create(file=valid, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=train_file.id,
        validation_file=valid_file.id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}},
    )
    record.job_id = job.id
    seen: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        current = client.fine_tuning.jobs.retrieve(job.id)
        record.statuses.append(current.status)
        fresh = [
            e for e in client.fine_tuning.jobs.list_events(job.id, limit=100) if e.id not in seen
        ]
        seen.update(e.id for e in fresh)
        record.messages.extend(e.message for e in reversed(fresh) if e.type != "metrics")
        if current.status in ("succeeded", "failed", "cancelled"):
            record.final = current
            break
        time.sleep(0.2)
    if record.final is not None and record.final.result_files:  # type: ignore[attr-defined]
        content = client.files.content(record.final.result_files[0]).text  # type: ignore[attr-defined]
        record.results = list(csv.DictReader(io.StringIO(content)))
    return record


def test_the_job_is_followed_through_its_events_to_succeeded(workflow: Workflow) -> None:
    assert workflow.final is not None, "the job did not end"
    assert workflow.final.status == "succeeded"  # type: ignore[attr-defined]
    assert workflow.messages[0].startswith("Created fine-tune")
    assert "Fine-tune started" in workflow.messages
    assert workflow.messages[-1] == "Fine-tune succeeded"
    assert workflow.statuses[-1] == "succeeded"


def test_the_result_file_has_the_classification_accuracy(workflow: Workflow) -> None:
    accuracies = [
        float(r["classification/accuracy"])
        for r in workflow.results
        if r["classification/accuracy"]
    ]
    assert accuracies, "no classification/accuracy in the result file"
    assert accuracies[-1] >= 0.9  # the 238 held-out validation rows


def test_the_hockey_tweet_comes_back_hockey_with_baseball_listed(
    serve: ServeProcess, workflow: Workflow
) -> None:
    model = workflow.final.fine_tuned_model  # type: ignore[attr-defined]
    answer = serve.client().completions.create(
        model=model, prompt=HOCKEY_TWEET + "\n\n###\n\n", max_tokens=1, temperature=0, logprobs=2
    )
    top = answer.choices[0].logprobs.top_logprobs[0]  # type: ignore[union-attr,index]
    assert max(top, key=top.__getitem__) == " hockey"
    assert " baseball" in top
    assert answer.choices[0].text == " hockey"


def test_the_openai_backend_classifies_through_serve(
    serve: ServeProcess, workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = workflow.final.fine_tuned_model  # type: ignore[attr-defined]
    monkeypatch.setenv("SPORTBOT_BACKEND", "openai")
    monkeypatch.setenv("SPORTBOT_MODEL", model)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", serve.base_url)

    config = read_settings(ClassifierSettings, env_file=None).classifier_config()
    prediction = load_classifier(config=config).classify(HOCKEY_TWEET)

    answer = serve.client().completions.create(
        model=model, prompt=HOCKEY_TWEET + "\n\n###\n\n", max_tokens=1, logprobs=5
    )
    top = answer.choices[0].logprobs.top_logprobs[0]  # type: ignore[union-attr,index]
    assert prediction.model == model
    assert prediction.logprobs == pytest.approx(top)
    assert " " + prediction.label == answer.choices[0].text


def test_sportbot_fine_tune_with_the_openai_provider_through_serve(
    serve: ServeProcess, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SPORTBOT_HOME": str(tmp_path / "client-home"),
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": serve.base_url,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "fine-tune",
            "--provider",
            "openai",
            "-m",
            "babbage-002",
            "-t",
            str(TRAIN),
            "-v",
            str(VALID),
            "--compute-classification-metrics",
            "--n-epochs",
            "1",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("fine_tuned_model: ")
    assert "Classification metrics on 238 validation rows" in done.stderr


async def test_the_bot_answers_sport_with_the_openai_backend_pointed_at_serve(
    serve: ServeProcess,
    workflow: Workflow,
    start_bot: StartBot,
    slack_api: SlackAPIStandIn,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = workflow.final.fine_tuned_model  # type: ignore[attr-defined]
    bot = await start_bot(
        sportbot_backend="openai",
        sportbot_model=model,
        openai_api_key=API_KEY,
        openai_base_url=serve.base_url,
    )
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())

    reply = await slack.command("/sport", HOCKEY_TWEET)

    assert reply.status == 200
    section, context, *_ = reply.json()["blocks"]
    assert model in context["elements"][0]["text"]  # the served model answered, not a local one
    answer = serve.client().completions.create(
        model=model, prompt=HOCKEY_TWEET + "\n\n###\n\n", max_tokens=1, logprobs=2
    )
    assert answer.choices[0].text.strip().capitalize() in section["text"]["text"]
