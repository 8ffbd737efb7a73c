"""``/sport-retrain``: argument parsing, progress folding, the metrics table, the lock's dead-holder rule."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, update

from bot.listeners.commands.sport_retrain import (
    RetrainCommand,
    RetrainUsageError,
    parse_retrain_command,
)
from bot.retrain import (
    LOCK_STALE_AFTER,
    RETRAIN_LOCK,
    RetrainOrchestrator,
    RetrainProgress,
    RetrainRequest,
    lock_holder_is_dead,
    lock_owner_id,
    metrics_message,
    refresh_lock,
    retrain_lock_owner,
)
from bot.retrain.orchestrator import UPDATE_INTERVAL_SECONDS
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store import Store, utcnow
from bot.store.schema import Lock
from classifier.registry import ModelRegistry
from tests.support.metrics import by_label, samples_of
from tests.support.slack_api import SlackAPIStandIn
from training.finetune.events import (
    JobEvent,
    epoch_event,
    message_event,
    status_event,
    step_event,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", RetrainCommand("retrain", "all", False)),
        (None, RetrainCommand("retrain", "all", False)),
        ("--force", RetrainCommand("retrain", "all", True)),
        ("--source 20news", RetrainCommand("retrain", "20news", False)),
        ("--source=feedback --force", RetrainCommand("retrain", "feedback", True)),
        ("--force  --source ALL", RetrainCommand("retrain", "all", True)),
        ("rollback", RetrainCommand("rollback")),
        ("Rollback", RetrainCommand("rollback")),
        ("help", RetrainCommand("help")),
    ],
)
def test_parse_accepts_the_documented_forms(text: str | None, expected: RetrainCommand) -> None:
    assert parse_retrain_command(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("--source", "needs a value"),
        ("--source reddit", "`reddit` is not a source"),
        ("--source=", "`` is not a source"),
        ("--force --force", "given twice"),
        ("--source all --source feedback", "given twice"),
        ("rollback now", "takes nothing after it"),
        ("--forse", "`--forse` is not something"),
        ("retrain", "`retrain` is not something"),
        ("--force=yes", "`--force=yes` is not something"),
    ],
)
def test_parse_rejects_bad_arguments_saying_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(RetrainUsageError, match=complaint.replace("`", ".")):
        parse_retrain_command(text)


@pytest.mark.parametrize("text", ["--source {}", "{}", "help {}", "rollback {}"])
def test_a_complaint_echoes_at_most_forty_characters_of_an_argument_escaped(text: str) -> None:
    argument = "<@U1>&" + "y" * 3000
    with pytest.raises(RetrainUsageError) as raised:
        parse_retrain_command(text.format(argument))
    complaint = str(raised.value)
    assert len(complaint) < 120
    if "takes nothing" not in complaint:
        assert complaint.startswith("`&lt;@U1&gt;&amp;yyy")
        assert f"{'y' * 33}…`" in complaint
    assert "<" not in complaint


def test_request_refuses_an_unknown_source() -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        RetrainRequest("U1", "C1", source="reddit")


def _of_job(event: JobEvent, job_id: str) -> JobEvent:
    """The event as the job store hands it on: with its job's id."""
    return replace(event, job_id=job_id)


def test_progress_reads_job_id_and_epochs_off_the_job_events() -> None:
    progress = RetrainProgress("UADMIN", "all", force=False)
    assert "not created yet" in progress.text()
    progress.apply(message_event("Loading 20 Newsgroups (rec.sport.baseball), train split"))
    progress.apply(status_event("validating_files", job_id="ftjob-0123abcd"))
    progress.apply(_of_job(status_event("running"), "ftjob-0123abcd"))
    step = {"step": 3, "total_steps": 40, "epoch": 1, "n_epochs": 4, "train_loss": 0.6931}
    progress.apply(_of_job(step_event(step), "ftjob-0123abcd"))
    assert "Epoch" not in progress.text()  # a step is not a completed epoch
    progress.apply(_of_job(epoch_event(1, 4), "ftjob-0123abcd"))
    progress.apply(status_event("validating_files", job_id="ftjob-ffff"))  # the first id stays
    text = progress.text()
    assert "`ftjob-0123abcd`" in text
    assert "Epoch 1/4" in text
    assert "<@UADMIN>" in text
    progress.apply(_of_job(epoch_event(2, 4), "ftjob-0123abcd"))
    assert "Epoch 2/4" in progress.text()
    progress.outcome = "done"
    assert progress.text().endswith("done")


