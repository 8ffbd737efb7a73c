"""A real, throwaway PostgreSQL server for the test session (Debian's ``postgresql`` package).

``initdb`` and ``pg_ctl`` refuse to run as root, so under root (CI) they run as the ``postgres``
user in a temporary folder that user owns. The server listens on a free loopback port with its
unix socket in that folder, trusts local connections, and skips durability (``fsync=off``): it
lives for one test session. Each test gets a fresh database from ``PostgresServer.new_database``.

Use the ``postgres_server`` fixture (import it into the test module); it skips only when the
PostgreSQL binaries are not installed (``apt-get install postgresql``).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.bot_process import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
"""Debian's versioned folders, newest first (pg_ctl is not on PATH there)."""

SERVER_USER = "postgres"
"""The OS user the server runs as when the tests run as root."""


@dataclass
class PostgresServer:
    port: int
    folder: Path
    bin_dir: Path
    run_as: str | None
    _names = itertools.count(1)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """An SQLAlchemy URL (``DATABASE_URL``) for one database of this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "sportbot") -> str:
        """Create an empty database and return its ``DATABASE_URL``."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        data = self.folder / "data"
        if data.exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    candidates = [*BIN_DIRS]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def start_postgres(bin_dir: Path) -> PostgresServer:
    """initdb a fresh cluster in a temporary folder and start it on a free loopback port."""
    run_as = SERVER_USER if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="sportbot-pg-"))
    if run_as is not None:
        user = pwd.getpwnam(run_as)
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = PostgresServer(port=free_port(), folder=folder, bin_dir=bin_dir, run_as=run_as)
    data = folder / "data"
    try:
        server._run(
            "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        options = " ".join(
            [
                f"-p {server.port}",
                f"-k {folder}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        server._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"
        )
    except BaseException:
        log = folder / "log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        if detail:
            raise RuntimeError(f"PostgreSQL did not start:\n{detail}") from None
        raise
    return server


_server: PostgresServer | None = None


def shared_server() -> PostgresServer:
    """The session's one server (started on first use, stopped when the interpreter exits)."""
    global _server
    if _server is None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            pytest.skip(
                "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin "
                "or on PATH): apt-get install postgresql"
            )
        _server = start_postgres(bin_dir)
        atexit.register(_server.stop)
    return _server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server, shared by the whole test session."""
    yield shared_server()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for one test, as a ``DATABASE_URL``."""
    return postgres_server.new_database()
