"""ThinkFollow (Qwen3 technical report §4.5): multi-turn dialogues whose turns carry random
``/think`` / ``/no_think`` flags (or none); the score is the share of assistant turns whose mode
is the one the last flag asks for (thinking when no flag was given yet).

    python -m hybridthink.thinkfollow --model runs/toy/stage4_general_rl --items runs/toy/base/world/eval.jsonl

The model answers every turn itself (greedy) and its answers stay in the conversation, with
earlier reasoning dropped by the chat template, as in serving. Writes ``thinkfollow.json``
beside the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from .evaluation import ITEM_KEYS, ci95
from .generation import chat_prompts, generate
from .handoff import world_file
from .jsonl import read_jsonl
from .modes import NO_THINK_FLAG, THINK_FLAG, completion_mode, last_flag, resolve_mode
from .stage import load_checkpoint, run_main

FLAGS = (None, THINK_FLAG, NO_THINK_FLAG)


def dialogue_plans(items: list[dict], n_dialogues: int, turns: int, seed: int) -> list[list[tuple[dict, str | None]]]:
    """``n_dialogues`` lists of (item, flag) turns: items drawn from ``items``, flags uniform
    over none, /think and /no_think."""
    rng = random.Random(seed)
    return [[(rng.choice(items), rng.choice(FLAGS)) for _ in range(turns)] for _ in range(n_dialogues)]


def think_follow(model, tokenizer, items: list[dict], *, n_dialogues: int = 100, turns: int = 3, seed: int = 0,
                 max_new_tokens: int = 200, batch_size: int = 64, system: str | None = None) -> tuple[dict, list[dict]]:
    """The ThinkFollow score with its 95% CI, per turn, per wanted mode, per (flag source, wanted mode)
    with counts and per (item family, wanted mode); and per-turn records. ``system``: a system prompt
    opening every dialogue."""
    plans = dialogue_plans(items, n_dialogues, turns, seed)
    conversations: list[list[dict]] = [[{"role": "system", "content": system}] if system else [] for _ in plans]
    records = []
    for turn in range(turns):
        for conv, plan in zip(conversations, plans):
            item, flag = plan[turn]
            conv.append({"role": "user", "content": f"{item['prompt']} {flag}" if flag else item["prompt"]})
        outs = generate(model, tokenizer, chat_prompts(tokenizer, conversations), max_new_tokens=max_new_tokens,
                        batch_size=batch_size, desc=f"thinkfollow turn {turn + 1}")
        for d, (conv, group) in enumerate(zip(conversations, outs)):
            text = group[0].text
            wanted, got = resolve_mode(conv), completion_mode(text)
            item, flag = plans[d][turn]
            earlier = any(last_flag(m["content"]) for m in conv[:-1] if m["role"] in ("system", "user"))
            source = "flagged" if flag else "inherited" if earlier else "default"
            records.append({"dialogue": d, "turn": turn + 1, "family": item.get("family"), "flag": flag,
                            "source": source, "wanted": wanted, "got": got, "followed": got == wanted, "text": text})
            conv.append({"role": "assistant", "content": text})
    followed = [float(r["followed"]) for r in records]

    def share(rows):
        return statistics.fmean(float(r["followed"]) for r in rows) if rows else None

    # flagged: the turn carries a flag; inherited: an earlier message's flag holds; default: no flag yet
    by_source = {f"{src}/{m}": [r for r in records if r["source"] == src and r["wanted"] == m]
                 for src in ("flagged", "inherited", "default") for m in ("think", "no_think")}
    summary = {
        "n_turns": len(records),
        "n_dialogues": n_dialogues,
        "turns": turns,
        "seed": seed,
        "system": system,
        "think_follow": statistics.fmean(followed),
        "think_follow_ci95": ci95(followed),
        "by_turn": {t: share([r for r in records if r["turn"] == t]) for t in range(1, turns + 1)},
        "by_wanted": {m: share([r for r in records if r["wanted"] == m]) for m in ("think", "no_think")},
        "by_source_and_wanted": {key: share(rows) for key, rows in by_source.items()},
        "n_by_source_and_wanted": {key: len(rows) for key, rows in by_source.items()},
        "by_family_and_wanted": {f"{f}/{m}": share([r for r in records if r["family"] == f and r["wanted"] == m])
                                 for f in sorted({r["family"] for r in records}, key=str) for m in ("think", "no_think")},
        "malformed": sum(r["got"] is None for r in records),
    }
    return summary, records


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="ThinkFollow: does the mode follow the last flag over a multi-turn dialogue?")
    p.add_argument("--model", required=True)
    p.add_argument("--items", help="JSONL of toy items whose prompts start the turns; "
                                   "default: the held-out items of the world the checkpoint's handoff names")
    p.add_argument("--dialogues", type=int, default=100)
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--system", help="a system prompt opening every dialogue (e.g. 'You are a helpful assistant.')")
    p.add_argument("--output", help="default: thinkfollow.json inside the model directory")
    a = p.parse_args(argv)
    model, tokenizer = load_checkpoint(a.model)
    items = a.items or str(world_file(a.model))
    summary, records = think_follow(model, tokenizer, read_jsonl(items, ITEM_KEYS), n_dialogues=a.dialogues,
                                    turns=a.turns, seed=a.seed, max_new_tokens=a.max_new_tokens,
                                    system=a.system)
    output = Path(a.output) if a.output else Path(a.model) / "thinkfollow.json"
    output.write_text(json.dumps({"model": a.model, "items": items, "decoding": "greedy", **summary,
                                  "records": records}, indent=1) + "\n")
    print(f"[thinkfollow] {Path(a.model).name}: {summary['think_follow']:.3f} ±{summary['think_follow_ci95']:.3f} "
          f"(n={summary['n_turns']} turns, {a.dialogues} dialogues, seed {a.seed}); by turn {summary['by_turn']}; "
          f"by wanted mode {summary['by_wanted']}; by flag source {summary['by_source_and_wanted']}")


if __name__ == "__main__":
    run_main(main)
