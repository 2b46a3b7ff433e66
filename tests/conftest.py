"""Shared fixtures. No hub access: tokenizers are built locally."""

from __future__ import annotations

import pytest
from transformers import PreTrainedTokenizerFast

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
