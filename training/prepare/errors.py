"""What can stop ``prepare-data``: each error is one line the user can act on."""

from __future__ import annotations

from classifier.errors import SportbotError


class PrepareDataError(SportbotError):
    """``prepare-data`` could not go on."""


class DatasetFileError(PrepareDataError):
    """The file is missing, has an unsupported extension, or cannot be parsed."""


class DatasetInvalidError(PrepareDataError):
    """The data cannot be fine-tuned on as it is (a column missing, all prompts identical, …)."""

    def __init__(self, validator: str, message: str) -> None:
        super().__init__(" ".join(message.split("\n")))
        self.validator = validator
