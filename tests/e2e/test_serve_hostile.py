"""Hostile input against ``sportbot serve`` as a process on loopback (docs/limits.md): each
class of attack is answered with a 4xx within a bound on time (``pytest.mark.timeout`` and
the asserts) and memory (the server's high-water mark), and leaves no state that lies.

1. bounded training: a huge row, too many features, absurd hyperparameters, a full queue;
   cancel and SIGTERM stop a job at once.
2. bounded requests: streamed uploads past the limit, long form fields and JSON bodies, long
   prompts (classified off the event loop), wrong keys slowed down, a short key refused.
3. 4xx never 500: bad headers, bogus encodings, control characters, malformed multipart, deep
   nesting, NaN, booleans for numbers.
4. state that cannot lie: no server paths, files in use kept, a killed upload's leftovers
   removed, a dead job's results not served, a reused pid not taken for the owner.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.process_memory import MIB, TreeMemory, descendants, rss
from tests.support.reference_model import TrainedHome, copy_trained_home
from tests.support.sportbot_serve import API_KEY, TRAIN, PlainHttp, ServeProcess, upload

BASELINE_HEADROOM = 300 * MIB
"""What a refused hostile request may add to the server's peak memory, at most."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedHome:
    return copy_trained_home(tmp_path_factory.mktemp("hostile") / "home")


@pytest.fixture(scope="module")
def serve_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-log") / "serve.log"


@pytest.fixture(scope="module")
def serve(trained: TrainedHome, serve_log: Path) -> Iterator[ServeProcess]:
    server = ServeProcess.start(trained.home, log_path=serve_log)
    yield server
    server.stop()


@pytest.fixture
def client(serve: ServeProcess) -> openai.OpenAI:
    return serve.client(timeout=60)


def port_of(serve: ServeProcess) -> int:
    return int(serve.base_url.rsplit(":", 1)[1].split("/")[0])


def raw_request(
    serve: ServeProcess, head: bytes, body: bytes = b"", timeout_s: float = 30
) -> bytes:
    """Send ``head`` (request line and headers, CRLF-separated, without the blank line) and
    ``body`` as they are; the whole answer."""
    with socket.create_connection(("127.0.0.1", port_of(serve)), timeout=timeout_s) as sock:
        sock.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(1 << 16):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def error_of(answer: bytes) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    return error


def bearer(key: str = API_KEY) -> bytes:
    return f"Authorization: Bearer {key}".encode()


def post_json(serve: ServeProcess, path: str, body: bytes, *extra: bytes) -> bytes:
    head = b"\r\n".join(
        [
            f"POST /v1{path} HTTP/1.1".encode(),
            b"Host: x",
            bearer(),
            b"Content-Type: application/json",
            f"Content-Length: {len(body)}".encode(),
            *extra,
        ]
    )
    return raw_request(serve, head, body)


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for prompt, completion in rows:
            handle.write(json.dumps({"prompt": prompt + "\n\n###\n\n", "completion": completion}))
            handle.write("\n")
    return path


def distinct_words(count: int, start: int = 0) -> str:
    return " ".join(f"w{i:x}" for i in range(start, start + count))


def wait_status(client: openai.OpenAI, job_id: str, wanted: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while client.fine_tuning.jobs.retrieve(job_id).status != wanted:
        assert time.monotonic() < deadline, f"{job_id} never became {wanted}"
        time.sleep(0.05)


def long_job(client: openai.OpenAI, training_file: str) -> str:
    """A job that trains for minutes unless stopped (50 epochs of 948 one-row steps)."""
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=training_file,
        method={
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": 50, "batch_size": 1}},
        },
    )
    return job.id


# -- 1. bounded training ----------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_huge_row_is_refused_naming_its_line_within_bounded_memory(
    serve: ServeProcess, client: openai.OpenAI, tmp_path: Path
) -> None:
    rows = [("a baseball game", " baseball"), ("a hockey game", " hockey")] * 3
    rows.insert(3, (distinct_words(1_100_000), " hockey"))  # about 10 MB of distinct words
    path = write_rows(tmp_path / "huge_row.jsonl", rows)
    file_id = upload(client, path)
    baseline = rss(serve.process.pid)
    with TreeMemory(serve.process.pid) as memory:
        started = time.monotonic()
        with pytest.raises(openai.BadRequestError) as caught:
            client.fine_tuning.jobs.create(model="babbage-002", training_file=file_id)
        took = time.monotonic() - started
    message = str(caught.value)
    assert "line 4 is too long" in message and "at most 200,000 characters" in message
    assert file_id in message and str(serve.home) not in message
    assert took < 10
    assert memory.peak_total < baseline + BASELINE_HEADROOM


