"""Retraining from Slack: ``/sport-retrain`` orchestration, its database lock, its messages."""

from bot.retrain.lock import (
    LOCK_HEARTBEAT_SECONDS,
    LOCK_STALE_AFTER,
    acquire_retrain_lock,
    lock_holder_is_dead,
    lock_owner_id,
    refresh_lock,
)
from bot.retrain.messages import Conversation, RetrainProgress, metrics_message
from bot.retrain.orchestrator import (
    INTERRUPTED,
    ROLLBACK_SOURCE,
    SOURCES,
    RetrainOrchestrator,
    RetrainRequest,
    RetrainSourceError,
    StartResult,
)

__all__ = [
    "INTERRUPTED",
    "LOCK_HEARTBEAT_SECONDS",
    "LOCK_STALE_AFTER",
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
]
