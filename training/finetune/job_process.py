"""A recorded fine-tune job trained in a process of its own, so that it can be stopped at any
point: while it reads its files, featurizes them, or is inside one long step.

The child is ``python -m training.finetune.job_process HOME JOB_ID``: it runs the lifecycle's
``run_job`` on the job with the provider the job names, as ``sportbot fine-tune`` would in its
own process, and exits when the process that started it is gone (so a killed server leaves no
training behind it). Its exit code says how the job ended (``EXIT_*``).

``JobProcess`` is the parent's handle: it starts the child in a session of its own (a Ctrl-C
at the terminal reaches the server, which decides), asks it to stop with SIGINT (the lifecycle
then marks the job cancelled, unless the model is being registered: that finishes first), kills
it, and on its end reports its exit code and peak memory. Whoever watches the child ends the
job (``lifecycle.end_stopped_job``) when the child could not.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from classifier.registry import ModelRegistry
from training.finetune.lifecycle import run_job
from training.finetune.providers import provider_named
from training.jobs import FineTuneError, JobCancelledError, JobStore

logger = logging.getLogger(__name__)

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 3
EXIT_ORPHANED = 4
PARENT_POLL_S = 0.25
"""How often the child looks whether its parent is still there."""


class JobProcess:
    """A child process training one recorded job (see the module doc)."""

    def __init__(self, process: subprocess.Popen[bytes], job_id: str) -> None:
        self.process = process
        self.job_id = job_id
        self.peak_rss_bytes: int | None = None
        """The child's peak resident memory, once it has ended."""

    @classmethod
    def start(cls, home: Path, job_id: str) -> JobProcess:
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        command = [sys.executable, "-m", __name__, str(home), job_id, "--log-level", str(level)]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        logger.info("fine-tune %s trains in process %d", job_id, process.pid)
        return cls(process, job_id)

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        """The exit code (negative: the signal that ended it) once the child has ended."""
        if self.process.returncode is not None:
            return self.process.returncode
        try:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: the code is lost, call it a crash
            self.process.returncode = -1
            return -1
        if pid == 0:
            return None
        self.peak_rss_bytes = usage.ru_maxrss * 1024  # kilobytes on Linux
        self.process.returncode = os.waitstatus_to_exitcode(status)
        return self.process.returncode

    def wait(self, timeout_s: float, poll_s: float = 0.05) -> int | None:
        """``poll`` until the child ends or ``timeout_s`` has passed."""
        deadline = time.monotonic() + timeout_s
        while (code := self.poll()) is None and time.monotonic() < deadline:
            time.sleep(poll_s)
        return code

    def interrupt(self) -> None:
        """Ask the child to stop now (SIGINT: its job is marked cancelled)."""
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)


def describe_exit(code: int) -> str:
    """How a child's exit code reads in a job's error message."""
    if code < 0:
        try:
            name: object = signal.Signals(-code).name
        except ValueError:
            name = -code
        hint = " (perhaps it ran out of memory)" if code == -signal.SIGKILL else ""
        return f"the training process was stopped by signal {name}{hint}"
    return f"the training process exited with code {code}"


def _exit_with_parent() -> None:
    """Exit at once when the process that started this one is gone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train one recorded fine-tune job.")
    parser.add_argument("home", type=Path)
    parser.add_argument("job_id")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s [fine-tune process]: %(message)s",
    )
    _exit_with_parent()
    store = JobStore(args.home)
    job = store.get(args.job_id)
    if job.is_final:
        return EXIT_CANCELLED if job.status == "cancelled" else EXIT_FAILED
    try:
        run_job(job, store, ModelRegistry(args.home), provider_named(job.provider))
    except (JobCancelledError, KeyboardInterrupt):
        return EXIT_SUCCEEDED if job.status == "succeeded" else EXIT_CANCELLED
    except FineTuneError as error:
        logger.info("%s", error)
        return EXIT_FAILED
    finally:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        logger.info("fine-tune %s: peak memory %d MB", job.id, peak)
    return EXIT_SUCCEEDED


if __name__ == "__main__":
    sys.exit(main())
