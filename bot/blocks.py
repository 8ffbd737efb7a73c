"""Block Kit: the answer with its feedback buttons, the usage text, the App Home view."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.emoji import emoji_for
from bot.store import RetrainRecord
from bot.verdict import neither_text, read_verdict
from classifier import OFF_TOPIC_LABEL, Prediction

FEEDBACK_RIGHT = "feedback_right"
FEEDBACK_WRONG = "feedback_wrong"
"""Action ids of the feedback buttons (the wrong one carries the corrected label in its value)."""

QUOTE_CHARS = 300
"""How much of the message the answer quotes back."""

SECTION_TEXT_CHARS = 3000
"""Slack's limit on a section block's text, in characters."""
FIELD_TEXT_CHARS = 2000
"""Slack's limit on a section field's text, in characters."""
RETRAIN_MESSAGE_CHARS = 200
"""How much of a retrain's message the App Home shows, escaped."""

USAGE = (
    "*How to use sportbot*\n"
    "• `/sport &lt;text&gt;` tells whether the text is about baseball or hockey, with the confidence.\n"
    "• *Classify sport* in a message's ⋯ menu does the same for that message.\n"
    "• Mention me (`@sportbot is this hockey?`) and I answer in the thread.\n"
    "• In channels I am in, I react with :baseball: or :ice_hockey_stick_and_puck: to messages "
    "about either sport.\n"
    "• Admins: `/sport autotag on` or `/sport autotag off` switches those reactions in this "
    "channel; `/sport-retrain` retrains the model."
)


@dataclass(frozen=True)
class FeedbackValue:
    """What a feedback button carries: the id of the stored answer (its text, what the model
    said, the model) and the label the button proposes. The text stays in the store: a button's
    value holds at most 2,000 characters, and a message can be longer."""

    answer_id: str
    label: str

    def encode(self) -> str:
        return json.dumps({"a": self.answer_id, "l": self.label}, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> FeedbackValue:
        """Read a button's value back; ValueError when it is not one of ours.

        Buttons made before answers were stored carried the text itself (``{"t": …, "l": …}``):
        they read with no answer id, which no stored answer has, so they are answered as too old
        to give feedback on, like an answer whose record has expired.
        """
        try:
            data = json.loads(value)
            return cls(answer_id=str(data.get("a") or ""), label=str(data["l"]))
        except (TypeError, AttributeError, KeyError, json.JSONDecodeError) as error:
            raise ValueError("not a feedback button value") from error


def escape(text: str) -> str:
    """Escape text for mrkdwn, as Slack asks: &, < and >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_cut(text: str, limit: int) -> str:
    """``text`` escaped, then cut to at most ``limit`` characters (ending in "…" when cut)
    without splitting an entity. Escaping first: it can make a text five times longer (``&``
    becomes ``&amp;``), so a text cut first may still not fit."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(limit - 1, 0)]
    entity = cut.rfind("&")
    if entity != -1 and ";" not in cut[entity:]:
        cut = cut[:entity]
    return cut + "…"


def label_title(label: str) -> str:
    emoji = emoji_for(label)
    return f":{emoji}: {label.capitalize()}" if emoji else label.capitalize()


def answer_text(prediction: Prediction, labels: Sequence[str]) -> str:
    """The notification text of an answer (and what screen readers read)."""
    verdict = read_verdict(prediction)
    if verdict.off_topic:
        return (
            f"{neither_text(labels)} ({verdict.probability:.0%} sure); "
            f"if anything it leans {verdict.label}."
        )
    return f"{prediction.label} ({prediction.confidence:.0%} confident)"


WHY_WORDS = 5
"""How many of the words that pushed the decision the answer names."""


def answer_blocks(
    text: str,
    prediction: Prediction,
    labels: Sequence[str],
    reasons: Sequence[tuple[str, float]] | None = None,
    *,
    answer_id: str,
) -> list[dict[str, Any]]:
    """The answer: the text quoted back, the sport and the confidence (or that the text is about
    neither sport, and which it leans to), why (the words that pushed the decision, when the model
    can say), the model, and feedback buttons that carry ``answer_id`` (the answer as stored).

    The quote and the words are the user's: their text objects are ``verbatim``, so that an
    ``@channel``, a ``#channel`` or a link written in them is shown as written, not acted on."""
    quoted = text.strip()
    if len(quoted) > QUOTE_CHARS:
        quoted = quoted[:QUOTE_CHARS].rstrip() + "…"
    quoted = "\n".join(f"&gt; {escape(line)}" for line in quoted.splitlines() or [""])
    verdict = read_verdict(prediction)
    sports = [label for label in labels if label != OFF_TOPIC_LABEL]
    buttons: list[dict[str, Any]] = []
    if verdict.off_topic:
        # Someone may say it IS about a sport: offer each one.
        wrong = sports
        line = (
            f"*{neither_text(labels)}* — {verdict.probability:.0%} sure; "
            f"if anything it leans {escape(verdict.label)}."
        )
    else:
        wrong = [label for label in sports if label != prediction.label]
        buttons.append(
            _button(
                "Right",
                FEEDBACK_RIGHT,
                FeedbackValue(answer_id, prediction.label),
                style="primary",
            )
        )
        line = f"*{label_title(prediction.label)}* — {prediction.confidence:.0%} confident"
        if prediction.tag is None:
            line += "\n_Not sure enough to tag a message with this._"
    for index, other in enumerate(wrong):
        buttons.append(
            _button(
                f"Wrong — it's {other}",
                FEEDBACK_WRONG if index == 0 else f"{FEEDBACK_WRONG}_{index}",
                FeedbackValue(answer_id, other),
            )
        )
    context: list[dict[str, Any]] = [
        {"type": "mrkdwn", "text": f"Model `{escape(prediction.model)}`"}
    ]
    why = why_text(prediction.label, reasons or ())
    if why:
        context.append({"type": "mrkdwn", "text": why, "verbatim": True})
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{quoted}\n{line}", "verbatim": True},
        },
        {"type": "context", "elements": context},
        {"type": "actions", "block_id": "sport_feedback", "elements": buttons},
    ]


