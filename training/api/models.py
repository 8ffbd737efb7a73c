"""``/v1/models``: the registry's models and their checkpoints, and the local backends that
answer for them.

A model is named by its registry id (what a fine-tune job returns as ``fine_tuned_model``), by a
checkpoint's name (``<model id>:ckpt-step-<n>``, the model as it was at the end of an epoch), or
``current`` for the registry's current model. Base-model names such as ``babbage-002`` are not
models here (there is no base language model, only fine-tuned classifiers): asking for one is a
404 that says to fine-tune first, as OpenAI answers for a model it does not have. A model that is
not current can be deleted (its checkpoints go with it).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from classifier.errors import ModelFileError, SportbotError
from classifier.files import file_sha256
from classifier.local import TRUSTED_TYPES, load_local_model
from classifier.local.backend import LocalBackend
from classifier.local.engine import SportEngine
from classifier.local.gated_model import GatedSportModel
from classifier.model_card import ModelCard
from classifier.registry import CARD_FILE, ModelRegistry
from training.api.errors import ApiError, bad_request, not_found
from training.api.naming import ORG, parse_checkpoint
from training.jobs import Checkpoint, JobStore

CURRENT = "current"
CACHE_SIZE = 8


@dataclass(frozen=True)
class ServedModel:
    """A model the API answers for: its name, its card (a checkpoint's is its model's) and, for
    a checkpoint, which one."""

    name: str
    card: ModelCard
    checkpoint: Checkpoint | None = None
    checkpoint_path: Path | None = None

    @property
    def is_chat(self) -> bool:
        return self.card.data_format == "chat"

    @property
    def created(self) -> int:
        if self.checkpoint is not None:
            return self.checkpoint.created_at
        return _timestamp(self.card.created)


class ModelCatalog:
    """Resolves model names and keeps the last few loaded backends in memory."""

    def __init__(self, home: Path) -> None:
        self.registry = ModelRegistry(home)
        self.jobs = JobStore(home)
        self._loaded: dict[str, tuple[ServedModel, LocalBackend]] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str) -> ServedModel:
        """The model ``name`` names; ``ApiError`` 404 in OpenAI's shape when there is none."""
        checkpoint = parse_checkpoint(name)
        model_id = self.registry.current_id() if name == CURRENT else name
        try:
            if checkpoint is not None:
                return self._checkpoint(name, *checkpoint)
            if model_id:
                return ServedModel(model_id, self.registry.card(model_id))
        except SportbotError:
            pass
        hint = (
            " sportbot serve has fine-tuned classifiers only: fine-tune one "
            "(POST /v1/fine_tuning/jobs) and use its fine_tuned_model, or see GET /v1/models."
        )
        raise not_found(
            f"The model `{name}` does not exist or you do not have access to it.{hint}",
            param="model",
            code="model_not_found",
        )

    def _checkpoint(self, name: str, model_id: str, step: int) -> ServedModel:
        card = self.registry.card(model_id)
        if card.job_id is not None:
            for checkpoint in self.jobs.checkpoints(card.job_id):
                if checkpoint.step_number == step:
                    path = self.jobs.checkpoint_path(card.job_id, checkpoint)
                    return ServedModel(name, card, checkpoint, path)
        raise ModelFileError(f"model {model_id} has no checkpoint at step {step}")

    def cached(self, name: str) -> tuple[ServedModel, LocalBackend] | None:
        """A loaded model (ids never change meaning) while it is still registered."""
        loaded = self._loaded.get(name) if name != CURRENT else None
        if loaded is None or not (self.registry.model_dir(loaded[0].card.id) / CARD_FILE).exists():
            return None
        return loaded

    def load(self, name: str) -> tuple[ServedModel, LocalBackend]:
        """The model ``name`` and its local backend (loaded once, kept while recently used)."""
        served = self.resolve(name)
        with self._lock:
            loaded = self._loaded.pop(served.name, None)
            if loaded is None:
                engine = (
                    _load_checkpoint(served)
                    if served.checkpoint is not None
                    else load_local_model(self.registry, served.card.id)
                )
                loaded = (served, LocalBackend(engine, served.name))
            self._loaded[served.name] = loaded
            while len(self._loaded) > CACHE_SIZE:
                self._loaded.pop(next(iter(self._loaded)))
            return loaded

    async def aload(self, name: str) -> tuple[ServedModel, LocalBackend]:
        """``load`` without blocking the event loop: a loaded model is returned at once."""
        cached = self.cached(name)
        return cached if cached is not None else await asyncio.to_thread(self.load, name)

    def delete(self, name: str) -> None:
        """Delete a registered model (with its checkpoints) that is not current."""
        if parse_checkpoint(name) is not None:
            raise bad_request(
                f"`{name}` is a checkpoint: checkpoints are deleted with their model.",
                param="model",
            )
        served = self.resolve(name)
        try:
            self.registry.delete(served.card.id)
        except ModelFileError as error:
            raise ApiError(400, str(error), param="model") from None
        with self._lock:
            gone = served.card.id
            for key in [k for k, (model, _) in self._loaded.items() if model.card.id == gone]:
                del self._loaded[key]


def _load_checkpoint(served: ServedModel) -> SportEngine | GatedSportModel:
    """A checkpoint's model, read with the local model's trusted types after its sha256."""
    from skops.io import load

    assert served.checkpoint is not None and served.checkpoint_path is not None
    if file_sha256(served.checkpoint_path) != served.checkpoint.sha256:
        raise ModelFileError(f"The file of checkpoint {served.name} does not match its sha256.")
    model = load(served.checkpoint_path, trusted=list(TRUSTED_TYPES))
    if not isinstance(model, SportEngine | GatedSportModel):
        raise ModelFileError(f"The file of checkpoint {served.name} does not hold a local model.")
    return model


def model_object(served: ServedModel) -> dict[str, Any]:
    """OpenAI's ``model`` object."""
    return {"id": served.name, "object": "model", "created": served.created, "owned_by": ORG}


def _timestamp(created: str) -> int:
    try:
        return int(datetime.fromisoformat(created).timestamp())
    except (TypeError, ValueError):
        return 0


def add_routes(app: web.Application, catalog: ModelCatalog) -> None:
    async def list_models(_request: web.Request) -> web.Response:
        cards = await asyncio.to_thread(catalog.registry.list_models)
        data = [model_object(ServedModel(card.id, card)) for card in cards]
        return web.json_response({"object": "list", "data": data})

    async def retrieve(request: web.Request) -> web.Response:
        served = await asyncio.to_thread(catalog.resolve, request.match_info["model"])
        return web.json_response(model_object(served))

    async def delete(request: web.Request) -> web.Response:
        name = request.match_info["model"]
        await asyncio.to_thread(catalog.delete, name)
        return web.json_response({"id": name, "object": "model", "deleted": True})

    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model}", retrieve)
    app.router.add_delete("/v1/models/{model}", delete)
