"""Shared fixtures. No hub access: tokenizers are built locally."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

from hybridthink.toy.tokenizer import build_tokenizer

_CORPUS = [
    "You are a helpful assistant. What is 2 + 3? The answer is 5.",
    "Let me think step by step about the weather in Paris /think /no_think",
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',
]


@pytest.fixture(scope="session")
def tokenizer() -> PreTrainedTokenizerFast:
    """The toy world's byte-level BPE (Qwen3's special tokens, hybrid template) on a tiny corpus."""
    return build_tokenizer(_CORPUS, vocab_size=400)


@pytest.fixture(scope="session")
def tiny_model(tokenizer) -> Qwen3ForCausalLM:
    """A randomly initialised two-layer Qwen3 over the tokenizer above (seed 0), on the device
    named by ``HYBRIDTHINK_TEST_DEVICE`` (default cpu; ``cuda`` runs the tests using it on a GPU)."""
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    return Qwen3ForCausalLM(config).to(os.environ.get("HYBRIDTHINK_TEST_DEVICE", "cpu")).eval()


@pytest.fixture
def tiny_checkpoint(tmp_path, tokenizer, tiny_model):
    """The tiny model saved as a checkpoint directory, and a JSONL of six arithmetic items:
    (model_dir, items_path, items)."""
    items = [{"id": f"a{i}", "family": "arithmetic", "prompt": f"What is {i} + 3?", "answer": str(i + 3)} for i in range(6)]
    model_dir = tmp_path / "tiny"
    tiny_model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    items_path = tmp_path / "items.jsonl"
    items_path.write_text("".join(json.dumps(it) + "\n" for it in items))
    return model_dir, items_path, items
