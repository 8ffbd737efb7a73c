"""Bolt's logger, without the warnings that say nothing to whoever runs the bot."""

from __future__ import annotations

import logging

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

UNUSED_TOKEN_WARNING = warning_client_prioritized_and_token_skipped()
"""Bolt reads ``SLACK_BOT_TOKEN`` from the environment itself when no ``token`` is given, and
warns that it goes unused beside the ``client`` the app is built with. That client holds the same
token (settings read the same variable), so the warning at every start is noise."""


class _DropUnusedTokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != UNUSED_TOKEN_WARNING


_DROP_UNUSED_TOKEN_WARNING = _DropUnusedTokenWarning()


def bolt_logger(name: str = "bot.bolt") -> logging.Logger:
    """The logger to hand Bolt's ``AsyncApp``: ``name``, without the unused-token warning."""
    logger = logging.getLogger(name)
    logger.addFilter(_DROP_UNUSED_TOKEN_WARNING)  # once: the same filter is not added twice
    return logger
