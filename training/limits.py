"""Every limit of a fine-tune and of ``sportbot serve``, in one place (README's "Limits" and
docs/limits.md list them with the reasons).

``TrainingLimits`` bound what one fine-tune may cost, whoever asks for it (``sportbot
fine-tune``, the Slack bot's retrain, the API): a row's length, a file's size, the model's
features (distinct words, labels, weights) and the work (epochs, batch size, steps). The
largest 20 Newsgroups post (160,616 characters) and the whole corpus's vocabulary (168,471
words) fit within them. ``ApiLimits`` bound one request of ``sportbot serve`` and its queue.
Both are frozen dataclasses so a test can hand a server smaller ones; everything else uses the
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class TrainingLimits:
    """What one fine-tune may ask for (see the module doc)."""

    max_row_chars: int = 200_000
    """Characters of one row's text (a prompt without its separator, or a chat row's system
    and user content)."""
    max_file_bytes: int = 64 * MIB
    """Bytes of a training or validation file."""
    max_distinct_words: int = 250_000
    """Distinct words of the training file, as the local model splits them: each is a
    feature of the model, and a feature costs about 2 KB while the model trains."""
    max_labels: int = 100
    """Distinct completions (labels) of the training file."""
    max_weights: int = 5_000_000
    """Distinct words times labels: the size of the model's weight table."""
    max_n_epochs: int = 50
    """OpenAI's own bound on ``n_epochs``."""
    max_batch_size: int = 256
    """OpenAI's own bound on ``batch_size``."""
    max_learning_rate_multiplier: float = 10.0
    max_classification_betas: int = 10
    """F-beta columns a legacy job may add to its result file."""
    max_steps: int = 100_000
    """Optimiser steps (epochs times mini-batches of an epoch): each is a result row and an
    event line, so this bounds a job's time and its files (about 60 MB of events)."""


@dataclass(frozen=True)
class ApiLimits:
    """What one request of ``sportbot serve`` may send, and how many jobs may wait."""

    max_upload_bytes: int = 512 * MIB
    """A file's bytes (OpenAI's per-file limit), counted as they arrive."""
    max_form_field_bytes: int = 1024
    """Any multipart field but ``file`` (``purpose``)."""
    max_json_body_bytes: int = 4 * MIB
    """A JSON body, after any ``Content-Encoding`` is undone."""
    max_prompt_chars: int = 200_000
    """One prompt (or a chat request's text): a training row's limit."""
    max_request_prompt_chars: int = 1_000_000
    """All the prompts of one request together."""
    max_queued_jobs: int = 16
    """Fine-tune jobs waiting behind the running one; more is a 429."""
    body_idle_timeout_s: float = 30.0
    """A body that stops arriving for this long is a 408."""
    json_body_timeout_s: float = 60.0
    """A JSON body must have arrived whole within this long."""
    free_wrong_keys: int = 10
    """Wrong API keys an address may send before its requests are slowed down."""
    wrong_key_interval_s: float = 1.0
    """Then one key check per this long from that address (any key)."""
    wrong_key_max_wait_s: float = 10.0
    """A request that would wait longer for its turn is a 429 at once."""
    wrong_key_memory_s: float = 300.0
    """Wrong keys are forgotten after this long without one."""


MIN_API_KEY_CHARS = 16
"""``SPORTBOT_API_KEY`` must be at least this long: ``sportbot serve`` will not start with a
shorter one."""
CANCEL_GRACE_S = 1.0
"""A cancelled job's training process has this long to stop at its next step before it is
interrupted, and as long again before it is killed."""
SHUTDOWN_TIMEOUT_S = 3.0
"""On SIGTERM, open requests have this long to finish."""

DEFAULT_TRAINING_LIMITS = TrainingLimits()
DEFAULT_API_LIMITS = ApiLimits()
