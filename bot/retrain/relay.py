"""``ProgressRelay``: a retrain's job events folded into one progress message in Slack.

The job runs in a worker thread; its events cross to the event loop through a queue, and the
message is updated (``chat.update``) at most once per interval: ``chat.update`` is Tier 3, a
budget several retrains' messages may share. When the message cannot be posted the retrain
goes on, and its outcome is posted at the end instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.retrain.messages import Conversation, RetrainProgress, failure_text

if TYPE_CHECKING:
    from training.finetune.events import JobEvent

logger = logging.getLogger(__name__)


class ProgressRelay:
    """Posts ``progress`` to ``conversation``, then keeps it up to date until ``finish``."""

    def __init__(
        self, progress: RetrainProgress, conversation: Conversation, update_interval: float
    ) -> None:
        self.progress, self.conversation = progress, conversation
        self.update_interval = update_interval
        self._events: asyncio.Queue[JobEvent | None] = asyncio.Queue()
        self._task: asyncio.Task[float] | None = None
        self._ts: str | None = None
        self._loop = asyncio.get_running_loop()

    async def start(self) -> None:
        """Post the progress message and start relaying events into it."""
        try:
            self._ts = await self.conversation.post(self.progress.text())
        except Exception as error:
            logger.warning("could not post the retrain progress: %s", failure_text(error))
        else:
            self._task = asyncio.create_task(self._relay(self._ts))

    def on_event(self, event: JobEvent) -> None:
        """A job event, from any thread."""
        self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    async def finish(self) -> None:
        """Stop relaying and show the outcome in the progress message (posting one if needed)."""
        try:
            if self._task is None or self._ts is None:
                await self.conversation.post(self.progress.text())
                return
            self._events.put_nowait(None)
            last_update = await self._task
            wait = last_update + self.update_interval - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.conversation.update(self._ts, self.progress.text())
        except Exception as error:
            logger.warning("could not report the retrain's outcome: %s", failure_text(error))

    async def _relay(self, ts: str) -> float:
        """Fold events into the message, updating it at most once per interval.

        Stops at ``None``; returns the loop time of its last update so the final one keeps the pace.
        """
        last_update = self._loop.time()
        done = False
        while not done:
            event = await self._events.get()
            if event is None:
                break
            self.progress.apply(event)
            wait = last_update + self.update_interval - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            while not self._events.empty():
                pending = self._events.get_nowait()
                if pending is None:
                    done = True
                    break
                self.progress.apply(pending)
            try:
                await self.conversation.update(ts, self.progress.text())
            except Exception as error:
                logger.warning("could not update the retrain progress: %s", failure_text(error))
            last_update = self._loop.time()
        return last_update
