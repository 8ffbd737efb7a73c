"""Retraining from Slack: ``/sport-retrain`` orchestration, its database lock, its messages."""

from bot.retrain.lock import (
    LOCK_HEARTBEAT_SECONDS,
    LOCK_STALE_AFTER,
    RETRAIN_LOCK,
    acquire_retrain_lock,
    lock_holder_is_dead,
    lock_owner_id,
    refresh_lock,
    release_retrain_lock,
    retrain_lock_owner,
)
from bot.retrain.messages import Conversation, RetrainProgress, metrics_message
from bot.retrain.orchestrator import (
    INTERRUPTED,
    ROLLBACK_SOURCE,
    SOURCES,
    RetrainOrchestrator,
    RetrainRequest,
    StartResult,
)
from bot.retrain.work import RetrainSourceError

__all__ = [
    "INTERRUPTED",
    "LOCK_HEARTBEAT_SECONDS",
    "LOCK_STALE_AFTER",
    "RETRAIN_LOCK",
    "ROLLBACK_SOURCE",
    "SOURCES",
    "Conversation",
    "RetrainOrchestrator",
    "RetrainProgress",
    "RetrainRequest",
    "RetrainSourceError",
    "StartResult",
    "acquire_retrain_lock",
    "lock_holder_is_dead",
    "lock_owner_id",
    "metrics_message",
    "refresh_lock",
    "release_retrain_lock",
    "retrain_lock_owner",
]
