"""``RetrainOrchestrator``: ``/sport-retrain`` and its rollback, one at a time, off the event loop.

The training pipeline runs in a worker thread (``bot.retrain.work``) while the bot keeps answering.
Its events are relayed to one progress message (``bot.retrain.relay``, at most every 3 s); at the end the new model's
metrics are posted beside the current one's, with the accuracy plot. Whether the new model is
promoted is the pipeline's decision. The lock in the store's database (``bot.retrain.lock``) keeps
retrains and rollbacks one at a time across every bot process sharing that database; every
attempt, refused ones included, goes to the store's retrain audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.retrain import work
from bot.retrain.lock import (
    LOCK_HEARTBEAT_SECONDS,
    acquire_retrain_lock,
    lock_owner_id,
    refresh_lock,
    release_retrain_lock,
)
from bot.retrain.messages import Conversation, RetrainProgress, failure_text, metrics_message
from bot.retrain.relay import ProgressRelay
from classifier.errors import SportbotError

if TYPE_CHECKING:
    from bot.services import Services
    from training.data import Example
    from training.pipeline import TrainingReport

logger = logging.getLogger(__name__)

SOURCES = ("20news", "feedback", "all")
UPDATE_INTERVAL_SECONDS = 3.0
"""At most one ``chat.update`` of the progress message every 3 s: ``chat.update`` is Tier 3
(about 50 a minute per workspace), a budget several retrains' messages may share."""

INTERRUPTED = "interrupted: the bot stopped before this retrain finished"
"""The audit message of a retrain whose process died (killed, crashed) while it ran."""

ROLLBACK_SOURCE = "rollback"
"""What the audit log's ``source`` column holds for a rollback."""


@dataclass(frozen=True)
class RetrainRequest:
    """What an admin asked for with ``/sport-retrain``."""

    user_id: str
    channel_id: str
    source: str = "all"
    force: bool = False
    team_id: str | None = None
    """The workspace it was asked from (recorded in the audit log; the model is shared)."""
    enterprise_id: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")

    def describe(self) -> str:
        return f"source {self.source}" + (", forced" if self.force else "")


@dataclass(frozen=True)
class StartResult:
    """The answer to give the admin right away (the command's acknowledgement)."""

    started: bool
    message: str


