"""Where does the model read its mode from? The probability of the empty think block (the
non-thinking answer) right after the generation prompt, for the same questions with the flag in
the last user turn, in a system message, in an earlier turn, or nowhere.

    python -m hybridthink.flag_probe --model runs/toy/stage3_mode_fusion --items runs/toy/base/world/eval.jsonl

ThinkFollow says how often the mode is right; this says which flags the model reads at all. A model
that reads only the flag of the last turn gives the same probability whatever an earlier turn
asked for. Writes ``flag_probe.json`` beside the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

import torch
from tqdm import tqdm

from .evaluation import ci95
from .handoff import world_file
from .jsonl import read_jsonl
from .modes import EMPTY_THINK, NO_THINK_FLAG, THINK_FLAG, resolve_mode
from .stage import load_checkpoint, run_main


def _user(item: dict, flag: str | None = None) -> dict:
    return {"role": "user", "content": f"{item['prompt']} {flag}" if flag else item["prompt"]}


def _system(flag: str) -> dict:
    return {"role": "system", "content": flag}


def _answer(item: dict) -> dict:
    return {"role": "assistant", "content": item["response"]}


# name -> conversation from an earlier item ``a`` and the asked item ``c``; the wanted mode is the last flag's.
CASES = {
    "last turn /no_think": lambda a, c: [_user(c, NO_THINK_FLAG)],
    "last turn /think": lambda a, c: [_user(c, THINK_FLAG)],
    "no flag": lambda a, c: [_user(c)],
    "system /no_think": lambda a, c: [_system(NO_THINK_FLAG), _user(c)],
    "system /think": lambda a, c: [_system(THINK_FLAG), _user(c)],
    "earlier turn /no_think": lambda a, c: [_user(a, NO_THINK_FLAG), _answer(a), _user(c)],
    "earlier turn /think": lambda a, c: [_user(a, THINK_FLAG), _answer(a), _user(c)],
    "earlier turn, no flag": lambda a, c: [_user(a), _answer(a), _user(c)],
    "earlier /no_think, last /think": lambda a, c: [_user(a, NO_THINK_FLAG), _answer(a), _user(c, THINK_FLAG)],
    "earlier /think, last /no_think": lambda a, c: [_user(a, THINK_FLAG), _answer(a), _user(c, NO_THINK_FLAG)],
}


@torch.no_grad()
def empty_block_probability(model, tokenizer, messages: list[dict]) -> float:
    """P(the assistant turn opens with the empty think block) after ``messages``, teacher-forced
    over the block's tokens (any tokenizer)."""
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt + EMPTY_THINK, add_special_tokens=False)["input_ids"]
    if full[: len(prompt_ids)] != prompt_ids:
        raise ValueError("the tokenizer merges the generation prompt with the think block; cannot score the block alone")
    block_ids = full[len(prompt_ids):]
    ids = torch.tensor([prompt_ids + block_ids], device=model.device)
    logprobs = torch.log_softmax(model(ids).logits[0, len(prompt_ids) - 1:-1].float(), dim=-1)
    return logprobs.gather(1, ids[0, len(prompt_ids):, None]).sum().exp().item()


def flag_probe(model, tokenizer, items: list[dict], n: int = 60, seed: int = 0) -> dict:
    """Per case: the mode it asks for, the mean P(empty block) with its 95% CI, and the share of the
    ``n`` item pairs whose more likely mode is the one asked for."""
    rng = random.Random(seed)
    answered = [it for it in items if it.get("response")]
    if len(answered) < 2:
        raise ValueError("flag_probe needs at least two items with a response")
    pairs = [rng.sample(answered, 2) for _ in range(n)]
    out = {}
    for name, build in tqdm(CASES.items(), desc="flag probe"):
        wanted = resolve_mode(build(*pairs[0]))
        probs = [empty_block_probability(model, tokenizer, build(a, c)) for a, c in pairs]
        right = [float((p > 0.5) == (wanted == "no_think")) for p in probs]
        out[name] = {"wanted": wanted, "p_empty": statistics.fmean(probs), "p_empty_ci95": ci95(probs),
                     "followed": statistics.fmean(right), "n": n}
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Which flags does the model read? P(empty think block) per flag placement.")
    p.add_argument("--model", required=True)
    p.add_argument("--items", help="JSONL of toy items (prompt and response); default: the held-out items of "
                                   "the world the checkpoint's handoff names")
    p.add_argument("--n", type=int, default=60, help="item pairs per case")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", help="default: flag_probe.json inside the model directory")
    a = p.parse_args(argv)
    model, tokenizer = load_checkpoint(a.model)
    items = a.items or str(world_file(a.model))
    cases = flag_probe(model.eval(), tokenizer, read_jsonl(items, ("id", "prompt", "response")), a.n, a.seed)
    output = Path(a.output) if a.output else Path(a.model) / "flag_probe.json"
    output.write_text(json.dumps({"model": a.model, "items": items, "n": a.n, "seed": a.seed, "cases": cases}, indent=1) + "\n")
    print(f"[flag_probe] {Path(a.model).name} (n={a.n} item pairs per case, seed {a.seed})")
    for name, c in cases.items():
        print(f"  {name:32s} wants {c['wanted']:8s} P(empty) {c['p_empty']:.3f} ±{c['p_empty_ci95']:.3f}  "
              f"followed {c['followed']:.2f}")


if __name__ == "__main__":
    run_main(main)
