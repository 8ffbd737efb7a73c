"""The tag pipeline: reactions placed within Slack's rate limits, per workspace.

The message listener decides a message's tag and hands a ``TagJob`` to ``TagPipeline.submit``;
each workspace has a bounded queue (``queue``: what goes when it is full or stale), a pacer per
Web API method at the method's tier with one shared pause on a 429 (``pacer``), and a drain task
that makes the calls (``worker``). Every tag change is counted in ``bot.metrics`` as placed or
dropped (with its reason), or is still queued.
"""

from __future__ import annotations

from bot.tagging.pacer import TIER_3_PER_MINUTE, Pacer
from bot.tagging.pipeline import TagPipeline
from bot.tagging.policy import TagPolicy
from bot.tagging.queue import Dropped, TagJob, TagQueue
from bot.tagging.worker import Workspace, WorkspaceTagger

__all__ = [
    "TIER_3_PER_MINUTE",
    "Dropped",
    "Pacer",
    "TagJob",
    "TagPipeline",
    "TagPolicy",
    "TagQueue",
    "Workspace",
    "WorkspaceTagger",
]
