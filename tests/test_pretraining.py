"""Pretraining packs documents into rows without letting them attend to each other, and a recipe
pretrains the same base on every run."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import Qwen3Config, Qwen3ForCausalLM

from hybridthink.recipe import load_recipe
from hybridthink.toy.base import (DEFAULTS, DocumentPackingCollator, packed_documents, pretrain,
                                  redraw_unseen_embeddings, write_world)
from hybridthink.toy.tokenizer import FLAG_TOKENS, build_tokenizer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["Question: What is 1 + 2?\nAnswer: 3", "Question: Write the word cat 2 times.\nAnswer: cat cat", "You are"]


def test_packed_documents_see_only_themselves(tokenizer):
    rows = packed_documents(DOCS, tokenizer, max_length=256)
    assert len(rows) == 1 and len(rows[0]["seq_lengths"]) == 3
    batch = DocumentPackingCollator(tokenizer.pad_token_id)([rows[0]])
    assert "attention_mask" not in batch
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                                         head_dim=16, use_cache=False))
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        start = 0
        for length in rows[0]["seq_lengths"]:
            alone = model(input_ids=batch["input_ids"][:, start:start + length]).logits[0]
            torch.testing.assert_close(packed[start:start + length], alone, atol=1e-5, rtol=1e-4)
            # the first token of each document is not predicted from the document before it
            assert batch["labels"][0, start] == -100
            start += length


def test_flags_pretraining_never_reads_get_distinct_embeddings():
    tokenizer = build_tokenizer(DOCS * 20, vocab_size=300, flag_tokens=True)
    flags = FLAG_TOKENS
    ids = [tokenizer.convert_tokens_to_ids(f) for f in flags]
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                         head_dim=16, tie_word_embeddings=True))
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():  # as pretraining leaves them: nearly one vector
        embeddings[ids[1]] = embeddings[ids[0]]
    before = embeddings.detach().clone()
    cosine = redraw_unseen_embeddings(model, tokenizer, flags, DOCS, seed=0)
    assert cosine["before"] == 1.0 and abs(cosine["after"]) < 0.5
    for i in ids:
        torch.testing.assert_close(embeddings[i].norm(), before.norm(dim=1).mean())
    rest = [i for i in range(len(embeddings)) if i not in ids]
    torch.testing.assert_close(embeddings[rest], before[rest])
    torch.testing.assert_close(model.get_output_embeddings().weight[ids], embeddings[ids])  # tied
    # a flag the texts do use keeps its embedding
    drawn = embeddings.detach().clone()
    redraw_unseen_embeddings(model, tokenizer, flags, DOCS + ["Add 1 and 2. /think"], seed=1)
    assert torch.equal(embeddings[ids[1]], drawn[ids[1]]) and not torch.equal(embeddings[ids[0]], drawn[ids[0]])


def test_a_recipe_pretrains_the_same_base_on_every_run(tmp_path):
    """The base's random init follows the recipe's seed, not whatever state torch's generator is in."""
    recipe = load_recipe(ROOT / "recipes/smoke/base.yaml", DEFAULTS, ["trainer.max_steps=1"])
    write_world(recipe, tmp_path / "world")
    rows = [json.loads(line) for line in (tmp_path / "world/pretrain.jsonl").open()]
    weights = []
    for run in range(2):
        torch.manual_seed(run)  # as two fresh processes would leave it
        pretrain(recipe, rows, tmp_path / f"base{run}", tmp_path / f"trainer{run}")
        weights.append(load_file(tmp_path / f"base{run}/model.safetensors"))
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), name
