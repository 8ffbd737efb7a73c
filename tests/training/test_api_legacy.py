"""``sportbot serve``'s legacy fine-tunes API (``/v1/fine-tunes``), spoken over plain HTTP the way
``openai==0.28.1`` speaks it (the real client runs in tests/e2e/test_openai_clients.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.sportbot_serve import TRAIN, VALID, PlainHttp, Served, served, upload
from training.api import start_server
from training.api.legacy import job_id_of
from training.jobs import JobStore

LEGACY_NAME = r"ada:ft-sportbot-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d"


@pytest.fixture(scope="module")
def api() -> Served:
    return served()


@pytest.fixture(scope="module")
def http(api: Served) -> PlainHttp:
    return PlainHttp(api.base_url)


@pytest.fixture(scope="module")
def files(api: Served) -> tuple[str, str]:
    client = api.client()
    return upload(client, TRAIN), upload(client, VALID)


@pytest.fixture(scope="module")
def notebook_job(http: PlainHttp, files: tuple[str, str]) -> dict[str, Any]:
    """The notebook's ``fine_tunes.create`` body, as the legacy CLI sends it."""
    train, valid = files
    return http.post(  # type: ignore[no-any-return]
        "/fine-tunes",
        {
            "training_file": train,
            "validation_file": valid,
            "model": "ada",
            "compute_classification_metrics": True,
            "classification_positive_class": " baseball",
        },
    )


@pytest.fixture(scope="module")
def streamed(http: PlainHttp, notebook_job: dict[str, Any]) -> list[str]:
    """Every ``data:`` line of the job's event stream, to its end."""
    kind, lines = http.stream_lines(f"/fine-tunes/{notebook_job['id']}/events?stream=true")
    assert kind.startswith("text/event-stream")
    return lines


def test_create_answers_a_pending_fine_tune_in_the_legacy_shape(
    notebook_job: dict[str, Any], files: tuple[str, str]
) -> None:
    job = notebook_job
    assert re.fullmatch(r"ft-[0-9a-f]{24}", job["id"])
    assert (job["object"], job["model"], job["status"]) == ("fine-tune", "ada", "pending")
    assert job["fine_tuned_model"] is None and job["result_files"] == []
    assert [f["id"] for f in job["training_files"]] == [files[0]]
    assert [f["filename"] for f in job["validation_files"]] == [VALID.name]
    assert job["hyperparams"]["n_epochs"] == 4
    assert job["hyperparams"]["compute_classification_metrics"] is True
    assert job["hyperparams"]["classification_positive_class"] == " baseball"
    assert set(job["hyperparams"]) >= {
        "batch_size",
        "learning_rate_multiplier",
        "prompt_loss_weight",
    }
    assert job["events"][0]["message"] == f"Created fine-tune: {job['id']}"
    assert job["events"][0]["object"] == "fine-tune-event"


def test_the_stream_shows_what_the_notebook_showed_then_done(
    streamed: list[str], notebook_job: dict[str, Any]
) -> None:
    assert all(line.startswith("data: ") for line in streamed)
    assert streamed[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in streamed[:-1]]
    messages = [e["message"] for e in events]
    assert messages[:3] == [
        f"Created fine-tune: {notebook_job['id']}",
        "Fine-tune enqueued. Queue number: 0",
        "Fine-tune started",
    ]
    assert messages[3:7] == [f"Completed epoch {n}/4" for n in (1, 2, 3, 4)]
    assert re.fullmatch(f"Uploaded model: {LEGACY_NAME}", messages[7])
    assert re.fullmatch(r"Uploaded result file: file-[0-9a-f]+", messages[8])
    assert messages[9:] == ["Fine-tune succeeded"]
    assert {e["object"] for e in events} == {"fine-tune-event"}
    times = [e["created_at"] for e in events]
    assert times == sorted(times)


