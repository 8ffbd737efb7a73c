"""``sportbot run`` keeps what it loaded at start out of the garbage collector's full passes."""

from __future__ import annotations

import gc

from bot.commandline.run import freeze_long_lived


def test_objects_alive_at_start_are_frozen_and_later_garbage_is_still_collected() -> None:
    long_lived = [{"word": i} for i in range(10_000)]
    try:
        freeze_long_lived()
        assert gc.get_freeze_count() >= len(long_lived)
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # a cycle made after the freeze is still found
    finally:
        gc.unfreeze()
    assert long_lived[-1] == {"word": 9_999}
