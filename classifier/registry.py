"""The model registry under ``SPORTBOT_HOME``: one folder per model, a ``current`` pointer, rollback.

Layout::

    <home>/models/<folder>/model.skops the model (skops, loaded with its provider's trusted types only)
    <home>/models/<folder>/card.json   the ModelCard (sha256 of model.skops included)
    <home>/models/<folder>/results.csv ... extra files the fine-tune job hands over
    <home>/models/.staging-*           a registration in progress (never listed)
    <home>/models/.deleted-*           a deletion in progress (never listed)
    <home>/current.json                {"current": id, "history": [older current ids, newest last]}

A model id is lowercase letters, digits, ``.``, ``_``, ``-`` and ``:`` (OpenAI's fine-tuned
names: ``ft:babbage-002:sportbot::7p4lurel``, ``ada:ft-sportbot-2026-11-25-16-05-01``); its
folder is the id with each ``:`` written ``+`` (``:`` is not a file-name character everywhere),
one folder per id and one id per folder, never a path of more than one part.

A model folder is written in full under a staging name and renamed into place, so other
processes (or a crash) never see half a model. The pointer file is replaced atomically
(write a temporary file, ``os.replace``) under an exclusive lock, so concurrent promotes from
several replicas sharing ``SPORTBOT_HOME`` do not lose each other's history.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from classifier.errors import ModelFileError, NoModelError, UnknownModelError
from classifier.files import file_sha256, fsync_dir, write_text_synced
from classifier.model_card import ModelCard

logger = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
POINTER_FILE = "current.json"
STAGING_PREFIX = ".staging-"
DELETING_PREFIX = ".deleted-"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,127}$")
_FOLDER_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,127}$")


def _created_key(card: ModelCard) -> tuple[datetime, str]:
    try:
        created = datetime.fromisoformat(card.created.replace("Z", "+00:00"))
    except ValueError:
        created = datetime.min.replace(tzinfo=UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created, card.id


class ModelRegistry:
    """Models registered under ``home``; see the module docstring for the layout."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).expanduser()
        self.models_dir = self.home / "models"

    # -- ids and folders ------------------------------------------------------------------------

    def new_model_id(self, base_model: str, suffix: str | None = None) -> str:
        """A fresh id: ``sportbot-<base>[-<suffix>]-<UTC yyyymmdd-hhmmss>-<12 hex>``.

        Filesystem-safe (lowercase letters, digits, ``-``), and ids of the same base model sort
        by creation time. 48 random bits: ids made in the same second by processes that have not
        registered them yet (several replicas, a test making fifty) do not collide.
        """
        base = _slug(base_model) or "model"
        prefix = base if base.startswith("sportbot") else f"sportbot-{base}"
        if suffix and _slug(suffix):
            prefix = f"{prefix}-{_slug(suffix)}"
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        while True:
            model_id = f"{prefix}-{stamp}-{secrets.token_hex(6)}"
            if not (self.models_dir / model_id).exists():
                return model_id

    def model_dir(self, model_id: str) -> Path:
        """The folder of a model id (it may not exist)."""
        if not _ID_RE.match(model_id):
            raise UnknownModelError(
                f"'{model_id}' is not a model id: ids are lowercase letters, digits, '.', '_', "
                "'-' and ':'. Run `sportbot models list` to see the registered ones."
            )
        return self.models_dir / model_id.replace(":", "+")

    # -- reading ------------------------------------------------------------------------------

    def card(self, model_id: str) -> ModelCard:
        """The card of a registered model; ``UnknownModelError`` when there is none."""
        path = self.model_dir(model_id) / CARD_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UnknownModelError(
                f"There is no model '{model_id}' in {self.models_dir}. "
                "Run `sportbot models list` to see the registered ones."
            ) from None
        except (OSError, ValueError) as exc:
            raise ModelFileError(
                f"The card of model '{model_id}' ({path}) is unreadable: {exc}"
            ) from exc
        try:
            return ModelCard.from_dict(data)
        except ValueError as exc:
            raise ModelFileError(
                f"The card of model '{model_id}' ({path}) is not a model card: {exc}."
            ) from None

    def list_models(self) -> list[ModelCard]:
        """Registered models, oldest first (staging leftovers and stray folders are skipped)."""
        cards: list[ModelCard] = []
        if not self.models_dir.is_dir():
            return cards
        for entry in self.models_dir.iterdir():
            if not _FOLDER_RE.match(entry.name) or not (entry / CARD_FILE).is_file():
                continue
            try:
                cards.append(self.card(entry.name.replace("+", ":")))
            except (UnknownModelError, ModelFileError) as exc:
                logger.warning("skipping %s: %s", entry, exc)
        return sorted(cards, key=_created_key)

    def current_id(self) -> str | None:
        """The current model's id, or None when no model was made current yet."""
        return self._read_pointer().get("current")

    def history(self) -> list[str]:
        """The models that were current before the current one, the most recent first."""
        return list(reversed(self._read_pointer().get("history", [])))

    # -- writing ------------------------------------------------------------------------------

    def register(
        self,
        card: ModelCard,
        model: object | None = None,
        files: Mapping[str, Path] | None = None,
        make_current: bool | None = None,
    ) -> ModelCard:
        """Write a model folder atomically and return its card (with ``sha256`` set).

        ``model`` is written with skops (a remote model has none: its card names it). ``files`` maps names in the folder to files to copy in (``{"results.csv": path}``).
        ``make_current`` None makes the model current only when no model is current yet.
        """
        final = self.model_dir(card.id)
        if final.exists():
            raise ModelFileError(f"A model '{card.id}' is already registered in {self.models_dir}.")
        for name in files or {}:
            if name in (MODEL_FILE, CARD_FILE) or "/" in name or name.startswith("."):
                raise ValueError(f"cannot register an extra file named {name!r}")
        self.models_dir.mkdir(parents=True, exist_ok=True)
        staging = self.models_dir / f"{STAGING_PREFIX}{final.name}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            if model is not None:
                from skops.io import dump

                model_path = staging / MODEL_FILE
                dump(model, model_path)
                card.sha256 = file_sha256(model_path)
            for name, source in (files or {}).items():
                shutil.copyfile(source, staging / name)
            write_text_synced(staging / CARD_FILE, json.dumps(card.to_dict(), indent=2) + "\n")
            fsync_dir(staging)
            os.rename(staging, final)
            fsync_dir(self.models_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        logger.info("registered model %s", card.id)
        if make_current or (make_current is None and self.current_id() is None):
            with self._locked():
                pointer = self._read_pointer()
                if make_current or pointer.get("current") is None:
                    self._set_current(pointer, card.id)
        return card

    def promote(self, model_id: str) -> None:
        """Make a registered model current; the previous one is remembered for ``rollback``.

        A model whose file does not match the sha256 on its card is refused (``ModelFileError``).
        """
        card = self.card(model_id)
        path = self.model_dir(model_id) / MODEL_FILE
        if path.is_file():
            _check_sha256(model_id, card, path)
        with self._locked():
            pointer = self._read_pointer()
            if pointer.get("current") != model_id:
                self._set_current(pointer, model_id)

    def rollback(self) -> str:
        """Make the previously current model current again; return its id.

        With nothing to roll back to, ``NoModelError``, and nothing is written (no home folder,
        no lock file).
        """
        pointer = self._read_pointer()
        if not pointer["history"]:
            self._refuse_rollback(pointer)
        with self._locked():
            pointer = self._read_pointer()
            history = list(pointer.get("history", []))
            while history:
                previous = history.pop()
                if (self.model_dir(previous) / CARD_FILE).is_file():
                    self._write_pointer({"current": previous, "history": history})
                    logger.info("rolled back to model %s", previous)
                    return previous
            self._refuse_rollback(pointer)

    def delete(self, model_id: str) -> None:
        """Remove a registered model that is not current (``ModelFileError`` for the current one:
        the bot would have no model; promote another first). A model the pointer's history names
        is skipped by ``rollback`` once it is gone."""
        self.card(model_id)  # UnknownModelError when there is none
        with self._locked():
            if self._read_pointer().get("current") == model_id:
                raise ModelFileError(
                    f"Model '{model_id}' is the current model: promote another one before "
                    "deleting it."
                )
            folder = self.model_dir(model_id)
            doomed = self.models_dir / f"{DELETING_PREFIX}{folder.name}-{secrets.token_hex(4)}"
            os.rename(folder, doomed)  # gone for readers at once, whatever rmtree leaves
        shutil.rmtree(doomed, ignore_errors=True)
        fsync_dir(self.models_dir)
        logger.info("deleted model %s", model_id)

    @staticmethod
    def _refuse_rollback(pointer: dict[str, Any]) -> NoReturn:
        if pointer.get("current") is None:
            raise NoModelError(
                "There is no current model to roll back from: run `sportbot train` first."
            )
        raise NoModelError(
            f"There is nothing to roll back to: '{pointer['current']}' is the only model "
            "that has been current."
        )

    # -- loading -------------------------------------------------------------------------------

    def load_model(self, model_id: str, trusted: Sequence[str]) -> object:
        """Load a model's file, after checking it against the sha256 on its card.

        skops loads it with the ``trusted`` types only (the provider that wrote it names them):
        a file holding any other type is refused with ``ModelFileError``.
        """
        card = self.card(model_id)
        path = self.model_dir(model_id) / MODEL_FILE
        if not path.is_file():
            raise ModelFileError(
                f"Model '{model_id}' has no {MODEL_FILE} (provider {card.provider!r}): "
                "it cannot run on the local engine."
            )
        _check_sha256(model_id, card, path)
        from skops.io import load
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            return load(path, trusted=list(trusted))
        except ModelFileError:  # e.g. the shipped base model it was trained on is not this one
            raise
        except UntrustedTypesFoundException as exc:
            raise ModelFileError(
                f"The file of model '{model_id}' holds types that are not trusted ({exc}); "
                "it was not loaded."
            ) from exc
        except Exception as exc:
            raise ModelFileError(
                f"The file of model '{model_id}' ({path}) cannot be read: {exc}"
            ) from exc

    def model_file_types(self, model_id: str) -> list[str]:
        """The non-default types a model's file names, read without loading it."""
        from skops.io import get_untrusted_types

        path = self.model_dir(model_id) / MODEL_FILE
        try:
            return list(get_untrusted_types(file=path))
        except Exception as exc:
            raise ModelFileError(
                f"The file of model '{model_id}' ({path}) cannot be read: {exc}"
            ) from exc

    # -- the pointer ---------------------------------------------------------------------------

    def _read_pointer(self) -> dict[str, Any]:
        path = self.home / POINTER_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": None, "history": []}
        except (OSError, ValueError) as exc:
            raise ModelFileError(
                f"The registry's pointer file {path} is unreadable: {exc}"
            ) from exc
        current = data.get("current") if isinstance(data, dict) else None
        history = data.get("history", []) if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or "current" not in data
            or not isinstance(current, str | None)
            or not isinstance(history, list)
            or not all(isinstance(model_id, str) for model_id in history)
        ):
            raise ModelFileError(
                f"The registry's pointer file {path} is malformed: it should hold "
                '{"current": "<model id>", "history": ["<model id>", ...]}; fix it, or '
                "delete it and promote a model."
            )
        return {"current": current, "history": list(history)}

    def _set_current(self, pointer: dict[str, Any], model_id: str) -> None:
        history = list(pointer.get("history", []))
        if pointer.get("current"):
            history.append(pointer["current"])
        self._write_pointer({"current": model_id, "history": history})
        logger.info("model %s is now current", model_id)

    def _write_pointer(self, pointer: dict[str, Any]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / POINTER_FILE
        temp = self.home / f".{POINTER_FILE}.{secrets.token_hex(4)}.tmp"
        try:
            write_text_synced(temp, json.dumps(pointer, indent=2) + "\n")
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(self.home)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the pointer across processes (POSIX ``flock``; none elsewhere)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "a+") as handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")


def _check_sha256(model_id: str, card: ModelCard, path: Path) -> None:
    if card.sha256 is None or file_sha256(path) != card.sha256:
        raise ModelFileError(
            f"The file of model '{model_id}' ({path}) does not match the sha256 on its card: "
            "it was changed or corrupted. Promote another model or train a new one."
        )
