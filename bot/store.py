"""The bot's state in SQL: channel settings, feedback, processed events, retrain audit log and lock.

SQLite under ``SPORTBOT_HOME`` by default, PostgreSQL (or any SQLAlchemy URL) through
``DATABASE_URL``. Every method is synchronous and short; async callers run them in a thread.
Everything that must hold across processes (event dedupe, the retrain lock) is decided by the
database, never by process memory.

The ``a…`` twins are for the event loop's hot path: on SQLite (a local file, a fraction of a
millisecond) they run inline, because handing work to a thread and back costs more than the
query; on a networked database they run in a worker thread so that the loop never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import text as text_clause
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRAIN_LOCK = "retrain"
"""Name of the one lock row that allows a single retrain at a time."""

AUTOTAG_CACHE_SECONDS = 2.0
"""How long a channel's auto-tag switch is remembered: another replica's change shows within it."""

SIGNATURE_WINDOW_SECONDS = 5 * 60
"""How far a request's signature timestamp may be from now (Slack's rule, slack_sdk's check)."""
SIGNATURE_MEMORY_SECONDS = SIGNATURE_WINDOW_SECONDS + 60
"""How long a seen signature is kept after its timestamp: the window plus a margin for replicas'
clocks. Older ones cannot be replayed anyway (their timestamp is refused as stale)."""
SIGNATURE_PURGE_SECONDS = 2.0
"""How often a process drops the signatures older than ``SIGNATURE_MEMORY_SECONDS``: often, so
each purge is small (at 100 requests/s a once-a-minute purge deleted 6,000 rows and held the event
loop for 29-42 ms; 200 rows take about 1 ms)."""


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


class ChannelSetting(Base):
    __tablename__ = "channel_settings"

    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    autotag: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class ProcessedEvent(Base):
    """An event id some process has claimed; the primary key makes the claim unique."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class Lock(Base):
    """A named lock held by one owner (a process/job) since ``acquired_at``."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class FeedbackExample:
    text: str
    label: str
    user_id: str
    created_at: datetime
    model: str | None
    predicted_label: str | None


@dataclass(frozen=True)
class RetrainRecord:
    id: int
    user_id: str
    created_at: datetime
    updated_at: datetime
    source: str
    status: str
    job_id: str | None
    model_id: str | None
    message: str | None


UNFINISHED_STATUSES = ("queued", "running")


