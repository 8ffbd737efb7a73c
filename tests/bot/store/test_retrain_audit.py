"""The retrain audit log."""

from __future__ import annotations

import pytest

from bot.store import Store


async def test_retrain_audit_log(store: Store) -> None:
    retrains = store.retrains
    first = await retrains.record("U1", "all", "refused", message="not an admin")
    second = await retrains.record("U2", "feedback", "running", job_id="ftjob-1")
    await retrains.update(second, status="succeeded", model_id="ft-model-2")
    recent = await retrains.recent(5)
    assert [r.id for r in recent] == [second, first]
    assert (recent[0].status, recent[0].job_id, recent[0].model_id) == (
        "succeeded",
        "ftjob-1",
        "ft-model-2",
    )
    assert recent[0].updated_at >= recent[0].created_at
    with pytest.raises(ValueError, match="unknown"):
        await retrains.update(first, user_id="U3")
    assert (await retrains.get(first)).user_id == "U1"  # type: ignore[union-attr]
    assert await retrains.get(second + 1) is None


async def test_a_retrain_left_running_by_a_dead_process_shows_as_failed(store: Store) -> None:
    retrains = store.retrains
    running = await retrains.record("U1", "all", "running")
    done = await retrains.record("U1", "all", "succeeded")
    assert await retrains.fail_unfinished("the bot stopped during the retrain") == 1
    assert (await retrains.get(running)).status == "failed"  # type: ignore[union-attr]
    assert (await retrains.get(done)).status == "succeeded"  # type: ignore[union-attr]
