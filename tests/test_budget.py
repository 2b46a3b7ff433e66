"""Thinking budgets on a tiny real Qwen3 model (random weights, real HF generate)."""

from __future__ import annotations

import pytest
import torch

from hybridthink.budget import generate, generate_with_budget, is_vllm, load_generator, resolve_budget
from hybridthink.generation import chat_prompts
from hybridthink.generation import generate as plain_generate
from hybridthink.modes import EMPTY_THINK, STOP_THINKING_TEXT, split_thinking

BUDGETS = (0, 3, 12, 40)


def conversations(n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"What is {i} + 3?"}] for i in range(n)]


def test_no_thinking_segment_exceeds_its_budget(tiny_model, tokenizer):
    out = []
    for budget in BUDGETS:
        torch.manual_seed(budget)
        out += generate_with_budget(tiny_model, tokenizer, conversations(60), budget, max_answer_tokens=8, do_sample=True, temperature=1.5)
    assert len(out) == 240
    for c in out:
        assert c.thinking_tokens <= c.budget, c
        thinking, _ = split_thinking(c.text)
        if c.budget == 0:
            assert c.text.startswith(EMPTY_THINK) and c.thinking_tokens == 0 and not c.forced
        else:
            assert c.text.startswith("<think>\n")
        if c.answer_complete:  # ended within the 8 answer tokens, after a closed think block
            assert "</think>" in c.text and split_thinking(c.text)[1] and c.answer_tokens < 8
        if c.forced:  # ran to the budget exactly, then the stop-thinking text closed the block
            assert c.thinking_tokens == c.budget and STOP_THINKING_TEXT.split("\n")[0] in thinking
    assert sum(c.forced for c in out) > 100
    assert 0 < sum(c.answer_complete for c in out) < len(out)
    assert any(c.budget and not c.forced and "</think>" in c.text for c in out), "no row closed its thinking itself"


def test_budget_zero_is_the_non_thinking_mode(tiny_model, tokenizer):
    convs = conversations(4)
    budgeted = generate(tiny_model, tokenizer, convs, thinking_budget=0, max_answer_tokens=6)
    plain = plain_generate(tiny_model, tokenizer, chat_prompts(tokenizer, convs, enable_thinking=False), max_new_tokens=6)
    assert budgeted == [EMPTY_THINK + group[0].text for group in plain]


def test_effort_levels_resolve_by_argument_system_prompt_or_number():
    user = [{"role": "user", "content": "hi"}]
    system = [{"role": "system", "content": "Be brief.\nThinking effort: low"}, *user]
    assert resolve_budget(user) is None
    assert resolve_budget(user, effort="high") == 1024
    assert resolve_budget(system) == 64
    assert resolve_budget(system, effort="medium", efforts={"medium": 100}) == 100
    assert resolve_budget(system, thinking_budget=7) == 7
    assert resolve_budget(user, effort="32") == 32
    assert resolve_budget([{"role": "system", "content": "thinking effort: 0"}, *user]) == 0
    with pytest.raises(ValueError, match="unknown effort 'extreme'"):
        resolve_budget(user, effort="extreme")
    with pytest.raises(ValueError, match=">= 0"):
        resolve_budget(user, thinking_budget=-1)


def test_load_generator_names_an_unknown_backend(tiny_checkpoint):
    model_dir, _, _ = tiny_checkpoint
    model, tokenizer = load_generator(model_dir)
    assert not is_vllm(model) and tokenizer.eos_token_id is not None
    with pytest.raises(ValueError, match="unknown backend 'sglang'; known: hf, vllm"):
        load_generator(model_dir, "sglang")
