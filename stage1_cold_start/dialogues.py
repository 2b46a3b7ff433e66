"""Stage-1 dialogues: thinking rows preceded by earlier exchanges, so the thinking habit the cold
start builds holds after a conversation history too, not only in a first turn."""

from __future__ import annotations

import random

from hybridthink.modes import split_thinking


def with_earlier_exchanges(rows: list[dict], share: float, max_earlier: int, seed: int) -> int:
    """Prepend 1 to ``max_earlier`` earlier (user, answer) exchanges, taken from other rows, to a
    ``share`` of ``rows`` (in place); return how many rows became dialogues.

    Earlier answers keep only the part after ``</think>``, as Qwen3's template renders earlier
    turns; no flags are involved, since stage 1 knows one mode.
    """
    if not share or len(rows) < 2:
        return 0
    rng = random.Random(seed)
    singles = [r["messages"][-2:] for r in rows]
    changed = 0
    for i, row in enumerate(rows):
        if rng.random() >= share:
            continue
        history = []
        for _ in range(rng.randint(1, max_earlier)):
            j = rng.randrange(len(rows) - 1)
            user, answer = singles[j + (j >= i)]
            history += [user, {"role": "assistant", "content": split_thinking(answer["content"])[1]}]
        row["messages"] = history + row["messages"]
        changed += 1
    return changed