def test_progress_reads_fields_not_message_text() -> None:
    progress = RetrainProgress("UADMIN", "all", force=False)
    progress.apply(message_event("Completed epoch 9/9 of ftjob-fromthetext"))
    lines = progress.text().splitlines()
    assert "Job: not created yet" in lines
    assert not any(line.startswith("Epoch") for line in lines)
    quiet = JobEvent(
        created_at=0.0,
        level="info",
        message="Halfway there",
        data={"epoch": 2, "n_epochs": 4},
        job_id="ftjob-fields",
    )
    progress.apply(quiet)
    text = progress.text()
    assert "Epoch 2/4" in text and "`ftjob-fields`" in text
    assert text.endswith("Status: Halfway there")


def test_lock_holder_of_a_finished_process_is_dead_a_live_one_is_not() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    owner_of_dead = lock_owner_id("retrain").split(":")
    owner_of_dead[1] = child.stdout.strip()
    assert lock_holder_is_dead(":".join(owner_of_dead))
    assert not lock_holder_is_dead(lock_owner_id("retrain"))
    assert not lock_holder_is_dead(f"another-host.example:{child.stdout.strip()}:retrain-x")
    assert not lock_holder_is_dead("not a lock owner id")


# -- the orchestrator, with the real pipeline, store and Web API stand-in ------------------------

