"""Seen signatures: a signed Slack request is accepted once across processes (replay protection)."""

from __future__ import annotations

import time
from typing import cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.schema import SeenSignature

SIGNATURE_WINDOW_SECONDS = 5 * 60
"""How far a request's signature timestamp may be from now (Slack's rule, slack_sdk's check)."""
SIGNATURE_MEMORY_SECONDS = SIGNATURE_WINDOW_SECONDS + 60
"""How long a seen signature is kept after its timestamp: the window plus a margin for replicas'
clocks. Older ones cannot be replayed anyway (their timestamp is refused as stale)."""
SIGNATURE_PURGE_SECONDS = 2.0
"""How often a process drops the signatures older than ``SIGNATURE_MEMORY_SECONDS``: often, so
each purge is small (at 100 requests/s a once-a-minute purge deleted 6,000 rows and held the event
loop for 29-42 ms; 200 rows take about 1 ms)."""

_CLAIM_SQLITE = "INSERT OR IGNORE INTO seen_signatures (signature_hash, signed_at) VALUES (?, ?)"
_FORGET_SQLITE = "DELETE FROM seen_signatures WHERE signed_at < ?"


class SignatureClaims:
    """Hashes of accepted request signatures: insert-if-absent on the primary key, like event
    claims, so that a replay fails to insert in every process sharing the database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._inline = database.inline
        # Built once: SQLAlchemy's statement building costs more than SQLite's insert itself.
        self._claim_statement = insert(cast(Table, SeenSignature.__table__))
        self._purged_at = -float("inf")

    async def claim(self, signature_hash: str, signed_at: int) -> bool:
        """Record a signed request as seen; True only for the first process to see it.

        Every ``SIGNATURE_PURGE_SECONDS``, signatures older than ``SIGNATURE_MEMORY_SECONDS`` are
        dropped on the way.
        """
        return await self._database.run_hot(self._claim, signature_hash, signed_at)

    def _claim(self, signature_hash: str, signed_at: int) -> bool:
        now = time.monotonic()
        if now - self._purged_at >= SIGNATURE_PURGE_SECONDS:
            self._purged_at = now
            self._forget_before(int(time.time()) - SIGNATURE_MEMORY_SECONDS)
        if self._inline:
            return self._database.write_hot(_CLAIM_SQLITE, (signature_hash, signed_at)) == 1
        try:
            with self._database.engine.begin() as connection:
                connection.execute(
                    self._claim_statement,
                    {"signature_hash": signature_hash, "signed_at": signed_at},
                )
        except IntegrityError:
            return False
        return True

    def _forget_before(self, signed_at: int) -> int:
        """Drop seen signatures whose timestamp is older than ``signed_at`` (Unix seconds)."""
        if self._inline:  # on the claims' connection (see Database.write_hot)
            return self._database.write_hot(_FORGET_SQLITE, (signed_at,))
        with self._database.session() as session:
            result = session.execute(
                delete(SeenSignature).where(SeenSignature.signed_at < signed_at)
            )
            return int(getattr(result, "rowcount", 0) or 0)