def test_the_succeeded_job_has_its_model_and_result_file(
    http: PlainHttp, streamed: list[str], notebook_job: dict[str, Any]
) -> None:
    job = http.get(f"/fine-tunes/{notebook_job['id']}")

    assert job["status"] == "succeeded"
    assert re.fullmatch(LEGACY_NAME, job["fine_tuned_model"])
    [result] = job["result_files"]
    assert (result["filename"], result["purpose"]) == ("compiled_results.csv", "fine-tune-results")
    rows = list(csv.DictReader(io.StringIO(http.get(f"/files/{result['id']}/content"))))
    accuracy = [float(r["classification/accuracy"]) for r in rows if r["classification/accuracy"]]
    assert accuracy and accuracy[-1] >= 0.9
    assert job["events"][-1]["message"] == "Fine-tune succeeded"
    completion = http.post(
        "/completions",
        {"model": job["fine_tuned_model"], "prompt": "Go Leafs go! Power play goal."},
    )
    assert completion["choices"][0]["text"] == " hockey"


def test_events_list_oldest_first_without_a_line_per_step(
    http: PlainHttp, streamed: list[str], notebook_job: dict[str, Any]
) -> None:
    listed = http.get(f"/fine-tunes/{notebook_job['id']}/events")

    assert listed["object"] == "list"
    streamed_messages = [json.loads(line[6:])["message"] for line in streamed[:-1]]
    assert [e["message"] for e in listed["data"]] == streamed_messages


def test_legacy_and_todays_jobs_are_listed_apart(
    http: PlainHttp, api: Served, notebook_job: dict[str, Any]
) -> None:
    legacy_ids = [job["id"] for job in http.get("/fine-tunes")["data"]]
    today_ids = [job.id for job in api.client().fine_tuning.jobs.list(limit=100)]

    assert notebook_job["id"] in legacy_ids
    assert api.job_id in today_ids and api.job_id.replace("ftjob-", "ft-") not in legacy_ids
    assert "ftjob-" + notebook_job["id"].removeprefix("ft-") not in today_ids
    assert "events" not in http.get("/fine-tunes")["data"][0]
    status, missing = http.request("GET", f"/fine-tunes/{api.job_id.replace('ftjob-', 'ft-')}")
    assert status == 404
    assert set(missing["error"]) == {"message", "type", "param", "code"}
    assert http.request("GET", "/fine-tunes/ftjob-abc")[0] == 404


def test_every_legacy_option_is_accepted_and_kept(http: PlainHttp, files: tuple[str, str]) -> None:
    options = {
        "n_epochs": 1,
        "batch_size": 32,
        "learning_rate_multiplier": 0.5,
        "prompt_loss_weight": 0.1,
        "compute_classification_metrics": True,
        "classification_n_classes": 2,
        "classification_positive_class": " hockey",
        "classification_betas": [0.5, 2],
        "suffix": "My Model!",
    }
    job = http.post(
        "/fine-tunes",
        {"training_file": files[0], "validation_file": files[1], "model": "ada", **options},
    )
    hyper = job["hyperparams"]
    for key in ("n_epochs", "batch_size", "learning_rate_multiplier", "prompt_loss_weight"):
        assert hyper[key] == options[key]
    assert hyper["classification_betas"] == [0.5, 2.0]
    assert hyper["classification_n_classes"] == 2

    ended = _wait(http, job["id"])
    assert ended["status"] == "succeeded"
    assert re.fullmatch(r"ada:ft-sportbot:my-model-[\d-]{19}", ended["fine_tuned_model"])
    result = http.get(f"/files/{ended['result_files'][0]['id']}/content")
    rows = list(csv.DictReader(io.StringIO(result)))
    columns = list(rows[0])
    at = columns.index("classification/f1.0")
    assert columns[at + 1 : at + 3] == ["classification/f0.5", "classification/f2.0"]
    last = [r for r in rows if r["classification/f0.5"]][-1]
    precision, recall = (
        float(last["classification/precision"]),
        float(last["classification/recall"]),
    )
    for beta in (0.5, 2.0):
        expected = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
        assert float(last[f"classification/f{beta}"]) == pytest.approx(expected, rel=1e-4)


def test_a_default_request_is_curie_without_classification_metrics(
    http: PlainHttp, files: tuple[str, str]
) -> None:
    job = http.post("/fine-tunes", {"training_file": files[1], "n_epochs": 1})
    assert job["model"] == "curie"
    assert "compute_classification_metrics" not in job["hyperparams"]
    ended = _wait(http, job["id"])
    assert re.fullmatch(r"curie:ft-sportbot-[\d-]{19}", ended["fine_tuned_model"])
    result = http.get(f"/files/{ended['result_files'][0]['id']}/content")
    assert "classification/accuracy" not in result.splitlines()[0]


