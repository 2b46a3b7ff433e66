"""Qwen3-2507's split variants: their chat templates, and how their completions are read."""

from __future__ import annotations

import copy

import pytest
from trl.chat_template_utils import has_generation_markers

from hybridthink.chat_template import HYBRID_TEMPLATE, install_chat_template, render, template_variant, variant_template
from hybridthink.generation import assistant_turn
from hybridthink.modes import turn_mode
from hybridthink.rewards import for_variant, math_accuracy_reward, mode_adherence_reward
from test_chat_template import ANSWER, MULTI_TURN, NO_THINK_FLAG_CHAT, SYS_USER, SYSTEM, TOOL, TOOL_CHAT, USER, masked_spans

CHATS = {"single": ([SYSTEM, USER, ANSWER], None), "multi_turn": (MULTI_TURN, None),
         "no_think_flag": (NO_THINK_FLAG_CHAT, None), "tools": (TOOL_CHAT, [TOOL])}


@pytest.fixture(params=["instruct", "thinking"])
def variant(request, tokenizer):
    tok = install_chat_template(copy.deepcopy(tokenizer), request.param)
    return request.param, tok


def test_each_variant_is_named_by_its_template(variant, tokenizer):
    name, tok = variant
    assert template_variant(tok) == name and template_variant(tokenizer) == "hybrid"
    assert tok.chat_template != HYBRID_TEMPLATE and has_generation_markers(tok.chat_template)
    with pytest.raises(ValueError, match="unknown model variant 'fast'"):
        variant_template("fast")


@pytest.mark.parametrize("chat", CHATS)
@pytest.mark.parametrize("thinking", [True, False])
def test_variants_are_prefix_preserving_and_ignore_the_switches(variant, chat, thinking):
    _, tok = variant
    messages, tools = CHATS[chat]
    prompt = render(tok, messages[:-1], tools=tools, add_generation_prompt=True, enable_thinking=thinking)
    full = render(tok, messages, tools=tools, enable_thinking=thinking)
    assert full.startswith(prompt) and full != prompt
    assert full == render(tok, messages, tools=tools, enable_thinking=not thinking), "enable_thinking is ignored"


def test_instruct_renders_no_think_block_anywhere(tokenizer):
    tok = install_chat_template(copy.deepcopy(tokenizer), "instruct")
    assert render(tok, [SYSTEM, USER], add_generation_prompt=True) == SYS_USER + "<|im_start|>assistant\n"
    assert render(tok, [SYSTEM, USER, ANSWER]) == SYS_USER + "<|im_start|>assistant\n5<|im_end|>\n"
    for messages, tools in CHATS.values():
        assert "<think>" not in render(tok, messages, tools=tools)
    assert masked_spans(tok, [SYSTEM, USER, ANSWER])[0] == ["5<|im_end|>"]


def test_thinking_prompt_opens_the_think_block_and_only_the_rest_is_trained(tokenizer):
    tok = install_chat_template(copy.deepcopy(tokenizer), "thinking")
    for thinking in (True, False):
        assert render(tok, [SYSTEM, USER], add_generation_prompt=True, enable_thinking=thinking) == (
            SYS_USER + "<|im_start|>assistant\n<think>\n")
    assert render(tok, [SYSTEM, USER, ANSWER]) == SYS_USER + "<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n5<|im_end|>\n"
    assert "<|im_start|>assistant\nHello!<|im_end|>" in render(tok, MULTI_TURN), "earlier reasoning is dropped"
    assert masked_spans(tok, [SYSTEM, USER, ANSWER])[0] == ["Add them.\n</think>\n\n5<|im_end|>"]
    assert masked_spans(tok, TOOL_CHAT, tools=[TOOL])[0] == [
        'Need the tool.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
        "Got it.\n</think>\n\nIt is 18C.<|im_end|>"]


def test_a_completion_gets_back_the_think_opening_its_prompt_prefilled():
    assert assistant_turn("<|im_start|>assistant\n<think>\n", "Add.\n</think>\n\n5") == "<think>\nAdd.\n</think>\n\n5"
    assert assistant_turn("<|im_start|>assistant\n<think>\n\n</think>\n\n", "5") == "<think>\n\n</think>\n\n5"
    assert assistant_turn("<|im_start|>assistant\n", "5") == "5"


def test_instruct_turns_have_no_think_block_at_all():
    assert turn_mode("5", "instruct") == "no_think"
    assert turn_mode("<think>\n\n</think>\n\n5", "instruct") is None
    assert turn_mode("<think>\nAdd.\n</think>\n\n5", "instruct") == "think"
    assert turn_mode("5") is None and turn_mode("<think>\n\n</think>\n\n5") == "no_think"


def test_rewards_read_variant_completions_in_their_format():
    instruct = for_variant(mode_adherence_reward, "instruct")
    assert instruct(None, ["5", "<think>\n\n</think>\n\n5", "<think>\nAdd.\n</think>\n\n5"], mode=["no_think"] * 3) == [1.0, 0.0, 0.0]
    thinking = for_variant(mode_adherence_reward, "thinking")
    assert thinking(None, ["Add.\n</think>\n\n5", "\n</think>\n\n5", "5"], mode=["think"] * 3) == [1.0, 0.0, 0.0]
    math = for_variant(math_accuracy_reward, "thinking")
    assert math.__name__ == "math_accuracy_reward"
    assert math(None, ["2 + 3 = 6? No, 5.\n</think>\n\n\\boxed{5}"], answer=["5"]) == [1.0]
    assert for_variant(math_accuracy_reward, "hybrid") is math_accuracy_reward
