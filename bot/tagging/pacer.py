"""Pacing of one Web API method for one workspace: the method's tier, and one pause on a 429.

Slack limits each method per app per workspace (Tier 3, ``reactions.add``/``reactions.remove``:
about 50 calls a minute, with some burst). A token bucket holding ``burst`` calls, refilled at
``per_minute``, keeps the calls within it. When Slack answers 429 anyway (another replica shares
the workspace's budget, or Slack's bucket is smaller than ours), ``pause`` holds every call of the
method for the ``Retry-After`` seconds, then lets one through and refills from empty: the
workspace's tags wait out one pause together instead of each retrying on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

TIER_3_PER_MINUTE = 50.0
"""Slack's Tier 3 (``reactions.add``, ``reactions.remove``, ``chat.update``): 50+ a minute."""
TAG_CALLS_PER_MINUTE = 48.0
"""The tags' default pace, a little under Tier 3: calls paced at exactly the tier reach Slack
with the network's jitter, and one arriving early (1.1 s after the one before instead of 1.2 s)
finds Slack's bucket short and gets a 429."""
ROUNDING = 1e-9
"""A token short by less than this is a whole one (a sleep's float arithmetic lands just short)."""


class Pacer:
    """A token bucket with a pause; ``await wait()`` before each call."""

    def __init__(
        self,
        per_minute: float = TAG_CALLS_PER_MINUTE,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(per_minute if burst is None else burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._at = clock()
        """When ``_tokens`` was counted; in the future while paused."""

    @property
    def paused_for(self) -> float:
        """Seconds left of a pause (0 when none)."""
        return max(0.0, self._at - self._clock())

    def delay(self) -> float:
        """Seconds until a call may go (0: now)."""
        now = self._clock()
        if now < self._at:
            return self._at - now
        tokens = self._refilled(now)
        return 0.0 if tokens >= 1.0 - ROUNDING else (1.0 - tokens) / self.rate

    async def wait(self) -> None:
        """Wait until a call may go, and take its token."""
        while (delay := self.delay()) > 0:
            await self._sleep(delay)
        now = self._clock()
        self._tokens = max(0.0, self._refilled(now) - 1.0)
        self._at = now

    def pause(self, seconds: float) -> None:
        """Slack said 429 with ``Retry-After: seconds``: no call before then; one call then, and
        the tier's pace after it."""
        resume = self._clock() + max(0.0, seconds)
        if resume > self._at:
            self._at = resume
            self._tokens = 1.0

    def _refilled(self, now: float) -> float:
        return min(self.burst, self._tokens + (now - self._at) * self.rate)
