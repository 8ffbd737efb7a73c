"""One open database: its engine, SQLite's pragmas, the hot connection, and where queries run.

Where a query runs is decided here, once for every concern: the event loop's hot path (event
and signature claims, the auto-tag switch) runs inline on SQLite, because a local file answers
in a fraction of a millisecond and handing the work to a thread and back costs more than the
query; on a networked database (PostgreSQL) it runs in a worker thread so that the loop never
waits on the network. Everything else (feedback, the audit log, locks, housekeeping) always
runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from bot.store.schema import create_tables

T = TypeVar("T")
P = ParamSpec("P")

SQLITE_BUSY_TIMEOUT_SECONDS = 30
"""How long a SQLite writer waits for another process's write lock before it fails."""


class Database:
    """An engine and what the concerns share on it. ``Database.open(url)`` creates the tables
    that are missing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite"
        """Whether the hot path runs its queries inline on the loop (SQLite) or in a thread."""
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._raw: PoolProxiedConnection | None = None
        self._hot: sqlite3.Connection | None = None
        self._raw_lock = threading.Lock()

    @classmethod
    def open(cls, url: str) -> Database:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                "check_same_thread": False,
            }
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_engine(url, **kwargs)
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        with engine.connect() as connection:
            create_tables(connection)
        return cls(engine)

    def create_tables(self, *metadata: MetaData) -> None:
        """Create the tables of ``metadata`` that are missing, under the same lock as the
        store's own (replicas starting together)."""
        with self.engine.connect() as connection:
            create_tables(connection, *metadata)

    def close(self) -> None:
        with self._raw_lock:
            if self._raw is not None and self._hot is not None:
                # Back to the pool as it came (SQLAlchemy drives transactions itself).
                self._hot.isolation_level = "DEFERRED"
                self._raw.close()
                self._raw = self._hot = None
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction, committed when the block ends without an error."""
        with self._sessions.begin() as session:
            yield session

    async def run_hot(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a hot-path query: inline on SQLite, in a worker thread on a networked database."""
        if self.inline:
            return function(*args, **kwargs)
        return await asyncio.to_thread(function, *args, **kwargs)

    async def run_in_thread(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a query that is off the hot path in a worker thread (on every database)."""
        return await asyncio.to_thread(function, *args, **kwargs)

    # the SQLite hot connection -------------------------------------------------------------

    def write_hot(self, statement: str, parameters: tuple[Any, ...]) -> int:
        """Run one SQLite write on the hot connection; return how many rows it changed.

        A plain statement on the hot connection takes a third of the time SQLAlchemy takes for
        the same one. Callers write the same tables and the same value formats as SQLAlchemy.
        """
        with self._raw_lock:
            hot = self._hot or self._open_hot_connection()
            return int(hot.execute(statement, parameters).rowcount)

    def read_hot(self, statement: str, parameters: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The first row of one SQLite query on the hot connection, or None."""
        with self._raw_lock:
            hot = self._hot or self._open_hot_connection()
            row: tuple[Any, ...] | None = hot.execute(statement, parameters).fetchone()
            return row

    def _open_hot_connection(self) -> sqlite3.Connection:
        """The SQLite connection of the hot path (call with ``_raw_lock`` held): one kept open,
        in autocommit mode, so that each claim is one statement, its own transaction, instead
        of BEGIN, INSERT and COMMIT (each claim is a write transaction either way). All of this
        process's hot-path writes go through it: a write by another connection makes SQLite
        drop this one's page cache and read the pages again."""
        self._raw = self.engine.raw_connection()
        self._hot = cast(sqlite3.Connection, self._raw.driver_connection)
        self._hot.isolation_level = None
        return self._hot


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()
