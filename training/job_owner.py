"""Who owns a live fine-tune job, and whether that owner is still there.

A job whose status is not final is owned by the process that made it (``pid`` and
``owner_token`` on ``host``), which keeps a ``heartbeat`` file in the job's folder fresh while
the job waits or trains (``keep_heartbeat``; ``heartbeat_at`` in ``job.json`` is refreshed too,
less often). The owner is gone, on this host, when its pid is not alive, or is this very process
under another token (a restarted container's PID 1), or its heartbeat is older than
``LOCAL_STALE_AFTER_S`` (a pid reused by another process); on another host when its heartbeat
is older than ``STALE_AFTER_S``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

STALE_AFTER_S = 600.0
"""A live job of another host whose owner has not written a heartbeat for this long is dead
(clocks of hosts sharing a folder may differ by a little)."""
LOCAL_STALE_AFTER_S = 60.0
"""A live job of this host whose owner has not written a heartbeat for this long is dead, even
if a process with its pid is alive."""
HEARTBEAT_EVERY_S = 2.0
"""How often an owner refreshes the heartbeat of its live jobs."""
PROCESS_TOKEN = uuid.uuid4().hex
"""This process's token: a job made here records it, so that a later process given the same
pid (a restarted container's PID 1) can tell the job is not its own."""
HEARTBEAT_FILE = "heartbeat"


def touch_heartbeat(job_dir: Path) -> None:
    """Refresh the job's ``heartbeat`` file (its time is the heartbeat: no ``job.json`` write,
    so it never races the job's own writes)."""
    (job_dir / HEARTBEAT_FILE).touch()


def last_heartbeat(job_dir: Path, recorded: float | None) -> float | None:
    """When the job's owner last said it was alive: the newer of ``recorded`` (``job.json``'s
    ``heartbeat_at``) and the heartbeat file's time (None: never)."""
    try:
        touched: float | None = (job_dir / HEARTBEAT_FILE).stat().st_mtime
    except OSError:
        touched = None
    beats = [t for t in (recorded, touched) if isinstance(t, int | float)]
    return max(beats) if beats else None


@contextlib.contextmanager
def keep_heartbeat(job_dir: Path) -> Iterator[None]:
    """Refresh the job's heartbeat every ``HEARTBEAT_EVERY_S`` on a thread while the block runs
    (however long a step takes, reading and featurizing a big file included)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_EVERY_S):
            try:
                touch_heartbeat(job_dir)
            except OSError as error:  # the next beat may do better; say so once a beat
                logger.warning("cannot refresh the heartbeat in %s: %s", job_dir, error)

    touch_heartbeat(job_dir)
    thread = threading.Thread(target=beat, name=f"heartbeat-{job_dir.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def owner_alive(
    pid: int | None, host: str | None, token: str | None, last_beat: float | None
) -> bool:
    """Whether the owner of a live job still looks alive (see the module doc)."""
    silent_for = time.time() - (last_beat or 0.0)
    if pid is None or host != socket.gethostname():
        return silent_for <= STALE_AFTER_S
    if pid == os.getpid():
        return token in (None, PROCESS_TOKEN)
    return pid_alive(pid) and silent_for <= LOCAL_STALE_AFTER_S


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
