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

from sqlalchemy import update

from bot.store import RETRAIN_LOCK, Lock, Store, utcnow

logger = logging.getLogger(__name__)

LOCK_HEARTBEAT_SECONDS = 30.0
"""How often a running retrain refreshes its lock in the database."""
LOCK_STALE_AFTER = timedelta(minutes=5)
"""A lock not refreshed for this long is taken over: its holder died (on any host)."""


def acquire_retrain_lock(store: Store, owner: str) -> bool:
    """Take the lock for ``owner``, also over from a stale holder or one that died on this host."""
    if store.acquire_lock(owner, stale_after=LOCK_STALE_AFTER):
        return True
    holder = store.lock_owner()
    if holder is None or not lock_holder_is_dead(holder):
        return False
    logger.warning("the retrain lock's holder %s is gone; taking the lock over", holder)
    store.release_lock(holder)
    return bool(store.acquire_lock(owner, stale_after=LOCK_STALE_AFTER))


def refresh_lock(store: Store, owner: str) -> bool:
    """Mark the retrain lock as still held by ``owner`` now; False when ``owner`` lost it."""
    with store.engine.begin() as connection:
        result = connection.execute(
            update(Lock)
            .where(Lock.name == RETRAIN_LOCK, Lock.owner == owner)
            .values(acquired_at=utcnow())
        )
    return bool(result.rowcount)


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
