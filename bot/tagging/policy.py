"""How the tag pipeline paces and bounds each workspace's tags."""

from __future__ import annotations

from dataclasses import dataclass

from bot.tagging.pacer import TAG_CALLS_PER_MINUTE

QUEUE_CAPACITY = 100
"""Two minutes of Tier 3: a backlog longer than that would be placed too late to matter."""
MAX_AGE_SECONDS = 300.0
"""A tag not placed within five minutes of its message is dropped as stale."""
SHUTDOWN_GRACE_SECONDS = 2.0
"""How long a stopping bot lets a call in flight finish."""


@dataclass(frozen=True)
class TagPolicy:
    """``per_minute``: calls per minute per workspace and method (``reactions.add`` and
    ``reactions.remove`` are Tier 3, 50: 48 by default, a little under); ``burst``: calls that may go at once after a quiet
    spell (default: a minute's worth, as Slack's tiers allow); ``capacity`` and ``max_age``: the
    backlog's bounds (``bot.tagging.queue``)."""

    per_minute: float = TAG_CALLS_PER_MINUTE
    burst: float | None = None
    capacity: int = QUEUE_CAPACITY
    max_age: float = MAX_AGE_SECONDS
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS
