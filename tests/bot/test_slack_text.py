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
        ("🏒🏒 !!", ""),
        (":baseball: :ice_hockey_stick_and_puck:", ""),
        (":+1::skin-tone-2: Rays won", "Rays won"),
        ("Face-off at 7:30pm: be there", "Face-off at 7:30pm: be there"),
        ("Final 3:2:1 count", "Final 3:2:1 count"),
    ],
)
def test_plain_text(raw: str | None, expected: str) -> None:
    assert plain_text(raw) == expected
