"""The tables: created once by whichever process opens a new database first, and laid out as
existing databases have them."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

from sqlalchemy import inspect

from bot.store import Store

WORKSPACE = ["team_id", "enterprise_id"]

LAYOUT = {
    "answers": ["id", "team_id", "text", "predicted_label", "model", "created_at", "enterprise_id"],
    "channel_settings": ["channel_id", "autotag", "updated_by", "updated_at", *WORKSPACE],
    "feedback": [
        "id",
        "text",
        "label",
        "user_id",
        "created_at",
        "model",
        "predicted_label",
        *WORKSPACE,
    ],
    "locks": ["name", "owner", "acquired_at"],
    "processed_events": ["event_id", "processed_at", *WORKSPACE],
    "retrain_audit": [
        "id",
        "user_id",
        "created_at",
        "updated_at",
        "source",
        "status",
        "job_id",
        "model_id",
        "message",
        *WORKSPACE,
    ],
    "seen_signatures": ["signature_hash", "signed_at"],
}
"""Tables and columns of the databases the bot writes: those of the databases it has written
(``tests/bot/store/test_migrations.py``), then the workspace columns, where an upgrade adds them."""


def test_the_tables_are_laid_out_as_existing_databases_have_them(store: Store) -> None:
    found = inspect(store.database.engine)
    assert {
        table: [column["name"] for column in found.get_columns(table)]
        for table in found.get_table_names()
    } == LAYOUT
    assert [index["column_names"] for index in found.get_indexes("seen_signatures")] == [
        ["signed_at"]
    ]
    assert [index["column_names"] for index in found.get_indexes("answers")] == [["created_at"]]
    key = found.get_pk_constraint("channel_settings")["constrained_columns"]
    assert key == ["team_id", "channel_id"]


def _open_at(url: str, at: float, event_id: str) -> bool:
    time.sleep(max(0.0, at - time.time()))
    store = Store.open(url)
    claimed = asyncio.run(store.events.claim(event_id))
    store.close()
    return claimed


async def _claimed_by_nobody(url: str, ids: list[str]) -> bool:
    store = Store.open(url)
    try:
        return not any([await store.events.claim(event_id) for event_id in ids])
    finally:
        store.close()


def test_processes_starting_together_on_a_new_sqlite_file_all_open_it(tmp_path: Path) -> None:
    """Each process creates the missing tables; several doing it at once on a file nobody has
    created yet must not fail ("table … already exists")."""
    for attempt in range(3):  # a few fresh files: the race is a matter of milliseconds
        url = f"sqlite:///{tmp_path / f'new-{attempt}' / 'sportbot.db'}"
        context = multiprocessing.get_context("spawn")
        with context.Pool(6) as pool:
            at = time.time() + 4.0  # after every worker has imported the store
            ids = [f"Ev-{attempt}-{n}" for n in range(6)]
            results = [pool.apply_async(_open_at, (url, at, event_id)) for event_id in ids]
            assert [result.get(timeout=60) for result in results] == [True] * 6
        assert asyncio.run(_claimed_by_nobody(url, ids))  # all six wrote
