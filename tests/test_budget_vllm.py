"""Budget forcing on a real vLLM engine (`make test-vllm`: vLLM's CPU build in its own virtualenv;
`pytest -m vllm` wherever vLLM is installed, a GPU machine included).

The engine serves a tiny random Qwen3 from a checkpoint directory; the same weights in HF are
the reference, so greedy decoding must agree token for token."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from hybridthink import budget_eval
from hybridthink.budget import generate, generate_with_budget, is_vllm
from hybridthink.modes import EMPTY_THINK, STOP_THINKING_TEXT, split_thinking

pytestmark = pytest.mark.vllm

BUDGETS = (0, 3, 12, 40)


def conversations(n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"What is {i} + 3?"}] for i in range(n)]


@pytest.fixture(scope="module")
def models(tmp_path_factory, tokenizer):
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


def test_engine_is_recognised(models):
    hf, engine, _ = models
    assert is_vllm(engine) and not is_vllm(hf)


@pytest.mark.parametrize("budget", [*BUDGETS, None])
def test_greedy_matches_hf_generate(models, tokenizer, budget):
    hf, engine, _ = models
    kwargs = dict(max_answer_tokens=8, max_thinking_tokens=48)
    on_hf = generate_with_budget(hf, tokenizer, conversations(16), budget, **kwargs)
    on_vllm = generate_with_budget(engine, tokenizer, conversations(16), budget, **kwargs)
    assert on_vllm == on_hf
    if budget:  # random weights never close the think block themselves within a few tokens
        assert all(c.forced and c.thinking_tokens == budget for c in on_vllm)


def test_no_thinking_segment_exceeds_its_budget(models, tokenizer):
    _, engine, _ = models
    out = []
    for budget in BUDGETS:
        out += generate_with_budget(engine, tokenizer, conversations(60), budget, max_answer_tokens=8,
                                    do_sample=True, temperature=1.5)
    assert len(out) == 240
    for c in out:
        assert c.thinking_tokens <= c.budget, c
        thinking, _ = split_thinking(c.text)
        if c.budget == 0:
            assert c.text.startswith(EMPTY_THINK) and c.thinking_tokens == 0 and not c.forced
        else:
            assert c.text.startswith("<think>\n")
        if c.forced:
            assert c.thinking_tokens == c.budget and STOP_THINKING_TEXT.split("\n")[0] in thinking
    assert sum(c.forced for c in out) > 100
    assert len({c.text for c in out if c.budget == 40}) > 30, "sampling gave the same text to most rows"


def test_effort_from_the_system_prompt(models, tokenizer):
    _, engine, _ = models
    conv = [{"role": "system", "content": "Thinking effort: 5"}, {"role": "user", "content": "What is 1 + 3?"}]
    [text] = generate(engine, tokenizer, [conv], max_answer_tokens=4)
    [row] = generate_with_budget(engine, tokenizer, [conv], max_answer_tokens=4)
    assert text == row.text and row.budget == 5 and row.thinking_tokens <= 5


def test_budget_eval_cli_gives_the_same_curve_on_either_backend(models, tmp_path):
    _, _, path = models
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
