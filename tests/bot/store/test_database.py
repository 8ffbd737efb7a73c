"""Where queries run: the hot path inline on SQLite, in a worker thread on a networked database,
everything else in a worker thread."""

from __future__ import annotations

import threading

from bot.store import Store


async def test_on_sqlite_the_hot_path_runs_on_the_loop_and_the_rest_in_a_thread(
    store: Store,
) -> None:
    database = store.database
    assert database.inline  # SQLite: queries run on the loop, cheaper than a thread hop
    loop_thread = threading.get_ident()
    assert await database.run_hot(threading.get_ident) == loop_thread
    assert await database.run_in_thread(threading.get_ident) != loop_thread


async def test_on_a_networked_database_the_hot_path_runs_in_a_thread(store: Store) -> None:
    database = store.database
    database.inline = False  # what a PostgreSQL URL gives (tests/e2e/test_replicas.py runs one)
    assert await database.run_hot(threading.get_ident) != threading.get_ident()


async def test_hot_path_claims_and_session_queries_share_the_database(store: Store) -> None:
    assert await store.events.claim("EvA")  # the hot connection
    assert not await store.events.claim("EvA")
    await store.events.release("EvA")  # a pooled connection, in a session
    assert await store.events.claim("EvA")
    await store.channels.set_autotag("C9", False, "UADMIN")  # a session, in a worker thread
    assert await store.channels.autotag_enabled("C9") is False  # the hot connection
    assert await store.channels.autotag_enabled("C9", fresh=True) is False
