"""The ``sportbot`` command as a process, on input it cannot use: one ``sportbot: error: …`` line
and status 1, never a traceback (README, "Commands").

Files a user cannot read or folders they cannot write are made by running the command as an
unprivileged user: ``nobody`` through ``setpriv`` when the tests run as root (root reads and
writes everything), the user running the tests otherwise.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifier.registry import ModelRegistry
from tests.support.bot_process import free_port
from tests.support.model_files import copy_model
from tests.support.reference_model import TRAIN, VALID, TrainedHome, copy_trained_home

ROOT = Path(__file__).resolve().parents[2]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
AS_ROOT = os.geteuid() == 0
HOCKEY = "The goalie made 35 saves and the Rangers won in overtime on a power play goal."


def others_may_enter(path: Path) -> bool:
    """Whether every folder from the root down to ``path`` lets other users through (a clone
    inside ``mktemp -d``, mode 700, does not: the unprivileged user could not import ``bot``)."""
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in [path, *path.parents])


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder the unprivileged user may enter (pytest's tmp_path is root's alone)."""
    if AS_ROOT and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    folder = Path(tempfile.mkdtemp(prefix="sportbot-cli-errors-"))
    folder.chmod(0o755)
    (folder / "user").mkdir(mode=0o777)
    (folder / "user").chmod(0o777)  # HOME and MPLCONFIGDIR of the command
    yield folder
    for path, dirs, _files in os.walk(folder):
        for name in dirs:
            (Path(path) / name).chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def trained(scratch: Path) -> TrainedHome:
    """A registry with one fine-tuned model and its job, readable by the unprivileged user."""
    trained = copy_trained_home(scratch / "home")
    trained.home.chmod(0o755)
    return trained


