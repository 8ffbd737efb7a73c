"""``sportbot serve`` on loopback for the tests, with one model fine-tuned through its API.

``served()`` starts the real server on a free port over a fresh ``SPORTBOT_HOME`` and fine-tunes
the notebook's prepared files through the official client, once per test process (the model is
shared by every test that needs one); it is stopped and removed when the process exits.
``ServeProcess.start()`` runs ``sportbot serve`` as its own process instead, as a user starts it
(the end-to-end test of the OpenAI workflow, benchmarks/serve_latency.py).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from tests.support.bot_process import free_port
from tests.support.data_files import ROOT, TRAIN_FILE, VALID_FILE
from training.api import RunningServer, start_server

API_KEY = "sk-sportbot-test-key"
TRAIN = TRAIN_FILE
VALID = VALID_FILE
HOCKEY_TWEET = (
    "Thank you to the @Canes and all you amazing Caniacs that have been so supportive! You guys "
    "are some of the best fans in the NHL without a doubt! Really excited to start this new "
    "chapter in my career with the @DetroitRedWings !!"
)
BASEBALL_TWEET = (
    "BREAKING: The Tampa Bay Rays are finalizing a deal to acquire slugger Nelson Cruz from the "
    "Minnesota Twins, sources tell ESPN."
)


@dataclass(frozen=True)
class Served:
    server: RunningServer
    home: Path
    model_id: str
    job_id: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, **options: object) -> openai.OpenAI:
        return openai.OpenAI(api_key=API_KEY, base_url=self.base_url, **options)  # type: ignore[arg-type]


def wait_for_job(client: openai.OpenAI, job_id: str, timeout_s: float = 180.0) -> object:
    """Poll a job until it ends; the ended job."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"fine-tune {job_id} did not end in {timeout_s} s")


def upload(client: openai.OpenAI, path: Path) -> str:
    with path.open("rb") as handle:
        return client.files.create(file=(path.name, handle), purpose="fine-tune").id


@functools.cache
def served() -> Served:
    home = Path(tempfile.mkdtemp(prefix="sportbot-serve-"))
    server = start_server(home, API_KEY)

    def stop() -> None:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)
    client = openai.OpenAI(api_key=API_KEY, base_url=server.base_url)
    ended = fine_tune_notebook_files(client)
    assert ended.status == "succeeded", ended  # type: ignore[attr-defined]
    return Served(server, home, ended.fine_tuned_model, ended.id)  # type: ignore[attr-defined]


def fine_tune_notebook_files(client: openai.OpenAI) -> object:
    """Upload the notebook's two prepared files, run a ``babbage-002`` job on them to its end
    and return the ended job (succeeded or not: the caller checks)."""
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=upload(client, TRAIN),
        validation_file=upload(client, VALID),
    )
    return wait_for_job(client, job.id)


def http_get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    """A plain GET (no OpenAI client): the status and the JSON body."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@dataclass(frozen=True)
class PlainHttp:
    """JSON over plain HTTP (``urllib``), as a client with no OpenAI package sends it."""

    base_url: str
    api_key: str = API_KEY

    def request(
        self, method: str, path: str, body: object = None, timeout_s: float = 120
    ) -> tuple[int, Any]:
        """The status and the JSON answer (the text when it is not JSON)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=self._headers(data)
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def get(self, path: str) -> Any:
        status, answer = self.request("GET", path)
        assert status == 200, (status, answer)
        return answer

    def post(self, path: str, body: object) -> Any:
        status, answer = self.request("POST", path, body)
        assert status == 200, (status, answer)
        return answer

    def stream_lines(
        self,
        path: str,
        timeout_s: float = 180,
        on_line: Callable[[str], None] | None = None,
    ) -> tuple[str, list[str]]:
        """The content type and every non-empty line of a streamed answer, to its end
        (``on_line`` is given each as it comes)."""
        request = urllib.request.Request(self.base_url + path, headers=self._headers(None))
        lines = []
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            kind = response.headers["Content-Type"]
            for raw in response:
                if raw.strip():
                    lines.append(raw.decode().rstrip("\n"))
                    if on_line is not None:
                        on_line(lines[-1])
        return kind, lines

    def _headers(self, data: bytes | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return headers


@dataclass(frozen=True)
class ServeProcess:
    """``sportbot serve`` (``python -m bot.cli serve``) as its own process on a free port."""

    process: subprocess.Popen[bytes]
    base_url: str
    home: Path
    api_key: str

    @classmethod
    def start(
        cls,
        home: Path,
        api_key: str = API_KEY,
        timeout_s: float = 60.0,
        log_path: Path | None = None,
    ) -> ServeProcess:
        """Start it over ``home`` and return once ``GET /v1/models`` answers 200; if it exits or
        does not answer in time, it is killed and the error says what it printed. Its log
        (stderr, at INFO with ``log_path``) goes to ``log_path`` when given."""
        port = free_port()
        env = {**os.environ, "SPORTBOT_HOME": str(home), "SPORTBOT_API_KEY": api_key}
        command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
        if log_path is not None:
            command.insert(3, "--verbose")
        # stderr goes to a file, not a pipe nobody reads: a full pipe would stall the server.
        with log_path.open("w+b") if log_path is not None else tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            base_url = f"http://127.0.0.1:{port}/v1"
            deadline = time.monotonic() + timeout_s
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    status, _ = http_get(
                        f"{base_url}/models", {"Authorization": f"Bearer {api_key}"}
                    )
                    if status == 200:
                        return cls(process, base_url, home, api_key)
                except OSError:
                    pass
                time.sleep(0.1)
            process.kill()
            process.wait(timeout=30)
            log.seek(0)
            printed = log.read().decode(errors="replace")
        raise RuntimeError(f"sportbot serve did not start: {printed}")

    def client(self, **options: object) -> openai.OpenAI:
        """The official client for it; no retries unless asked (a test or a benchmark wants the
        first answer)."""
        options.setdefault("max_retries", 0)
        return openai.OpenAI(api_key=self.api_key, base_url=self.base_url, **options)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