class Store:
    """The bot's database. ``Store.open(url)`` creates the tables that are missing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite"
        """Whether the async twins run queries inline on the loop (SQLite) or in a thread."""
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._autotag: dict[str, tuple[float, bool]] = {}
        self._raw: Any = None
        self._raw_lock = threading.Lock()
        # Hot-path statements, built once (SQLAlchemy's statement building costs more than
        # SQLite's insert itself).
        self._claim = insert(ProcessedEvent.__table__)
        self._see = insert(SeenSignature.__table__)
        self._purged_at = -float("inf")
        self._read_autotag = select(ChannelSetting.__table__.c.autotag).where(
            ChannelSetting.__table__.c.channel_id == bindparam("channel_id")
        )

    @classmethod
    def open(cls, url: str) -> Store:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _create_tables(engine)
        return cls(engine)

    def close(self) -> None:
        with self._raw_lock:
            if self._raw is not None:
                # Back to the pool as it came (SQLAlchemy drives transactions itself).
                self._raw.driver_connection.isolation_level = ""
                self._raw.close()
                self._raw = None
        self.engine.dispose()

    async def _offload(self, function: Callable[..., T], *args: Any) -> T:
        if self.inline:
            return function(*args)
        return await asyncio.to_thread(function, *args)

    async def aautotag_enabled(self, channel_id: str) -> bool:
        """``autotag_enabled`` for the event loop (answered from memory when fresh)."""
        cached = self.cached_autotag(channel_id)
        if cached is not None:
            return cached
        return await self._offload(self.autotag_enabled, channel_id)

    async def aclaim_event(self, event_id: str) -> bool:
        """``claim_event`` for the event loop."""
        return await self._offload(self.claim_event, event_id)

    async def aclaim_signature(self, signature_hash: str, signed_at: int) -> bool:
        """``claim_signature`` for the event loop."""
        return await self._offload(self.claim_signature, signature_hash, signed_at)

    async def arelease_event(self, event_id: str) -> None:
        """``release_event`` for the event loop."""
        await self._offload(self.release_event, event_id)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # channel settings ------------------------------------------------------------------------

    def autotag_enabled(self, channel_id: str) -> bool:
        """Whether auto-tagging is on in a channel (on unless an admin turned it off)."""
        if self.inline:  # read every few seconds per channel on the hot path
            with self._raw_lock:
                row = (
                    self._hot_connection()
                    .execute(
                        "SELECT autotag FROM channel_settings WHERE channel_id = ?", (channel_id,)
                    )
                    .fetchone()
                )
            value = None if row is None else row[0]
        else:
            with self.engine.connect() as connection:
                value = connection.execute(self._read_autotag, {"channel_id": channel_id}).scalar()
        enabled = True if value is None else bool(value)
        self._autotag[channel_id] = (time.monotonic(), enabled)
        return enabled

    def cached_autotag(self, channel_id: str) -> bool | None:
        """The switch as read less than ``AUTOTAG_CACHE_SECONDS`` ago, or None (ask the database)."""
        entry = self._autotag.get(channel_id)
        if entry is None or time.monotonic() - entry[0] > AUTOTAG_CACHE_SECONDS:
            return None
        return entry[1]

    def set_autotag(self, channel_id: str, enabled: bool, user_id: str) -> None:
        with self._session() as session:
            row = session.get(ChannelSetting, channel_id)
            if row is None:
                session.add(
                    ChannelSetting(channel_id=channel_id, autotag=enabled, updated_by=user_id)
                )
            else:
                row.autotag = enabled
                row.updated_by = user_id
                row.updated_at = utcnow()
        self._autotag[channel_id] = (time.monotonic(), enabled)

    # feedback --------------------------------------------------------------------------------

    def add_feedback(
        self,
        text: str,
        label: str,
        user_id: str,
        model: str | None = None,
        predicted_label: str | None = None,
    ) -> int:
        with self._session() as session:
            row = Feedback(
                text=storable_text(text),
                label=storable_text(label),
                user_id=storable_text(user_id),
                model=storable_text(model) if model is not None else None,
                predicted_label=(
                    storable_text(predicted_label) if predicted_label is not None else None
                ),
            )
            session.add(row)
            session.flush()
            return row.id

    def feedback_count(self) -> int:
        with self._session() as session:
            return int(session.scalar(select(func.count()).select_from(Feedback)) or 0)

    def feedback_examples(self) -> list[FeedbackExample]:
        """Every stored feedback example, oldest first (a training data source)."""
        with self._session() as session:
            rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
            return [
                FeedbackExample(
                    text=r.text,
                    label=r.label,
                    user_id=r.user_id,
                    created_at=r.created_at,
                    model=r.model,
                    predicted_label=r.predicted_label,
                )
                for r in rows
            ]

    # processed events ------------------------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """Record ``event_id`` as processed; True only for the one caller that recorded it first.

        Insert-if-absent on the primary key: two processes (or a restart) can never both claim.
        """
        if self.inline:
            return self._claim_sqlite(event_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(self._claim, {"event_id": event_id, "processed_at": utcnow()})
        except IntegrityError:
            return False
        return True

    def _claim_sqlite(self, event_id: str) -> bool:
        return self._insert_sqlite(
            "INSERT OR IGNORE INTO processed_events (event_id, processed_at) VALUES (?, ?)",
            # SQLAlchemy's SQLite DATETIME text; isoformat writes it for a fraction of the cost of
            # strftime, which goes through the C library and its locale on every call.
            (event_id, utcnow().replace(tzinfo=None).isoformat(" ", "microseconds")),
        )

    def _insert_sqlite(self, statement: str, parameters: tuple[Any, ...]) -> bool:
        # The auto-tag hot path: a plain INSERT OR IGNORE on the hot connection (a third of the
        # time SQLAlchemy takes for the same statement). Same tables, same timestamp format as
        # SQLAlchemy writes. True when the row was inserted.
        with self._raw_lock:
            return self._hot_connection().execute(statement, parameters).rowcount == 1

    def _hot_connection(self) -> Any:
        """The SQLite connection of the hot path (call with ``_raw_lock`` held): one kept open,
        in autocommit mode, so that each claim is one statement, its own transaction, instead
        of BEGIN, INSERT and COMMIT (each claim is a write transaction either way). All of this
        process's hot-path writes go through it: a write by another connection makes SQLite
        drop this one's page cache and read the pages again."""
        if self._raw is None:
            self._raw = self.engine.raw_connection()
            self._raw.driver_connection.isolation_level = None
        return self._raw.driver_connection

    def release_event(self, event_id: str) -> None:
        """Forget a claim whose work failed, so that Slack's redelivery can do it."""
        with self._session() as session:
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id == event_id))

    def forget_events_before(self, when: datetime) -> int:
        """Drop claims older than ``when`` (Slack stops redelivering after about an hour)."""
        with self._session() as session:
            result = session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.processed_at < when)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # seen signatures (replays) ----------------------------------------------------------------

    def claim_signature(self, signature_hash: str, signed_at: int) -> bool:
        """Record a signed request as seen; True only for the first process to see it.

        Insert-if-absent on the primary key, like ``claim_event``: a replay fails to insert in
        every process sharing the database. Every ``SIGNATURE_PURGE_SECONDS``, signatures older than
        ``SIGNATURE_MEMORY_SECONDS`` are dropped on the way.
        """
        now = time.monotonic()
        if now - self._purged_at >= SIGNATURE_PURGE_SECONDS:
            self._purged_at = now
            self.forget_signatures_before(int(time.time()) - SIGNATURE_MEMORY_SECONDS)
        if self.inline:
            return self._insert_sqlite(
                "INSERT OR IGNORE INTO seen_signatures (signature_hash, signed_at) VALUES (?, ?)",
                (signature_hash, signed_at),
            )
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    self._see, {"signature_hash": signature_hash, "signed_at": signed_at}
                )
        except IntegrityError:
            return False
        return True

    def forget_signatures_before(self, signed_at: int) -> int:
        """Drop seen signatures whose timestamp is older than ``signed_at`` (Unix seconds)."""
        if self.inline:  # on the claims' connection (see ``_hot_connection``)
            with self._raw_lock:
                statement = "DELETE FROM seen_signatures WHERE signed_at < ?"
                return int(self._hot_connection().execute(statement, (signed_at,)).rowcount)
        with self._session() as session:
            result = session.execute(
                delete(SeenSignature).where(SeenSignature.signed_at < signed_at)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # retrain audit log -----------------------------------------------------------------------

    def record_retrain(
        self,
        user_id: str,
        source: str,
        status: str,
        *,
        job_id: str | None = None,
        model_id: str | None = None,
        message: str | None = None,
    ) -> int:
        """Add an audit row and return its id."""
        with self._session() as session:
            row = RetrainAudit(
                user_id=user_id,
                source=source,
                status=status,
                job_id=job_id,
                model_id=model_id,
                message=message,
            )
            session.add(row)
            session.flush()
            return row.id

    def update_retrain(self, audit_id: int, **fields: str | None) -> None:
        """Change ``status``, ``job_id``, ``model_id`` or ``message`` of an audit row."""
        allowed = {"status", "job_id", "model_id", "message"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown retrain audit fields: {sorted(unknown)}")
        with self._session() as session:
            session.execute(
                update(RetrainAudit)
                .where(RetrainAudit.id == audit_id)
                .values(**fields, updated_at=utcnow())
            )

    def recent_retrains(self, limit: int = 5) -> list[RetrainRecord]:
        """The newest audit rows first."""
        with self._session() as session:
            rows = session.scalars(
                select(RetrainAudit).order_by(RetrainAudit.id.desc()).limit(limit)
            ).all()
            return [_record(r) for r in rows]

    def get_retrain(self, audit_id: int) -> RetrainRecord | None:
        with self._session() as session:
            row = session.get(RetrainAudit, audit_id)
            return _record(row) if row is not None else None

    def fail_unfinished_retrains(self, message: str) -> int:
        """Mark retrains left queued/running (their process died) as failed; return how many."""
        with self._session() as session:
            result = session.execute(
                update(RetrainAudit)
                .where(RetrainAudit.status.in_(UNFINISHED_STATUSES))
                .values(status="failed", message=message, updated_at=utcnow())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # locks -----------------------------------------------------------------------------------

    def acquire_lock(
        self, owner: str, *, name: str = RETRAIN_LOCK, stale_after: timedelta = timedelta(hours=1)
    ) -> bool:
        """Take the lock ``name`` for ``owner``; False when someone else holds a fresh one.

        A lock older than ``stale_after`` is taken over (its holder is presumed dead).
        """
        now = utcnow()
        try:
            with self._session() as session:
                session.execute(insert(Lock).values(name=name, owner=owner, acquired_at=now))
            return True
        except IntegrityError:
            pass
        with self._session() as session:
            result = session.execute(
                update(Lock)
                .where(Lock.name == name, Lock.acquired_at < now - stale_after)
                .values(owner=owner, acquired_at=now)
            )
            taken = bool(getattr(result, "rowcount", 0))
        if taken:
            logger.warning("took over the stale %s lock", name)
        return taken

    def release_lock(self, owner: str, *, name: str = RETRAIN_LOCK) -> bool:
        """Release the lock if ``owner`` holds it; True when it did."""
        with self._session() as session:
            result = session.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))
            return bool(getattr(result, "rowcount", 0))

    def lock_owner(self, name: str = RETRAIN_LOCK) -> str | None:
        with self._session() as session:
            return session.scalar(select(Lock.owner).where(Lock.name == name))


SCHEMA_LOCK_KEY = 0x5B0B07
"""PostgreSQL advisory lock taken while creating the tables (replicas starting together)."""


def _create_tables(engine: Engine) -> None:
    """Create missing tables, in one transaction that holds the database's write lock first:
    processes starting at once on an empty database would all see a table missing, all CREATE
    it, and all but one fail ("already exists"). PostgreSQL: an advisory lock; SQLite: BEGIN
    IMMEDIATE (the others wait on the busy timeout, then find the tables there)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text_clause("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
            )
        elif connection.dialect.name == "sqlite":
            # pysqlite begins nothing itself before DDL: this BEGIN is the transaction.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        Base.metadata.create_all(connection)
        connection.commit()


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Text every database can hold: lone surrogates (JSON's ``\\ud83c``) become U+FFFD and NUL
    characters are dropped (SQLite refuses the first, PostgreSQL both)."""
    return _LONE_SURROGATE.sub("\ufffd", text).replace("\x00", "")


def _record(row: RetrainAudit) -> RetrainRecord:
    return RetrainRecord(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        source=row.source,
        status=row.status,
        job_id=row.job_id,
        model_id=row.model_id,
        message=row.message,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
