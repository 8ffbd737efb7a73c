"""The store's tables, and their creation when a process opens a database that lacks some.

Every table lives here, so the layout of the database reads in one place; the concern modules
(``channels``, ``feedback``, ``answers``, ``events``, ``signatures``, ``retrains``,
``locks``) query them. Rows written for a workspace carry its ``team_id`` and ``enterprise_id``
(empty outside Enterprise Grid, and in rows written before workspaces were recorded); a channel's
settings are keyed by workspace and channel, since a channel shared between organisations has
one id in each. Event ids need no workspace in their key: Slack makes them unique across
workspaces. Two things stay global on purpose: the retrain lock (every workspace shares one
model) and seen signatures (every request is signed with the one app's secret).
Databases of older layouts are brought up to this one at open (``bot.store.migrations``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy import text as text_clause
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.store.migrations import upgrade


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


NO_TEAM = ""
"""The workspace column's value when there is none: Socket Mode before the first request, and
rows written before workspaces were recorded."""


def team_column() -> Mapped[str]:
    """A ``team_id`` or ``enterprise_id`` column: Slack's id, or ``NO_TEAM``."""
    return mapped_column(String(64), default=NO_TEAM, server_default=NO_TEAM)


class ChannelSetting(Base):
    __tablename__ = "channel_settings"
    # The workspace columns come last, where an upgraded database has them (added columns).
    __table_args__ = (PrimaryKeyConstraint("team_id", "channel_id"),)

    channel_id: Mapped[str] = mapped_column(String(64))
    autotag: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    team_id: Mapped[str] = team_column()
    enterprise_id: Mapped[str] = team_column()


class Feedback(Base):
    """A correction (or confirmation) from a user: a training example."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    model: Mapped[str | None] = mapped_column(String(200))
    predicted_label: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[str] = team_column()
    enterprise_id: Mapped[str] = team_column()


class AnsweredText(Base):
    """An answer given with feedback buttons: what it answered, kept under the short random id
    its buttons carry (a button's value is too small for a message's text)."""

    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    predicted_label: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    enterprise_id: Mapped[str] = team_column()


class ProcessedEvent(Base):
    """An event id some process has claimed; the primary key makes the claim unique."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    team_id: Mapped[str] = team_column()
    enterprise_id: Mapped[str] = team_column()


class SeenSignature(Base):
    """A signed request some process has accepted (a hash of its ``X-Slack-Signature``) and its
    signature timestamp; the primary key makes a byte-for-byte replay fail to insert."""

    __tablename__ = "seen_signatures"

    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    signed_at: Mapped[int] = mapped_column(BigInteger, index=True)


class RetrainAudit(Base):
    """One retrain attempt (refused ones included)."""

    __tablename__ = "retrain_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(200))
    model_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[str] = team_column()
    enterprise_id: Mapped[str] = team_column()


class Lock(Base):
    """A named lock held by one owner (a process/job) since ``acquired_at``."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


SCHEMA_LOCK_KEY = 0x5B0B07
"""PostgreSQL advisory lock taken while creating the tables (replicas starting together)."""


def create_tables(connection: Connection, *more: MetaData) -> None:
    """Create missing tables and bring older ones up to this layout (``upgrade``), in one transaction that holds the database's write lock first:
    processes starting at once on an empty database would all see a table missing, all CREATE
    it, and all but one fail ("already exists"). PostgreSQL: an advisory lock; SQLite: BEGIN
    IMMEDIATE (the others wait on the busy timeout, then find the tables there)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text_clause("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
        )
    elif connection.dialect.name == "sqlite":
        # pysqlite begins nothing itself before DDL: this BEGIN is the transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    Base.metadata.create_all(connection)
    upgrade(connection, Base.metadata)
    for metadata in more:  # tables of others on the same database (slack_sdk's OAuth stores)
        metadata.create_all(connection)
    connection.commit()


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Text every database can hold: lone surrogates (JSON's ``\\ud83c``) become U+FFFD and NUL
    characters are dropped (SQLite refuses the first, PostgreSQL both)."""
    return _LONE_SURROGATE.sub("\ufffd", text).replace("\x00", "")
