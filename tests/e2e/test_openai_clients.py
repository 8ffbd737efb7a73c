"""The OpenAI clients people run, unchanged, against ``sportbot serve`` started as a process: each
in a venv of the tests' own (``tests/support/openai_venv.py``).

- ``openai==0.28.1``, the last release with the legacy CLI, runs the Cookbook notebook "Fine-tuned
  classification" as it was written for the legacy fine-tunes API (openai/openai-cookbook,
  examples/Fine-tuned_classification.ipynb, 2021-2023): ``openai api fine_tunes.create`` to the
  two tweets, with ``openai.Completion``; then ``fine_tunes.follow`` and the command the CLI
  tells users to try, ``openai api completions.create -m MODEL -p PROMPT``.
- the current ``openai`` runs today's version of the notebook (``babbage-002``,
  ``client.fine_tuning.jobs``), and a chat-format fine-tune answered by chat completions.

The cells are the notebook's own; only the ids a person copies from one output into a later cell
(the fine-tune's and the model's) are this run's. ``prepare_data`` is not run: it is gone from
the SDK; the two files it wrote for the notebook are the input (tests/data/legacy_openai).
"""

from __future__ import annotations

import ast
import csv
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import notebook_cells as cells
from tests.support.data_files import TRAIN_FILE, VALID_FILE
from tests.support.openai_venv import CellResult, ClientVenv, client_venv, run_cells
from tests.support.prepared_files import CHAT_SYSTEM, chat_file
from tests.support.sportbot_serve import API_KEY, BASEBALL_TWEET, HOCKEY_TWEET, ServeProcess

LEGACY_CLIENT = "openai==0.28.1"
CURRENT_CLIENT = "openai"
SERVED_LEGACY_MODEL = r"ada:ft-sportbot-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d"
EVENT_LINE = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] "


@dataclass(frozen=True)
class Run:
    """A notebook run: its cells' results, its folder, the server it talked to."""

    results: list[CellResult]
    folder: Path
    serve: ServeProcess


def _notebook_folder(parent: Path) -> Path:
    """The folder a person runs the notebook in, with what ``prepare_data`` wrote."""
    folder = parent / "notebook"
    folder.mkdir()
    for source in (TRAIN_FILE, VALID_FILE):
        shutil.copy(source, folder / source.name)
    return folder


@pytest.fixture(scope="module")
def legacy_venv() -> ClientVenv:
    venv = client_venv(LEGACY_CLIENT)
    assert venv.version() == "0.28.1"
    return venv


@pytest.fixture(scope="module")
def current_venv() -> ClientVenv:
    return client_venv(CURRENT_CLIENT)


@pytest.fixture(scope="module")
def legacy_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    serve = ServeProcess.start(tmp_path_factory.mktemp("legacy-serve-home"))
    yield serve
    serve.stop()


@pytest.fixture(scope="module")
def today_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    serve = ServeProcess.start(tmp_path_factory.mktemp("today-serve-home"))
    yield serve
    serve.stop()


