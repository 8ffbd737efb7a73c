"""The legacy tool's validators, in the order of openai 0.28.1's ``get_validators()``.

Each looks at the data as the earlier validators' necessary fixes left it and returns a
``Remediation`` (or None). Messages are the legacy tool's, word for word, except where noted.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from training.prepare.inference import common_prefix, common_suffix, infer_task_type, shown
from training.prepare.reading import FIELDS
from training.prepare.remediation import Remediation

Validator = Callable[[pd.DataFrame], Remediation | None]

MIN_EXAMPLES = 100
MAX_EXAMPLE_CHARS = 10_000
MAX_PROMPT_PREFIX = 12
MIN_COMPLETION_PREFIX = 5
MAX_SHOWN_SUFFIX = 10
GUIDE = "https://platform.openai.com/docs/guides/fine-tuning/preparing-your-dataset"
PROMPT_SEPARATORS = (
    " ->",
    "\n\n###\n\n",
    "\n\n===\n\n",
    "\n\n---\n\n",
    "\n\n===>\n\n",
    "\n\n--->\n\n",
)
FALLBACK_PROMPT_SEPARATOR = "\n\n### =>\n\n"
COMPLETION_ENDINGS = ("\n", ".", " END", "***", "+++", "&&&", "$$$", "@@@", "%%%")
FALLBACK_COMPLETION_ENDING = " [END]"


def _positions(mask: pd.Series) -> list[int]:
    """Row positions (0-based, in the current data) where ``mask`` holds."""
    return [position for position, flagged in enumerate(mask.tolist()) if flagged]


def count_examples(frame: pd.DataFrame) -> Remediation:
    advice = (
        ""
        if len(frame) >= MIN_EXAMPLES
        else ". In general, we recommend having at least a few hundred examples. We've found that "
        "performance tends to linearly increase for every doubling of the number of examples"
    )
    return Remediation(
        name="num_examples",
        finding=f"\n- Your file contains {len(frame)} prompt-completion pairs{advice}",
    )


def require_column(column: str) -> Validator:
    """The column must be there; a differently cased one (``Prompt``) is renamed."""

    def validate(frame: pd.DataFrame) -> Remediation:
        if column in frame.columns:
            return Remediation(name="necessary_column")
        matches = [name for name in frame.columns if str(name).lower() == column]
        if not matches:
            return Remediation(
                name="necessary_column",
                error=f"`{column}` column/key is missing. Please make sure you name your "
                "columns/keys appropriately, then retry",
            )

        def rename(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
            return data.rename(columns={matches[0]: column})

        return Remediation(
            name="necessary_column",
            finding=f"\n- The `{column}` column/key should be lowercase",
            necessary=f"Lower case column name to `{column}`",
            necessary_fix=rename,
        )

    return validate


def drop_extra_columns(frame: pd.DataFrame) -> Remediation:
    """Only prompt and completion are kept.

    Unlike the legacy tool, whose test matched every extra column against itself and so warned
    about each one, the warning is given only for extra columns whose name contains ``prompt`` or
    ``completion`` (a duplicated header read as ``prompt.1``, say), which is what it describes.
    """
    if len(frame.columns) <= len(FIELDS):
        return Remediation(name="additional_column")
    extra = [name for name in frame.columns if name not in FIELDS]
    warnings = "".join(
        f"\n  WARNING: Some of the additional columns/keys contain `{field}` in their name. These "
        f"will be ignored, and the column/key `{field}` will be used instead. This could also "
        "result from a duplicate column/key in the provided file."
        for field in FIELDS
        if any(field in str(name) for name in extra)
    )

    def keep_fields(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        return data[FIELDS]

    return Remediation(
        name="additional_column",
        finding="\n- The input file should contain exactly two columns/keys per row. "
        f"Additional columns/keys present are: {extra}{warnings}",
        necessary=f"Remove additional columns/keys: {extra}",
        necessary_fix=keep_fields,
    )


def drop_empty_completions(frame: pd.DataFrame, field: str = "completion") -> Remediation:
    empty = frame[field].isna() | (frame[field] == "")
    rows = _positions(empty)
    if not rows:
        return Remediation(name=f"empty_{field}")

    def drop(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        return data[~(data[field].isna() | (data[field] == ""))]

    return Remediation(
        name=f"empty_{field}",
        finding=f"\n- `{field}` column/key should not contain empty strings. These are rows: {rows}",
        necessary=f"Remove {len(rows)} rows with empty {field}s",
        necessary_fix=drop,
    )


def describe_task(frame: pd.DataFrame) -> Remediation:
    if infer_task_type(frame) != "classification":
        return Remediation(name="format_inferrer")
    return Remediation(
        name="format_inferrer",
        finding="\n- Based on your data it seems like you're trying to fine-tune a model for "
        "classification\n- For classification, we recommend you try one of the faster and cheaper "
        "models, such as `ada`\n- For classification, you can estimate the expected model "
        "performance by keeping a held out dataset, which is not used for training",
    )


def drop_duplicates(frame: pd.DataFrame) -> Remediation:
    rows = _positions(frame.duplicated(subset=FIELDS))
    if not rows:
        return Remediation(name="duplicated_rows")

    def drop(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        return data.drop_duplicates(subset=FIELDS)

    return Remediation(
        name="duplicated_rows",
        finding=f"\n- There are {len(rows)} duplicated {'-'.join(FIELDS)} sets. These are rows: {rows}",
        suggestion=f"Remove {len(rows)} duplicate rows",
        optional_fix=drop,
    )


def _long_rows(frame: pd.DataFrame) -> list[int]:
    lengths = frame["prompt"].str.len() + frame["completion"].str.len()
    return _positions(lengths > MAX_EXAMPLE_CHARS)


def drop_long_examples(frame: pd.DataFrame) -> Remediation:
    """Examples over 10,000 characters (about 2,048 tokens), except for open-ended generation.

    The rows are found again when the fix runs, since an earlier fix may have removed rows. The
    legacy tool then dropped rows by index label using those new positions, which removes the
    wrong rows once any row has gone before; here the rows at those positions are dropped.
    """
    if infer_task_type(frame) == "open-ended generation":
        return Remediation(name="long_examples")
    rows = _long_rows(frame)
    if not rows:
        return Remediation(name="long_examples")

    def drop(data: pd.DataFrame, say: Callable[[str], None]) -> pd.DataFrame:
        now = _long_rows(data)
        if now != rows:
            say(
                "The indices of the long examples has changed as a result of a previously applied "
                f"recommendation.\nThe {len(now)} long examples to be dropped are now at the "
                f"following indices: {now}\n"
            )
        return data.drop(data.index[now])

    return Remediation(
        name="long_examples",
        finding=f"\n- There are {len(rows)} examples that are very long. These are rows: {rows}\n"
        "For conditional generation, and for classification the examples shouldn't be longer "
        "than 2048 tokens.",
        suggestion=f"Remove {len(rows)} long examples",
        optional_fix=drop,
    )


def suggest_lower_case(column: str) -> Validator:
    """Lower-case a column when more than a third of its letters are capitals."""

    def validate(frame: pd.DataFrame) -> Remediation | None:
        text = "".join(frame[column].tolist())
        upper = sum(1 for char in text if char.isalpha() and char.isupper())
        lower = sum(1 for char in text if char.isalpha() and char.islower())
        if upper * 2 <= lower:
            return None

        def lower_case(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
            return data.assign(**{column: data[column].str.lower()})

        return Remediation(
            name="lower_case",
            finding=f"\n- More than a third of your `{column}` column/key is uppercase. Uppercase "
            f"{column}s tends to perform worse than a mixture of case encountered in normal "
            "language. We recommend to lower case the data if that makes sense in your domain. "
            f"See {GUIDE} for more details",
            suggestion=f"Lowercase all your data in column/key `{column}`",
            optional_fix=lower_case,
        )

    return validate


def _repeats(values: pd.Series, suffix: str) -> bool:
    """Whether any value holds ``suffix`` again before its end."""
    return any(suffix in value[: -len(suffix)] for value in values.tolist())


def check_prompt_separator(frame: pd.DataFrame) -> Remediation:
    """Prompts should end with a separator that appears nowhere else; offer one if they don't."""
    prompts = frame["prompt"]
    separator = FALLBACK_PROMPT_SEPARATOR
    for option in PROMPT_SEPARATORS:
        if option == " ->" and prompts.str.contains("\n", regex=False).any():
            continue
        if not prompts.str.contains(option, regex=False).any():
            separator = option
            break
    if infer_task_type(frame) == "open-ended generation":
        return Remediation(name="common_suffix")
    suffix = common_suffix(prompts)
    if (prompts == suffix).all():
        return Remediation(
            name="common_suffix",
            error=f"All prompts are identical: `{suffix}`\nConsider leaving the prompts blank if "
            "you want to do open-ended generation, otherwise ensure prompts are different",
        )
    if suffix:
        finding = f"\n- All prompts end with suffix `{shown(suffix)}`"
        if len(suffix) > MAX_SHOWN_SUFFIX:
            finding += (
                ". This suffix seems very long. Consider replacing with a shorter suffix, such as "
                f"`{shown(separator)}`"
            )
        if _repeats(prompts, suffix):
            finding += (
                f"\n  WARNING: Some of your prompts contain the suffix `{suffix}` more than once. "
                "We strongly suggest that you review your prompts and add a unique suffix"
            )
        return Remediation(name="common_suffix", finding=finding)

    def add_separator(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        return data.assign(prompt=data["prompt"] + separator)

    return Remediation(
        name="common_suffix",
        finding="\n- Your data does not contain a common separator at the end of your prompts. "
        "Having a separator string appended to the end of the prompt makes it clearer to the "
        f"fine-tuned model where the completion should begin. See {GUIDE} for more detail and "
        "examples. If you intend to do open-ended generation, then you should leave the prompts empty",
        suggestion=f"Add a suffix separator `{shown(separator)}` to all prompts",
        optional_fix=add_separator,
    )


def check_prompt_prefix(frame: pd.DataFrame) -> Remediation:
    """Report a prefix shared by all prompts; offer to remove it when it is long (an instruction)."""
    prompts = frame["prompt"]
    prefix = common_prefix(prompts)
    if not prefix or (prompts == prefix).all():
        return Remediation(name="common_prefix")
    finding = f"\n- All prompts start with prefix `{prefix}`"
    if len(prefix) <= MAX_PROMPT_PREFIX:
        return Remediation(name="common_prefix", finding=finding)

    def remove(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        return data.assign(prompt=data["prompt"].str[len(prefix) :])

    return Remediation(
        name="common_prefix",
        finding=finding + ". Fine-tuning doesn't require the instruction specifying the task, or "
        "a few-shot example scenario. Most of the time you should only add the input data into "
        "the prompt, and the desired output into the completion",
        suggestion=f"Remove prefix `{prefix}` from all prompts",
        optional_fix=remove,
    )


def check_completion_prefix(frame: pd.DataFrame) -> Remediation:
    """Offer to remove a prefix of 5+ characters shared by all completions (keeping one space)."""
    completions = frame["completion"]
    prefix = common_prefix(completions)
    if len(prefix) < MIN_COMPLETION_PREFIX or (completions == prefix).all():
        return Remediation(name="common_completion_prefix")
    keep_space = prefix.startswith(" ")

    def remove(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        rest = data["completion"].str[len(prefix) :]
        return data.assign(completion=(" " + rest) if keep_space else rest)

    return Remediation(
        name="common_completion_prefix",
        finding=f"\n- All completions start with prefix `{prefix}`. Most of the time you should "
        "only add the output data into the completion, without any prefix",
        suggestion=f"Remove prefix `{prefix}` from all completions",
        optional_fix=remove,
    )


def check_completion_ending(frame: pd.DataFrame) -> Remediation:
    """Generation completions should share an ending (a stop sequence); offer one if they don't."""
    if infer_task_type(frame) != "conditional generation":
        return Remediation(name="common_completion_suffix")
    completions = frame["completion"]
    suffix = common_suffix(completions)
    if (completions == suffix).all():
        return Remediation(
            name="common_completion_suffix",
            error=f"All completions are identical: `{suffix}`\nEnsure completions are different, "
            f"otherwise the model will just repeat `{suffix}`",
        )
    ending = next(
        (
            option
            for option in COMPLETION_ENDINGS
            if not completions.str.contains(option, regex=False).any()
        ),
        FALLBACK_COMPLETION_ENDING,
    )
    if suffix:
        finding = f"\n- All completions end with suffix `{shown(suffix)}`"
        if len(suffix) > MAX_SHOWN_SUFFIX:
            finding += (
                ". This suffix seems very long. Consider replacing with a shorter suffix, such as "
                f"`{shown(ending)}`"
            )
        if _repeats(completions, suffix):
            finding += (
                f"\n  WARNING: Some of your completions contain the suffix `{suffix}` more than "
                "once. We suggest that you review your completions and add a unique ending"
            )
        return Remediation(name="common_completion_suffix", finding=finding)

    def add_ending(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        return data.assign(completion=data["completion"] + ending)

    return Remediation(
        name="common_completion_suffix",
        finding="\n- Your data does not contain a common ending at the end of your completions. "
        "Having a common ending string appended to the end of the completion makes it clearer to "
        f"the fine-tuned model where the completion should end. See {GUIDE} for more detail and "
        "examples.",
        suggestion=f"Add a suffix ending `{shown(ending)}` to all completions",
        optional_fix=add_ending,
    )


def check_completion_space(frame: pd.DataFrame) -> Remediation:
    """Completions should start with a space (better tokens); offer to add it where missing."""
    firsts = frame["completion"].str[:1]
    if firsts.nunique() == 1 and firsts.iloc[0] == " ":
        return Remediation(name="completion_space_start")

    def add_space(data: pd.DataFrame, _say: Callable[[str], None]) -> pd.DataFrame:
        spaced = [text if text.startswith(" ") else " " + text for text in data["completion"]]
        return data.assign(completion=pd.Series(spaced, index=data.index, dtype=object))

    return Remediation(
        name="completion_space_start",
        finding="\n- The completion should start with a whitespace character (` `). This tends "
        f"to produce better results due to the tokenization we use. See {GUIDE} for more details",
        suggestion="Add a whitespace character to the beginning of the completion",
        optional_fix=add_space,
    )


VALIDATORS: tuple[Validator, ...] = (
    count_examples,
    require_column("prompt"),
    require_column("completion"),
    drop_extra_columns,
    drop_empty_completions,
    describe_task,
    drop_duplicates,
    drop_long_examples,
    suggest_lower_case("prompt"),
    suggest_lower_case("completion"),
    check_prompt_separator,
    check_prompt_prefix,
    check_completion_prefix,
    check_completion_ending,
    check_completion_space,
)
"""In the order of openai 0.28.1's ``get_validators()``."""
