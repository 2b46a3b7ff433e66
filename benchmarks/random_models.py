"""Models and data the benchmarks build without a checkpoint: a shape with random weights and the
toy world's tokenizer, so that a GPU's figures need nothing from a hub."""

from __future__ import annotations

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from hybridthink.chat_template import install_chat_template
from hybridthink.toy.tokenizer import build_tokenizer
from hybridthink.toy.world import FAMILIES, generate_world, pretraining_corpus

SHAPES = {
    "toy": dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, head_dim=48),
    "qwen3-0.6b": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128),
}


def toy_world(sizes: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """Toy-world splits of these sizes (items per family), difficulties 1 to 3."""
    return generate_world(sizes, list(FAMILIES), [1, 2, 3], seed)


def toy_tokenizer(seed: int):
    """The toy world's tokenizer (about 700 tokens) with the hybrid chat template."""
    corpus = pretraining_corpus(toy_world({"pretrain": 400}, seed)["pretrain"], 0.7, seed)
    return install_chat_template(build_tokenizer(corpus, 700))


def random_model_factory(shape: str, tokenizer, seed: int, max_positions: int = 1024):
    """A function that returns the same randomly initialised model of ``shape`` at each call."""
    config = Qwen3Config(vocab_size=len(tokenizer), bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
                         max_position_embeddings=max(1024, max_positions), **SHAPES[shape])
    torch.manual_seed(seed)
    state = Qwen3ForCausalLM(config).state_dict()

    def make():
        model = Qwen3ForCausalLM(config)
        model.load_state_dict(state)
        return model
    return make
