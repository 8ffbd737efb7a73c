"""Memory of a process and its children, read from ``/proc`` (Linux), for tests and benchmarks
that bound what a hostile request may cost a server.

``peak_rss(pid)`` is the kernel's own high-water mark of one living process (``VmHWM``).
``TreeMemory`` samples the resident memory of a process and all its descendants together while
it is open (children come and go: a fine-tune's training process), and keeps the largest sum
and the largest single child.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

MIB = 1024 * 1024


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss(pid: int) -> int:
    """Resident bytes of ``pid`` now (0 once it is gone)."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss(pid: int) -> int:
    """The largest resident size ``pid`` has had, in bytes (0 once it is gone)."""
    return _status_kib(pid, "VmHWM") * 1024


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid``."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


class TreeMemory:
    """Samples ``pid`` and its descendants every ``every_s`` while open (a context manager)."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self.pid = pid
        self.every_s = every_s
        self.peak_total = 0
        """The largest resident size of the whole tree at one sample, in bytes."""
        self.peak_child = 0
        """The largest resident size of one descendant, in bytes."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            children = [rss(child) for child in descendants(self.pid)]
            self.peak_child = max([self.peak_child, *children])
            self.peak_total = max(self.peak_total, rss(self.pid) + sum(children))
            if self._stop.wait(self.every_s):
                return

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
