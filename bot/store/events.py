"""Event claims: a Slack event is handled by the one process that records its id first."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.schema import NO_TEAM, ProcessedEvent, utcnow

_CLAIM_SQLITE = (
    "INSERT OR IGNORE INTO processed_events (event_id, processed_at, team_id, enterprise_id) "
    "VALUES (?, ?, ?, ?)"
)


class EventClaims:
    """Processed event ids: insert-if-absent on the primary key, so that two processes (or a
    restart) can never both claim one. Slack's event ids are unique across workspaces, so the
    claim is on the id alone; the workspace is recorded beside it."""

    def __init__(self, database: Database) -> None:
        self._database = database
        # Built once: SQLAlchemy's statement building costs more than SQLite's insert itself.
        self._claim_statement = insert(cast(Table, ProcessedEvent.__table__))
        self._claim_now = self._claim_sqlite if database.inline else self._claim_networked

    async def claim(
        self, event_id: str, *, team_id: str | None = None, enterprise_id: str | None = None
    ) -> bool:
        """Record ``event_id`` (of the workspace ``team_id``) as processed; True only for the one
        caller that recorded it first."""
        return await self._database.run_hot(
            self._claim_now, event_id, team_id or NO_TEAM, enterprise_id or NO_TEAM
        )

    async def release(self, event_id: str) -> None:
        """Forget a claim whose work failed, so that Slack's redelivery can do it."""
        await self._database.run_hot(self._release, event_id)

    async def forget_before(self, when: datetime) -> int:
        """Drop claims older than ``when`` (Slack stops redelivering after about an hour)."""
        return await self._database.run_in_thread(self._forget_before, when)

    def _claim_sqlite(self, event_id: str, team_id: str, enterprise_id: str) -> bool:
        # SQLAlchemy's SQLite DATETIME text; isoformat writes it for a fraction of the cost of
        # strftime, which goes through the C library and its locale on every call.
        now = utcnow().replace(tzinfo=None).isoformat(" ", "microseconds")
        inserted = self._database.write_hot(_CLAIM_SQLITE, (event_id, now, team_id, enterprise_id))
        return inserted == 1

    def _claim_networked(self, event_id: str, team_id: str, enterprise_id: str) -> bool:
        row = {
            "event_id": event_id,
            "processed_at": utcnow(),
            "team_id": team_id,
            "enterprise_id": enterprise_id,
        }
        try:
            with self._database.engine.begin() as connection:
                connection.execute(self._claim_statement, row)
        except IntegrityError:
            return False
        return True

    def _release(self, event_id: str) -> None:
        with self._database.session() as session:
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id == event_id))

    def _forget_before(self, when: datetime) -> int:
        with self._database.session() as session:
            result = session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.processed_at < when)
            )
            return int(getattr(result, "rowcount", 0) or 0)
