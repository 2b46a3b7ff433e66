"""Build the toy world and its base model: world JSONL, tokenizer, and a tiny pretrained Qwen3.

    python -m hybridthink.toy.base --config recipes/toy/base.yaml --output runs/toy/base

The pretrained model is cached under ``$HYBRIDTHINK_CACHE`` (default ``~/.cache/hybridthink``)
by a hash of its recipe and of the toy-world code, so a second run reuses it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config, Qwen3ForCausalLM, set_seed
from trl import SFTConfig, SFTTrainer, pack_dataset
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from ..cache import cache_root
from ..jsonl import file_sha256, write_jsonl
from ..recipe import OPEN, trainer_config
from ..stage import (StageContext, device_defaults, finish_stage, last_complete_checkpoint, open_stage, parse_args,
                     run_main)
from .tokenizer import FLAG_TOKENS, build_tokenizer
from .tool_tasks import make_items
from .world import FAMILIES, SPLITS, generate_world, pretraining_corpus

DEFAULTS = {
    "world": {
        "seed": 0,
        "families": list(FAMILIES),
        "difficulties": [1, 2, 3],
        "sizes": {"pretrain": 4000, "stage1": 300, "stage2": 200, "stage3": 200, "stage4": 200, "eval": 80},
        "worked_share": 0.7,
        "tool_sizes": {},  # tool-task items per split, e.g. {pretrain: 400, stage3: 200, eval: 40}: world/tool_<split>.jsonl
        "tool_difficulties": None,  # difficulties of the tool items (default: world.difficulties)
    },
    "tokenizer": {"vocab_size": 700, "flag_tokens": True},
    "model": {
        "hidden_size": 192,
        "intermediate_size": 512,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 48,
        "max_position_embeddings": 1024,
    },
    "trainer": OPEN,
}
TRAINER_DEFAULTS = {
    "max_steps": 800,
    "per_device_train_batch_size": 16,
    "learning_rate": 3e-3,
    "lr_scheduler_type": "cosine_with_min_lr",
    "lr_scheduler_kwargs": {"min_lr_rate": 0.1},
    "warmup_steps": 30,
    "weight_decay": 0.01,
    "max_length": 192,
    "logging_steps": 50,
    "save_steps": 200,
}


class DocumentPackingCollator(DataCollatorForLanguageModeling):
    """Batches of packed rows in which every document attends only to itself.

    Position ids restart at each document and no attention mask is passed, so transformers builds a
    block-diagonal causal mask per row. TRL's own isolation (padding-free) flattens the whole batch
    into one sequence, which without varlen attention kernels (CPU) costs attention over the batch.
    """

    def __init__(self, pad_token_id: int):
        super().__init__(pad_token_id=pad_token_id, return_position_ids=True)

    def torch_call(self, examples: list[dict]) -> dict:
        batch = super().torch_call(examples)
        del batch["attention_mask"]
        batch["labels"][batch["position_ids"] == 0] = -100  # no document is predicted from the one before it
        return batch


def packed_documents(texts: list[str], tokenizer, max_length: int) -> Dataset:
    """Tokenize documents (each ending in EOS) and pack them best-fit into rows of ``max_length``."""
    ids = tokenizer([t + tokenizer.eos_token for t in texts], add_special_tokens=False)["input_ids"]
    return pack_dataset(Dataset.from_dict({"input_ids": ids}), max_length, strategy="bfd")


def fingerprint(recipe: dict) -> str:
    """Hash of the recipe, the toy-world source and the chat template (saved with the base's
    tokenizer, which every later stage inherits): what decides the base model."""
    h = hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode())
    here = Path(__file__).parent
    for source in sorted(here.glob("*.py")) + sorted((here.parent / "templates").glob("*.jinja")):
        h.update(source.read_bytes())
    return h.hexdigest()[:16]


def write_world(recipe: dict, world_dir: Path) -> dict:
    """Generate every split and write it as JSONL; return the manifest's data entries."""
    w = recipe["world"]
    splits = generate_world(w["sizes"], w["families"], w["difficulties"], w["seed"])
    for i, (split, n) in enumerate(sorted(w["tool_sizes"].items())):
        if split not in (*SPLITS, "pretrain"):
            raise ValueError(f"unknown split {split!r} in world.tool_sizes; known: {['pretrain', *SPLITS]}")
        taken = {it["prompt"] for rows in splits.values() for it in rows} | {
            it["expression"] for rows in splits.values() for it in rows if it.get("expression")}
        splits[f"tool_{split}"] = make_items(n, w["seed"] * 100 + i, w["tool_difficulties"] or w["difficulties"], exclude=taken)
    data = {}
    for split in ("pretrain", *SPLITS, *(s for s in splits if s.startswith("tool_"))):
        path = world_dir / f"{split}.jsonl"
        rows = write_jsonl(path, splits[split])
        data[split] = {"path": path, "rows": rows, "sha256": file_sha256(path)}
    return data


def redraw_unseen_embeddings(model, tokenizer, tokens: list[str], texts: list[str], seed: int) -> dict[str, float]:
    """Give each of ``tokens`` that no text of ``texts`` holds a fresh random embedding of the mean
    embedding norm; returns the cosine similarity of the first two tokens' embeddings before and after.

    A token pretraining never reads only ever gets the tied output gradient that pushes every
    unseen token's logit down, so the toy flags ``/think`` and ``/no_think`` leave pretraining with
    nearly the same embedding (cosine 0.84-0.90 on four bases). On one base stage 3 never told them apart
    (results/stage4_toy/README.md, run AL)."""
    embeddings = model.get_input_embeddings().weight
    ids = [tokenizer.convert_tokens_to_ids(t) for t in tokens]
    def cosine() -> float:
        return torch.nn.functional.cosine_similarity(embeddings[ids[0]], embeddings[ids[1]], dim=0).item()

    before = cosine()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        norm = embeddings.norm(dim=1).mean()
        for token, i in zip(tokens, ids):
            if not any(token in text for text in texts):
                fresh = torch.randn(embeddings.shape[1], generator=generator)
                embeddings[i] = (fresh / fresh.norm()).to(embeddings) * norm  # drawn on the CPU: the same on any device
    return {"before": round(before, 4), "after": round(cosine(), 4)}


def pretrain(recipe: dict, world_rows: list[dict], out: Path, resume_dir: Path) -> dict:
    """Train the tokenizer and pretrain a tiny Qwen3 on raw toy text with TRL's SFTTrainer."""
    texts = list(pretraining_corpus(world_rows, recipe["world"]["worked_share"], recipe["world"]["seed"]))
    tokenizer = build_tokenizer(texts, recipe["tokenizer"]["vocab_size"], recipe["tokenizer"]["flag_tokens"])
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        **recipe["model"],
    )
    args = trainer_config(SFTConfig, recipe["trainer"], {**device_defaults(), **TRAINER_DEFAULTS, "output_dir": str(resume_dir)})
    set_seed(args.seed)  # the Trainer seeds only after the model exists: without this its init is drawn anew each run
    model = Qwen3ForCausalLM(config)
    model.config.use_cache = False  # with a KV cache transformers would not mask packed documents apart
    trainer = SFTTrainer(model=model, args=args, train_dataset=packed_documents(texts, tokenizer, args.max_length),
                         processing_class=tokenizer, data_collator=DocumentPackingCollator(tokenizer.pad_token_id))
    start = time.time()
    result = trainer.train(resume_from_checkpoint=last_complete_checkpoint(resume_dir))
    model.config.use_cache = True
    flags = (redraw_unseen_embeddings(model, tokenizer, FLAG_TOKENS, texts, recipe["world"]["seed"])
             if recipe["tokenizer"]["flag_tokens"] else None)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    shutil.rmtree(resume_dir, ignore_errors=True)
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "train_loss": result.training_loss,
        "final_logged_loss": losses[-1] if losses else None,
        "steps": result.global_step,
        "seconds": round(time.time() - start, 1),
        "documents": len(texts),
        "flag_embedding_cosine": flags,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args("Build the toy world and its pretrained base model.", argv, needs_parent=False)
    ctx: StageContext | None = open_stage("base", args, DEFAULTS, None)
    if ctx is None:
        return
    world_dir = ctx.output / "world"
    data = write_world(ctx.recipe, world_dir)
    key = fingerprint(ctx.recipe)
    cached = cache_root() / f"toy-base-{key}"
    if (cached / "pretrain.json").is_file():
        print(f"[base] reusing cached base model {cached}")
    else:
        rows = [json.loads(line) for name in ("pretrain", "tool_pretrain") if (world_dir / f"{name}.jsonl").is_file()
                for line in (world_dir / f"{name}.jsonl").open()]
        tmp = cached.with_name(cached.name + ".partial")
        stats = pretrain(ctx.recipe, rows, tmp, cache_root() / f"toy-base-{key}.trainer")
        (tmp / "pretrain.json").write_text(json.dumps(stats, indent=2))
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)
    model = AutoModelForCausalLM.from_pretrained(cached)
    tokenizer = AutoTokenizer.from_pretrained(cached)
    stats = json.loads((cached / "pretrain.json").read_text())
    finish_stage(ctx, model, tokenizer, data=data, metrics={"pretrain": stats}, base_model=f"toy-base-{key}", world=world_dir)


if __name__ == "__main__":
    run_main(main)
