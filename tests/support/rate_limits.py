"""Slack's Web API rate limits, as the stand-in enforces them.

Limits apply "per API method per app per workspace" (api.slack.com/docs/rate-limits): Tier 1
about 1 call a minute, Tier 2 20, Tier 3 50, Tier 4 100, each with some burst; ``chat.postMessage``
about one message a second per channel, with short bursts. A token bucket per key refills at the
tier's rate and holds its burst; a call finding it empty is refused with the whole seconds until
the next token, which is what Slack's ``Retry-After`` says.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int
    per_channel: bool = False


TIER_1 = Limit(1, 3)
TIER_2 = Limit(20, 20)
TIER_3 = Limit(50, 50)
TIER_4 = Limit(100, 100)
POST_MESSAGE = Limit(60, 3, per_channel=True)

RATE_LIMITS: dict[str, Limit] = {
    "apps.connections.open": TIER_1,
    "chat.postEphemeral": TIER_4,
    "chat.postMessage": POST_MESSAGE,
    "chat.update": TIER_3,
    "conversations.info": TIER_3,
    "conversations.open": TIER_3,
    "files.completeUploadExternal": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "oauth.v2.access": TIER_4,
    "reactions.add": TIER_3,
    "reactions.remove": TIER_3,
    "users.info": TIER_4,
    "views.publish": TIER_4,
}
"""Methods the bot calls and their tiers (Slack's method pages); ``auth.test`` has none here."""

RESPONSE_URL_USES = 5
"""Slack accepts up to five answers on one ``response_url`` (within 30 minutes)."""


class RateLimiter:
    """Token buckets per (team, method[, channel])."""

    def __init__(
        self,
        limits: dict[str, Limit] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = dict(RATE_LIMITS if limits is None else limits)
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}

    def acquire(self, team: str, method: str, channel: str = "") -> int | None:
        """Take one call's token: None when allowed, else the seconds to wait (at least 1)."""
        limit = self.limits.get(method)
        if limit is None:
            return None
        key = (team, method, channel if limit.per_channel else "")
        now = self._clock()
        rate = limit.per_minute / 60.0
        tokens, at = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))


UNPACED_TAG_CALLS_PER_MINUTE = 1_000_000
"""``SPORTBOT_TAG_CALLS_PER_MINUTE`` past any load: the bot's tag pipeline paces nothing (the
benchmarks' no-limits setups, beside a stand-in with ``NO_LIMITS``)."""
