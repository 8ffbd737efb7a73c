"""One workspace's tag backlog: bounded, taken oldest first, and a stated policy for what goes.

- **Order.** Tags are placed oldest first, so they land in the order the messages were written.
- **Full.** At ``capacity`` a new tag and the queued ones compete on ``priority`` (the model's
  confidence; 1.0 for an edit's correction, since a wrong tag left standing is worse than a
  missing one): the least confident goes (``queue_full``), the oldest among equals. Stale tags
  go first.
- **Stale.** A tag that has waited more than ``max_age`` seconds goes when it comes up, or when
  room is needed (``stale``): by then its message has scrolled away.
- **Superseded.** A tag change for a message whose earlier change is still queued (an edit) takes
  its place (``superseded``) and takes over what it still had to remove.

Every job that goes is handed back as a ``Dropped`` for the caller to count and settle: nothing
leaves the queue silently.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

QUEUE_FULL = "queue_full"
STALE = "stale"
SUPERSEDED = "superseded"


@dataclass
class TagJob:
    """A tag change for one message: take ``remove`` off (an edit's old tag), put ``add`` on."""

    channel: str
    ts: str
    add: str | None
    remove: str | None = None
    priority: float = 0.0
    event_id: str = ""
    """The event whose claim is given back when this job is dropped."""
    enqueued_at: float = field(default=0.0, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.ts)

    @property
    def is_noop(self) -> bool:
        """Nothing to change: the tag it wants is the one the message has."""
        return self.add == self.remove


@dataclass(frozen=True)
class Dropped:
    job: TagJob
    reason: str


class TagQueue:
    """The backlog of one workspace (see the module's policy); not safe across threads."""

    def __init__(
        self, capacity: int, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1:
            raise ValueError("a tag queue holds at least one job")
        self.capacity = capacity
        self.max_age = max_age
        self._clock = clock
        self._jobs: OrderedDict[tuple[str, str], TagJob] = OrderedDict()

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, job: TagJob) -> list[Dropped]:
        """Queue ``job``; return what the policy dropped to make room (``job`` itself included)."""
        now = self._clock()
        job.enqueued_at = now
        dropped = self._supersede(job, newer=True)
        if len(self._jobs) >= self.capacity:
            dropped += self._drop_stale(now, everywhere=True)
        if len(self._jobs) >= self.capacity:
            victim = min([*self._jobs.values(), job], key=lambda j: (j.priority, j.enqueued_at))
            dropped.append(Dropped(victim, QUEUE_FULL))
            if victim is job:
                return dropped
            del self._jobs[victim.key]
        self._jobs[job.key] = job
        return dropped

    def peek(self) -> TagJob | None:
        """The job ``take`` would hand out now, unless it turns stale first."""
        return next(iter(self._jobs.values()), None)

    def take(self) -> tuple[TagJob | None, list[Dropped]]:
        """The oldest job still fresh (None when there is none), and the stale ones passed over."""
        now = self._clock()
        dropped = self._drop_stale(now, everywhere=False)
        if not self._jobs:
            return None, dropped
        _, job = self._jobs.popitem(last=False)
        return job, dropped

    def put_back(self, job: TagJob) -> list[Dropped]:
        """First in line again: a job Slack refused for now (HTTP 429). It keeps its age."""
        dropped = self._supersede(job, newer=False)
        if dropped:  # a newer change for its message came meanwhile and took it over
            return dropped
        self._jobs[job.key] = job
        self._jobs.move_to_end(job.key, last=False)
        if len(self._jobs) > self.capacity:
            victim = min(self._jobs.values(), key=lambda j: (j.priority, j.enqueued_at))
            del self._jobs[victim.key]
            return [Dropped(victim, QUEUE_FULL)]
        return []

    def drain(self) -> list[TagJob]:
        """Everything still queued, emptied out (at shutdown)."""
        jobs = list(self._jobs.values())
        self._jobs.clear()
        return jobs

    def _supersede(self, job: TagJob, *, newer: bool) -> list[Dropped]:
        """Fold two changes for one message into the newer one (an empty list: no other).

        ``newer`` (``put``): the queued job is dropped, and ``job`` removes what it was to remove
        (its add never happened). Else (``put_back``, ``job`` is the older): the queued job stays
        in its place and removes what ``job`` was to remove; ``job`` is dropped.
        """
        queued = self._jobs.get(job.key)
        if queued is None:
            return []
        if newer:
            del self._jobs[job.key]
            job.remove = queued.remove
            return [Dropped(queued, SUPERSEDED)]
        queued.remove = job.remove
        return [Dropped(job, SUPERSEDED)]

    def _drop_stale(self, now: float, *, everywhere: bool) -> list[Dropped]:
        """Drop jobs older than ``max_age``: those at the head, or (``everywhere``) all of them
        (put-back jobs keep their age, so one may sit at the head older than those behind it)."""
        limit = now - self.max_age
        if everywhere:
            stale = [job for job in self._jobs.values() if job.enqueued_at < limit]
        else:
            stale = []
            for job in self._jobs.values():
                if job.enqueued_at >= limit:
                    break
                stale.append(job)
        for job in stale:
            del self._jobs[job.key]
        return [Dropped(job, STALE) for job in stale]