def test_a_running_fine_tune_is_cancelled_and_its_stream_ends(
    http: PlainHttp, files: tuple[str, str]
) -> None:
    job = http.post("/fine-tunes", {"training_file": files[0], "n_epochs": 50, "batch_size": 1})
    deadline = time.monotonic() + 120
    while http.get(f"/fine-tunes/{job['id']}")["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    http.post(f"/fine-tunes/{job['id']}/cancel", {})
    _, lines = http.stream_lines(f"/fine-tunes/{job['id']}/events?stream=true")

    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["message"] == "Fine-tune cancelled"
    assert http.get(f"/fine-tunes/{job['id']}")["status"] == "cancelled"
    assert http.request("POST", f"/fine-tunes/{job['id']}/cancel", {})[0] == 400


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n_epochs": 0}, "n_epochs"),
        ({"n_epochs": "4"}, "n_epochs"),
        ({"batch_size": True}, "batch_size"),
        ({"learning_rate_multiplier": 0}, "learning_rate_multiplier"),
        ({"prompt_loss_weight": -0.1}, "prompt_loss_weight"),
        ({"compute_classification_metrics": "yes"}, "compute_classification_metrics"),
        ({"compute_classification_metrics": True}, "validation_file"),
        ({"classification_n_classes": 0}, "classification_n_classes"),
        ({"classification_positive_class": 1}, "classification_positive_class"),
        ({"classification_betas": [1, "two"]}, "classification_betas"),
        ({"classification_betas": 2}, "classification_betas"),
        ({"suffix": "x" * 41}, "suffix"),
        ({"model": 3}, "model"),
        ({"training_file": "file-nope"}, "training_file"),
    ],
)
def test_malformed_legacy_requests_are_a_400_naming_the_param(
    http: PlainHttp, files: tuple[str, str], extra: dict[str, object], param: str
) -> None:
    before = len(http.get("/fine-tunes")["data"])
    status, answer = http.request("POST", "/fine-tunes", {"training_file": files[1], **extra})
    assert status == 400
    assert answer["error"]["param"] == param
    assert len(http.get("/fine-tunes")["data"]) == before


def _wait(http: PlainHttp, fine_tune_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = http.get(f"/fine-tunes/{fine_tune_id}")
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise TimeoutError(fine_tune_id)


def test_stopping_the_server_ends_an_open_stream_and_cancels_its_job(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", "key")
    http = PlainHttp(server.base_url, "key")
    train = upload(openai.OpenAI(api_key="key", base_url=server.base_url), TRAIN)
    job = http.post("/fine-tunes", {"training_file": train, "n_epochs": 50, "batch_size": 1})
    streamed: list[list[str]] = []
    said_started = threading.Event()

    def on_line(line: str) -> None:
        if "Fine-tune started" in line:
            said_started.set()

    def read() -> None:
        path = f"/fine-tunes/{job['id']}/events?stream=true"
        streamed.append(http.stream_lines(path, on_line=on_line)[1])

    reader = threading.Thread(target=read)
    reader.start()
    assert said_started.wait(timeout=120)  # the stream is open and the job runs

    started = time.monotonic()
    server.stop()
    reader.join(timeout=30)

    assert not reader.is_alive() and time.monotonic() - started < 30
    [lines] = streamed
    assert "Created fine-tune" in lines[0]
    assert any("Fine-tune started" in line for line in lines)
    assert "data: [DONE]" not in lines  # the stream ended with the server, before the job
    assert JobStore(tmp_path / "home").get(job_id_of(job["id"])).status == "cancelled"


def test_a_job_that_ended_without_its_last_event_still_ends_its_stream(
    http: PlainHttp, api: Served, notebook_job: dict[str, Any], streamed: list[str]
) -> None:
    events = JobStore(api.home).job_dir(job_id_of(notebook_job["id"])) / "events.jsonl"
    kept = events.read_bytes()
    try:
        events.write_bytes(b"".join(kept.splitlines(keepends=True)[:-1]))  # no "succeeded"

        _, lines = http.stream_lines(f"/fine-tunes/{notebook_job['id']}/events?stream=true")

        assert lines[-1] == "data: [DONE]"
        assert json.loads(lines[-2][6:])["message"].startswith("Uploaded result file")
    finally:
        events.write_bytes(kept)
