"""What listeners get handed: settings, store, the classifier holder, the admin check, the
metrics and the tag pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import BotMetrics
from bot.settings import Settings
from bot.store import Store
from bot.tagging import TagPipeline, TagPolicy
from classifier import Classifier
from classifier.errors import ModelFileError, SportbotError

logger = logging.getLogger(__name__)

MODEL_REFRESH_SECONDS = 1.0
"""How often the holder looks at the registry's ``current`` pointer for a model promoted elsewhere."""
RETIRE_SECONDS = 120.0
"""How long a replaced classifier stays open for the requests that still hold it before its
backend is closed: longer than an OpenAI request's worst case (3 attempts of 10 s and backoff)."""


class AdminCheck(Protocol):
    async def is_admin(
        self,
        user_id: str,
        client: AsyncWebClient,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> bool: ...

    async def may_change_model(
        self,
        user_id: str,
        client: AsyncWebClient,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> bool: ...


class ClassifierHolder:
    """Holds the classifier in use and swaps it, without a restart, when the current model changes.

    ``current_id`` says which model should serve now (the registry's ``current`` pointer, or a
    pinned id); ``load`` builds a classifier for an id. ``get`` looks at ``current_id`` at most once
    every ``refresh_seconds`` and loads a new model off the event loop; until it is loaded, the old
    one keeps answering. ``reload`` swaps at once (after a promotion in this process).
    ``start`` is ``reload`` that falls back on an earlier model (``fallbacks``) when the current
    one's file is refused. A replaced classifier's backend (an OpenAI model's HTTP client) is
    closed ``RETIRE_SECONDS`` after the swap, by the first ``get`` after that, or by ``aclose``.
    """

    def __init__(
        self,
        load: Callable[[str | None], Classifier],
        current_id: Callable[[], str | None],
        *,
        card: Callable[[str], dict[str, Any]] | None = None,
        fallbacks: Callable[[], list[str]] | None = None,
        refresh_seconds: float = MODEL_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._current_id = current_id
        self._card = card
        self._fallbacks = fallbacks
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._classifier: Classifier | None = None
        self._checked_at = -float("inf")
        self._swap_lock = threading.Lock()
        self._loading: asyncio.Task[Classifier] | None = None
        self._failed_id: str | None = None
        self._retired: list[tuple[float, Classifier]] = []
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def classifier(self) -> Classifier:
        """The classifier in use (loaded on first use)."""
        if self._classifier is None:
            return self.reload()
        return self._classifier

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    def reload(self) -> Classifier:
        """Load the model ``current_id`` names now and serve it from the next request on."""
        with self._swap_lock:
            classifier = self._load(self._current_id())
            previous = self._classifier.model_id if self._classifier is not None else None
            self._swap(classifier)
        if previous != classifier.model_id:
            logger.info("serving model %s (was %s)", classifier.model_id, previous)
        return classifier

    def start(self) -> Classifier:
        """Load the model to serve at start. When ``current_id``'s file is refused (corrupted,
        untrusted types: ``ModelFileError``), serve the first of ``fallbacks()`` (the models
        that were current before, the most recent first) that loads, with a WARNING naming the
        refused model; with none that loads, the refusal is raised."""
        try:
            return self.reload()
        except ModelFileError as refusal:
            refused = self._current_id()
            for model_id in self._fallbacks() if self._fallbacks is not None else []:
                if model_id == refused:
                    continue
                try:
                    classifier = self._load(model_id)
                except SportbotError as error:
                    logger.warning("model %s cannot serve either: %s", model_id, error)
                    continue
                logger.warning(
                    "refused the current model %s (%s); serving the previous good model %s",
                    refused,
                    refusal,
                    model_id,
                )
                with self._swap_lock:
                    self._swap(classifier)
                    self._failed_id = refused  # not tried again unless current changes
                return classifier
            raise

    def _swap(self, classifier: Classifier) -> None:
        """Serve ``classifier`` from now on; the one it replaces retires (under the lock)."""
        now = self._clock()
        if self._classifier is not None and self._classifier is not classifier:
            self._retired.append((now, self._classifier))
        self._classifier = classifier
        self._checked_at = now

    def _close_retired(self, now: float) -> None:
        """Close, in the background, the backends of classifiers retired ``RETIRE_SECONDS`` ago."""
        with self._swap_lock:
            due = [c for at, c in self._retired if now - at >= RETIRE_SECONDS]
            self._retired = [(at, c) for at, c in self._retired if now - at < RETIRE_SECONDS]
        for classifier in due:
            task = asyncio.create_task(_close_backend(classifier))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Let go of every classifier still open (its API client's connections) when the bot
        stops: the one in use and those replaced but not yet closed."""
        with self._swap_lock:
            retired, self._retired = [c for _, c in self._retired], []
        await asyncio.gather(*self._closing)
        for classifier in [*retired, self._classifier]:
            if classifier is not None:
                await _close_backend(classifier)

    async def get(self) -> Classifier:
        """The classifier to use for this request, following a changed ``current`` model."""
        if self._classifier is None:
            return await asyncio.to_thread(self.reload)
        now = self._clock()
        if now - self._checked_at >= self.refresh_seconds:
            self._checked_at = now
            if self._retired:
                self._close_retired(now)
            wanted = self._current_id()
            if (
                wanted is not None
                and wanted not in (self._classifier.model_id, self._failed_id)
                and self._loading is None
            ):
                self._loading = asyncio.create_task(asyncio.to_thread(self.reload))
                self._loading.add_done_callback(lambda task: self._loaded(task, wanted))
        return self._classifier

    def _loaded(self, task: asyncio.Task[Classifier], wanted: str) -> None:
        self._loading = None
        error = None if task.cancelled() else task.exception()
        if error is not None:
            # Keep serving the model in use; try this one again only if current changes.
            self._failed_id = wanted
            logger.error(
                "could not load model %s; still serving %s: %s",
                wanted,
                self.model_id,
                error,
                exc_info=error,
            )

    def card(self) -> dict[str, Any] | None:
        """The serving model's card (id, created, metrics, labels…), when the registry has one."""
        if self._card is None:
            return None
        try:
            return self._card(self.model_id)
        except Exception:
            logger.exception("could not read the card of model %s", self.model_id)
            return None


async def _close_backend(classifier: Classifier) -> None:
    try:
        await classifier.backend.aclose()
    except Exception:
        logger.exception("could not close the backend of model %s", classifier.model_id)


@dataclass
class Services:
    """Everything a listener needs, passed in by ``register(app, services)``."""

    settings: Settings
    store: Store
    classifiers: ClassifierHolder
    admins: AdminCheck
    metrics: BotMetrics
    tagging: TagPipeline


def build_services(settings: Settings, *, load_in_child: bool = False) -> Services:
    """Open the store and the classifier holder the settings name (nothing loaded yet).

    ``load_in_child``: load models in a child process (``bot.child_loader``), so that this
    process never imports skops and scikit-learn (``sportbot run``: ~150 MB less resident)."""
    from bot.admin import AdminGate
    from bot.child_loader import load_classifier_in_child
    from classifier import load_classifier
    from classifier.registry import ModelRegistry

    config = settings.classifier_config()
    registry = ModelRegistry(config.home)
    pinned = config.model
    follows_registry = config.backend == "local" and pinned is None
    loader = load_classifier_in_child if load_in_child else load_classifier

    def load(model_id: str | None) -> Classifier:
        return loader(model_id if follows_registry else pinned, config)

    def current_id() -> str | None:
        return registry.current_id() if follows_registry else pinned

    def card(model_id: str) -> dict[str, Any]:
        return _as_dict(registry.card(model_id))

    store = Store.open(settings.sqlalchemy_url())
    metrics = BotMetrics()
    return Services(
        settings=settings,
        store=store,
        classifiers=ClassifierHolder(
            load,
            current_id,
            card=card if settings.sportbot_backend == "local" else None,
            fallbacks=registry.history if follows_registry else None,
        ),
        admins=AdminGate(settings),
        metrics=metrics,
        tagging=TagPipeline(
            TagPolicy(per_minute=settings.sportbot_tag_calls_per_minute),
            metrics,
            store.events.release,
        ),
    )


def _as_dict(card: Any) -> dict[str, Any]:
    if isinstance(card, dict):
        return card
    if hasattr(card, "to_dict"):
        return dict(card.to_dict())
    if dataclasses.is_dataclass(card) and not isinstance(card, type):
        return dataclasses.asdict(card)
    return dict(vars(card))
