"""``/v1/models``: the registry's models, and the local backends that answer for them.

A model is named by its registry id (what a fine-tune job returns as ``fine_tuned_model``), or
``current`` for the registry's current model. Base-model names such as ``babbage-002`` are not
models here (there is no base language model, only fine-tuned classifiers): asking for one is a
404 that says to fine-tune first, as OpenAI answers for a model it does not have.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from classifier.errors import SportbotError
from classifier.local import load_local_model
from classifier.local.backend import LocalBackend
from classifier.registry import ModelCard, ModelRegistry
from training.api.errors import not_found

CURRENT = "current"
CACHE_SIZE = 8


class ModelCatalog:
    """Resolves model names and keeps the last few loaded backends in memory."""

    def __init__(self, home: Path) -> None:
        self.registry = ModelRegistry(home)
        self._backends: dict[str, LocalBackend] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str) -> ModelCard:
        """The card of model ``name``; ``ApiError`` 404 in OpenAI's shape when there is none."""
        model_id = self.registry.current_id() if name == CURRENT else name
        if model_id:
            try:
                return self.registry.card(model_id)
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

    def cached(self, name: str) -> LocalBackend | None:
        """The backend of model id ``name`` when it is loaded already (ids never change meaning)."""
        return self._backends.get(name) if name != CURRENT else None

    def backend(self, name: str) -> LocalBackend:
        """The local backend of model ``name`` (loaded once, kept while recently used)."""
        model_id = self.resolve(name).id
        with self._lock:
            backend = self._backends.pop(model_id, None)
            if backend is None:
                backend = LocalBackend(load_local_model(self.registry, model_id), model_id)
            self._backends[model_id] = backend
            while len(self._backends) > CACHE_SIZE:
                self._backends.pop(next(iter(self._backends)))
            return backend

    async def abackend(self, name: str) -> LocalBackend:
        """``backend`` without blocking the event loop: a loaded model is returned at once."""
        cached = self.cached(name)
        return cached if cached is not None else await asyncio.to_thread(self.backend, name)


def model_object(card: ModelCard) -> dict[str, Any]:
    """OpenAI's ``model`` object for a registry card."""
    return {
        "id": card.id,
        "object": "model",
        "created": _timestamp(card.created),
        "owned_by": "sportbot",
    }


def _timestamp(created: str) -> int:
    try:
        return int(datetime.fromisoformat(created).timestamp())
    except (TypeError, ValueError):
        return 0


def add_routes(app: web.Application, catalog: ModelCatalog) -> None:
    async def list_models(_request: web.Request) -> web.Response:
        cards = await asyncio.to_thread(catalog.registry.list_models)
        data = [model_object(card) for card in cards]
        return web.json_response({"object": "list", "data": data})

    async def retrieve(request: web.Request) -> web.Response:
        card = await asyncio.to_thread(catalog.resolve, request.match_info["model"])
        return web.json_response(model_object(card))

    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model}", retrieve)
