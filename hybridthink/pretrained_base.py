"""The base stage of a real recipe: a pretrained model (hub name or local folder) with the hybrid
chat template, and the world splits its recipe maps from datasets (hybridthink.dataset_items).

    python -m hybridthink.pretrained_base --config recipes/qwen3-0.6b-base/base.yaml --output runs/qwen3-0.6b-base/base
    (scripts/base.sh picks this module for a base.yaml with a 'pretrained' section)
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from .chat_template import TAG_TOKENS, TURN_TOKENS, install_chat_template
from .dataset_items import build_splits
from .jsonl import file_sha256, write_jsonl
from .recipe import OPEN, RecipeError
from .stage import StageContext, finish_stage, open_stage, parse_args, run_main

DEFAULTS = {
    "pretrained": {"model": None, "revision": None, "dtype": "bfloat16"},
    "splits": OPEN,  # split name -> list of dataset sources (hybridthink.dataset_items)
}
END_OF_TURN = TURN_TOKENS[-1]


def load_pretrained(spec: dict, where: str):
    """The model and tokenizer of ``spec`` (hub name or folder), the tokenizer carrying the hybrid
    template and ending turns at ``<|im_end|>`` (Qwen3-Base ends text at ``<|endoftext|>``)."""
    if not spec["model"]:
        raise RecipeError(f"{where}: pretrained.model is required (a hub name such as Qwen/Qwen3-0.6B-Base, or a folder)")
    tokenizer = AutoTokenizer.from_pretrained(spec["model"], revision=spec["revision"])
    vocab = tokenizer.get_vocab()
    missing = [t for t in TURN_TOKENS + TAG_TOKENS if t not in vocab]  # a Qwen3 tokenizer has them all
    if missing:
        raise RecipeError(f"{where}: the tokenizer of {spec['model']} lacks {', '.join(missing)}, which the hybrid "
                          "chat template writes (use a Qwen3-family model)")
    pad = tokenizer.pad_token or tokenizer.eos_token
    tokenizer.eos_token = END_OF_TURN
    tokenizer.pad_token = pad if pad != END_OF_TURN else "<|endoftext|>"
    install_chat_template(tokenizer)
    dtype = getattr(torch, spec["dtype"]) if spec["dtype"] != "auto" else "auto"
    model = AutoModelForCausalLM.from_pretrained(spec["model"], revision=spec["revision"], dtype=dtype)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    args = parse_args("A pretrained model with the hybrid chat template, and world splits from datasets.", argv,
                      needs_parent=False)
    ctx: StageContext | None = open_stage("base", args, DEFAULTS, None)
    if ctx is None:
        return
    where = ctx.recipe_path or "recipe"
    if "eval" not in ctx.recipe["splits"]:
        raise RecipeError(f"{where}: splits.eval is required (held-out items: every stage is evaluated on them)")
    model, tokenizer = load_pretrained(ctx.recipe["pretrained"], where)
    world, counts = build_splits(ctx.recipe["splits"], where)
    data = {}
    for split, items in world.items():
        path = ctx.output / "world" / f"{split}.jsonl"
        data[split] = {"path": path, "rows": write_jsonl(path, items), "sha256": file_sha256(path)}
    spec = ctx.recipe["pretrained"]
    name = spec["model"] + (f"@{spec['revision']}" if spec["revision"] else "")
    finish_stage(ctx, model, tokenizer, data=data, metrics={"splits": counts}, base_model=name,
                 world=ctx.output / "world")


if __name__ == "__main__":
    run_main(main)
