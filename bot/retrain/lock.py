"""The retrain lock: one row in the store's database, so one retrain at a time across processes.

Its owner names the process (``host:pid:action-random``). A running retrain refreshes the row
every ``LOCK_HEARTBEAT_SECONDS``; a row not refreshed for ``LOCK_STALE_AFTER`` is taken over (its
holder died, on any host), and on the same host a holder whose pid is gone is taken over at once.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from bot.store import Store

logger = logging.getLogger(__name__)

RETRAIN_LOCK = "retrain"
"""Name of the one lock row that allows a single retrain (or rollback) at a time."""
LOCK_HEARTBEAT_SECONDS = 30.0
"""How often a running retrain refreshes its lock in the database."""
LOCK_STALE_AFTER = timedelta(minutes=5)
"""A lock not refreshed for this long is taken over: its holder died (on any host)."""


async def acquire_retrain_lock(store: Store, owner: str) -> bool:
    """Take the lock for ``owner``, also over from a stale holder or one that died on this host."""
    locks = store.locks
    if await locks.acquire(RETRAIN_LOCK, owner, stale_after=LOCK_STALE_AFTER):
        return True
    holder = await locks.owner(RETRAIN_LOCK)
    if holder is None or not lock_holder_is_dead(holder):
        return False
    logger.warning("the retrain lock's holder %s is gone; taking the lock over", holder)
    await locks.release(RETRAIN_LOCK, holder)
    return await locks.acquire(RETRAIN_LOCK, owner, stale_after=LOCK_STALE_AFTER)


async def release_retrain_lock(store: Store, owner: str) -> bool:
    """Release the lock if ``owner`` holds it; True when it did."""
    return await store.locks.release(RETRAIN_LOCK, owner)


async def refresh_lock(store: Store, owner: str) -> bool:
    """Mark the retrain lock as still held by ``owner`` now; False when ``owner`` lost it."""
    return await store.locks.refresh(RETRAIN_LOCK, owner)


async def retrain_lock_owner(store: Store) -> str | None:
    """Who holds the retrain lock (None: nobody)."""
    return await store.locks.owner(RETRAIN_LOCK)


def lock_owner_id(action: str) -> str:
    """A lock owner naming this process: ``host:pid:action-random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{action}-{uuid.uuid4().hex[:12]}"


def lock_holder_is_dead(owner: str) -> bool:
    """Whether a lock owner written by ``lock_owner_id`` is a process of this host that is gone.

    A bot killed mid-retrain leaves its lock behind; on the same host its pid tells. Owners of
    other hosts are never presumed dead here (the store takes over locks that are very old).
    """
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
