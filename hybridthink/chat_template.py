"""The hybrid-thinking chat template: Qwen3's template plus `{% generation %}` markers.

See ``templates/hybrid.jinja`` for the exact semantics, including its two extensions over Qwen3
(``enable_thinking=False`` on a conversation that ends with an assistant turn; the empty think
block of a tool-calling step kept).
"""

from __future__ import annotations

from importlib.resources import files

from trl.chat_template_utils import qwen3_template

HYBRID_TEMPLATE: str = files("hybridthink").joinpath("templates/hybrid.jinja").read_text(encoding="utf-8")
VARIANTS = ("hybrid", "instruct", "thinking")
# The tokens the template writes, as Qwen3's tokenizer has them: turn markers (special tokens) and
# tags (added tokens that are not special: decoding keeps them).
TURN_TOKENS = ("<|im_start|>", "<|im_end|>")
TAG_TOKENS = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")
_VARIANT_LINE = "{%- set variant = 'hybrid' %}"


def variant_template(variant: str) -> str:
    """The chat template of a model variant: 'hybrid' (both modes, soft switches), or Qwen3-2507's
    split into 'instruct' (no think block at all) and 'thinking' (the prompt opens the think block)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant {variant!r}; known: {', '.join(VARIANTS)}")
    return HYBRID_TEMPLATE.replace(_VARIANT_LINE, f"{{%- set variant = '{variant}' %}}")


def template_variant(tokenizer) -> str:
    """Which variant's template ``tokenizer`` carries ('hybrid' for any other template, e.g. Qwen3's)."""
    return next((v for v in VARIANTS[1:] if tokenizer.chat_template == variant_template(v)), "hybrid")


def install_chat_template(tokenizer, variant: str = "hybrid"):
    """Set ``tokenizer.chat_template`` to the template of ``variant`` and return the tokenizer."""
    tokenizer.chat_template = variant_template(variant)
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
