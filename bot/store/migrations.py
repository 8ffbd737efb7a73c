"""Bring a database written by an older sportbot up to today's layout, when it is opened.

``create_all`` creates missing tables but never changes one that exists, so what later layouts
added to existing tables is added here: the workspace columns (``team_id``, ``enterprise_id``,
empty in the rows already there) and the channel settings' key (workspace and channel). Each step
looks at the table first, so running it on an up-to-date database does nothing. It runs inside
``create_tables``' transaction, under its lock: replicas starting together upgrade once.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, MetaData, inspect

logger = logging.getLogger(__name__)

WORKSPACE_COLUMNS: dict[str, tuple[str, ...]] = {
    "channel_settings": ("team_id", "enterprise_id"),
    "feedback": ("team_id", "enterprise_id"),
    "answers": ("enterprise_id",),  # its team_id came with the table
    "processed_events": ("team_id", "enterprise_id"),
    "retrain_audit": ("team_id", "enterprise_id"),
}
"""Columns added to existing tables: the workspace a row was written for."""

CHANNEL_KEY = ["team_id", "channel_id"]


def upgrade(connection: Connection, metadata: MetaData) -> None:
    """Add what is missing from the tables of ``metadata`` (already created) on ``connection``."""
    inspector = inspect(connection)
    for table, columns in WORKSPACE_COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        for column in columns:
            if column not in present:
                logger.info("adding %s.%s to the database", table, column)
                connection.exec_driver_sql(
                    f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(64) NOT NULL DEFAULT ''"
                )
    key = inspect(connection).get_pk_constraint("channel_settings")
    if key["constrained_columns"] != CHANNEL_KEY:
        logger.info("keying channel_settings by workspace and channel")
        _rekey_channel_settings(connection, metadata, key.get("name"))


def _rekey_channel_settings(
    connection: Connection, metadata: MetaData, constraint: str | None
) -> None:
    if connection.dialect.name == "sqlite":
        # SQLite cannot change a primary key: copy the rows into the table made anew.
        connection.exec_driver_sql("ALTER TABLE channel_settings RENAME TO channel_settings_old")
        metadata.tables["channel_settings"].create(connection)
        columns = "channel_id, autotag, updated_by, updated_at, team_id, enterprise_id"
        connection.exec_driver_sql(
            f"INSERT INTO channel_settings ({columns}) SELECT {columns} FROM channel_settings_old"
        )
        connection.exec_driver_sql("DROP TABLE channel_settings_old")
        return
    connection.exec_driver_sql(
        f"ALTER TABLE channel_settings DROP CONSTRAINT {constraint or 'channel_settings_pkey'}, "
        f"ADD PRIMARY KEY ({', '.join(CHANNEL_KEY)})"
    )
