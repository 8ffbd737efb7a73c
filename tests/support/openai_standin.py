"""A stand-in for OpenAI's cloud, on loopback, speaking its wire protocol.

It answers ``POST /v1/completions`` from a fixed next-token distribution (applying ``logit_bias``
to token ids it knows and listing the top ``logprobs`` tokens, as OpenAI does), can fail with any
status and error body, or answer late, and records every request. Uploads are accepted;
fine-tuning jobs are refused with OpenAI's 403 ``training_not_available``, as for an account that
can no longer fine-tune, or (``jobs_succeed``) succeed at once with today's result file: base64 of
a CSV with today's column names.
"""

from __future__ import annotations

import asyncio
import base64
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TRAINING_NOT_AVAILABLE = {
    "error": {
        "message": "Fine-tuning is not available for your organization: job creation is closed.",
        "type": "invalid_request_error",
        "param": None,
        "code": "training_not_available",
    }
}


TODAYS_RESULT_CSV = (
    b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
    b"1,0.69,0.5,0.7,0.5\n2,0.31,0.9,,\n3,0.12,1.0,0.2,0.95\n"
)
FINE_TUNED_MODEL = "ft:babbage-002:standin::abc123"


def _job(body: dict[str, Any], status: str) -> dict[str, Any]:
    done = status == "succeeded"
    return {
        "object": "fine_tuning.job",
        "id": "ftjob-standin",
        "created_at": 1764086400,
        "model": body["model"],
        "status": status,
        "training_file": body["training_file"],
        "validation_file": body.get("validation_file"),
        "hyperparameters": body.get("method", {}).get("supervised", {}).get("hyperparameters", {}),
        "fine_tuned_model": FINE_TUNED_MODEL if done else None,
        "result_files": ["file-result"] if done else [],
        "organization_id": "org-standin",
        "seed": 42,
        "trained_tokens": 123456 if done else None,
        "finished_at": 1764086500 if done else None,
        "error": None,
    }


def _event(event_id: str, message: str) -> dict[str, Any]:
    return {
        "object": "fine_tuning.job.event",
        "id": event_id,
        "created_at": 1764086400,
        "level": "info",
        "message": message,
        "data": {},
        "type": "message",
    }


@dataclass
class StandIn:
    """What the stand-in answers; tests change the fields between calls."""

    distribution: dict[str, float] = field(
        default_factory=lambda: {" hockey": -0.05, " baseball": -3.2, " the": -4.0, "\n": -5.0}
    )
    """Next-token log-probabilities for every prompt (need not be normalised)."""
    token_ids: dict[int, str] = field(
        default_factory=lambda: {20075: " baseball", 28051: " hockey", 1023: " other"}
    )
    fail_status: int | None = None
    fail_body: dict[str, Any] | None = None
    fail_times: int | None = None
    """Fail only the first this many completion requests (None: every one while fail_status)."""
    delay_s: float = 0.0
    jobs_succeed: bool = False
    job_body: dict[str, Any] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        bias = {
            self.token_ids[int(k)]: float(v)
            for k, v in (body.get("logit_bias") or {}).items()
            if int(k) in self.token_ids
        }
        shifted = {t: lp + bias.get(t, 0.0) for t, lp in self.distribution.items()}
        top = max(shifted.values())
        norm = top + math.log(sum(math.exp(lp - top) for lp in shifted.values()))
        ranked = sorted(((t, lp - norm) for t, lp in shifted.items()), key=lambda x: -x[1])
        k = body.get("logprobs")
        choices = []
        for i, prompt in enumerate(prompts):
            logprobs = None
            if k is not None:
                logprobs = {
                    "tokens": [ranked[0][0]],
                    "token_logprobs": [ranked[0][1]],
                    "top_logprobs": [dict(ranked[: max(k, 1)])],
                    "text_offset": [len(prompt)],
                }
            choices.append(
                {"text": ranked[0][0], "index": i, "logprobs": logprobs, "finish_reason": "length"}
            )
        return {
            "id": "cmpl-standin",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": choices,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


class RunningStandIn:
    """The stand-in served on a thread; ``base_url`` ends in ``/v1``."""

    def __init__(self, state: StandIn) -> None:
        self.state = state
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self._app())
        ready = threading.Event()
        self._port = 0

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _app(self) -> web.Application:
        state = self.state

        async def completions(request: web.Request) -> web.Response:
            body = await request.json()
            state.requests.append(body)
            state.paths.append(request.path)
            if state.delay_s:
                await asyncio.sleep(state.delay_s)
            failing = state.fail_times is None or len(state.requests) <= state.fail_times
            if state.fail_status is not None and failing:
                return web.json_response(
                    state.fail_body or {},
                    status=state.fail_status,
                    headers={"retry-after-ms": "10"},
                )
            return web.json_response(state.completion(body))

        async def upload(request: web.Request) -> web.Response:
            state.paths.append(request.path)
            form = await request.post()
            upload = form["file"]
            return web.json_response(
                {
                    "id": f"file-standin{len(state.paths)}",
                    "object": "file",
                    "bytes": len(upload.file.read()),  # type: ignore[union-attr]
                    "created_at": int(time.time()),
                    "filename": upload.filename,  # type: ignore[union-attr]
                    "purpose": form["purpose"],
                    "status": "processed",
                }
            )

        async def create_job(request: web.Request) -> web.Response:
            state.paths.append(request.path)
            body = await request.json()
            state.requests.append(body)
            state.job_body = body
            if not state.jobs_succeed:
                return web.json_response(TRAINING_NOT_AVAILABLE, status=403)
            return web.json_response(_job(body, "queued"))

        async def retrieve_job(request: web.Request) -> web.Response:
            state.paths.append(request.path)
            return web.json_response(_job(state.job_body or {}, "succeeded"))

        async def job_events(request: web.Request) -> web.Response:
            state.paths.append(request.path)
            data = [
                _event("ftevent-2", "The job has successfully completed"),
                _event("ftevent-1", "Fine-tuning job started"),
            ]
            return web.json_response({"object": "list", "data": data, "has_more": False})

        async def result_content(request: web.Request) -> web.Response:
            state.paths.append(request.path)
            return web.Response(body=base64.b64encode(TODAYS_RESULT_CSV))

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/completions", completions)
        app.router.add_post("/v1/files", upload)
        app.router.add_post("/v1/fine_tuning/jobs", create_job)
        app.router.add_get("/v1/fine_tuning/jobs/{job_id}", retrieve_job)
        app.router.add_get("/v1/fine_tuning/jobs/{job_id}/events", job_events)
        app.router.add_get("/v1/files/file-result/content", result_content)
        return app
