"""Channel settings: the auto-tag switch, on in a channel unless an admin turned it off.

A switch belongs to a workspace and a channel. A row written before workspaces were recorded
(its ``team_id`` empty) still counts for its channel in any workspace until that workspace's own
row replaces it.
"""

from __future__ import annotations

import time

from sqlalchemy import bindparam, select

from bot.store.database import Database
from bot.store.schema import NO_TEAM, ChannelSetting, utcnow

AUTOTAG_CACHE_SECONDS = 2.0
"""How long a channel's auto-tag switch is remembered: another replica's change shows within it."""

_READ_AUTOTAG_SQLITE = (
    "SELECT autotag FROM channel_settings WHERE channel_id = ? AND team_id IN (?, '') "
    "ORDER BY team_id DESC LIMIT 1"
)


class Channels:
    """The auto-tag switch per workspace and channel, read on every message (from memory when
    fresh). ``team_id`` None: no workspace (``NO_TEAM``)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._inline = database.inline
        self._autotag: dict[tuple[str, str], tuple[float, bool]] = {}
        # Built once: SQLAlchemy's statement building costs more than the query.
        table = ChannelSetting.__table__
        self._read_autotag_statement = (
            select(table.c.autotag)
            .where(
                table.c.channel_id == bindparam("channel_id"),
                table.c.team_id.in_([bindparam("team_id"), NO_TEAM]),
            )
            .order_by(table.c.team_id.desc())
            .limit(1)
        )

    async def autotag_enabled(
        self, channel_id: str, *, team_id: str | None = None, fresh: bool = False
    ) -> bool:
        """Whether auto-tagging is on in a channel: as read less than ``AUTOTAG_CACHE_SECONDS``
        ago, or from the database (always with ``fresh``)."""
        key = (team_id or NO_TEAM, channel_id)
        entry = None if fresh else self._autotag.get(key)
        if entry is not None and time.monotonic() - entry[0] <= AUTOTAG_CACHE_SECONDS:
            return entry[1]  # nearly every message: no call, not even to ``cached_autotag``
        return await self._database.run_hot(self._read_autotag, key)

    def cached_autotag(self, channel_id: str, *, team_id: str | None = None) -> bool | None:
        """The switch as read less than ``AUTOTAG_CACHE_SECONDS`` ago (memory only), or None."""
        entry = self._autotag.get((team_id or NO_TEAM, channel_id))
        if entry is None or time.monotonic() - entry[0] > AUTOTAG_CACHE_SECONDS:
            return None
        return entry[1]

    async def set_autotag(
        self,
        channel_id: str,
        enabled: bool,
        user_id: str,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> None:
        """Switch auto-tagging on or off in a channel of a workspace, in the name of ``user_id``."""
        await self._database.run_in_thread(
            self._write_autotag,
            (team_id or NO_TEAM, channel_id),
            enterprise_id or NO_TEAM,
            enabled,
            user_id,
        )

    def _read_autotag(self, key: tuple[str, str]) -> bool:
        team_id, channel_id = key
        if self._inline:
            row = self._database.read_hot(_READ_AUTOTAG_SQLITE, (channel_id, team_id))
            value = None if row is None else row[0]
        else:
            with self._database.engine.connect() as connection:
                value = connection.execute(
                    self._read_autotag_statement, {"channel_id": channel_id, "team_id": team_id}
                ).scalar()
        enabled = True if value is None else bool(value)
        self._autotag[key] = (time.monotonic(), enabled)
        return enabled

    def _write_autotag(
        self, key: tuple[str, str], enterprise_id: str, enabled: bool, user_id: str
    ) -> None:
        team_id, channel_id = key
        with self._database.session() as session:
            row = session.get(ChannelSetting, {"team_id": team_id, "channel_id": channel_id})
            if row is None:
                session.add(
                    ChannelSetting(
                        team_id=team_id,
                        channel_id=channel_id,
                        enterprise_id=enterprise_id,
                        autotag=enabled,
                        updated_by=user_id,
                    )
                )
            else:
                row.autotag = enabled
                row.updated_by = user_id
                row.updated_at = utcnow()
        self._autotag[key] = (time.monotonic(), enabled)
