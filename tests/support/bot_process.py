"""Run ``sportbot run`` (HTTP mode) as a real process, the way an operator starts it.

Settings come from the environment only (the working folder has no ``.env``); the process logs
at INFO (the CLI's own level is WARNING, ``--verbose`` DEBUG) to a file the test can read, so
that what an operator's INFO log would show can be checked. ``kill()`` sends SIGKILL, as a
crash or an OOM kill would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]

RUN_AT_INFO = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')\n"
    "from bot.cli import main\n"
    "sys.exit(main(['run']))\n"
)
"""``sportbot run`` with the root logger at INFO (``main`` keeps a configured root logger)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(**values: str) -> dict[str, str]:
    """This environment without any Slack/sportbot/database setting, plus ``values``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SPORTBOT_", "OPENAI_"))
        and k not in ("DATABASE_URL", "PORT")
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(values)
    return env


@dataclass
class BotProcess:
    """One ``sportbot run`` process serving on ``port``."""

    port: int
    log_path: Path
    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen[bytes] | None = None
    _log: object = field(default=None, repr=False)

    @classmethod
    def spawn(cls, cwd: Path, *, name: str = "bot", **settings: str) -> BotProcess:
        """Start the process (not waiting for it: see ``wait_healthy``)."""
        cwd.mkdir(parents=True, exist_ok=True)
        port = int(settings.pop("PORT", "0")) or free_port()
        bot = cls(
            port=port,
            log_path=cwd / f"{name}.log",
            env=bot_env(PORT=str(port), **settings),
            cwd=cwd,
        )
        bot.start()
        return bot

    def start(self) -> None:
        """(Re)start the process with the same settings; its log is appended to."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in wait()/kill()
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUN_AT_INFO],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_bytes(self) -> int:
        """Resident memory now (``VmRSS`` of /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    async def wait_healthy(self, http: aiohttp.ClientSession, timeout: float = 120.0) -> None:
        """Wait for ``GET /healthz`` to answer 200; fail with the log when the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"sportbot run exited:\n{self.log()[-3000:]}")
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"sportbot run never became healthy:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the process."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; return the exit status (SIGKILL if it does not stop in time)."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self._reap()

    def _reap(self) -> int:
        code = self.process.wait() if self.process is not None else 0
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None
        return code


@dataclass
class ServedProcess(BotProcess):
    """A ``BotProcess`` started with any command line (``BotProcess`` runs ``sportbot run`` at
    INFO; a benchmark runs the bot as an operator starts it, ``python -m bot.cli run``, or
    another app altogether)."""

    argv: list[str] = field(default_factory=list)

    @classmethod
    def launch(cls, argv: list[str], cwd: Path, name: str, **settings: str) -> ServedProcess:
        """Start ``argv`` in ``cwd`` on a free ``PORT`` with only ``settings`` of the
        Slack/sportbot kind in its environment; its output goes to ``cwd/<name>.log``."""
        cwd.mkdir(parents=True, exist_ok=True)
        port = free_port()
        served = cls(
            port=port,
            log_path=cwd / f"{name}.log",
            env=bot_env(PORT=str(port), **settings),
            cwd=cwd,
            argv=argv,
        )
        served.start()
        return served

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self._log = log
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
