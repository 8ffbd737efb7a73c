"""``sportbot serve``: an OpenAI-compatible HTTP API over the local engine.

Routes (all under ``/v1``, all needing ``Authorization: Bearer $SPORTBOT_API_KEY``):
files (upload, list, retrieve, content, delete), ``fine_tuning/jobs`` (create, list, retrieve,
events, checkpoints, cancel), the legacy ``fine-tunes`` (create, list, retrieve, events and their
stream, cancel), models (list, retrieve, delete), the legacy ``completions`` with logprobs and
``chat/completions`` for models trained on chat rows. Errors come in OpenAI's shape,
``{"error": {"message", "type", "param", "code"}}``. ``GET /metrics`` (Prometheus, behind the same
key): requests by route and status, completion latency, jobs by status.
"""

from training.api.app import create_app
from training.api.server import RunningServer, serve, start_server

__all__ = ["RunningServer", "create_app", "serve", "start_server"]
