"""What the classifier reads of a Slack message."""

from __future__ import annotations

import pytest

from bot.slack_text import plain_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Goal! <@U123> saw it", "Goal!   saw it"),
        ("<https://mlb.com/news|Rays win in extras> tonight", "Rays win in extras  tonight"),
        ("<https://nhl.com>", ""),
        ("<@U1> <#C1|general> <!here>", ""),
        ("Ice &amp; bats &lt;3", "Ice & bats <3"),
        ("nul\x00byte", "nul byte"),
        ("   \n\t ", ""),
        (None, ""),
        ("שער בהארכה", "שער בהארכה"),
        ("🏒🏒", "🏒🏒"),
    ],
)
def test_plain_text(raw: str | None, expected: str) -> None:
    assert plain_text(raw) == expected
