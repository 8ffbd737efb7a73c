"""Chat-format rows (``{"messages": [...]}``) read as a classifier's text and label.

The text is the content of the system (or developer) and user messages, in order, one per line;
the label is the content of the last assistant message, as OpenAI's chat fine-tunes learn it.
A message's content is a string, or a list of parts of which the ``text`` ones count.
"""

from __future__ import annotations

TEXT_ROLES = frozenset({"system", "developer", "user"})
"""Roles whose content is the text to classify."""
ROLES = TEXT_ROLES | {"assistant", "tool", "function"}


class ChatFormatError(ValueError):
    """Messages that are not OpenAI's chat format; the message says what is wrong."""


def chat_text_and_label(messages: object) -> tuple[str, str | None]:
    """The text (system/user content up to the last assistant message) and the label (that
    message's content, stripped; None when no assistant message has any)."""
    if not isinstance(messages, list) or not messages:
        raise ChatFormatError("'messages' must be a non-empty list of messages.")
    roles: list[str] = []
    contents: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ChatFormatError(f"message {index} is not an object.")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise ChatFormatError(
                f"message {index} has role {role!r}; roles are {', '.join(sorted(ROLES))}."
            )
        roles.append(role)
        contents.append(_content(message.get("content"), index))
    answered = [i for i, role in enumerate(roles) if role == "assistant" and contents[i].strip()]
    end = answered[-1] if answered else len(messages)
    text = "\n".join(
        content
        for role, content in zip(roles[:end], contents[:end], strict=True)
        if role in TEXT_ROLES and content.strip()
    )
    return text.strip(), contents[end].strip() if answered else None


def _content(content: object, index: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "\n".join(_part_text(part, index) for part in content if _is_text_part(part))
    raise ChatFormatError(f"message {index}'s content must be a string or a list of parts.")


def _is_text_part(part: object) -> bool:
    return isinstance(part, dict) and part.get("type") == "text"


def _part_text(part: dict[str, object], index: int) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        raise ChatFormatError(f"a text part of message {index} has no 'text' string.")
    return text