@pytest.fixture(scope="module")
def legacy_run(
    legacy_venv: ClientVenv, legacy_serve: ServeProcess, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """The legacy notebook from ``fine_tunes.create`` to the two tweets; the ids of this run
    put where the notebook has its own."""
    folder = _notebook_folder(tmp_path_factory.mktemp("legacy-notebook"))
    env = legacy_venv.env(OPENAI_API_KEY=API_KEY, OPENAI_API_BASE=legacy_serve.base_url)
    created = run_cells(
        legacy_venv, [cells.LEGACY_IMPORTS, cells.LEGACY_CREATE], cwd=folder, env=env
    )
    output = created[1].output
    fine_tune_id = re.search(r"Created fine-tune: (ft-\w+)", output)
    model = re.search(rf"Uploaded model: ({SERVED_LEGACY_MODEL})", output)
    assert fine_tune_id and model, output
    later = [
        cells.LEGACY_IMPORTS,
        cells.LEGACY_RESULTS.replace(cells.NOTEBOOK_FINE_TUNE_ID, fine_tune_id[1]),
        cells.LEGACY_READ,
        cells.LEGACY_PLOT,
        cells.READ_TEST,
        cells.LEGACY_FIRST.replace(cells.NOTEBOOK_MODEL, model[1]),
        cells.LEGACY_LOGPROBS,
        cells.LEGACY_HOCKEY,
        cells.LEGACY_BASEBALL,
    ]
    return Run(created + run_cells(legacy_venv, later, cwd=folder, env=env), folder, legacy_serve)


def _no_errors(results: list[CellResult]) -> None:
    for number, result in enumerate(results):
        assert result.error is None, f"cell {number}: {result.error}\n{result.output}"


def test_fine_tunes_create_uploads_streams_and_says_what_to_try(legacy_run: Run) -> None:
    _no_errors(legacy_run.results)
    # The upload progress bars (stderr, in the cell's output as in Jupyter's) end with a "\r".
    lines = [line.rsplit("\r", 1)[-1] for line in legacy_run.results[1].output.splitlines()]
    said = [line for line in lines if line and not line.startswith("Upload progress")]
    assert re.fullmatch(r"Uploaded file from sport2_prepared_train.jsonl: file-\w+", said[0])
    assert re.fullmatch(r"Uploaded file from sport2_prepared_valid.jsonl: file-\w+", said[1])
    fine_tune = re.fullmatch(r"Created fine-tune: (ft-\w+)", said[2])
    assert fine_tune is not None
    assert said[3] == "Streaming events until fine-tuning is complete..."
    events = [re.sub(EVENT_LINE, "", line) for line in lines if re.match(EVENT_LINE, line)]
    assert events[:3] == [
        f"Created fine-tune: {fine_tune[1]}",
        "Fine-tune enqueued. Queue number: 0",
        "Fine-tune started",
    ]
    assert events[3:7] == [f"Completed epoch {n}/4" for n in (1, 2, 3, 4)]
    model = re.fullmatch(f"Uploaded model: ({SERVED_LEGACY_MODEL})", events[7])
    assert model is not None
    assert re.fullmatch(r"Uploaded result file: file-\w+", events[8])
    assert events[9:] == ["Fine-tune succeeded"]
    assert "Job complete! Status: succeeded 🎉" in lines
    assert f"openai api completions.create -m {model[1]} -p <YOUR_PROMPT>" in lines


def test_the_results_read_as_the_notebook_read_them(legacy_run: Run) -> None:
    _no_errors(legacy_run.results)
    read, plot = legacy_run.results[4], legacy_run.results[5]
    assert read.value is not None and read.value.endswith("[1 rows x 19 columns]")
    assert plot.value is not None and plot.value.startswith("<Axes")
    with (legacy_run.folder / "result.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert (reader.fieldnames or [])[:6] == [
        "step",
        "elapsed_tokens",
        "elapsed_examples",
        "training_loss",
        "training_sequence_accuracy",
        "training_token_accuracy",
    ]
    accuracy = [r["classification/accuracy"] for r in rows if r["classification/accuracy"]]
    assert float(accuracy[-1]) >= 0.9


def test_the_model_answers_the_validation_row_and_the_two_tweets(legacy_run: Run) -> None:
    _no_errors(legacy_run.results)
    first, logprobs, hockey, baseball = (r.value for r in legacy_run.results[-4:])
    assert first == "' hockey'"
    assert logprobs is not None
    top = json.loads(logprobs.split("JSON: ", 1)[1])
    assert set(top) == {" hockey", " baseball"} and top[" hockey"] > top[" baseball"]
    assert (hockey, baseball) == ("' hockey'", "' baseball'")


def test_follow_and_the_suggested_completions_command(
    legacy_run: Run, legacy_venv: ClientVenv
) -> None:
    created = legacy_run.results[1].output
    fine_tune = re.search(r"Created fine-tune: (ft-\w+)", created)
    model = re.search(rf"Uploaded model: ({SERVED_LEGACY_MODEL})", created)
    assert fine_tune and model
    env = legacy_venv.env(OPENAI_API_KEY=API_KEY, OPENAI_API_BASE=legacy_run.serve.base_url)
    prompt = HOCKEY_TWEET + "\n\n###\n\n"
    follow, completion = run_cells(
        legacy_venv,
        [
            f"!openai api fine_tunes.follow -i {fine_tune[1]}",
            f"!openai api completions.create -m {model[1]} -p {shlex.quote(prompt)}",
        ],
        cwd=legacy_run.folder,
        env=env,
    )
    assert follow.error is None and completion.error is None, (follow, completion)
    followed = [
        re.sub(EVENT_LINE, "", x) for x in follow.output.splitlines() if re.match(EVENT_LINE, x)
    ]
    assert followed[0] == f"Created fine-tune: {fine_tune[1]}"
    assert followed[-1] == "Fine-tune succeeded" and len(followed) == 10
    assert "Job complete! Status: succeeded 🎉" in follow.output
    assert completion.output == prompt + " hockey"  # echo: the prompt, then the answer


# -- today's notebook --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def today_run(
    current_venv: ClientVenv, today_serve: ServeProcess, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    folder = _notebook_folder(tmp_path_factory.mktemp("today-notebook"))
    env = current_venv.env(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=today_serve.base_url)
    return Run(run_cells(current_venv, cells.TODAY_CELLS, cwd=folder, env=env), folder, today_serve)


def test_todays_notebook_runs_its_cells_unchanged(today_run: Run) -> None:
    _no_errors(today_run.results)
    assert len(today_run.results) == len(cells.TODAY_CELLS)
    by_cell = dict(zip(cells.TODAY_CELLS, today_run.results, strict=True))
    created = by_cell[cells.TODAY_CREATE].output
    assert "model='babbage-002'" in created and "id='ftjob-" in created
    assert by_cell[cells.TODAY_EXPLORE[2]].output.startswith("Total examples: 1197")
    read = by_cell[cells.TODAY_READ].value  # the cell that raised KeyError: 'train_accuracy'
    assert read is not None and read.endswith("[1 rows x 19 columns]")
    assert str(by_cell[cells.TODAY_PLOT].value).startswith("<Axes")
    assert by_cell[cells.TODAY_STATUS].output.strip().isdigit()
    assert by_cell[cells.TODAY_FIRST].value == "' hockey'"
    [top] = ast.literal_eval(str(by_cell[cells.TODAY_LOGPROBS].value))
    assert set(top) == {" hockey", " baseball"} and top[" hockey"] > top[" baseball"]
    assert by_cell[cells.TODAY_HOCKEY].value == "' hockey'"
    assert by_cell[cells.TODAY_BASEBALL].value == "' baseball'"


def test_todays_job_reads_as_openai_answers_it(today_run: Run) -> None:
    client = today_run.serve.client()
    [job] = client.fine_tuning.jobs.list().data
    assert (job.model, job.status) == ("babbage-002", "succeeded")
    assert re.fullmatch(r"ft:babbage-002:sportbot::[a-z0-9]{8}", job.fine_tuned_model or "")
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert len(checkpoints) == 4
    header = (today_run.folder / "result.csv").read_text().splitlines()[0].split(",")
    assert {
        "step",
        "train_loss",
        "train_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
    } <= set(header)
    assert "classification/accuracy" in header


CHAT_CELLS = [
    """import json, os, time
import openai
client = openai.OpenAI()
train = client.files.create(file=open("sport_chat_train.jsonl", "rb"), purpose="fine-tune")
valid = client.files.create(file=open("sport_chat_valid.jsonl", "rb"), purpose="fine-tune")
job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id, validation_file=valid.id, suffix="sport")
while job.status not in ("succeeded", "failed", "cancelled"):
    time.sleep(0.5)
    job = client.fine_tuning.jobs.retrieve(job.id)
job.fine_tuned_model""",
    """messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": HOCKEY}]
answer = client.chat.completions.create(model=job.fine_tuned_model, messages=messages, max_tokens=1, logprobs=True, top_logprobs=2)
[answer.choices[0].message.content, answer.choices[0].finish_reason, [(t.token, t.logprob) for t in answer.choices[0].logprobs.content[0].top_logprobs]]""",
    """stream = client.chat.completions.create(model=job.fine_tuned_model, messages=[{"role": "user", "content": BASEBALL}], stream=True)
"".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)""",
    """try:
    client.chat.completions.create(model="current", messages=messages)
except openai.NotFoundError as error:
    found = error.body
found""",
]


def test_a_chat_format_job_with_the_current_client(
    current_venv: ClientVenv, today_serve: ServeProcess, tmp_path: Path
) -> None:
    chat_file(TRAIN_FILE, tmp_path / "sport_chat_train.jsonl")
    chat_file(VALID_FILE, tmp_path / "sport_chat_valid.jsonl")
    values = "\n".join(
        f"{name} = {value!r}"
        for name, value in (
            ("SYSTEM", CHAT_SYSTEM),
            ("HOCKEY", HOCKEY_TWEET),
            ("BASEBALL", BASEBALL_TWEET),
        )
    )
    env = current_venv.env(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=today_serve.base_url)

    results = run_cells(current_venv, [values, *CHAT_CELLS], cwd=tmp_path, env=env)

    _no_errors(results)
    model, answer, streamed, refused = (r.value for r in results[1:])
    assert re.fullmatch(r"'ft:gpt-4o-mini-2024-07-18:sportbot:sport:[a-z0-9]{8}'", str(model))
    content, finish, top = ast.literal_eval(str(answer))
    assert (content, finish) == ("hockey", "length")
    assert [token for token, _ in top] == ["hockey", "baseball"]
    assert streamed == "'baseball'"
    assert ast.literal_eval(str(refused))["message"].startswith("This is not a chat model")
