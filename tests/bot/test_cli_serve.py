"""``sportbot serve``: it will not start without a key for its clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def test_serve_without_sportbot_api_key_stops_with_one_line(
    sportbot_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SPORTBOT_API_KEY", raising=False)
    monkeypatch.chdir(sportbot_home.parent)  # no .env here

    code = main(["serve", "--port", "0"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("sportbot: error: SPORTBOT_API_KEY is not set")
