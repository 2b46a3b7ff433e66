"""Thinking budgets on a tiny real Qwen3 model (random weights): real HF generate, and a real
vLLM engine (tests marked ``vllm``: `make test-vllm` runs them with vLLM's CPU build in its own
virtualenv; `pytest -m vllm` wherever vLLM is installed, a GPU machine included), whose greedy
completions must equal HF's token for token."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from hybridthink import budget_eval
from hybridthink.budget import generate, generate_with_budget, is_vllm, load_generator, resolve_budget
from hybridthink.generation import chat_prompts
from hybridthink.generation import generate as plain_generate
from hybridthink.modes import EMPTY_THINK, STOP_THINKING_TEXT, split_thinking

BUDGETS = (0, 3, 12, 40)


def conversations(n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"What is {i} + 3?"}] for i in range(n)]


def assert_budgets_kept(out) -> None:
    """240 sampled completions (60 per budget, 8 answer tokens): none thinks past its budget, and
    each is well formed for its kind."""
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


def test_no_thinking_segment_exceeds_its_budget(tiny_model, tokenizer):
    out = []
    for budget in BUDGETS:
        torch.manual_seed(budget)
        out += generate_with_budget(tiny_model, tokenizer, conversations(60), budget, max_answer_tokens=8, do_sample=True, temperature=1.5)
    assert_budgets_kept(out)
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


@pytest.fixture(scope="module")
def vllm_models(tmp_path_factory, tokenizer):
    """(HF model, vLLM engine, checkpoint dir) over the same random weights; head_dim 48, as vLLM's
    CPU attention takes no head_dim below 32."""
    vllm = pytest.importorskip("vllm", reason="vLLM is not installed: make test-vllm")
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=96, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=48, max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    hf = Qwen3ForCausalLM(config).eval()
    path = tmp_path_factory.mktemp("tiny_vllm")
    hf.save_pretrained(path)
    tokenizer.save_pretrained(path)
    device = os.environ.get("HYBRIDTHINK_TEST_DEVICE", "cpu")
    engine = vllm.LLM(model=str(path), dtype="float32", max_model_len=512, enforce_eager=True, seed=0,
                      gpu_memory_utilization=0.1, kv_cache_memory_bytes=256 * 2**20)
    return hf.to(device), engine, path


@pytest.mark.vllm
def test_vllm_engine_is_recognised(vllm_models):
    hf, engine, _ = vllm_models
    assert is_vllm(engine) and not is_vllm(hf)


@pytest.mark.vllm
@pytest.mark.parametrize("budget", [*BUDGETS, None])
def test_vllm_greedy_matches_hf_generate(vllm_models, tokenizer, budget):
    hf, engine, _ = vllm_models
    kwargs = dict(max_answer_tokens=8, max_thinking_tokens=48)
    on_hf = generate_with_budget(hf, tokenizer, conversations(16), budget, **kwargs)
    on_vllm = generate_with_budget(engine, tokenizer, conversations(16), budget, **kwargs)
    assert on_vllm == on_hf
    if budget:  # random weights never close the think block themselves within a few tokens
        assert all(c.forced and c.thinking_tokens == budget for c in on_vllm)


@pytest.mark.vllm
def test_vllm_no_thinking_segment_exceeds_its_budget(vllm_models, tokenizer):
    _, engine, _ = vllm_models
    out = []
    for budget in BUDGETS:
        out += generate_with_budget(engine, tokenizer, conversations(60), budget, max_answer_tokens=8,
                                    do_sample=True, temperature=1.5)
    assert_budgets_kept(out)
    assert len({c.text for c in out if c.budget == 40}) > 30, "sampling gave the same text to most rows"


@pytest.mark.vllm
def test_vllm_effort_from_the_system_prompt(vllm_models, tokenizer):
    _, engine, _ = vllm_models
    conv = [{"role": "system", "content": "Thinking effort: 5"}, {"role": "user", "content": "What is 1 + 3?"}]
    [text] = generate(engine, tokenizer, [conv], max_answer_tokens=4)
    [row] = generate_with_budget(engine, tokenizer, [conv], max_answer_tokens=4)
    assert text == row.text and row.budget == 5 and row.thinking_tokens <= 5


@pytest.mark.vllm
def test_budget_eval_cli_gives_the_same_curve_on_either_backend(vllm_models, tmp_path):
    _, _, path = vllm_models
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"a{i}", "family": "arithmetic", "prompt": f"What is {i} + 3?",
                                         "answer": str(i + 3)}) + "\n" for i in range(6)))
    curves = {}
    for backend in ("hf", "vllm"):
        budget_eval.main(["--model", str(path), "--items", str(items), "--budgets", "0,4,16", "--max-answer-tokens", "6",
                          "--backend", backend, "--out", str(tmp_path / backend)])
        curves[backend] = json.loads((tmp_path / backend / "budget_curve.json").read_text())
        assert curves[backend]["backend"] == backend and (tmp_path / backend / "budget_curve.png").stat().st_size > 0
    assert curves["vllm"]["curves"] == curves["hf"]["curves"]
    assert [p["mean_thinking_tokens"] for p in curves["vllm"]["curves"][path.name]["points"]] == [0, 4, 16]
