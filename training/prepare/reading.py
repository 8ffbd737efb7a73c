"""Reading a dataset the way the legacy tool did: CSV, TSV, XLSX, TXT, JSON and JSONL, all as text."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import pandas as pd

from training.prepare.errors import DatasetFileError
from training.prepare.remediation import Remediation

logger = logging.getLogger(__name__)

FIELDS = ["prompt", "completion"]
EXTENSIONS = (".csv", ".tsv", ".xlsx", ".txt", ".json", ".jsonl")
_UNPARSABLE = (ValueError, TypeError, zipfile.BadZipFile)


def read_dataset(path: str) -> tuple[pd.DataFrame, Remediation]:
    """Read ``path`` (every cell as a string, blanks as ``""``) and say what conversion it needs.

    Raises ``DatasetFileError`` for a missing file, an unsupported extension, or content that does
    not parse as its extension says.
    """
    if not os.path.isfile(path):
        raise DatasetFileError(f"File {path} does not exist.")
    extension = Path(path).suffix.lower() if path.lower().endswith(EXTENSIONS) else ""
    if not extension:
        raise DatasetFileError(_unsupported_extension(path))
    kind = extension[1:].upper()
    logger.debug("reading %s as %s", path, kind)
    try:
        return _READERS[extension](path)
    except _UNPARSABLE as error:
        logger.debug("cannot parse %s: %s", path, error)
        raise DatasetFileError(
            f"Your file `{path}` does not appear to be in valid {kind} format. "
            f"Please ensure your file is formatted as a valid {kind} file."
        ) from error
    except OSError as error:
        raise DatasetFileError(f"Cannot read {path}: {error.strerror or error}") from error


def _unsupported_extension(path: str) -> str:
    message = (
        "Your file must have one of the following extensions: "
        ".CSV, .TSV, .XLSX, .TXT, .JSON or .JSONL."
    )
    name = Path(path).name
    if "." in name:
        return f"{message} Your file `{path}` ends with the extension `.{name.split('.')[-1]}` which is not supported."
    return f"{message} Your file `{path}` is missing a file extension."


def _read_delimited(path: str) -> tuple[pd.DataFrame, Remediation]:
    kind, separator = ("CSV", ",") if path.lower().endswith(".csv") else ("TSV", "\t")
    frame = pd.read_csv(path, sep=separator, dtype=str).fillna("")
    return frame, Remediation(
        name="read_any_format",
        finding=f"\n- Based on your file extension, your file is formatted as a {kind} file",
        necessary=f"Your format `{kind}` will be converted to `JSONL`",
    )


def _read_excel(path: str) -> tuple[pd.DataFrame, Remediation]:
    finding = "\n- Based on your file extension, your file is formatted as an Excel file"
    with pd.ExcelFile(path) as workbook:
        if len(workbook.sheet_names) > 1:
            finding += (
                "\n- Your Excel file contains more than one sheet. Please either save as csv or "
                "ensure all data is present in the first sheet. WARNING: Reading only the first sheet..."
            )
        frame = pd.read_excel(workbook, dtype=str).fillna("")
    return frame, Remediation(
        name="read_any_format",
        finding=finding,
        necessary="Your format `XLSX` will be converted to `JSONL`",
    )


def _read_text(path: str) -> tuple[pd.DataFrame, Remediation]:
    """Each line becomes a completion with an empty prompt (open-ended generation)."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    frame = pd.DataFrame([["", line] for line in lines], columns=FIELDS, dtype=str)
    return frame, Remediation(
        name="read_any_format",
        finding="\n- Based on your file extension, you provided a text file",
        necessary="Your format `TXT` will be converted to `JSONL`",
    )


def _read_json_document(path: str, fallback: pd.DataFrame) -> pd.DataFrame | None:
    """The file read as one JSON document, or None when it is a single JSON Lines record."""
    try:
        return pd.read_json(path, dtype=str).fillna("")
    except ValueError:
        # One object of scalars: a one-row JSON Lines file (the legacy tool rejected it).
        if len(fallback) == 1:
            return None
        raise


def _read_jsonl(path: str) -> tuple[pd.DataFrame, Remediation]:
    frame = pd.read_json(path, lines=True, dtype=str).fillna("")
    if len(frame) == 1:
        document = _read_json_document(path, frame)
        if document is not None:
            return document, Remediation(
                name="read_any_format",
                finding="\n- Your JSONL file appears to be in a JSON format. Your file will be converted to JSONL format",
                necessary="Your format `JSON` will be converted to `JSONL`",
            )
    return frame, Remediation(name="read_any_format")


def _read_json(path: str) -> tuple[pd.DataFrame, Remediation]:
    try:
        frame = pd.read_json(path, lines=True, dtype=str).fillna("")
    except ValueError:
        # An indented JSON document is not JSON Lines.
        return pd.read_json(path, dtype=str).fillna(""), Remediation(name="read_any_format")
    if len(frame) == 1:
        document = _read_json_document(path, frame)
        return (frame if document is None else document), Remediation(name="read_any_format")
    return frame, Remediation(
        name="read_any_format",
        finding="\n- Your JSON file appears to be in a JSONL format. Your file will be converted to JSONL format",
        necessary="Your format `JSON` will be converted to `JSONL`",
    )


_READERS = {
    ".csv": _read_delimited,
    ".tsv": _read_delimited,
    ".xlsx": _read_excel,
    ".txt": _read_text,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}