def sportbot(
    *args: str,
    scratch: Path,
    home: Path | None = None,
    cwd: Path | None = None,
    unprivileged: bool = False,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot.cli", *args]
    if unprivileged and AS_ROOT:
        if not all(others_may_enter(path) for path in (ROOT, Path(sys.prefix))):
            pytest.skip(f"the unprivileged user cannot reach {ROOT} or {sys.prefix}")
        command = NOBODY + command
    return subprocess.run(
        command,
        cwd=cwd or scratch,
        env=command_env(scratch, home, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def command_env(scratch: Path, home: Path | None, **values: str) -> dict[str, str]:
    prefixes = ("SLACK_", "SPORTBOT_", "OPENAI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    for name in ("PORT", "DATABASE_URL"):
        env.pop(name, None)
    env.update(
        PYTHONPATH=str(ROOT),
        HOME=str(scratch / "user"),
        MPLCONFIGDIR=str(scratch / "user"),
        MPLBACKEND="Agg",
    )
    if home is not None:
        env["SPORTBOT_HOME"] = str(home)
    env.update(values)
    return env


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a command that refused its input (and the check that it is one)."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sportbot: error: "), result.stderr
    return lines[0]


def read_only(folder: Path) -> Path:
    """Take the write permission off ``folder`` and everything in it."""
    for path, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            mode = (Path(path) / name).stat().st_mode
            (Path(path) / name).chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    folder.chmod(0o555)
    return folder


def second_model_promoted(trained: TrainedHome) -> str:
    registry = ModelRegistry(trained.home)
    other = copy_model(registry, trained.model_id, "sportbot-second-model")
    registry.promote(other)
    return other


# -- 1. a SPORTBOT_HOME that cannot be written ----------------------------------------------


def test_a_read_only_home_gives_one_line_naming_what_could_not_be_written(
    scratch: Path, trained: TrainedHome
) -> None:
    second_model_promoted(trained)  # so that rollback has somewhere to go
    home = read_only(trained.home)
    commands = [
        ["fine-tune", "-t", str(TRAIN), "--n-epochs", "1"],
        ["models", "promote", trained.model_id],
        ["models", "rollback"],
    ]
    for command in commands:
        line = error_line(sportbot(*command, scratch=scratch, home=home, unprivileged=True))
        assert line.startswith(f"sportbot: error: cannot access {home}/"), command
        assert line.endswith(": Permission denied"), command


def test_results_of_a_stale_job_in_a_read_only_home(scratch: Path, trained: TrainedHome) -> None:
    """Reading a job whose runner is gone marks it failed: a write the home refuses."""
    job_file = trained.home / "jobs" / trained.job_id / "job.json"
    job = json.loads(job_file.read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job.update(status="running", pid=dead.pid, host=socket.gethostname(), finished_at=None)
    job_file.write_text(json.dumps(job))
    home = read_only(trained.home)
    result = sportbot(
        "results", "-i", trained.job_id, scratch=scratch, home=home, unprivileged=True
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the warning that the job is stale
    assert line.startswith(f"sportbot: error: cannot access {home}/jobs/{trained.job_id}/")
    assert line.endswith(": Permission denied")


def test_a_home_that_is_a_plain_file(scratch: Path, trained: TrainedHome) -> None:
    home = scratch / "not-a-folder"
    home.write_text("x\n")
    commands = [
        ["fine-tune", "-t", str(TRAIN), "--n-epochs", "1"],
        ["models", "promote", trained.model_id],
        ["models", "rollback"],
        ["results", "-i", trained.job_id],
    ]
    for command in commands:
        line = error_line(sportbot(*command, scratch=scratch, home=home))
        assert str(home) in line and "Not a directory" in line, command
    assert home.read_text() == "x\n"


def test_verbose_shows_the_traceback_too(scratch: Path, trained: TrainedHome) -> None:
    home = read_only(trained.home)
    result = sportbot(
        "--verbose", "models", "promote", trained.model_id, scratch=scratch, home=home,
        unprivileged=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "PermissionError" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"sportbot: error: cannot access {home}/.lock: Permission denied"
    )


# -- 2. stdout closed by its reader -----------------------------------------------------------


@pytest.mark.parametrize("what", ["models list", "classify -f", "results -i"])
def test_a_reader_that_goes_away_stops_the_command_quietly(
    scratch: Path, trained: TrainedHome, what: str
) -> None:
    rows = scratch / "rows.jsonl"
    rows.write_text((json.dumps({"text": HOCKEY}) + "\n") * 3)
    args = {
        "models list": ["models", "list"],
        "classify -f": ["classify", "-f", str(rows)],
        "results -i": ["results", "-i", trained.job_id],
    }[what]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=scratch,
        env=command_env(scratch, trained.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head -1` does once it has its line, only sooner
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert stderr == ""


# -- 3. files that are not UTF-8, or cannot be read -------------------------------------------


def test_classify_a_file_that_is_not_utf8(scratch: Path, trained: TrainedHome) -> None:
    latin1 = scratch / "latin1.jsonl"
    latin1.write_bytes(b'{"text":"caf\xe9"}\n')
    line = error_line(sportbot("classify", "-f", str(latin1), scratch=scratch, home=trained.home))
    assert "latin1.jsonl" in line and "not UTF-8" in line


def test_a_file_that_cannot_be_read(scratch: Path, trained: TrainedHome) -> None:
    secret = scratch / "secret.jsonl"
    shutil.copyfile(VALID, secret)
    secret.chmod(0)
    other_home = scratch / "user" / "home"
    commands = [
        ["classify", "-f", str(secret)],
        ["evaluate", "-f", str(secret)],
        ["fine-tune", "-t", str(secret), "--n-epochs", "1"],
    ]
    for command in commands:
        home = other_home if command[0] == "fine-tune" else trained.home
        result = sportbot(*command, scratch=scratch, home=home, unprivileged=True)
        line = error_line(result)
        assert "secret.jsonl" in line and "cannot be read: Permission denied" in line, command


# -- 4. serve ---------------------------------------------------------------------------------


def test_serve_on_a_port_it_cannot_have(scratch: Path) -> None:
    home, key = scratch / "home", {"SPORTBOT_API_KEY": "sk-test-key-0123456789"}
    line = error_line(sportbot("serve", "--port", "99999", scratch=scratch, home=home, **key))
    assert "99999" in line
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sportbot("serve", "--port", str(port), scratch=scratch, home=home, **key)
    assert error_line(result) == (
        f"sportbot: error: cannot listen on 127.0.0.1:{port}: address already in use"
    )
    result = sportbot(
        "serve", "--host", "nosuchhost.invalid", "--port", str(free_port()), scratch=scratch,
        home=home, **key,
    )  # fmt: skip
    assert error_line(result).startswith("sportbot: error: cannot listen on nosuchhost.invalid:")


def test_serve_on_a_home_it_cannot_write_stops_at_the_start(scratch: Path) -> None:
    key = {"SPORTBOT_API_KEY": "sk-test-key-0123456789"}
    (scratch / "a-file").write_text("not a folder")
    read_only = scratch / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)  # for the user running the tests too, when that is not root
    homes = [(scratch / "a-file" / "home", False), (read_only, True), (read_only / "new", True)]
    for home, unprivileged in homes:
        result = sportbot(
            "serve", "--port", str(free_port()), scratch=scratch, home=home,
            unprivileged=unprivileged, **key,
        )  # fmt: skip
        line = error_line(result)
        assert line.startswith(f"sportbot: error: SPORTBOT_HOME {home} cannot hold"), line
        assert line.endswith(("Not a directory", "Permission denied")), line
    assert list(read_only.iterdir()) == []


def test_serve_ignores_settings_it_does_not_use(scratch: Path) -> None:
    port = free_port()
    env = command_env(
        scratch, scratch / "home", SPORTBOT_API_KEY="sk-test-key-0123456789", PORT="abc"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        cwd=scratch,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        ready, _, _ = select.select([process.stderr], [], [], 60)
        first = process.stderr.readline() if ready else ""
        assert first.startswith(f"sportbot: OpenAI-compatible API on http://127.0.0.1:{port}/v1")
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- 5. .env is read by every command ---------------------------------------------------------


def test_every_command_reads_the_env_file_and_the_environment_wins(
    scratch: Path, trained: TrainedHome
) -> None:
    folder = scratch / "project"
    folder.mkdir()
    (folder / ".env").write_text(f"SPORTBOT_HOME={trained.home}\n")

    listed = sportbot("models", "list", scratch=scratch, cwd=folder)
    assert listed.returncode == 0 and trained.model_id in listed.stdout
    classified = sportbot("classify", "--json", HOCKEY, scratch=scratch, cwd=folder)
    assert json.loads(classified.stdout)["model"] == trained.model_id
    evaluated = sportbot("evaluate", "-f", str(VALID), "--json", scratch=scratch, cwd=folder)
    assert json.loads(evaluated.stdout)["model"] == trained.model_id
    results = sportbot("results", "-i", trained.job_id, scratch=scratch, cwd=folder)
    assert results.returncode == 0 and results.stdout.startswith("step,")

    empty = scratch / "empty-home"
    listed = sportbot("models", "list", scratch=scratch, cwd=folder, home=empty)
    assert "No models yet" in listed.stdout


# -- 6. evaluate -m current -------------------------------------------------------------------


def test_evaluate_current_is_the_registrys_current_model(
    scratch: Path, trained: TrainedHome
) -> None:
    other = copy_model(ModelRegistry(trained.home), trained.model_id, "sportbot-other-model")
    pinned = {"SPORTBOT_MODEL": other}
    args = ["evaluate", "-f", str(VALID), "--json"]
    current = sportbot(*args, "-m", "current", scratch=scratch, home=trained.home, **pinned)
    assert json.loads(current.stdout)["model"] == trained.model_id
    default = sportbot(*args, scratch=scratch, home=trained.home, **pinned)
    assert json.loads(default.stdout)["model"] == other  # no -m: SPORTBOT_MODEL, as classify


# -- 7. registry and job files of the wrong shape ---------------------------------------------

WRONG_SHAPES = ['{"id": "x"}', "[1]", "[]", '{"current": 5}', '{"history": "abc"}', "null"]


@pytest.mark.parametrize("content", WRONG_SHAPES)
def test_a_card_of_the_wrong_shape(scratch: Path, trained: TrainedHome, content: str) -> None:
    bad = trained.home / "models" / "sportbot-bad-card"
    bad.mkdir()
    (bad / "card.json").write_text(content)
    listed = sportbot("models", "list", scratch=scratch, home=trained.home)
    assert listed.returncode == 0 and trained.model_id in listed.stdout
    assert "Traceback" not in listed.stderr and "sportbot-bad-card" in listed.stderr
    for command in (["models", "promote", bad.name], ["classify", "-m", bad.name, HOCKEY]):
        line = error_line(sportbot(*command, scratch=scratch, home=trained.home))
        assert str(bad / "card.json") in line, command


@pytest.mark.parametrize("content", WRONG_SHAPES)
def test_a_pointer_file_of_the_wrong_shape(
    scratch: Path, trained: TrainedHome, content: str
) -> None:
    (trained.home / "current.json").write_text(content)
    for command in (["models", "list"], ["classify", HOCKEY], ["models", "rollback"]):
        line = error_line(sportbot(*command, scratch=scratch, home=trained.home))
        assert str(trained.home / "current.json") in line, command


@pytest.mark.parametrize("content", ["{bad", "[1]", '{"id": "x"}', "null", "a folder"])
def test_a_job_file_that_is_not_a_job(scratch: Path, trained: TrainedHome, content: str) -> None:
    job_file = trained.home / "jobs" / trained.job_id / "job.json"
    job_file.unlink()
    if content == "a folder":
        job_file.mkdir()
    else:
        job_file.write_text(content)
    line = error_line(sportbot("results", "-i", trained.job_id, scratch=scratch, home=trained.home))
    assert str(job_file) in line


# -- 8. usage errors --------------------------------------------------------------------------


def test_usage_errors_exit_2_with_the_usage_text(scratch: Path) -> None:
    result = sportbot("fine-tune", "-t", str(TRAIN), "--n-epochs", "abc", scratch=scratch)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: sportbot fine-tune")
    assert "invalid int value: 'abc'" in result.stderr


# -- 9. the small ones ------------------------------------------------------------------------


def test_a_folder_given_as_a_file(scratch: Path, trained: TrainedHome) -> None:
    folder = scratch / "rows.jsonl"
    folder.mkdir()
    for command in (["classify", "-f", str(folder)], ["prepare-data", "-q", "-f", str(folder)]):
        line = error_line(sportbot(*command, scratch=scratch, home=trained.home))
        assert "is not a file" in line and "does not exist" not in line, command


def test_classify_file_without_rows_or_with_an_empty_text(
    scratch: Path, trained: TrainedHome
) -> None:
    empty = scratch / "empty.jsonl"
    empty.write_text("\n")
    line = error_line(sportbot("classify", "-f", str(empty), scratch=scratch, home=trained.home))
    assert "empty.jsonl" in line and "has no rows" in line
    blank = scratch / "blank.jsonl"
    blank.write_text(json.dumps({"text": HOCKEY}) + "\n" + json.dumps({"text": "  "}) + "\n")
    line = error_line(sportbot("classify", "-f", str(blank), scratch=scratch, home=trained.home))
    assert "blank.jsonl: line 2 " in line and "empty" in line


def test_evaluate_names_the_positive_class_as_json_does(
    scratch: Path, trained: TrainedHome
) -> None:
    args = ["evaluate", "-f", str(VALID)]
    as_json = json.loads(sportbot(*args, "--json", scratch=scratch, home=trained.home).stdout)
    text = sportbot(*args, scratch=scratch, home=trained.home).stdout.splitlines()
    assert f"positive class: {as_json['positive_class']}" in text


def test_models_list_columns_line_up_with_a_long_id(scratch: Path, trained: TrainedHome) -> None:
    long_id = "sportbot-" + "a-long-suffix-" * 6 + "end"
    copy_model(ModelRegistry(trained.home), trained.model_id, long_id)
    lines = sportbot("models", "list", scratch=scratch, home=trained.home).stdout.splitlines()
    assert len(lines) == 3
    cards = {card.id: card for card in ModelRegistry(trained.home).list_models()}
    rows = [cards[line[2:].split()[0]] for line in lines[1:]]
    created = {lines[0].index("created")} | {
        line.index(card.created) for line, card in zip(lines[1:], rows, strict=True)
    }
    provider = {lines[0].index("provider")} | {line.index(" local ") + 1 for line in lines[1:]}
    assert len(created) == 1 and len(provider) == 1, lines


@pytest.mark.parametrize("exists", [False, True])
def test_a_rollback_with_nothing_to_roll_back_writes_nothing(scratch: Path, exists: bool) -> None:
    home = scratch / "home"
    if exists:
        home.mkdir()
    line = error_line(sportbot("models", "rollback", scratch=scratch, home=home))
    assert "no current model" in line
    assert home.exists() == exists
    assert not exists or list(home.iterdir()) == []


def test_a_rollback_still_rolls_back(scratch: Path, trained: TrainedHome) -> None:
    second_model_promoted(trained)
    result = sportbot("models", "rollback", scratch=scratch, home=trained.home)
    assert result.stdout.strip() == f"current: {trained.model_id}"