class RetrainOrchestrator:
    """Runs ``/sport-retrain`` and ``/sport-retrain rollback`` for one bot process.

    ``services`` gives the settings (``SPORTBOT_HOME``), the store (feedback examples, audit log,
    the cross-process lock) and the classifier holder that swaps models after a promotion or a
    rollback. ``train`` is ``training.pipeline.run_training`` unless given.
    """

    def __init__(
        self,
        services: Services,
        *,
        update_interval: float = UPDATE_INTERVAL_SECONDS,
        n_epochs: int | None = None,
        train: Callable[..., TrainingReport] | None = None,
        lock_heartbeat: float = LOCK_HEARTBEAT_SECONDS,
    ) -> None:
        self.services = services
        self.update_interval = update_interval
        self.lock_heartbeat = lock_heartbeat
        self.n_epochs = n_epochs
        self._train_function = train
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def home(self) -> Path:
        return Path(self.services.settings.sportbot_home)

    # -- audit ---------------------------------------------------------------------------------

    async def record_refusal(
        self,
        user_id: str,
        source: str,
        reason: str,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> None:
        """Put a refused attempt (the user is not an admin) in the audit log."""
        await self._audit(
            user_id,
            source,
            "refused",
            message=reason,
            team_id=team_id,
            enterprise_id=enterprise_id,
        )

    # -- retrain -------------------------------------------------------------------------------

    async def start(self, request: RetrainRequest, client: AsyncWebClient) -> StartResult:
        """Take the lock and start the retrain in the background, or say why not."""
        owner = lock_owner_id("retrain")
        if not await self._acquire_lock(owner):
            await self._audit(
                request.user_id,
                request.source,
                "refused_busy",
                message="a retrain was running",
                team_id=request.team_id,
                enterprise_id=request.enterprise_id,
            )
            return StartResult(False, await self._busy_message())
        try:
            await self._fail_interrupted()
            audit_id = await self.services.store.retrains.record(
                request.user_id,
                request.source,
                "running",
                message=request.describe(),
                team_id=request.team_id,
                enterprise_id=request.enterprise_id,
            )
        except Exception:
            await self._release_lock(owner)
            raise
        task = asyncio.create_task(self._retrain(request, client, owner, audit_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return StartResult(
            True,
            f"Retraining on `{request.source}` data. Progress follows in this channel "
            "(or in a DM from me, if I am not a member here).",
        )

    async def wait(self) -> None:
        """Wait for the retrains this process started (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _retrain(
        self, request: RetrainRequest, client: AsyncWebClient, owner: str, audit_id: int
    ) -> None:
        progress = RetrainProgress(request.user_id, request.source, request.force)
        conversation = Conversation(client, request.channel_id, request.user_id)
        relay = ProgressRelay(progress, conversation, self.update_interval)
        report: TrainingReport | None = None
        heartbeat = asyncio.create_task(self._keep_lock(owner))
        try:
            await relay.start()
            try:
                feedback = await self._feedback(request.source)
                report = await asyncio.to_thread(
                    work.train,
                    self.home,
                    request.source,
                    feedback,
                    relay.on_event,
                    force=request.force,
                    n_epochs=self.n_epochs,
                    train_function=self._train_function,
                )
            except SportbotError as error:
                await self._record_failure(progress, audit_id, str(error))
            except Exception:
                logger.exception("the retrain failed")
                await self._record_failure(
                    progress, audit_id, "an unexpected error stopped it (the bot's log has details)"
                )
            else:
                await self._record_success(progress, audit_id, report)
        finally:
            heartbeat.cancel()
            await self._release_lock(owner)
            await relay.finish()
        if report is not None:
            await self._post_results(conversation, report)

    async def _keep_lock(self, owner: str) -> None:
        """Refresh the lock while the retrain runs, so no replica takes it over as stale."""
        while True:
            await asyncio.sleep(self.lock_heartbeat)
            try:
                held = await refresh_lock(self.services.store, owner)
            except Exception:
                logger.exception("could not refresh the retrain lock")
                continue
            if not held:
                logger.error("the retrain lock %s was taken over while this retrain ran", owner)

    async def _record_failure(self, progress: RetrainProgress, audit_id: int, reason: str) -> None:
        current = await asyncio.to_thread(work.current_model_id, self.home)
        serving = f" `{current}` is still serving." if current else " No model is serving yet."
        progress.outcome = f":x: Retrain failed: {reason.rstrip('.')}.{serving}"
        await self._update_audit(audit_id, status="failed", job_id=progress.job_id, message=reason)

    async def _record_success(
        self, progress: RetrainProgress, audit_id: int, report: TrainingReport
    ) -> None:
        progress.job_id = report.job_id or progress.job_id
        if report.promoted:
            try:
                await asyncio.to_thread(self.services.classifiers.reload)
            except Exception:
                logger.exception("model %s was promoted but could not be loaded", report.model_id)
            progress.outcome = f":white_check_mark: Done: `{report.model_id}` is now serving."
        else:
            kept = report.previous_model_id
            progress.outcome = (
                f":information_source: Done: `{report.model_id}` was not promoted "
                f"({report.reason})" + (f"; `{kept}` is still serving." if kept else ".")
            )
        await self._update_audit(
            audit_id,
            status="promoted" if report.promoted else "not_promoted",
            job_id=report.job_id,
            model_id=report.model_id,
            message=report.reason,
        )

    async def _post_results(self, conversation: Conversation, report: TrainingReport) -> None:
        """The metrics beside the previous model's, then the accuracy plot."""
        previous_validation = await asyncio.to_thread(
            work.validation_metrics_of, self.home, report.previous_model_id
        )
        text, blocks = metrics_message(report, previous_validation)
        try:
            await conversation.post(text, blocks)
            plot = Path(report.plot_path) if report.plot_path else None
            if plot is not None and plot.is_file():
                await conversation.upload(plot, f"Accuracy of {report.model_id}")
        except Exception as error:
            logger.warning("could not post the retrain's results: %s", failure_text(error))

    # -- rollback ------------------------------------------------------------------------------

    async def rollback(
        self,
        user_id: str,
        channel_id: str,
        client: AsyncWebClient,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> StartResult:
        """Restore the previous model, unless a retrain holds the lock."""
        owner = lock_owner_id("rollback")
        asked_from = {"team_id": team_id, "enterprise_id": enterprise_id}
        if not await self._acquire_lock(owner):
            await self._audit(
                user_id,
                ROLLBACK_SOURCE,
                "refused_busy",
                message="a retrain was running",
                **asked_from,
            )
            return StartResult(False, "A retrain is running; roll back once it has finished.")
        try:
            restored = await asyncio.to_thread(work.rollback, self.home)
        except SportbotError as error:
            await self._audit(user_id, ROLLBACK_SOURCE, "failed", message=str(error), **asked_from)
            return StartResult(False, f"Rollback failed: {error}")
        finally:
            await self._release_lock(owner)
        try:
            await asyncio.to_thread(self.services.classifiers.reload)
        except Exception:
            logger.exception("rolled back to %s but could not load it", restored)
        await self._audit(user_id, ROLLBACK_SOURCE, "rolled_back", model_id=restored, **asked_from)
        conversation = Conversation(client, channel_id, user_id)
        try:
            await conversation.post(
                f":rewind: <@{user_id}> rolled the model back: `{restored}` is serving again."
            )
        except Exception as error:
            logger.warning("could not announce the rollback: %s", failure_text(error))
        return StartResult(True, f"Rolled back: `{restored}` is serving again.")

    # -- the store -----------------------------------------------------------------------------

    async def _feedback(self, source: str) -> list[Example]:
        """The stored feedback examples when ``source`` trains on them (else none)."""
        if source not in ("feedback", "all"):
            return []
        from training.data import Example

        return [
            Example(text=row.text, label=row.label)
            for row in await self.services.store.feedback.examples()
        ]

    async def recover(self) -> int:
        """Mark retrains whose process died as failed and free their lock; return how many.

        Safe with several replicas: it only acts while holding the lock, and a retrain that is
        really running holds it.
        """
        owner = lock_owner_id("recover")
        if not await self._acquire_lock(owner):
            return 0
        try:
            return await self._fail_interrupted()
        finally:
            await self._release_lock(owner)

    async def _acquire_lock(self, owner: str) -> bool:
        return await acquire_retrain_lock(self.services.store, owner)

    async def _busy_message(self) -> str:
        running = next(
            (r for r in await self.services.store.retrains.recent(20) if r.status == "running"),
            None,
        )
        who = (
            f" (started by <@{running.user_id}> at {running.created_at:%H:%M} UTC)"
            if running is not None
            else ""
        )
        return (
            f"A retrain is already running{who}, so this one was not started. "
            "Try again when it has finished."
        )

    async def _fail_interrupted(self) -> int:
        """With the lock held no retrain runs: rows still "running" are from a dead process."""
        count = await self.services.store.retrains.fail_unfinished(INTERRUPTED)
        if count:
            logger.warning("marked %d interrupted retrain(s) as failed", count)
        return count

    async def _release_lock(self, owner: str) -> None:
        try:
            await release_retrain_lock(self.services.store, owner)
        except Exception:
            logger.exception("could not release the retrain lock")

    async def _audit(
        self,
        user_id: str,
        source: str,
        status: str,
        *,
        model_id: str | None = None,
        message: str | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> None:
        self.services.metrics.count_retrain(status)
        try:
            await self.services.store.retrains.record(
                user_id,
                source,
                status,
                model_id=model_id,
                message=message,
                team_id=team_id,
                enterprise_id=enterprise_id,
            )
        except Exception:
            logger.exception("could not record a retrain attempt in the audit log")

    async def _update_audit(self, audit_id: int, **fields: str | None) -> None:
        if fields.get("status"):
            self.services.metrics.count_retrain(str(fields["status"]))
        try:
            await self.services.store.retrains.update(audit_id, **fields)
        except Exception:
            logger.exception("could not update retrain %s in the audit log", audit_id)