def why_text(label: str, reasons: Sequence[tuple[str, float]]) -> str:
    """``Why? rays, twins, slugger → baseball; against: espn`` from signed word weights."""
    toward = [word for word, weight in reasons if weight > 0][:WHY_WORDS]
    against = [word for word, weight in reasons if weight < 0][:2]
    if not toward:
        return ""
    line = "Why? " + ", ".join(f"*{escape(w)}*" for w in toward) + f" → {escape(label)}"
    if against:
        line += "; against: " + ", ".join(escape(w) for w in against)
    return line


def feedback_thanks_blocks(label: str, predicted: str, model: str) -> list[dict[str, Any]]:
    """What replaces the answer once someone has pressed a feedback button."""
    if label == predicted:
        line = f"Thanks! Noted that this is about *{label}*, as the model said."
    elif predicted == OFF_TOPIC_LABEL:
        line = (
            f"Thanks! Noted that this is about *{label}*, though the model said neither sport; "
            "the next retrain learns from it."
        )
    else:
        line = (
            f"Thanks! Noted that this is about *{label}*, not {predicted}; "
            "the next retrain learns from it."
        )
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": line}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Model `{escape(model)}`"}],
        },
    ]


def usage_blocks(note: str | None = None) -> list[dict[str, Any]]:
    text = f"{note}\n\n{USAGE}" if note else USAGE
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def notice_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def home_view(
    card: dict[str, Any] | None,
    retrains: Sequence[RetrainRecord],
    feedback_count: int,
    model_id: str | None = None,
) -> dict[str, Any]:
    """The App Home: the current model's card, recent retrains, and the feedback count."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "sportbot"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": USAGE}},
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Model in use"}},
    ]
    blocks.extend(_model_blocks(card, model_id))
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Recent retrains"}})
    if retrains:
        lines = _lines_within([_retrain_line(record) for record in retrains], SECTION_TEXT_CHARS)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines}})
    else:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "_No retrains yet._"}})
    blocks.append({"type": "divider"})
    examples = "example" if feedback_count == 1 else "examples"
    blocks.append(
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Feedback:* {feedback_count} {examples} stored for the next retrain.",
            },
        }
    )
    return {"type": "home", "blocks": blocks}


def _button(
    label: str, action_id: str, value: FeedbackValue, style: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:75]},
        "action_id": action_id,
        "value": value.encode(),
    }
    if style:
        button["style"] = style
    return button


def _model_blocks(card: dict[str, Any] | None, model_id: str | None) -> list[dict[str, Any]]:
    if not card:
        text = f"`{escape(model_id)}`" if model_id else "_No model yet._"
        return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    labels = ", ".join(str(x) for x in card.get("labels", [])) or "?"
    fields = [
        f"*Id*\n`{escape_cut(str(card.get('id', model_id or '?')), 200)}`",
        f"*Created*\n{escape_cut(_when(card.get('created')), 200)}",
        f"*Labels*\n{escape_cut(labels, FIELD_TEXT_CHARS // 2)}",
        f"*Provider*\n{escape_cut(str(card.get('provider', '?')), 200)}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}
    ]
    metrics = _metric_lines(card.get("metrics"))
    if metrics:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": metrics}})
    return blocks


def _metric_lines(metrics: Any) -> str:
    if not isinstance(metrics, dict) or not metrics:
        return ""
    lines = []
    for name, value in metrics.items():
        if isinstance(value, dict):
            inner = ", ".join(
                f"{escape_cut(str(key), 40)} {_number(v)}"
                for key, v in list(value.items())[:12]
                if isinstance(v, int | float)
            )
            if inner:
                lines.append(f"*{escape_cut(str(name), 40)}:* {inner}")
        elif isinstance(value, int | float):
            lines.append(f"*{escape_cut(str(name), 40)}:* {_number(value)}")
    return _lines_within(lines[:12], SECTION_TEXT_CHARS)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def _when(value: Any) -> str:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return str(value) if value else "?"


def _retrain_line(record: RetrainRecord) -> str:
    when = record.created_at.strftime("%Y-%m-%d %H:%M UTC")
    line = (
        f"• {when} — <@{escape_cut(record.user_id, 64)}> — {escape_cut(record.source, 32)} — "
        f"*{escape_cut(record.status, 32)}*"
    )
    if record.model_id:
        line += f" — `{escape_cut(record.model_id, 200)}`"
    if record.message:
        line += f"\n    {escape_cut(record.message, RETRAIN_MESSAGE_CHARS)}"
    return line


def _lines_within(lines: Sequence[str], limit: int) -> str:
    """The lines joined, as many of the first ones as fit in ``limit`` characters."""
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + (1 if kept else 0)
        if size > limit:
            break
        kept.append(line)
    return "\n".join(kept)
