"""Slowing down guesses of the API key, per client address.

An address may send ``free_wrong_keys`` wrong keys; after that every request from it (whatever
key it carries: a fast answer to the right key would let a client guess at any pace) waits
its turn, one key check per ``wrong_key_interval_s``, and a request whose turn is further off
than ``wrong_key_max_wait_s`` is a 429 at once, its key unchecked. An address's wrong keys are
forgotten ``wrong_key_memory_s`` after its last one. Clients behind one address (a proxy,
loopback) share its turns: one that guesses slows down the others while it does.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from training.limits import ApiLimits

MAX_ADDRESSES = 10_000
"""Addresses remembered at most (the longest-quiet one is forgotten first)."""


@dataclass
class _Record:
    wrong: int = 0
    last_wrong: float = 0.0
    next_turn: float = 0.0


class KeyGuard:
    """Per-address wrong-key counts and turns (one event loop's; not thread-safe)."""

    def __init__(self, limits: ApiLimits) -> None:
        self.limits = limits
        self._records: OrderedDict[str, _Record] = OrderedDict()

    async def wait_turn(self, address: str) -> float | None:
        """Wait until ``address`` may have its key checked. Returns None when it may (now or
        after the wait), or the seconds to come back after when it may not (a 429)."""
        record = self._current(address)
        if record is None or record.wrong < self.limits.free_wrong_keys:
            return None
        now = time.monotonic()
        turn = max(now, record.next_turn)
        if turn - now > self.limits.wrong_key_max_wait_s:
            return turn - now
        record.next_turn = turn + self.limits.wrong_key_interval_s
        if turn > now:
            await asyncio.sleep(turn - now)
        return None

    def wrong_key(self, address: str) -> None:
        record = self._current(address) or _Record()
        record.wrong += 1
        record.last_wrong = time.monotonic()
        self._records[address] = record
        self._records.move_to_end(address)
        while len(self._records) > MAX_ADDRESSES:
            self._records.popitem(last=False)

    def _current(self, address: str) -> _Record | None:
        record = self._records.get(address)
        if record is not None and time.monotonic() - record.last_wrong > (
            self.limits.wrong_key_memory_s
        ):
            del self._records[address]
            return None
        return record
