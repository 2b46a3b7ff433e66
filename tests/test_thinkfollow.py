"""ThinkFollow on a tiny real model: dialogue plans, the last-flag rule per turn, the CLI output."""

from __future__ import annotations

import json
from collections import Counter

from hybridthink.modes import resolve_mode
from hybridthink.thinkfollow import FLAGS, dialogue_plans, main

ITEMS = [{"id": f"a{i}", "family": "arithmetic", "prompt": f"What is {i} + 3?", "answer": str(i + 3)} for i in range(5)]


def test_plans_draw_every_flag_and_are_seeded():
    plans = dialogue_plans(ITEMS, 200, 3, seed=1)
    assert plans == dialogue_plans(ITEMS, 200, 3, seed=1) and len(plans) == 200 and all(len(p) == 3 for p in plans)
    counts = Counter(flag for plan in plans for _, flag in plan)
    assert set(counts) == set(FLAGS) and min(counts.values()) > 150


def test_cli_scores_every_turn_against_the_last_flag(tiny_checkpoint):
    model_dir, items, _ = tiny_checkpoint
    main(["--model", str(model_dir), "--items", str(items), "--dialogues", "6", "--turns", "3", "--max-new-tokens", "4"])

    result = json.loads((model_dir / "thinkfollow.json").read_text())
    assert result["n_turns"] == 18 and len(result["records"]) == 18
    for d in range(6):
        turns = sorted((r for r in result["records"] if r["dialogue"] == d), key=lambda r: r["turn"])
        users = [{"role": "user", "content": "q " + (r["flag"] or "")} for r in turns]
        for i, r in enumerate(turns):
            assert r["wanted"] == resolve_mode(users[: i + 1])
            assert r["followed"] == (r["got"] == r["wanted"])
            earlier = [t["flag"] for t in turns[:i] if t["flag"]]
            assert r["source"] == ("flagged" if r["flag"] else "inherited" if earlier else "default")
            if r["source"] == "inherited":
                assert r["wanted"] == ("no_think" if earlier[-1] == "/no_think" else "think")
    assert result["think_follow"] == sum(r["followed"] for r in result["records"]) / 18
    think = [r["followed"] for r in result["records"] if r["wanted"] == "think"]
    assert result["by_family_and_wanted"]["arithmetic/think"] == (sum(think) / len(think) if think else None)
    inherited = [r["followed"] for r in result["records"] if r["source"] == "inherited" and r["wanted"] == "no_think"]
    assert result["by_source_and_wanted"]["inherited/no_think"] == (sum(inherited) / len(inherited) if inherited else None)


def test_a_system_prompt_opens_every_dialogue(tiny_checkpoint, tmp_path):
    model_dir, items, _ = tiny_checkpoint
    out = tmp_path / "tf.json"
    main(["--model", str(model_dir), "--items", str(items), "--dialogues", "8", "--turns", "1", "--max-new-tokens", "4",
          "--system", "You are a helpful assistant. /no_think", "--output", str(out)])
    result = json.loads(out.read_text())
    assert result["system"] == "You are a helpful assistant. /no_think"
    unflagged = [r for r in result["records"] if r["flag"] is None]
    assert unflagged and all(r["wanted"] == "no_think" for r in unflagged), "the system flag holds until a user flag"
    assert all(r["source"] == "inherited" for r in unflagged)