ADMIN = "U0ADMIN01"
CHANNEL = "C0RETRAIN"
TOKEN = "xoxb-1-2-retrain-test"


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry whose current model the real pipeline trained (one epoch, to stay quick)."""
    from training.pipeline import run_training

    home = tmp_path_factory.mktemp("retrain-base")
    report = run_training(home, n_epochs=1)
    assert report.promoted
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(trained_home, target, symlinks=True)
    return target


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackAPIStandIn]:
    api = SlackAPIStandIn()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def client(slack_api: SlackAPIStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack_api.base_url)


@pytest.fixture
def services(home: Path, slack_api: SlackAPIStandIn, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=TOKEN,
        slack_api_url=slack_api.base_url,
        sportbot_home=home,
        sportbot_admins=ADMIN,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    services = build_services(settings)
    yield services
    services.store.close()


def registry_of(services: Services) -> ModelRegistry:
    return ModelRegistry(services.settings.sportbot_home)


async def test_a_forced_retrain_reports_progress_metrics_and_plot_then_rolls_back(
    services: Services, slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    registry = registry_of(services)
    before = registry.current_id()
    assert services.classifiers.model_id == before
    orchestrator = RetrainOrchestrator(services, n_epochs=2)

    result = await orchestrator.start(
        RetrainRequest(ADMIN, CHANNEL, source="20news", force=True), client
    )
    assert result.started
    # The event loop keeps running while the model trains in its worker thread.
    loop = asyncio.get_running_loop()
    worst_lag = 0.0
    while orchestrator._tasks:
        started = loop.time()
        await asyncio.sleep(0.02)
        worst_lag = max(worst_lag, loop.time() - started - 0.02)
    await orchestrator.wait()
    assert worst_lag < 0.5

    after = registry.current_id()
    assert after != before
    assert services.classifiers.model_id == after  # swapped without a restart
    record = (await services.store.retrains.recent(1))[0]
    assert (record.user_id, record.source, record.status) == (ADMIN, "20news", "promoted")
    assert record.model_id == after
    assert record.job_id and record.job_id.startswith("ftjob-")
    assert await retrain_lock_owner(services.store) is None

    posts = slack_api.calls_to("chat.postMessage")
    progress, results = posts[0], posts[1]
    assert progress.args["channel"] == CHANNEL
    assert f"Retrain started by <@{ADMIN}>" in progress.args["text"]
    updates = slack_api.calls_to("chat.update")
    assert updates, "the progress message was never updated"
    assert {(u.args["channel"], u.args["ts"]) for u in updates} == {
        (CHANNEL, updates[0].args["ts"])
    }
    assert any(f"`{record.job_id}`" in u.args["text"] for u in updates)
    assert any("Epoch 2/2" in u.args["text"] for u in updates)
    assert f"`{after}` is now serving" in updates[-1].args["text"]
    times = [progress.at] + [u.at for u in updates]
    # At most one chat.update every UPDATE_INTERVAL_SECONDS (3 s: chat.update is Tier 3).
    assert UPDATE_INTERVAL_SECONDS == 3.0
    assert min(b - a for a, b in itertools.pairwise(times)) >= UPDATE_INTERVAL_SECONDS - 0.01

    table = results.args["text"]
    assert f"current: `{before}`" in table and f"new: `{after}`" in table
    for label in ("validation accuracy", "test accuracy", "test precision", "test recall"):
        row = next(line for line in table.splitlines() if line.startswith(label))
        current, new = row.split()[-2:]
        assert 0.5 < float(current) <= 1.0 and 0.5 < float(new) <= 1.0
    for label in ("test F1", "test AUROC", "test AUPRC"):
        assert any(line.startswith(label) for line in table.splitlines())

    plot = registry.model_dir(after) / "accuracy.png"
    (asked,) = slack_api.calls_to("files.getUploadURLExternal")
    assert asked.args["filename"] == "accuracy.png"
    assert int(asked.args["length"]) == plot.stat().st_size
    (completed,) = slack_api.calls_to("files.completeUploadExternal")
    assert completed.args["channel_id"] == CHANNEL
    (uploaded,) = slack_api.uploads.values()
    assert uploaded == plot.read_bytes() and uploaded.startswith(b"\x89PNG")

    rolled = await orchestrator.rollback(ADMIN, CHANNEL, client)
    assert rolled.started
    assert registry.current_id() == before
    assert services.classifiers.model_id == before
    record = (await services.store.retrains.recent(1))[0]
    assert (record.source, record.status, record.model_id) == ("rollback", "rolled_back", before)
    assert f"`{before}` is serving again" in slack_api.calls_to("chat.postMessage")[-1].args["text"]
    outcomes = by_label(samples_of(services.metrics.registry), "sportbot_retrains_total", "outcome")
    assert outcomes == {"promoted": 1, "rolled_back": 1}


async def test_a_retrain_failing_half_way_leaves_the_current_model_serving(
    services: Services, slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    from training.pipeline import run_training

    lock_times: list[datetime] = []

    def train_until_the_first_epoch_ends(home: Path, **kwargs: Any) -> Any:
        relay = kwargs.pop("on_event")

        def on_event(event: Any) -> None:
            relay(event)
            lock_times.append(lock_acquired_at(services.store))
            if event.kind == "epoch" and event.epoch == 1:
                raise OSError("disk full (forced in the test)")

        return run_training(home, on_event=on_event, **kwargs)

    registry = registry_of(services)
    before = registry.current_id()
    models_before = {card.id for card in registry.list_models()}
    orchestrator = RetrainOrchestrator(
        services, n_epochs=2, train=train_until_the_first_epoch_ends, lock_heartbeat=0.05
    )
    assert (await orchestrator.start(RetrainRequest(ADMIN, CHANNEL, "20news"), client)).started
    await orchestrator.wait()

    assert registry.current_id() == before
    assert {card.id for card in registry.list_models()} == models_before
    assert services.classifiers.model_id == before
    final = slack_api.calls_to("chat.update")[-1].args["text"]
    assert "Retrain failed" in final and "disk full" in final
    assert f"`{before}` is still serving" in final
    record = (await services.store.retrains.recent(1))[0]
    assert record.status == "failed" and "disk full" in (record.message or "")
    assert await retrain_lock_owner(services.store) is None
    assert not slack_api.calls_to("files.getUploadURLExternal")
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # no metrics for a failed run
    assert lock_times[-1] > lock_times[0]  # the lock was kept fresh while it trained


async def test_a_rollback_with_nothing_to_go_back_to_says_why(
    services: Services, slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    before = registry_of(services).current_id()
    result = await RetrainOrchestrator(services).rollback(ADMIN, CHANNEL, client)
    assert not result.started
    assert result.message.startswith("Rollback failed: There is nothing to roll back to")
    assert registry_of(services).current_id() == before
    record = (await services.store.retrains.recent(1))[0]
    assert (record.source, record.status) == ("rollback", "failed")
    assert await retrain_lock_owner(services.store) is None
    assert slack_api.calls == []


async def test_a_retrain_is_refused_while_another_process_holds_the_lock(
    services: Services, slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    other_process = Store.open(services.settings.sqlalchemy_url())
    try:
        assert await other_process.locks.acquire(RETRAIN_LOCK, lock_owner_id("retrain"))
        await other_process.retrains.record("U0OTHER", "feedback", "running")
        orchestrator = RetrainOrchestrator(services)
        result = await orchestrator.start(RetrainRequest(ADMIN, CHANNEL), client)
        assert not result.started and "already running" in result.message
        assert "started by <@U0OTHER>" in result.message
        rolled = await orchestrator.rollback(ADMIN, CHANNEL, client)
        assert not rolled.started and "retrain is running" in rolled.message
    finally:
        other_process.close()
    await orchestrator.wait()
    statuses = [(r.source, r.status) for r in await services.store.retrains.recent(5)]
    assert statuses == [
        ("rollback", "refused_busy"),
        ("all", "refused_busy"),
        ("feedback", "running"),  # the other process's, untouched
    ]
    assert slack_api.calls == []


async def test_a_lock_not_refreshed_for_minutes_is_taken_over_from_any_host(
    services: Services,
) -> None:
    store = services.store
    elsewhere = "another-host.example:4242:retrain-0123456789ab"
    assert await store.locks.acquire(RETRAIN_LOCK, elsewhere)
    orchestrator = RetrainOrchestrator(services)
    assert not await orchestrator._acquire_lock(lock_owner_id("retrain"))  # fresh: refused
    set_lock_acquired_at(store, utcnow() - LOCK_STALE_AFTER - timedelta(seconds=5))
    assert not await refresh_lock(store, "someone-else")
    assert await orchestrator.recover() == 0
    assert await retrain_lock_owner(store) is None  # taken over, then released


async def test_refreshing_keeps_a_lock_from_going_stale(services: Services) -> None:
    store = services.store
    owner = lock_owner_id("retrain")
    assert await store.locks.acquire(RETRAIN_LOCK, owner)
    set_lock_acquired_at(store, utcnow() - LOCK_STALE_AFTER - timedelta(seconds=5))
    assert await refresh_lock(store, owner)
    assert not await RetrainOrchestrator(services)._acquire_lock(lock_owner_id("retrain"))
    assert await retrain_lock_owner(store) == owner


def lock_acquired_at(store: Store) -> datetime:
    with store.database.engine.connect() as connection:
        value = connection.execute(select(Lock.acquired_at)).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def set_lock_acquired_at(store: Store, when: datetime) -> None:
    with store.database.engine.begin() as connection:
        connection.execute(update(Lock).values(acquired_at=when))


async def test_a_lock_left_by_a_dead_process_is_taken_over_and_reports_go_by_dm(
    services: Services, slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    assert await services.store.locks.acquire(RETRAIN_LOCK, dead_lock_owner())
    orphan = await services.store.retrains.record(ADMIN, "all", "running")
    slack_api.fail_next("chat.postMessage", error="not_in_channel")
    before = registry_of(services).current_id()

    orchestrator = RetrainOrchestrator(services)
    result = await orchestrator.start(RetrainRequest(ADMIN, CHANNEL, "feedback"), client)
    assert result.started
    await orchestrator.wait()

    (opened,) = slack_api.calls_to("conversations.open")
    assert opened.args["users"] == ADMIN
    refused, progress = slack_api.calls_to("chat.postMessage")
    assert refused.args["channel"] == CHANNEL
    dm = progress.args["channel"]
    assert dm.startswith("D")
    final = slack_api.calls_to("chat.update")[-1]
    assert final.args["channel"] == dm
    assert "no feedback to train on" in final.args["text"]
    assert f"`{before}` is still serving" in final.args["text"]
    assert await retrain_lock_owner(services.store) is None
    assert (await services.store.retrains.recent(1))[0].status == "failed"
    orphan_record = await services.store.retrains.get(orphan)
    assert orphan_record is not None and orphan_record.status == "failed"


def dead_lock_owner() -> str:
    """A lock owner id naming a process of this host that has exited."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    host, _, rest = lock_owner_id("retrain").partition(":")
    return f"{host}:{child.stdout.strip()}:{rest.partition(':')[2]}"


