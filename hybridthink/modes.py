"""Thinking-mode vocabulary: special strings, flag resolution and completion parsing.

Qwen3 semantics (Qwen3 Technical Report §4.3): thinking is the default; `/think` and
`/no_think` in a system or user turn switch it, and the last flag seen wins. A non-thinking
answer keeps an empty `<think>\\n\\n</think>\\n\\n` block.
"""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
EMPTY_THINK = "<think>\n\n</think>\n\n"
THINK_FLAG = "/think"
NO_THINK_FLAG = "/no_think"
STOP_THINKING_TEXT = (
    "Considering the limited time by the user, I have to give the solution "
    "based on the thinking directly now.\n</think>\n\n"
)
MODES = ("think", "no_think")

_FLAG_RE = re.compile(r"(?<![\w/])/(no_think|think)\b")


def set_flag(text: str, mode: str | None) -> str:
    """``text`` with its `` /think`` / `` /no_think`` flags removed and, unless ``mode`` is None,
    the flag of ``mode`` appended."""
    text = text.replace(f" {THINK_FLAG}", "").replace(f" {NO_THINK_FLAG}", "")
    return text if mode is None else f"{text} {THINK_FLAG if mode == 'think' else NO_THINK_FLAG}"


def last_flag(text: str) -> str | None:
    """Return 'think' or 'no_think' for the last soft-switch flag in ``text``, else None."""
    found = _FLAG_RE.findall(text or "")
    return found[-1] if found else None


def resolve_mode(messages: list[dict], enable_thinking: bool = True) -> str:
    """Mode the next assistant turn must use: the last flag in system/user turns wins.

    ``enable_thinking=False`` is Qwen3's hard switch and overrides every flag.
    """
    if not enable_thinking:
        return "no_think"
    mode = "think"
    for message in messages:
        if message.get("role") in ("system", "user"):
            flag = last_flag(message.get("content") or "")
            if flag:
                mode = flag
    return mode


def prompt_question(prompt) -> str:
    """The last user turn of a conversational prompt ("" when there is none), or a plain prompt."""
    if isinstance(prompt, str):
        return prompt
    return next((m["content"] for m in reversed(prompt) if m.get("role") == "user"), "")


def completion_text(completion) -> str:
    """Text of a TRL completion: a plain string or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content") or "" for m in completion if m.get("role") == "assistant")
    if isinstance(completion, dict):
        return completion.get("content") or ""
    raise TypeError(f"unsupported completion type {type(completion).__name__}")


def split_thinking(text: str) -> tuple[str | None, str]:
    """Split a completion into (thinking, answer).

    * ``<think>X</think>Y`` at the start -> (X stripped, Y stripped)
    * no think block at all -> (None, whole text stripped)
    * an unclosed ``<think>`` -> (rest, "") : there is no answer part.
    """
    stripped = text.lstrip()
    if not stripped.startswith(THINK_OPEN):
        return None, text.strip()
    body = stripped[len(THINK_OPEN):]
    if THINK_CLOSE not in body:
        return body.strip(), ""
    thinking, answer = body.split(THINK_CLOSE, 1)
    return thinking.strip(), answer.strip()


def join_thinking(thinking: str, answer: str) -> str:
    """A thinking-mode assistant text, as Qwen3 writes it: the inverse of :func:`split_thinking`."""
    return f"{THINK_OPEN}\n{thinking}\n{THINK_CLOSE}\n\n{answer}"


# The one mode of each of Qwen3-2507's split variants.
VARIANT_MODES = {"instruct": "no_think", "thinking": "think"}


def turn_mode(text: str, variant: str = "hybrid") -> str | None:
    """:func:`completion_mode` of a whole assistant turn; for the instruct variant, whose format has
    no think block at all, a turn without one is 'no_think' and one with an empty block malformed."""
    if variant != "instruct":
        return completion_mode(text)
    if THINK_OPEN not in text and THINK_CLOSE not in text:
        return "no_think"
    return "think" if completion_mode(text) == "think" else None


def completion_mode(text: str) -> str | None:
    """'think' for a non-empty think block, 'no_think' for an empty one, None if malformed."""
    stripped = text.lstrip()
    if not stripped.startswith(THINK_OPEN) or THINK_CLOSE not in stripped:
        return None
    thinking, _ = split_thinking(stripped)
    return "think" if thinking else "no_think"
