"""A database written before workspaces were recorded opens, keeps its rows, and gets the
workspace columns and the channel settings' new key (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
)

from bot.store import Store
from tests.bot.store.test_schema import LAYOUT
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)

OLD = MetaData()
Table(
    "channel_settings",
    OLD,
    Column("channel_id", String(64), primary_key=True),
    Column("autotag", Boolean),
    Column("updated_by", String(64)),
    Column("updated_at", DateTime(timezone=True)),
)
Table(
    "feedback",
    OLD,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text),
    Column("label", String(64)),
    Column("user_id", String(64)),
    Column("created_at", DateTime(timezone=True)),
    Column("model", String(200)),
    Column("predicted_label", String(64)),
)
Table(
    "answers",
    OLD,
    Column("id", String(32), primary_key=True),
    Column("team_id", String(64)),
    Column("text", Text),
    Column("predicted_label", String(64)),
    Column("model", String(200)),
    Column("created_at", DateTime(timezone=True), index=True),
)
Table(
    "processed_events",
    OLD,
    Column("event_id", String(128), primary_key=True),
    Column("processed_at", DateTime(timezone=True)),
)
Table(
    "seen_signatures",
    OLD,
    Column("signature_hash", String(64), primary_key=True),
    Column("signed_at", BigInteger, index=True),
)
Table(
    "retrain_audit",
    OLD,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("source", String(32)),
    Column("status", String(32)),
    Column("job_id", String(200)),
    Column("model_id", String(200)),
    Column("message", Text),
)
Table(
    "locks",
    OLD,
    Column("name", String(64), primary_key=True),
    Column("owner", String(200)),
    Column("acquired_at", DateTime(timezone=True)),
)
"""The layout the bot wrote before it recorded workspaces."""

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def write_old_database(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        OLD.create_all(connection)
        tables = OLD.tables
        connection.execute(
            tables["channel_settings"].insert(),
            [{"channel_id": "C0QUIET", "autotag": False, "updated_by": "U1", "updated_at": WHEN}],
        )
        connection.execute(
            tables["feedback"].insert(),
            [{"text": "a slapshot", "label": "hockey", "user_id": "U1", "created_at": WHEN}],
        )
        connection.execute(
            tables["processed_events"].insert(), [{"event_id": "Ev1", "processed_at": WHEN}]
        )
        connection.execute(
            tables["retrain_audit"].insert(),
            [
                {
                    "user_id": "U1",
                    "created_at": WHEN,
                    "updated_at": WHEN,
                    "source": "all",
                    "status": "succeeded",
                }
            ],
        )
    engine.dispose()


async def check_upgrade(url: str) -> None:
    write_old_database(url)
    for _ in range(2):  # the second open finds nothing left to do
        store = Store.open(url)
        try:
            found = inspect(store.database.engine)
            assert {
                table: [column["name"] for column in found.get_columns(table)]
                for table in found.get_table_names()
            } == LAYOUT
            key = found.get_pk_constraint("channel_settings")["constrained_columns"]
            assert key == ["team_id", "channel_id"]
            # The old rows are there, of no workspace; the old switch holds in any workspace
            # until that workspace switches for itself.
            assert not await store.channels.autotag_enabled("C0QUIET", team_id="T1", fresh=True)
            [example] = await store.feedback.examples()
            assert (example.text, example.team_id) == ("a slapshot", "")
            assert not await store.events.claim("Ev1", team_id="T1")
            [audit] = await store.retrains.recent()
            assert (audit.status, audit.team_id) == ("succeeded", "")
        finally:
            store.close()
    store = Store.open(url)
    try:
        # Two workspaces now switch the same channel id (a channel shared between them).
        await store.channels.set_autotag("C0QUIET", True, "UA", team_id="T1")
        await store.channels.set_autotag("C0QUIET", False, "UB", team_id="T2", enterprise_id="E2")
        assert await store.channels.autotag_enabled("C0QUIET", team_id="T1", fresh=True)
        assert not await store.channels.autotag_enabled("C0QUIET", team_id="T2", fresh=True)
        assert not await store.channels.autotag_enabled("C0QUIET", team_id="T3", fresh=True)
        assert await store.events.claim("Ev2", team_id="T2", enterprise_id="E2")
        await store.feedback.add("a home run", "baseball", "UB", team_id="T2", enterprise_id="E2")
        latest = (await store.feedback.examples())[-1]
        assert (latest.team_id, latest.enterprise_id) == ("T2", "E2")
    finally:
        store.close()


async def test_an_old_sqlite_database_is_upgraded_when_opened(tmp_path: Path) -> None:
    await check_upgrade(f"sqlite:///{tmp_path}/old.db")


async def test_an_old_postgresql_database_is_upgraded_when_opened(postgres_url: str) -> None:  # noqa: F811
    await check_upgrade(postgres_url)
