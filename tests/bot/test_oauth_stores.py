"""The OAuth stores on the store's database: installations kept and found per workspace, and
an install state good once, even when redirects carrying it arrive together (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import inspect

from bot.oauth import ConsumedOnceStateStore, ThreadedInstallationStore, ThreadedStateStore
from bot.store import Store
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sportbot.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = Store.open(url)
    yield opened
    opened.close()


def stores(
    store: Store, seconds: int = 600
) -> tuple[ThreadedInstallationStore, ThreadedStateStore]:
    installations = SQLAlchemyInstallationStore(client_id="111.222", engine=store.database.engine)
    states = ConsumedOnceStateStore(expiration_seconds=seconds, engine=store.database.engine)
    store.database.create_tables(installations.metadata, states.metadata)
    return ThreadedInstallationStore(installations), ThreadedStateStore(states)


async def test_installations_are_kept_and_found_per_workspace(store: Store) -> None:
    installations, _ = stores(store)
    tables = set(inspect(store.database.engine).get_table_names())
    assert {"slack_installations", "slack_bots", "slack_oauth_states"} <= tables
    for team, enterprise, token in [("TA", None, "xoxb-a"), ("TB", "EB", "xoxb-b")]:
        await installations.async_save(
            Installation(
                app_id="A1",
                enterprise_id=enterprise,
                team_id=team,
                bot_token=token,
                bot_id=f"B{team}",
                bot_user_id=f"U{team}",
                bot_scopes="commands,chat:write",
                user_id="UINSTALLER",
                installed_at=time.time(),
            )
        )
    found_a = await installations.async_find_bot(enterprise_id=None, team_id="TA")
    found_b = await installations.async_find_bot(enterprise_id="EB", team_id="TB")
    assert found_a is not None and found_a.bot_token == "xoxb-a"
    assert found_b is not None and found_b.bot_token == "xoxb-b"
    assert await installations.async_find_bot(enterprise_id=None, team_id="TB") is None
    await installations.async_delete_all(enterprise_id="EB", team_id="TB")
    assert await installations.async_find_bot(enterprise_id="EB", team_id="TB") is None
    assert await installations.async_find_installation(enterprise_id=None, team_id="TA")


async def test_a_state_is_good_once_even_for_redirects_at_once(store: Store) -> None:
    _, states = stores(store)
    # slack_sdk's own store (read, then delete) let 92 of 100 states through more than once
    # on PostgreSQL with three redirects at once.
    for _ in range(20):
        state = await states.async_issue()
        answers = await asyncio.gather(*(states.async_consume(state) for _ in range(3)))
        assert sorted(answers) == [False, False, True]
    assert not await states.async_consume("never-issued")


async def test_an_expired_state_is_refused_and_forgotten(store: Store) -> None:
    _, states = stores(store, seconds=0)
    state = await states.async_issue()
    assert not await states.async_consume(state)
    assert states.store.forget_expired() == 1