async def test_recover_fails_the_retrain_of_a_dead_process_and_frees_its_lock(
    services: Services,
) -> None:
    store = services.store
    assert await store.locks.acquire(RETRAIN_LOCK, dead_lock_owner())
    interrupted = await store.retrains.record(ADMIN, "all", "running", message="source all")
    finished = await store.retrains.record(ADMIN, "20news", "promoted", model_id="ft-x")

    assert await RetrainOrchestrator(services).recover() == 1
    assert await retrain_lock_owner(store) is None
    record = await store.retrains.get(interrupted)
    assert record is not None and record.status == "failed"
    assert record.message is not None and "interrupted" in record.message
    assert (await store.retrains.get(finished)).status == "promoted"  # type: ignore[union-attr]


async def test_recover_leaves_a_live_retrain_alone(services: Services) -> None:
    store = services.store
    live_owner = lock_owner_id("retrain")
    assert await store.locks.acquire(RETRAIN_LOCK, live_owner)
    running = await store.retrains.record(ADMIN, "all", "running")
    assert await RetrainOrchestrator(services).recover() == 0
    assert await retrain_lock_owner(store) == live_owner
    assert (await store.retrains.get(running)).status == "running"  # type: ignore[union-attr]


def test_metrics_sit_beside_the_current_models() -> None:
    from training.pipeline import TrainingReport

    names = ("accuracy", "precision", "recall", "f1", "auroc", "auprc")
    new = dict(zip(names, (0.97, 0.96, 0.98, 0.97, 0.995, 0.994), strict=True))
    old = dict(zip(names, (0.95, 0.94, 0.96, 0.95, 0.99, 0.98), strict=True))
    report = TrainingReport(
        job_id="ftjob-abc",
        model_id="ft-new",
        validation_metrics={**new, "accuracy": 0.9916},
        test_metrics=new,
        previous_model_id="ft-old",
        previous_test_metrics=old,
        promoted=True,
        reason="not worse than the current model",
        plot_path=Path("accuracy.png"),
        results_path=Path("results.csv"),
    )
    text, blocks = metrics_message(report, {"accuracy": 0.9874, "validation_loss": 0.1})
    rows = {line[:19].strip(): line[19:].split() for line in text.splitlines()[4:-1]}
    assert rows == {
        "validation accuracy": ["0.9874", "0.9916"],
        "test accuracy": ["0.9500", "0.9700"],
        "test precision": ["0.9400", "0.9600"],
        "test recall": ["0.9600", "0.9800"],
        "test F1": ["0.9500", "0.9700"],
        "test AUROC": ["0.9900", "0.9950"],
        "test AUPRC": ["0.9800", "0.9940"],
    }
    assert "`ft-new` promoted" in text and "current: `ft-old`" in text
    assert blocks[1]["text"]["text"].startswith("```")

    first = TrainingReport(
        **{**report.__dict__, "previous_model_id": None, "previous_test_metrics": None}
    )
    text, _ = metrics_message(first)
    assert "no model was serving before" in text
    assert (
        next(line for line in text.splitlines() if line.startswith("test AUROC")).split()[-2] == "-"
    )