@pytest.mark.timeout(120)
def test_too_many_features_are_refused_naming_the_line(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    rows = [
        (distinct_words(20_000, start=i * 20_000), " baseball" if i % 2 else " hockey")
        for i in range(14)
    ]  # 280,000 distinct words in rows of about 150,000 characters
    file_id = upload(client, write_rows(tmp_path / "wide.jsonl", rows))
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="babbage-002", training_file=file_id)
    assert "too many features for the model at line 13" in str(caught.value)
    assert "250,000 distinct words" in str(caught.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "hyperparameters",
    [{"n_epochs": 1_000_000_000}, {"n_epochs": 51}, {"n_epochs": True}, {"batch_size": 10**9}],
    ids=["n_epochs-1e9", "n_epochs-51", "n_epochs-true", "batch_size-1e9"],
)
def test_hyperparameters_out_of_range_are_refused(
    client: openai.OpenAI, hyperparameters: dict[str, object]
) -> None:
    file_id = upload(client, TRAIN)
    method = {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="babbage-002", training_file=file_id, method=method)
    assert caught.value.param == next(iter(hyperparameters))  # type: ignore[attr-defined]


@pytest.mark.timeout(240)
def test_the_queue_is_bounded_and_a_running_job_is_cancelled_within_two_seconds(
    serve: ServeProcess, client: openai.OpenAI
) -> None:
    file_id = upload(client, TRAIN)
    running = long_job(client, file_id)
    wait_status(client, running, "running")
    waiting = [long_job(client, file_id) for _ in range(16)]
    with pytest.raises(openai.RateLimitError):
        long_job(client, file_id)
    for job_id in waiting:
        assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"

    time.sleep(1.0)  # well inside its steps
    children = descendants(serve.process.pid)
    assert children, "the job trains in a child process"
    started = time.monotonic()
    cancelled = client.fine_tuning.jobs.cancel(running)
    took = time.monotonic() - started
    assert cancelled.status == "cancelled" and took < 2.5, (cancelled.status, took)
    gone_by = time.monotonic() + 2
    while descendants(serve.process.pid):
        assert time.monotonic() < gone_by, "the training process outlived its cancel"
        time.sleep(0.05)
    assert client.fine_tuning.jobs.retrieve(running).result_files == []


@pytest.mark.timeout(120)
def test_a_job_is_cancelled_within_two_seconds_while_it_reads_its_file(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    base = [json.loads(line) for line in TRAIN.read_text().splitlines()]
    path = tmp_path / "long_read.jsonl"
    with path.open("w") as handle:
        for copy in range(40):  # about 38,000 rows: seconds to read and featurize
            for row in base:
                handle.write(json.dumps({**row, "prompt": f"{copy} {row['prompt']}"}) + "\n")
    job = client.fine_tuning.jobs.create(model="babbage-002", training_file=upload(client, path))
    wait_status(client, job.id, "running")
    started = time.monotonic()
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    took = time.monotonic() - started
    assert cancelled.status == "cancelled" and took < 2.5, (cancelled.status, took)


@pytest.mark.timeout(120)
def test_sigterm_stops_serve_and_its_training_within_ten_seconds(
    trained: TrainedHome, tmp_path: Path
) -> None:
    home = copy_trained_home(tmp_path / "home").home
    server = ServeProcess.start(home)
    client = server.client(timeout=60)
    job_id = long_job(client, upload(client, TRAIN))
    wait_status(client, job_id, "running")
    children = descendants(server.process.pid)
    assert children
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=15)
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 3
    while any(Path(f"/proc/{child}").exists() for child in children):
        assert time.monotonic() < deadline, "the training process outlived its server"
        time.sleep(0.05)
    status = json.loads((home / "jobs" / job_id / "job.json").read_text())["status"]
    assert status == "cancelled"


