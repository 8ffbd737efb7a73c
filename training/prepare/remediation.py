"""What a validator found and what it proposes: the legacy tool's remediation, one per validator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

Fix = Callable[[pd.DataFrame, Callable[[str], None]], pd.DataFrame]
"""Takes the data and a way to tell the user something; returns the fixed data (a new frame)."""


@dataclass(frozen=True)
class Remediation:
    """One validator's verdict.

    ``finding`` is shown at once; ``necessary`` fixes are applied at once and announced as
    ``[Necessary]``; ``suggestion`` is asked as ``[Recommended] … [Y/n]`` after the analysis and
    ``optional_fix`` applied when accepted; ``error`` stops everything.
    """

    name: str
    finding: str | None = None
    necessary: str | None = None
    necessary_fix: Fix | None = None
    suggestion: str | None = None
    optional_fix: Fix | None = None
    error: str | None = None
