"""The hybrid-thinking chat template: Qwen3's template plus `{% generation %}` markers.

See ``templates/hybrid.jinja`` for the exact semantics, including its two extensions over Qwen3
(``enable_thinking=False`` on a conversation that ends with an assistant turn; the empty think
block of a tool-calling step kept).
"""

from __future__ import annotations

from importlib.resources import files

from trl.chat_template_utils import qwen3_template

HYBRID_TEMPLATE: str = files("hybridthink").joinpath("templates/hybrid.jinja").read_text(encoding="utf-8")


def install_chat_template(tokenizer):
    """Set ``tokenizer.chat_template`` to :data:`HYBRID_TEMPLATE` and return the tokenizer."""
    tokenizer.chat_template = HYBRID_TEMPLATE
    return tokenizer


def render(
    tokenizer,
    messages: list[dict],
    *,
    add_generation_prompt: bool = False,
    enable_thinking: bool | None = True,
    tools: list[dict] | None = None,
) -> str:
    """Render ``messages`` to text with the tokenizer's chat template (no tokenisation)."""
    return tokenizer.apply_chat_template(
        messages,
        tools=tools,
        add_generation_prompt=add_generation_prompt,
        enable_thinking=enable_thinking,
        tokenize=False,
    )


def with_response_parser(tokenizer):
    """``tokenizer`` with Qwen3's response template set, which TRL's ``parse_response`` reads to
    split a reply into reasoning, content and tool calls (the hybrid template writes Qwen3's format)."""
    if getattr(tokenizer, "response_template", None) is None:
        tokenizer.response_template = qwen3_template
    return tokenizer