def _multiclass_report(names: list[str], previous_test: dict[str, Any] | None) -> Any:
    from training.metrics import multiclass_metrics
    from training.pipeline import TrainingReport

    truth = [name for name in names for _ in range(4)]
    predicted = [name if i % 4 else names[0] for i, name in enumerate(truth)]
    test = multiclass_metrics(truth, predicted).to_dict()
    return TrainingReport(
        job_id="ftjob-abc",
        model_id="ft-new",
        validation_metrics={**test, "accuracy": 0.9},
        test_metrics=test,
        previous_model_id="ft-old" if previous_test else None,
        previous_test_metrics=previous_test,
        promoted=True,
        reason="not worse than the current model",
        plot_path=Path("accuracy.png"),
        results_path=Path("results.csv"),
    )


def test_a_model_of_more_than_two_labels_shows_multiclass_figures() -> None:
    old = {"accuracy": 0.7, "weighted_f1": 0.65, "n": 12}
    report = _multiclass_report(["autos", "guns", "space"], old)
    text, blocks = metrics_message(report, {"accuracy": 0.6, "weighted_f1": 0.5})
    test = report.test_metrics
    lines = text.splitlines()
    rows = {line[:22].strip(): line[22:].split() for line in lines[4:8]}
    assert rows == {
        "validation accuracy": ["0.6000", "0.9000"],
        "validation weighted F1": ["0.5000", f"{test['weighted_f1']:.4f}"],
        "test accuracy": ["0.7000", f"{test['accuracy']:.4f}"],
        "test weighted F1": ["0.6500", f"{test['weighted_f1']:.4f}"],
    }
    assert "AUROC" not in text and "precision" not in lines[3]
    per_class = {line.split()[0]: line.split()[1:] for line in lines[11:14]}
    assert lines[10].split() == [
        "new",
        "model",
        "on",
        "the",
        "test",
        "split",
        "precision",
        "recall",
    ]
    # autos: 4 true rows, all found, and 2 more rows called autos; the others: 3 of 4 found
    assert per_class == {
        "autos": ["0.6667", "1.0000"],
        "guns": ["1.0000", "0.7500"],
        "space": ["1.0000", "0.7500"],
    }
    assert blocks[2]["text"]["text"] == "```\n" + "\n".join(lines[10:14]) + "\n```"
    assert blocks[-1]["type"] == "context"


def test_many_classes_stay_within_a_sections_limit() -> None:
    names = [f"comp.sys.group-number-{i:03d}.hardware" for i in range(120)]
    text, blocks = metrics_message(_multiclass_report(names, None))
    table = blocks[2]["text"]["text"]
    assert len(table) <= 3000
    shown = table.splitlines()[2:-2]
    assert table.splitlines()[-2] == f"... and {120 - len(shown)} more classes"
    assert shown[0].startswith(names[0]) and len(shown) > 40
    assert all(name in text for name in names)  # the message's text keeps every class
    assert "no model was serving before" in text
