"""Where the report goes and where the ``[Y/n]`` answers come from."""

from __future__ import annotations

import io
from typing import Protocol, TextIO

from training.prepare.errors import PrepareDataError


class Console(Protocol):
    """Receives the human report as it is produced, and answers questions when not quiet."""

    def write(self, text: str) -> None:
        """Show ``text`` (it carries its own newlines)."""

    def answer(self) -> str:
        """Return the user's answer to the question just written (without the newline)."""


class TranscriptConsole:
    """Keeps the report in memory; it cannot answer, so use it with ``quiet=True``."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()

    def write(self, text: str) -> None:
        self._buffer.write(text)

    def answer(self) -> str:
        raise PrepareDataError(
            "prepare-data has a question and nobody to answer it; use quiet mode"
        )

    @property
    def text(self) -> str:
        """Everything written so far."""
        return self._buffer.getvalue()


class StreamConsole:
    """Writes to a text stream (stdout) and reads answers line by line from another (stdin)."""

    def __init__(self, out: TextIO, answers: TextIO) -> None:
        self._out = out
        self._answers = answers

    def write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def answer(self) -> str:
        line = self._answers.readline()
        if not line:
            raise PrepareDataError(
                "no answer on standard input (it was closed); use -q to accept every suggestion"
            )
        return line.rstrip("\r\n")
