"""``sportbot serve``'s limits that take time or many requests to reach with the defaults, on a
server given small ``ApiLimits``: a body that stops arriving, one that trickles, wrong keys past
the free ones, leftovers of a killed upload, bytes that are not UTF-8 in a path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.sportbot_serve import API_KEY
from training.api import RunningServer, start_server
from training.api.files import TEMPORARY_PREFIX
from training.job_owner import PROCESS_TOKEN
from training.limits import ApiLimits

LIMITS = ApiLimits(
    body_idle_timeout_s=0.5,
    json_body_timeout_s=1.5,
    free_wrong_keys=2,
    wrong_key_interval_s=0.5,
    wrong_key_max_wait_s=1.2,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("limits-home"), API_KEY, limits=LIMITS)
    yield running
    running.stop()


def exchange(server: RunningServer, pieces: list[bytes], pause_s: float = 0.0) -> bytes:
    """Send ``pieces`` with ``pause_s`` between them; the answer, once whole (the server may
    keep reading what the client sends after it for a while)."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:  # the server answered and closed first
                break
            time.sleep(pause_s)
        answer = b""
        while not _whole(answer) and (chunk := sock.recv(1 << 16)):
            answer += chunk
    return answer


def _whole(answer: bytes) -> bool:
    header, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def head(method: str, path: str, *headers: str, key: str = API_KEY) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", f"Authorization: Bearer {key}", *headers]
    return ("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.timeout(30)
def test_a_body_that_stops_arriving_is_a_408(server: RunningServer) -> None:
    started = time.monotonic()
    answer = exchange(
        server,
        [
            head(
                "POST", "/v1/completions", "Content-Type: application/json", "Content-Length: 100"
            ),
            b'{"model": ',
        ],
    )
    assert status_of(answer) == 408, answer
    assert 0.4 < time.monotonic() - started < 5


@pytest.mark.timeout(30)
def test_a_json_body_that_trickles_is_a_408_at_its_deadline(server: RunningServer) -> None:
    started = time.monotonic()
    answer = exchange(
        server,
        [head("POST", "/v1/completions", "Content-Type: application/json", "Content-Length: 60")]
        + [b" "] * 40,
        pause_s=0.1,
    )
    assert status_of(answer) == 408, answer
    assert time.monotonic() - started < 5


@pytest.mark.timeout(30)
def test_an_upload_that_stops_arriving_is_a_408_and_nothing_is_kept(
    server: RunningServer,
) -> None:
    files = server_home(server) / "files"
    before = sorted(os.listdir(files)) if files.exists() else []
    body = (
        b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--B\r\n'
        b'Content-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{"prompt": "a'
    )
    answer = exchange(
        server,
        [
            head(
                "POST",
                "/v1/files",
                "Content-Type: multipart/form-data; boundary=B",
                "Content-Length: 100000",
            ),
            body,
        ],
    )
    assert status_of(answer) == 408, answer
    assert (sorted(os.listdir(files)) if files.exists() else []) == before


@pytest.mark.timeout(30)
def test_a_path_with_bytes_that_are_not_utf8_is_a_404(server: RunningServer) -> None:
    request = head("GET", "/v1/files/file-PLACE").replace(b"PLACE", b"\xff\xfe")
    answer = exchange(server, [request])
    assert status_of(answer) in (400, 404), answer


@pytest.mark.timeout(60)
def test_wrong_keys_past_the_free_ones_wait_their_turn_then_are_refused(
    tmp_path: Path,
) -> None:
    running = start_server(tmp_path / "home", API_KEY, limits=LIMITS)
    try:
        wrong = head("GET", "/v1/models", key="w" * 20)
        started = time.monotonic()
        statuses = [status_of(exchange(running, [wrong])) for _ in range(4)]
        took = time.monotonic() - started
        assert statuses == [401] * 4
        assert took >= 0.45, took  # the fourth waited for the third's turn to pass
        with ThreadPoolExecutor(max_workers=6) as pool:  # at once: their turns pile up
            answers = list(pool.map(lambda _: exchange(running, [wrong]), range(6)))
        refused = [a for a in answers if status_of(a) == 429]
        assert refused and b"Retry-After: " in refused[0]
        assert json.loads(refused[0].split(b"\r\n\r\n", 1)[1])["error"]["code"] == (
            "rate_limit_exceeded"
        )
    finally:
        running.stop()


def test_a_killed_uploads_leftovers_are_removed_when_a_server_starts(tmp_path: Path) -> None:
    files = tmp_path / "home" / "files"
    files.mkdir(parents=True)
    gone_pid = _dead_pid()
    host = socket.gethostname()
    left = files / f"{TEMPORARY_PREFIX}{host}~{gone_pid}~token~file-0000000000000001a"
    left.write_bytes(b"x" * 1000)
    ours = files / f"{TEMPORARY_PREFIX}{host}~{os.getpid()}~{PROCESS_TOKEN}~file-2"
    ours.write_bytes(b"still being written")
    before_restart = files / f"{TEMPORARY_PREFIX}{host}~{os.getpid()}~other-token~file-3"
    before_restart.write_bytes(b"a restarted container's PID 1 wrote this")
    orphan = files / "file-00000000000000044.jsonl"  # its bytes, never its file object
    orphan.write_bytes(b"{}\n")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    running = start_server(tmp_path / "home", API_KEY, limits=LIMITS)
    running.stop()
    assert sorted(p.name for p in files.iterdir()) == [ours.name]


def server_home(server: RunningServer) -> Path:
    from training.api.app import RUNNER_KEY

    app = server._runner.app
    return app[RUNNER_KEY].home


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
