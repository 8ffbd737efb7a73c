"""``sportbot serve``'s ``GET /metrics``: behind the bearer key; requests by route and status,
completion latency, jobs by status."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import openai
import pytest

from tests.support.metrics import Samples, parse, value
from tests.support.sportbot_serve import API_KEY, HOCKEY_TWEET, Served, served


@pytest.fixture(scope="module")
def api() -> Served:
    return served()


def metrics_url(api: Served) -> str:
    return api.base_url.removesuffix("/v1") + "/metrics"


def scrape(api: Served) -> Samples:
    request = urllib.request.Request(
        metrics_url(api), headers={"Authorization": f"Bearer {API_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/plain"
        return parse(response.read().decode())


def requests(samples: Samples, route: str, method: str, status: int) -> float:
    return value(
        samples, "sportbot_serve_requests_total", route=route, method=method, status=str(status)
    )


def test_metrics_need_the_api_key(api: Served) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(metrics_url(api), timeout=10)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["error"]["code"] == "invalid_api_key"


def test_requests_are_counted_by_route_and_status_and_completions_timed(api: Served) -> None:
    client = api.client(max_retries=0)
    before = scrape(api)
    client.completions.create(model=api.model_id, prompt=HOCKEY_TWEET, max_tokens=1, logprobs=2)
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-nosuchjob")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(api.base_url + "/no/such/route", timeout=10)
    after = scrape(api)

    def grew(route: str, method: str, status: int) -> float:
        return requests(after, route, method, status) - requests(before, route, method, status)

    assert grew("/v1/completions", "POST", 200) == 1
    assert grew("/v1/fine_tuning/jobs/{job_id}", "GET", 404) == 1
    assert grew("unmatched", "GET", 401) == 1  # no key: refused before routing matters
    assert grew("/metrics", "GET", 200) == 1  # the scrape before this one
    completions = "sportbot_serve_completion_seconds_count"
    assert value(after, completions) - value(before, completions) == 1
    assert value(after, "sportbot_serve_completion_seconds_sum") > 0


def test_jobs_are_counted_by_status(api: Served) -> None:
    samples = scrape(api)
    assert value(samples, "sportbot_serve_fine_tuning_jobs", status="succeeded") >= 1
    assert value(samples, "sportbot_serve_fine_tuning_jobs", status="running") == 0
