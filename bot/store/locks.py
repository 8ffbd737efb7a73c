"""Named locks: a row per lock, so that one owner at a time holds it across every process."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.schema import Lock, utcnow

logger = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(hours=1)
"""A lock older than this is taken over unless the caller says otherwise."""


class Locks:
    """Locks decided by the database: the insert of the lock's row succeeds for one owner."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def acquire(
        self, name: str, owner: str, *, stale_after: timedelta = DEFAULT_STALE_AFTER
    ) -> bool:
        """Take the lock ``name`` for ``owner``; False when someone else holds a fresh one.

        A lock older than ``stale_after`` is taken over (its holder is presumed dead).
        """
        return await self._database.run_in_thread(self._acquire, name, owner, stale_after)

    async def release(self, name: str, owner: str) -> bool:
        """Release the lock if ``owner`` holds it; True when it did."""
        return await self._database.run_in_thread(self._release, name, owner)

    async def owner(self, name: str) -> str | None:
        """Who holds the lock ``name`` (None: nobody)."""
        return await self._database.run_in_thread(self._owner, name)

    async def refresh(self, name: str, owner: str) -> bool:
        """Mark the lock as held by ``owner`` now, so that it does not go stale; False when
        ``owner`` does not hold it (any more)."""
        return await self._database.run_in_thread(self._refresh, name, owner)

    def _acquire(self, name: str, owner: str, stale_after: timedelta) -> bool:
        now = utcnow()
        try:
            with self._database.session() as session:
                session.execute(insert(Lock).values(name=name, owner=owner, acquired_at=now))
            return True
        except IntegrityError:
            pass
        with self._database.session() as session:
            result = session.execute(
                update(Lock)
                .where(Lock.name == name, Lock.acquired_at < now - stale_after)
                .values(owner=owner, acquired_at=now)
            )
            taken = bool(getattr(result, "rowcount", 0))
        if taken:
            logger.warning("took over the stale %s lock", name)
        return taken

    def _release(self, name: str, owner: str) -> bool:
        with self._database.session() as session:
            result = session.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))
            return bool(getattr(result, "rowcount", 0))

    def _owner(self, name: str) -> str | None:
        with self._database.session() as session:
            return session.scalar(select(Lock.owner).where(Lock.name == name))

    def _refresh(self, name: str, owner: str) -> bool:
        with self._database.engine.begin() as connection:
            result = connection.execute(
                update(Lock)
                .where(Lock.name == name, Lock.owner == owner)
                .values(acquired_at=utcnow())
            )
        return bool(result.rowcount)
