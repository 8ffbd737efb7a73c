"""The notebook's dataset: 20 Newsgroups posts from scikit-learn, labelled by their group's last name part.

The Cookbook notebook built ``sport2.jsonl`` like this::

    data = fetch_20newsgroups(subset="train", shuffle=True, random_state=42, categories=[...])
    labels = [data.target_names[t].split(".")[-1] for t in data.target]
    texts = [text.strip() for text in data.data]
    pd.DataFrame(zip(texts, labels), columns=["prompt", "completion"]).to_json(
        "sport2.jsonl", orient="records", lines=True)

``load_newsgroups`` + ``notebook_rows`` + ``write_jsonl`` give the same file, byte for byte.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from classifier.errors import SportbotError

logger = logging.getLogger(__name__)

SPORTS = ("rec.sport.baseball", "rec.sport.hockey")
"""The notebook's two newsgroups."""

RANDOM_STATE = 42
"""The notebook's shuffle seed."""

Subset = Literal["train", "test", "all"]


class DataUnavailableError(SportbotError, OSError):
    """The 20 Newsgroups data is neither cached locally nor downloadable."""


class UnknownCategoryError(SportbotError, ValueError):
    """A requested newsgroup does not exist in 20 Newsgroups."""


@dataclass(frozen=True)
class Example:
    """One labelled message: the post's text (stripped) and its label (e.g. ``"baseball"``)."""

    text: str
    label: str


def load_newsgroups(
    categories: Sequence[str] = SPORTS,
    subset: Subset = "train",
    data_home: str | os.PathLike[str] | None = None,
    *,
    download_if_missing: bool = True,
) -> list[Example]:
    """Load 20 Newsgroups posts as the notebook did, in its shuffled order.

    ``data_home`` defaults to scikit-learn's (``SCIKIT_LEARN_DATA`` or ``~/scikit_learn_data``);
    with the cache file there no network is needed. ``subset="test"`` gives the held-out split.
    """
    from sklearn.datasets import fetch_20newsgroups, get_data_home

    home = get_data_home(data_home=None if data_home is None else os.fspath(data_home))
    logger.debug("loading 20 Newsgroups %s %s from %s", subset, list(categories), home)
    try:
        bunch = fetch_20newsgroups(
            data_home=home,
            subset=subset,
            categories=list(categories),
            shuffle=True,
            random_state=RANDOM_STATE,
            download_if_missing=download_if_missing,
        )
    except OSError as error:
        how = "could not be downloaded" if download_if_missing else "downloading is off"
        raise DataUnavailableError(
            f"20 Newsgroups data is not in {home} and {how} ({error}); set SCIKIT_LEARN_DATA "
            "to a folder holding scikit-learn's 20news-bydate_py3.pkz, or connect to the internet"
        ) from error
    except ValueError as error:
        known = _known_groups(home)
        unknown = [name for name in categories if name not in known]
        if not unknown:
            raise
        raise UnknownCategoryError(
            f"unknown newsgroup(s) {', '.join(unknown)}; the 20 groups are: {', '.join(known)}"
        ) from error
    names = group_labels(bunch.target_names)
    return [
        Example(text=text.strip(), label=names[target])
        for text, target in zip(bunch.data, bunch.target, strict=True)
    ]


def group_labels(groups: Sequence[str]) -> list[str]:
    """Each group's label: its name's last part, as the notebook named them (``baseball``), or,
    where that part is shared by another of ``groups``, the shortest ending of its name that is
    not (``pc.hardware`` and ``mac.hardware``; ``politics.misc``, ``religion.misc``)."""
    parts = [group.split(".") for group in groups]
    labels = []
    for mine in parts:
        for n in range(1, len(mine) + 1):
            ending = mine[-n:]
            if all(other[-n:] != ending for other in parts if other is not mine):
                break
        labels.append(".".join(ending))
    return labels


def _known_groups(home: str) -> list[str]:
    from sklearn.datasets import fetch_20newsgroups

    return list(fetch_20newsgroups(data_home=home, download_if_missing=False).target_names)


def notebook_rows(examples: Iterable[Example]) -> list[dict[str, str]]:
    """The notebook's rows: ``{"prompt": text, "completion": label}`` (not yet prepared)."""
    return [{"prompt": example.text, "completion": example.label} for example in examples]


def jsonl_text(rows: Sequence[Mapping[str, str]], *, ascii: bool = True) -> str:
    """Rows as JSON Lines exactly as pandas' ``to_json(orient="records", lines=True)`` writes them.

    That writer is what the notebook (``ascii=True``) and the legacy tool (``ascii=False``) used;
    it escapes ``/`` as ``\\/`` and ends every row with a newline.
    """
    import pandas as pd

    if not rows:
        return ""
    return pd.DataFrame(list(rows)).to_json(orient="records", lines=True, force_ascii=ascii)


def write_jsonl(
    rows: Sequence[Mapping[str, str]], path: str | os.PathLike[str], *, ascii: bool = True
) -> Path:
    """Write ``rows`` to ``path`` as JSON Lines (see ``jsonl_text``), atomically; return the path."""
    return write_text_atomic(path, jsonl_text(rows, ascii=ascii))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` through a temporary file renamed
    over it, so readers see the old file or the new one, never half; return the path.

    The file gets the mode ``open`` would give it (``0o666`` less the umask, 0644 usually), not
    the temporary file's 0600: replicas running as other users share these files.
    """
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux's
    ``/proc/self/status``); elsewhere set and restored at once, to a strict mask meanwhile."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)  # a file another thread creates meanwhile is private, not open
        os.umask(mask)
    return mask