# -- 2. bounded requests ----------------------------------------------------------------------


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    boundary = b"--HOSTILE"
    yield boundary + b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
    yield (
        boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n'
    )
    line = (b'{"prompt": "x", "completion": " y"}\n' * (size // 36 + 1))[:size]
    sent = 0
    while sent < total:
        yield line
        sent += len(line)
    yield b"\r\n" + boundary + b"--\r\n"


@pytest.mark.timeout(180)
def test_an_upload_over_the_limit_streamed_without_a_length_is_refused_and_nothing_is_kept(
    serve: ServeProcess, client: openai.OpenAI
) -> None:
    before = sorted(p.name for p in (serve.home / "files").iterdir())
    connection = http.client.HTTPConnection("127.0.0.1", port_of(serve), timeout=120)
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": "multipart/form-data; boundary=HOSTILE",
    }
    baseline = rss(serve.process.pid)
    with TreeMemory(serve.process.pid) as memory:
        try:
            connection.request(
                "POST", "/v1/files", body=_chunks(513 * MIB), headers=headers, encode_chunked=True
            )
            answer = connection.getresponse()
            status, error = answer.status, json.loads(answer.read())["error"]
        finally:
            connection.close()
    assert status == 413 and "at most 536,870,912 bytes" in error["message"]
    assert sorted(p.name for p in (serve.home / "files").iterdir()) == before
    assert memory.peak_total < baseline + BASELINE_HEADROOM
    declared = raw_request(
        serve,
        b"POST /v1/files HTTP/1.1\r\nHost: x\r\n" + bearer() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=HOSTILE\r\nContent-Length: 1000000000",
    )
    assert status_of(declared) == 413


@pytest.mark.timeout(60)
def test_a_long_form_field_is_refused_without_being_echoed(serve: ServeProcess) -> None:
    purpose = b"p" * (20 * MIB)
    body = (
        b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n' + purpose + b"\r\n--B\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{}\r\n--B--\r\n'
    )
    head = (
        b"POST /v1/files HTTP/1.1\r\nHost: x\r\n" + bearer() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=B\r\n"
        + f"Content-Length: {len(body)}".encode()
    )
    baseline = rss(serve.process.pid)
    with TreeMemory(serve.process.pid) as memory:
        answer = raw_request(serve, head, body)
    assert status_of(answer) == 400
    assert "longer than 1024 bytes" in error_of(answer)["message"] and len(answer) < 2000
    assert memory.peak_total < baseline + BASELINE_HEADROOM


@pytest.mark.timeout(60)
def test_json_bodies_and_prompts_are_bounded(serve: ServeProcess, trained: TrainedHome) -> None:
    big = json.dumps({"model": trained.model_id, "prompt": "x" * (5 * MIB)}).encode()
    assert status_of(post_json(serve, "/completions", big)) == 413
    long = json.dumps({"model": trained.model_id, "prompt": "x " * 100_001}).encode()
    answer = post_json(serve, "/completions", long)
    assert status_of(answer) == 400 and error_of(answer)["param"] == "prompt"
    chat = {"model": trained.model_id, "messages": [{"role": "user", "content": "x" * 200_001}]}
    answer = post_json(serve, "/chat/completions", json.dumps(chat).encode())
    assert status_of(answer) == 400 and error_of(answer)["param"] == "messages"


@pytest.mark.timeout(60)
def test_a_maximum_prompt_does_not_hold_up_other_requests(
    serve: ServeProcess, trained: TrainedHome
) -> None:
    words = " ".join(["hockey", "baseball", "puck", "inning", "goal"] * 40_000)[:200_000]
    body = json.dumps({"model": trained.model_id, "prompt": [words] * 5}).encode()
    http = PlainHttp(serve.base_url)
    warm = http.request("POST", "/completions", {"model": trained.model_id, "prompt": "warm"})
    assert warm[0] == 200, warm  # the model is loaded: what is measured is the classification
    worst = 0.0
    with socket.create_connection(("127.0.0.1", port_of(serve))) as sock:
        sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + bearer() + b"\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.settimeout(0.0)
        answered = b""
        deadline = time.monotonic() + 30
        while b"text_completion" not in answered:
            assert time.monotonic() < deadline
            started = time.monotonic()
            assert http.request("GET", "/models")[0] == 200
            worst = max(worst, time.monotonic() - started)
            with contextlib.suppress(BlockingIOError):
                answered += sock.recv(1 << 20)
    assert worst < 0.5, worst  # docs/limits.md: ~100 ms on an idle machine (BENCHMARKS.md)


@pytest.mark.timeout(60)
def test_a_short_api_key_stops_serve_at_the_start(tmp_path: Path) -> None:
    env = {**os.environ, "SPORTBOT_HOME": str(tmp_path / "home"), "SPORTBOT_API_KEY": "a"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1
    assert lines[0].startswith("sportbot: error: SPORTBOT_API_KEY is too short (1 characters)")


@pytest.mark.timeout(120)
def test_wrong_keys_are_slowed_down_after_ten(tmp_path: Path) -> None:
    server = ServeProcess.start(tmp_path / "home")
    try:
        wrong = PlainHttp(server.base_url, api_key="x" * 20)
        started = time.monotonic()
        statuses = [wrong.request("GET", "/models")[0] for _ in range(15)]
        took = time.monotonic() - started
        assert statuses == [401] * 15
        assert took >= 4.0, took  # 10 free, then one a second
        assert PlainHttp(server.base_url).request("GET", "/models")[0] == 200
    finally:
        server.stop()


# -- 3. 4xx never 500 -------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_malformed_requests_are_4xx_never_500(
    serve: ServeProcess, trained: TrainedHome, serve_log: Path
) -> None:
    model = trained.model_id.encode()
    get = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"
    multipart = b"POST /v1/files HTTP/1.1\r\nHost: x\r\n" + bearer() + b"\r\n"
    cut = (
        b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--B\r\n'
        b'Content-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{"prompt"'
    )
    cases = {
        "non-ASCII key": (get + b"Authorization: Bearer \xe9\xff\xfe", b"", 401),
        "undecodable header": (get + bearer() + b"\r\nX-Thing: \xff\xfe", b"", 200),
        "control characters in an id": (
            b"GET /v1/fine_tuning/jobs/ftjob-%00%0AFORGED HTTP/1.1\r\nHost: x\r\n" + bearer(),
            b"",
            404,
        ),
        "control characters in a query": (
            b"GET /v1/files?purpose=%0Afine-tune HTTP/1.1\r\nHost: x\r\n" + bearer(),
            b"",
            400,
        ),
        "truncated multipart": (
            multipart
            + b"Content-Type: multipart/form-data; boundary=B\r\n"
            + f"Content-Length: {len(cut)}".encode(),
            cut,
            400,
        ),
        "malformed multipart": (
            multipart + b"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 7",
            b"garbage",
            400,
        ),
    }
    for name, (head, body, expected) in cases.items():
        assert status_of(raw_request(serve, head, body)) == expected, name
    bodies = {
        "not gzip": (b'{"model": "' + model + b'", "prompt": "hi"}', b"Content-Encoding: gzip"),
        "deep nesting": (b'{"prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"X: y"),
        "NaN in logit_bias": (
            b'{"model": "' + model + b'", "prompt": "hi", "logit_bias": {"1": NaN}}',
            b"X: y",
        ),
        "Infinity": (
            b'{"model": "' + model + b'", "prompt": "hi", "temperature": Infinity}',
            b"X: y",
        ),
        "n: true": (b'{"model": "' + model + b'", "prompt": "hi", "n": true}', b"X: y"),
        "best_of: true": (b'{"model": "' + model + b'", "prompt": "hi", "best_of": 2.0}', b"X: y"),
        "unknown charset": (b"{}", b"X: y"),
    }
    for name, (body, extra) in bodies.items():
        path = "/completions"
        if name == "unknown charset":
            answer = raw_request(
                serve,
                b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + bearer() + b"\r\n"
                b"Content-Type: application/json; charset=nope\r\nContent-Length: 2",
                body,
            )
        else:
            answer = post_json(serve, path, body, extra)
        assert status_of(answer) == 400, (name, answer[-300:])
        assert "Traceback" not in answer.decode(errors="replace")
    logged = serve_log.read_text(errors="replace")
    assert "GET /v1/fine_tuning/jobs/ftjob-%00%0AFORGED" in logged
    assert "\nFORGED" not in logged
    assert "refused a malformed request ('Can not decode content-encoding: gzip')" in logged
    assert "Traceback" not in logged  # a client's mistakes are not the server's errors


@pytest.mark.timeout(60)
def test_deep_nesting_in_a_training_file_is_a_bad_file(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(
        '{"prompt": "a\\n\\n###\\n\\n", "completion": " hockey"}\n'
        + '{"prompt": ' + "[" * 100_000 + "]" * 100_000 + ', "completion": " x"}\n'
    )  # fmt: skip
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="babbage-002", training_file=upload(client, path))
    assert "line 2 is nested too deeply" in str(caught.value)


# -- 4. state that cannot lie ------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_job_made_by_the_cli_shows_no_server_path(
    serve: ServeProcess, trained: TrainedHome
) -> None:
    http = PlainHttp(serve.base_url)
    job = http.get(f"/fine_tuning/jobs/{trained.job_id}")
    events = http.get(f"/fine_tuning/jobs/{trained.job_id}/events?limit=1000")
    shown = json.dumps([job, events])
    assert job["training_file"] == TRAIN.name
    assert str(TRAIN.parent) not in shown and str(serve.home) not in shown


@pytest.mark.timeout(120)
def test_a_file_a_live_job_uses_cannot_be_deleted(client: openai.OpenAI) -> None:
    file_id = upload(client, TRAIN)
    job_id = long_job(client, file_id)
    try:
        with pytest.raises(openai.BadRequestError) as caught:
            client.files.delete(file_id)
        assert job_id in str(caught.value)
    finally:
        client.fine_tuning.jobs.cancel(job_id)
    assert client.files.delete(file_id).deleted


@pytest.mark.timeout(180)
def test_kill_9_leaves_nothing_a_new_server_shows_or_keeps(tmp_path: Path) -> None:
    home = copy_trained_home(tmp_path / "home").home
    server = ServeProcess.start(home)
    client = server.client(timeout=60)
    job_id = long_job(client, upload(client, TRAIN))
    wait_status(client, job_id, "running")
    time.sleep(2.5)  # some result rows written
    connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=60)
    connection.putrequest("POST", "/v1/files")
    connection.putheader("Authorization", f"Bearer {API_KEY}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=HOSTILE")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    chunks = _chunks(64 * MIB)
    for _ in range(20):  # about 18 MB of the file's bytes arrive, then the server dies
        chunk = next(chunks)
        connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".part~") for p in (home / "files").iterdir()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    children = descendants(server.process.pid)
    server.process.kill()
    server.process.wait(timeout=30)
    connection.close()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{child}").exists() for child in children):
        assert time.monotonic() < deadline, "the training process outlived its server"
        time.sleep(0.05)

    again = ServeProcess.start(home)
    try:
        client = again.client(timeout=60)
        assert [p.name for p in (home / "files").iterdir() if p.name.startswith(".part~")] == []
        listed = [f.id for f in client.files.list()]
        kept = [p.name.removesuffix(".meta.json") for p in (home / "files").glob("*.meta.json")]
        assert [f for f in listed if f.startswith("file-") and f in kept] == kept
        assert f"file-{job_id[6:]}" not in listed
        contents = [p for p in (home / "files").iterdir() if not p.name.endswith(".meta.json")]
        assert sorted(p.name.split(".")[0] for p in contents) == sorted(kept)
        job = client.fine_tuning.jobs.retrieve(job_id)
        assert job.status == "failed" and job.result_files == []
        status, _ = PlainHttp(again.base_url).request("GET", f"/files/file-{job_id[6:]}/content")
        assert status == 404
    finally:
        again.stop()


@pytest.mark.timeout(120)
def test_a_job_whose_pid_was_reused_is_failed_and_cancel_says_so(tmp_path: Path) -> None:
    home = copy_trained_home(tmp_path / "home").home
    server = ServeProcess.start(home)
    try:
        http = PlainHttp(server.base_url)
        job_path = next((home / "jobs").glob("*/job.json"))
        job = json.loads(job_path.read_text())
        for pid, token in ((server.process.pid, "a-process-before-a-restart"), (1, None)):
            job.update(
                status="running",
                finished_at=None,
                fine_tuned_model=None,
                pid=pid,
                owner_token=token,
                heartbeat_at=time.time() - 120,
                host=socket.gethostname(),
            )
            job_path.write_text(json.dumps(job))
            (job_path.parent / "heartbeat").unlink(missing_ok=True)
            shown = http.get(f"/fine_tuning/jobs/{job['id']}")
            assert shown["status"] == "failed", (pid, shown["status"])
            status, answer = http.request("POST", f"/fine_tuning/jobs/{job['id']}/cancel")
            assert status == 400 and "already failed" in answer["error"]["message"]
    finally:
        server.stop()
