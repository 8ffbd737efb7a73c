"""The store: what must hold across restarts and processes is decided by the database."""

from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import SIGNATURE_MEMORY_SECONDS, SIGNATURE_WINDOW_SECONDS, Store, utcnow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'home' / 'sportbot.db'}"


@pytest.fixture
def store(db_url: str) -> Store:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def test_an_event_is_claimed_once_also_after_a_restart(db_url: str) -> None:
    first = Store.open(db_url)
    assert first.claim_event("Ev1") is True
    assert first.claim_event("Ev1") is False
    first.close()
    again = Store.open(db_url)
    assert again.claim_event("Ev1") is False
    assert again.claim_event("Ev2") is True
    again.close()


def test_a_released_claim_can_be_claimed_again(store: Store) -> None:
    assert store.claim_event("Ev9")
    store.release_event("Ev9")
    assert store.claim_event("Ev9")


def test_old_claims_are_forgotten(store: Store) -> None:
    store.claim_event("EvOld")
    assert store.forget_events_before(utcnow() - timedelta(hours=1)) == 0
    assert store.forget_events_before(utcnow() + timedelta(seconds=1)) == 1
    assert store.claim_event("EvOld")


def _claim_all(url: str, ids: list[str], start: multiprocessing.synchronize.Event) -> list[str]:
    store = Store.open(url)
    start.wait()
    won = [event_id for event_id in ids if store.claim_event(event_id)]
    store.close()
    return won


def test_two_processes_never_both_claim_an_event(db_url: str) -> None:
    Store.open(db_url).close()
    ids = [f"Ev{i}" for i in range(200)]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(2) as pool:
            results = [pool.apply_async(_claim_all, (db_url, ids, start)) for _ in range(2)]
            start.set()
            first, second = (result.get(timeout=60) for result in results)
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)


def test_the_retrain_lock_has_one_holder(store: Store, db_url: str) -> None:
    other_process = Store.open(db_url)
    assert store.acquire_lock("job-a")
    assert not other_process.acquire_lock("job-b")
    assert other_process.lock_owner() == "job-a"
    assert not other_process.release_lock("job-b")  # not the holder: nothing released
    assert store.release_lock("job-a")
    assert other_process.acquire_lock("job-b")
    other_process.close()


def test_a_stale_lock_is_taken_over(store: Store) -> None:
    assert store.acquire_lock("dead-job")
    assert not store.acquire_lock("new-job", stale_after=timedelta(minutes=5))
    assert store.acquire_lock("new-job", stale_after=timedelta(seconds=-1))
    assert store.lock_owner() == "new-job"


def test_autotag_is_on_until_switched_off_per_channel(store: Store) -> None:
    assert store.autotag_enabled("C1")
    store.set_autotag("C1", False, "UADMIN")
    assert not store.autotag_enabled("C1")
    assert store.autotag_enabled("C2")
    store.set_autotag("C1", True, "UADMIN")
    assert store.autotag_enabled("C1")


def test_feedback_examples_keep_what_was_said(store: Store) -> None:
    store.add_feedback("Great save by the goalie", "hockey", "U1", "model-1", "baseball")
    store.add_feedback("Home run!", "baseball", "U2", "model-1", "baseball")
    examples = store.feedback_examples()
    assert store.feedback_count() == 2
    assert [(e.text, e.label, e.user_id, e.predicted_label) for e in examples] == [
        ("Great save by the goalie", "hockey", "U1", "baseball"),
        ("Home run!", "baseball", "U2", "baseball"),
    ]
    assert examples[0].created_at.tzinfo is not None


def test_retrain_audit_log(store: Store) -> None:
    first = store.record_retrain("U1", "all", "refused", message="not an admin")
    second = store.record_retrain("U2", "feedback", "running", job_id="ftjob-1")
    store.update_retrain(second, status="succeeded", model_id="ft-model-2")
    recent = store.recent_retrains(5)
    assert [r.id for r in recent] == [second, first]
    assert (recent[0].status, recent[0].job_id, recent[0].model_id) == (
        "succeeded",
        "ftjob-1",
        "ft-model-2",
    )
    with pytest.raises(ValueError, match="unknown"):
        store.update_retrain(first, user_id="U3")


def test_a_retrain_left_running_by_a_dead_process_shows_as_failed(store: Store) -> None:
    running = store.record_retrain("U1", "all", "running")
    done = store.record_retrain("U1", "all", "succeeded")
    assert store.fail_unfinished_retrains("the bot stopped during the retrain") == 1
    assert store.get_retrain(running).status == "failed"
    assert store.get_retrain(done).status == "succeeded"


async def test_async_twins_share_the_database_with_the_plain_methods(store: Store) -> None:
    assert store.inline  # SQLite: queries run on the loop, cheaper than a thread hop
    assert await store.aclaim_event("EvA")
    assert not store.claim_event("EvA")
    await store.arelease_event("EvA")
    assert store.claim_event("EvA")
    store.set_autotag("C9", False, "UADMIN")
    assert await store.aautotag_enabled("C9") is False


def test_autotag_changed_by_another_process_shows_within_the_cache_time(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.store

    assert store.autotag_enabled("C7")
    assert store.cached_autotag("C7") is True
    other = Store.open(db_url)
    other.set_autotag("C7", False, "UADMIN")
    other.close()
    monkeypatch.setattr(bot.store, "AUTOTAG_CACHE_SECONDS", 0.0)
    assert store.cached_autotag("C7") is None
    assert not store.autotag_enabled("C7")


def test_a_signature_is_claimed_once_across_stores(store: Store, db_url: str) -> None:
    now = int(time.time())
    assert store.claim_signature("a" * 64, now)
    assert not store.claim_signature("a" * 64, now)
    other = Store.open(db_url)
    assert not other.claim_signature("a" * 64, now)
    assert other.claim_signature("b" * 64, now)
    other.close()


def test_signatures_older_than_the_window_are_purged_on_the_way(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.store

    now = int(time.time())
    old = now - SIGNATURE_MEMORY_SECONDS - 1
    assert store.claim_signature("old" + "0" * 61, old)  # purges nothing yet: the table is empty
    assert store.claim_signature("new" + "0" * 61, now - SIGNATURE_WINDOW_SECONDS)
    monkeypatch.setattr(bot.store, "SIGNATURE_PURGE_SECONDS", 0.0)
    assert store.claim_signature("next" + "0" * 60, now)
    assert store.claim_signature("old" + "0" * 61, old)  # forgotten: stale anyway
    assert not store.claim_signature("new" + "0" * 61, now)  # still inside the window + margin


def _open_at(url: str, at: float, event_id: str) -> bool:
    time.sleep(max(0.0, at - time.time()))
    store = Store.open(url)
    claimed = store.claim_event(event_id)
    store.close()
    return claimed


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
        store = Store.open(url)
        assert not any(store.claim_event(event_id) for event_id in ids)  # all six wrote
        store.close()
