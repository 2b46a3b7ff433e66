"""A model-based preference reward (no reference answer): train a reward model with TRL's
RewardTrainer on preference pairs, then score completions with it as a GRPO reward function.

    python -m hybridthink.reward_model --base runs/toy/stage3_mode_fusion --output runs/toy/reward_model
        [--pairs pairs.jsonl] [--max-steps 100]

Without ``--pairs`` the pairs come from the toy world's rules (``hybridthink.toy.world.
preference_pairs`` on the world of ``--base``'s manifest, stage-4 split): correct and concise over
correct and rambling over wrong. ``--pairs`` takes any JSONL of conversational ``prompt`` /
``chosen`` / ``rejected`` rows. The stage-4 recipe points ``reward_model.path`` at the output (or
at any HF sequence-classification reward model) and lists ``preference`` among a task's rewards.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import RewardConfig, RewardTrainer

from .chat_template import render
from .handoff import read_manifest, resolve_from
from .jsonl import read_jsonl
from .modes import completion_text
from .stage import device_defaults, load_checkpoint
from .toy.world import preference_pairs

PAIR_KEYS = ("prompt", "chosen", "rejected")


def train_reward_model(base: Path, pairs: list[dict], output: Path, **trainer_args) -> dict:
    """Train a one-output sequence-classification head on ``base`` with RewardTrainer; save it
    with its tokenizer to ``output``; return loss and steps."""
    args = RewardConfig(**{**device_defaults(), "output_dir": str(output / "trainer"), "max_steps": 100,
                           "per_device_train_batch_size": 16, "learning_rate": 1e-4, "logging_steps": 10,
                           "save_strategy": "no", **trainer_args})
    tokenizer = AutoTokenizer.from_pretrained(base)
    rows = Dataset.from_list([{k: p[k] for k in PAIR_KEYS} for p in pairs])
    trainer = RewardTrainer(model=str(base), args=args, train_dataset=rows, processing_class=tokenizer)
    result = trainer.train()
    trainer.model.config.pad_token_id = tokenizer.pad_token_id
    trainer.save_model(str(output))
    tokenizer.save_pretrained(output)
    return {"loss": result.training_loss, "steps": result.global_step, "pairs": len(pairs)}


def pair_accuracy(score: Callable, pairs: list[dict]) -> dict:
    """Share of pairs the reward function ranks chosen over rejected, overall and per ``kind``."""
    prompts = [p["prompt"] for p in pairs]
    chosen, rejected = score(prompts, [p["chosen"] for p in pairs]), score(prompts, [p["rejected"] for p in pairs])
    right: dict[str, list[bool]] = {}
    for pair, c, r in zip(pairs, chosen, rejected, strict=True):
        for kind in {"all", pair.get("kind") or "all"}:
            right.setdefault(kind, []).append(c > r)
    return {kind: {"n": len(v), "accuracy": sum(v) / len(v)} for kind, v in right.items()}


def load_preference_reward(model_dir: str | Path, batch_size: int = 32) -> Callable:
    """A GRPO reward function scoring each (prompt, completion) with the reward model in
    ``model_dir`` (its scalar output; higher is better)."""
    model, tokenizer = load_checkpoint(model_dir, AutoModelForSequenceClassification)  # in eval mode
    tokenizer.padding_side = "left"

    @torch.no_grad()
    def preference_reward(prompts, completions, **kwargs) -> list[float]:
        texts = [render(tokenizer, list(p) + [{"role": "assistant", "content": completion_text(c)}], enable_thinking=None)
                 for p, c in zip(prompts, completions, strict=True)]
        scores = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start : start + batch_size], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(model.device)
            scores += model(**enc).logits[:, 0].float().tolist()
        return scores
    return preference_reward


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Train a preference reward model with TRL's RewardTrainer.")
    p.add_argument("--base", required=True, type=Path, help="checkpoint to start from (a stage's output)")
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--pairs", type=Path, help="JSONL of prompt / chosen / rejected; default: the toy world's rules")
    p.add_argument("--split", default="stage4", help="toy-world split for the default pairs")
    p.add_argument("--eval-split", default="eval", help="toy-world split for held-out pairs (none with --pairs)")
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--max-pairs", type=int, help="train (and check) on the first N pairs only")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    held_out = []
    if a.pairs:
        pairs = read_jsonl(a.pairs, PAIR_KEYS)
    else:
        world = resolve_from(a.base, read_manifest(a.base)["world"])
        keys = ("prompt", "family", "thinking", "response")
        pairs = preference_pairs(read_jsonl(world / f"{a.split}.jsonl", keys), a.seed)
        held_out = preference_pairs(read_jsonl(world / f"{a.eval_split}.jsonl", keys), a.seed)
    pairs, held_out = pairs[: a.max_pairs], held_out[: a.max_pairs]
    stats = train_reward_model(a.base, pairs, a.output, max_steps=a.max_steps, seed=a.seed)
    score = load_preference_reward(a.output)
    stats["train_pairs"] = pair_accuracy(score, pairs)
    if held_out:
        stats["held_out_pairs"] = pair_accuracy(score, held_out)
    (a.output / "reward_model.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(f"[reward_model] {json.dumps(stats)} -> {a.output}")


if __name__ == "__main__":
    main()
