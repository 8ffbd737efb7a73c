"""Errors a user can fix: each carries one line written for that user."""

from __future__ import annotations


class SportbotError(Exception):
    """Base of the errors the CLI prints as one line (exit status 1) and the bot shows politely."""


class EmptyTextError(SportbotError, ValueError):
    """There is nothing to classify."""


class UnknownModelError(SportbotError, LookupError):
    """No model with that id is registered."""


class NoModelError(SportbotError, LookupError):
    """The registry has no current model yet."""


class ModelFileError(SportbotError):
    """A model file is missing, corrupted, or holds types that are not trusted."""


class BackendError(SportbotError):
    """The completion backend failed (network, API error, bad answer)."""


class SettingError(SportbotError, ValueError):
    """A setting has a value that cannot be used; the message names it."""
