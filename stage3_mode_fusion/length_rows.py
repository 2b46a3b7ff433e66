"""Stage 3 rows that ask for a length (Qwen3's LengthCtrl): "Answer in at most 2 sentences."

Without them stage 4's length prompts are new to the model: the toy model answers them without
its think block, in either mode, so the mode reward is 0 for every completion and gives GRPO
nothing to learn from (README, "Length rows in stage 3").
"""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.jsonl import DataError
from hybridthink.length_control import length_instruction, length_text, obeys_length
from hybridthink.modes import NO_THINK_FLAG, THINK_FLAG, join_thinking, split_thinking
from hybridthink.rewards import boxed_answers

from .fusion_data import _draw, _flagged


def fitted_answer(answer: str, thinking: str, length: dict) -> tuple[str, str] | None:
    """An answer that keeps ``length``, and how it was made: ``answer`` itself when it fits; else
    its boxed answer alone ("at most"), or the reasoning written out before it ("at least").
    None when nothing fits."""
    candidates = [("own", answer)]
    boxes = boxed_answers(answer)
    if boxes:
        candidates.append(("boxed_only", f"\\boxed{{{boxes[-1]}}}."))
    steps = " ".join(line.strip() for line in thinking.splitlines() if line.strip())
    candidates.append(("reasoning_written_out", f"{steps} {answer}"))
    return next(((how, text) for how, text in candidates if obeys_length(text, length)), None)


def length_rows(thinking: list[tuple[dict, str]], n: int, families: list[str], mix: dict, seed: int) -> tuple[list[dict], dict]:
    """``n`` rows (samples repeated when there are fewer) whose query, from one of ``families``,
    ends with a length instruction drawn as stage 4 draws it, answered within the limit
    (:func:`fitted_answer`): thinking, or (``1 - mix.thinking_ratio`` of them) not, with the
    flags placed as in the rest of the mix. Returns the rows and counts of how their answers were
    made and of the drawn instructions no answer could keep (their rows are left out). A thinking
    row's reasoning opens and ends with the limit ("The rules: answer in at most 2 words.")."""
    rng, length_rng = random.Random(f"length-rows-{seed}"), random.Random(f"length-{seed}")
    hybrid = mix["variant"] == "hybrid"
    pool = [(item, text) for item, text in thinking if item["family"] in families]
    if n and not pool:
        raise DataError(f"mix.length_rows: no thinking sample of the families in mix.length_families {families}")
    rows, counts = [], Counter()
    for item, text in _draw(pool, n, rng):
        thought, answer = split_thinking(text)
        length = length_instruction(item["response"] or answer, length_rng)
        fitted = fitted_answer(answer, thought or "", length)
        if fitted is None:
            counts["length_no_fit"] += 1
            continue
        how, reply = fitted
        think = rng.random() < mix["thinking_ratio"]
        if not hybrid:
            flag = None
        elif think:
            flag = THINK_FLAG if rng.random() < mix["think_flag_share"] else None
        else:
            flag = NO_THINK_FLAG
        asked = length_text(length)
        msgs = _flagged(f"{item['prompt']} {asked}", flag, rng, mix["system_flag_share"])
        # The thinking ends with the limit, as the toy's instruction reasoning ends with its rules: the
        # answer is then written right after the limit, not a whole reasoning away from it. It opens
        # with it too, where the limit is a few tokens back: with the closing line alone the toy model
        # also restated made-up limits in plain arithmetic, and stage 4 then unlearnt the line
        # (results/stage4_toy/README.md, runs AJ-7 … AJ-10).
        rules = f"The rules: {asked[0].lower()}{asked[1:]}"
        planned = f"{rules}\n{thought}\n{rules}"
        msgs.append({"role": "assistant", "content": join_thinking(planned, reply) if think else reply})
        rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": True},
                     "kind": "think_length" if think else "no_think_length"})
        counts[f"length_answer_{how}"] += 1
    return rows, {"length": len(rows), **counts}
