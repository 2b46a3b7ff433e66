"""Stage 3 data: thinking samples by rejection sampling from the stage-2 model, non-thinking
samples from the world's direct answers, and Qwen3's flags placed in user or system turns."""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.generation import chat_prompts, generate
from hybridthink.jsonl import DataError
from hybridthink.recipe import RecipeError
from hybridthink.modes import (
    NO_THINK_FLAG,
    STOP_THINKING_TEXT,
    THINK_FLAG,
    THINK_OPEN,
    completion_mode,
    join_thinking,
    set_flag,
    split_thinking,
)
from hybridthink.scoring import score_items
from hybridthink.toy.tool_tasks import sft_rows


def rejection_sample(model, tokenizer, items: list[dict], k: int, max_new_tokens: int, temperature: float,
                     batch_size: int, seed: int, max_line_repeats: int) -> tuple[list[tuple[dict, str]], dict]:
    """For each item keep the first of ``k`` sampled thinking completions that is correct and well formed."""
    prompts = chat_prompts(tokenizer, [[{"role": "user", "content": it["prompt"]}] for it in items])
    groups = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, do_sample=True, temperature=temperature,
                      num_samples=k, batch_size=max(1, batch_size // k), seed=seed, desc="rejection sampling")
    flat_items = [it for it in items for _ in range(k)]
    texts = [c.text for g in groups for c in g]
    scores = score_items(flat_items, texts)
    kept, removed = {}, Counter()
    for item, text, score in zip(flat_items, texts, scores):
        thinking, _ = split_thinking(text)
        if score < 1.0:
            removed["wrong_answer"] += 1
        elif completion_mode(text) != "think":
            removed["malformed_think_block"] += 1
        elif max(Counter(line for line in (thinking or "").split("\n") if line.strip()).values(), default=0) > max_line_repeats:
            removed["repetition"] += 1
        else:
            kept.setdefault(item["id"], (item, text))
    stats = {"queries": len(items), "samples": len(texts), "removed": dict(removed), "queries_kept": len(kept)}
    return list(kept.values()), stats


# Qwen3-2507's split variants train one mode each: the thinking ratio that mode means.
VARIANT_RATIOS = {"instruct": 0.0, "thinking": 1.0}


def check_variant(mix: dict, source: str) -> None:
    """Refuse a ``mix.variant`` that is unknown or whose mix would train the other mode too."""
    variant = mix["variant"]
    if variant == "hybrid":
        return
    if variant not in VARIANT_RATIOS:
        raise RecipeError(f"{source}: mix.variant must be hybrid, {' or '.join(VARIANT_RATIOS)}, got {variant!r}")
    if mix["thinking_ratio"] != VARIANT_RATIOS[variant]:
        raise RecipeError(f"{source}: the {variant} variant trains one mode: mix.thinking_ratio must be "
                          f"{VARIANT_RATIOS[variant]}, got {mix['thinking_ratio']}")
    if mix["tool_rows"]:
        raise RecipeError(f"{source}: mix.tool_rows is not supported for the {variant} variant (its tool rows carry flags)")


def _flagged(content: str, flag: str | None, rng: random.Random, system_share: float) -> list[dict]:
    """A user turn carrying ``flag`` at its end, or (for a share) in a system message instead."""
    if flag is None:
        return [{"role": "user", "content": content}]
    if rng.random() < system_share:
        return [{"role": "system", "content": flag}, {"role": "user", "content": content}]
    return [{"role": "user", "content": f"{content} {flag}"}]


# Ordinary system prompts, none of which asks for a mode: rows of both modes carry them alike.
NEUTRAL_SYSTEM_PROMPTS = ("You are a helpful assistant.", "You are a helpful and harmless assistant.",
                          "You are an assistant that answers questions and writes code.")


def _add_system_prompt(row: dict, rng: random.Random) -> None:
    """Give ``row`` a neutral system prompt (in place), before a flag already in its system message."""
    prompt = rng.choice(NEUTRAL_SYSTEM_PROMPTS)
    msgs = row["messages"]
    if msgs[0]["role"] == "system":
        row["messages"] = [{**msgs[0], "content": f"{prompt} {msgs[0]['content']}"}] + msgs[1:]
    else:
        row["messages"] = [{"role": "system", "content": prompt}] + msgs


def _mode(kind: str) -> str:
    return "think" if kind.startswith("think") else "no_think"


def _set_flag(exchange: list[dict], mode: str | None) -> list[dict]:
    """A (user, assistant) exchange whose user turn ends with the flag of ``mode``, or carries no
    flag when ``mode`` is None."""
    user, assistant = exchange
    return [{**user, "content": set_flag(user["content"], mode)}, assistant]


def _make_dialogue(row: dict, pools: dict[str, list[dict]], mix: dict, rng: random.Random) -> list[dict]:
    """Turn ``row`` (in place) into a dialogue: 1 to ``multi_turn_max_earlier`` earlier exchanges
    whose user turns carry a random flag or none (each answered in the mode in force then), then
    the row's own exchange with its mode's flag, or, for a ``multi_turn_inherit_share`` of the rows
    whose earlier flags already ask for that mode, with none. With ``multi_turn_inherit_balanced``
    a ``multi_turn_inherit_share`` of all dialogues end unflagged, their history drawn again until
    it asks for the row's mode: as many inherit ``/no_think`` as ``/think`` (by chance, histories
    ask for thinking more often, thinking being the default).

    Earlier flags are drawn independently of the row's mode (as in ThinkFollow), so the history
    never tells the mode: only the last flag does. With ``inherit_twins`` an inherited dialogue
    comes with its twin (returned; ``row`` alone otherwise): the same dialogue whose last earlier
    turn asks for the other mode, ending in the same question answered in that mode — a pair that
    differs only in the flag to inherit.
    """
    mode = _mode(row["kind"])
    balanced = mix["multi_turn_inherit_balanced"]
    inherit = balanced and rng.random() < mix["multi_turn_inherit_share"]
    while True:  # balanced: draw histories until one asks for the row's mode
        earlier, in_force = _earlier_exchanges(pools, mix["multi_turn_max_earlier"], rng)
        if not inherit or in_force == mode:
            break
    if not balanced:
        inherit = in_force == mode and rng.random() < mix["multi_turn_inherit_share"]
    own = row["messages"][-2:]
    row["messages"] = earlier + _set_flag(own, None if inherit else mode)
    row["kind"] += "_multi_turn_inherited" if inherit else "_multi_turn"
    if not (inherit and mix["inherit_twins"]):
        return [row]
    other = "no_think" if mode == "think" else "think"
    last_earlier, final = _in_mode(pools[other], earlier[-2], rng), _in_mode(pools[other], own[0], rng)
    if last_earlier is None or final is None:  # the question was not answered in the other mode
        return [row]
    twin = {**row, "messages": earlier[:-2] + _set_flag(last_earlier, other) + _set_flag(final, None),
            "kind": f"{other}_multi_turn_inherited_twin"}
    return [row, twin]


def _earlier_exchanges(pools: dict[str, list[dict]], most: int, rng: random.Random) -> tuple[list[dict], str]:
    """1 to ``most`` exchanges whose user turns carry a random flag or none, each answered in the
    mode in force then; and the mode in force after them."""
    earlier, in_force = [], None
    for _ in range(rng.randint(1, most)):
        flag = rng.choice((None, "think", "no_think"))
        in_force = flag or in_force
        earlier += _set_flag(rng.choice(pools[in_force or "think"])["messages"][-2:], flag)
    return earlier, in_force or "think"


def _in_mode(pool: list[dict], user: dict, rng: random.Random) -> list[dict] | None:
    """An exchange of ``pool`` (rows of one mode) asking the question of ``user``, or None."""
    question = set_flag(user["content"], None)
    same = [r for r in pool if set_flag(r["messages"][-2]["content"], None) == question]
    return rng.choice(same)["messages"][-2:] if same else None


def _group(item: dict, keys: list[str]) -> str:
    return "/".join(str(item[k]) for k in keys)


def fill_empty_groups(thinking: list[tuple[dict, str]], queries: list[dict], keys: list[str]) -> tuple[list[tuple[dict, str]], int]:
    """Add reference thinking samples for the balance groups that rejection sampling left empty.

    Every query of such a group that carries a reference reasoning (its ``thinking`` column) gets
    that reasoning and its ``response`` as a thinking sample. Without it such a group is left out
    of the mix, and the model keeps the habit stages 1-2 gave it there (think), whatever the
    history of a dialogue says. Returns the samples and how many were added.
    """
    served = {_group(item, keys) for item, _ in thinking}
    return _with_references(thinking, [q for q in queries if _group(q, keys) not in served])


def fill_unsolved(thinking: list[tuple[dict, str]], queries: list[dict]) -> tuple[list[tuple[dict, str]], int]:
    """Add a reference thinking sample (the query's ``thinking`` and ``response``) for every query
    that rejection sampling left without a correct one. With a paired mix, the kinds of question the
    model never solves while thinking otherwise leave stage 3 altogether, and at inference the
    model's think block on them stays malformed. Returns the samples and how many were added."""
    solved = {item["id"] for item, _ in thinking}
    return _with_references(thinking, [q for q in queries if q["id"] not in solved])


def _with_references(thinking: list[tuple[dict, str]], queries: list[dict]) -> tuple[list[tuple[dict, str]], int]:
    """``thinking`` plus the reference reasoning and answer of each of ``queries`` that has one."""
    added = [(q, join_thinking(q["thinking"], q["response"])) for q in queries if q.get("thinking")]
    return thinking + added, len(added)


def _group_counts(thinking: list[tuple[dict, str]], direct: list[dict],
                  mix: dict) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """How many thinking and non-thinking rows to draw per balance group (one group when
    ``balance_by`` is empty), and the groups left out.

    A group needs a thinking and a non-thinking source to take part (only one of them at a ratio
    of 1 or 0): a group served in one mode only would teach the model to pick its mode from the
    group instead of the flag.
    """
    ratio, keys = mix["thinking_ratio"], mix["balance_by"]
    by_think = Counter(_group(item, keys) for item, _ in thinking)
    by_direct = Counter(_group(item, keys) for item in direct)
    everything = sorted(set(by_think) | set(by_direct))
    groups = [g for g in everything if (by_think[g] or ratio == 0) and (by_direct[g] or ratio == 1)]
    budgets = _group_budgets(groups, [item for item, _ in thinking] + direct, mix)
    plan = {}
    for g, budget in budgets.items():
        if mix["upsample_scarce"]:  # the full share, repeating samples where there are too few
            plan[g] = round(budget * ratio), round(budget * (1 - ratio))
            continue
        n_think = min(by_think[g], round(budget * ratio))
        # When rejection sampling yields fewer thinking samples than asked, shrink the mix rather
        # than the ratio: the thinking : non-thinking balance is what the recipe is about.
        plan[g] = n_think, min(by_direct[g], round(budget - n_think) if ratio == 0 else round(n_think * (1 - ratio) / ratio))
    return plan, [g for g in everything if g not in plan]


def _group_budgets(groups: list[str], items: list[dict], mix: dict) -> dict[str, float]:
    """Rows per balance group: ``size`` split evenly over the groups, or with ``family_shares``
    ({family: share}) first over the families by share, then evenly over each family's groups.
    A family without a share gets no rows."""
    shares = mix["family_shares"]
    if not shares:
        return {g: mix["size"] / len(groups) for g in groups}
    if "family" not in mix["balance_by"]:
        raise DataError("mix.family_shares needs 'family' in mix.balance_by")
    family_of = {_group(item, mix["balance_by"]): item["family"] for item in items}
    unknown = sorted(set(shares) - set(family_of.values()))
    if unknown:
        raise DataError(f"mix.family_shares: no data of family {', '.join(unknown)} "
                        f"(families here: {', '.join(sorted(set(family_of.values())))})")
    total = sum(shares.values())
    per_family = Counter(family_of[g] for g in groups if shares.get(family_of[g]))
    return {g: mix["size"] * shares[family_of[g]] / total / per_family[family_of[g]]
            for g in groups if shares.get(family_of[g])}


def _draw(pool: list, n: int, rng: random.Random) -> list:
    """``n`` elements of ``pool``: a sample without repeats, or every element before any repeats."""
    whole, rest = divmod(n, len(pool)) if pool else (0, 0)
    return pool * whole + rng.sample(pool, rest)


def fusion_rows(thinking: list[tuple[dict, str]], direct: list[dict], mix: dict, seed: int) -> tuple[list[dict], dict]:
    """Mix thinking and non-thinking conversations at the recipe's ratio; return rows and their counts.

    Each row has ``messages`` and ``chat_template_kwargs``; a share of non-thinking rows uses the
    hard switch (``enable_thinking=False``) instead of the ``/no_think`` flag, and a share of rows
    are dialogues with random earlier flags, where the last flag must win; a
    ``system_prompt_share`` of rows of either mode gets a neutral system prompt. With ``paired`` only
    queries that have a thinking sample get non-thinking rows. The ratio holds within every
    group of items sharing the values of ``balance_by`` (e.g. task family and difficulty), so the
    mode cannot be guessed from the item; a group the model rarely solves gets as few non-thinking
    rows as its thinking rows allow, or with ``upsample_scarce`` its full share, repeating samples.
    A split ``variant`` ('instruct' at ratio 0, 'thinking' at ratio 1) gets rows without flags.
    """
    rng = random.Random(seed)
    keys = mix["balance_by"]
    hybrid = mix["variant"] == "hybrid"  # the split variants have one mode and no switches: no flags
    direct, unpaired = paired_direct(thinking, direct) if mix["paired"] else (direct, 0)
    picked_think, picked_direct = [], []
    plan, left_out = _group_counts(thinking, direct, mix)
    for group, (n_think, n_direct) in plan.items():
        picked_think += _draw([t for t in thinking if _group(t[0], keys) == group], n_think, rng)
        picked_direct += _draw([d for d in direct if _group(d, keys) == group], n_direct, rng)
    think_rows, direct_rows = [], []
    for item, text in picked_think:
        flag = THINK_FLAG if hybrid and rng.random() < mix["think_flag_share"] else None
        msgs = _flagged(item["prompt"], flag, rng, mix["system_flag_share"]) + [{"role": "assistant", "content": text}]
        think_rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": True}, "kind": "think"})
    for item in picked_direct:
        if hybrid and rng.random() < mix["hard_switch_share"]:
            msgs = [{"role": "user", "content": item["prompt"]}, {"role": "assistant", "content": item["response"]}]
            direct_rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": False}, "kind": "no_think_hard"})
        else:
            msgs = _flagged(item["prompt"], NO_THINK_FLAG if hybrid else None, rng, mix["system_flag_share"]) + [
                {"role": "assistant", "content": item["response"]}]
            direct_rows.append({"messages": msgs, "chat_template_kwargs": {"enable_thinking": True}, "kind": "no_think"})
    rows = think_rows + direct_rows
    if think_rows and direct_rows:
        pools = {"think": think_rows, "no_think": direct_rows}
        twins = []
        for row in rng.sample(rows, round(len(rows) * mix["multi_turn_share"])):
            if row["kind"] != "no_think_hard":
                twins += _make_dialogue(row, pools, mix, rng)[1:]
        rows += twins
    # Without this, a system message appears only to carry a flag, mostly /no_think (thinking is
    # the default, so most thinking rows carry no flag): the model then reads any system prompt
    # as /no_think.
    for row in rows:
        if rng.random() < mix["system_prompt_share"]:
            _add_system_prompt(row, rng)
    rng.shuffle(rows)
    by_group = Counter(f"{_group(item, keys) or 'all'}/think" for item, _ in picked_think)
    by_group.update(f"{_group(item, keys) or 'all'}/no_think" for item in picked_direct)
    repeated = sum(len(ids) - len(set(ids)) for ids in ([it["id"] for it, _ in picked_think],
                                                         [it["id"] for it in picked_direct]))
    return rows, {**Counter(r["kind"] for r in rows), "by_group": dict(sorted(by_group.items())), "repeated": repeated,
                  "groups_left_out": left_out, "unpaired_non_thinking_dropped": unpaired}


def inherit_phase_rows(thinking: list[tuple[dict, str]], direct: list[dict], mix: dict, seed: int) -> tuple[list[dict], dict]:
    """The rows of stage 3's first phase: the mix's samples, every one a dialogue whose last turn
    carries no flag and whose history asks for the row's mode (as many inherit ``/no_think`` as
    ``/think``); no budget, length or tool rows.

    With the flag mostly in the last turn, the toy model reads only that one and answers an
    unflagged turn after a history at a coin flip, whatever an earlier turn asked for; a phase
    where only an earlier flag tells the mode teaches it to read one, and the full mix after it
    teaches that the last flag wins (results/thinkfollow_toy/README.md, "Reading an earlier flag")."""
    phase_mix = {**mix, "hard_switch_share": 0.0, "multi_turn_share": 1.0, "multi_turn_inherit_share": 1.0,
                 "multi_turn_inherit_balanced": True, "inherit_twins": False}
    return fusion_rows(thinking, direct, phase_mix, seed)


def paired_direct(thinking: list[tuple[dict, str]], direct: list[dict]) -> tuple[list[dict], int]:
    """The non-thinking rows whose query (``id``) also has a thinking sample, and how many were
    dropped. Without pairing, the queries the model never solves while thinking reach the mix in
    the non-thinking mode only, and the model learns to tell the mode from the question instead
    of the flag (results/thinkfollow_toy/README.md, "Pairing the modes")."""
    answered = {item["id"] for item, _ in thinking}
    kept = [row for row in direct if row["id"] in answered]
    if thinking and direct and not kept:
        raise DataError("mix.paired: no non-thinking row asks a query that has a thinking sample; "
                         "pairing needs data.non_thinking_split to hold the thinking queries (the same split)")
    return kept, len(direct) - len(kept)


def budget_cut(text: str, budget: int, tokenizer) -> str | None:
    """``text`` as budget forcing would have produced it: its thinking cut after ``budget`` tokens,
    then the stop-thinking text, ``</think>`` and the same answer. None when the thinking is not
    longer than the budget (nothing to cut)."""
    thinking, answer = split_thinking(text)
    ids = tokenizer.encode(thinking or "", add_special_tokens=False)
    if len(ids) <= budget:
        return None
    return f"{THINK_OPEN}\n{tokenizer.decode(ids[:budget])}{STOP_THINKING_TEXT}{answer}"


def budget_rows(rows: list[dict], tokenizer, share: float, budget_range: list[int], seed: int) -> dict:
    """Cut the final thinking answer of a ``share`` of thinking rows at a random budget in
    ``budget_range`` (in place), so the model learns to answer from partial reasoning; return
    how many were cut and how many were drawn but already within their budget."""
    rng = random.Random(seed)
    low, high = budget_range
    counts = Counter()
    for row in rows:
        if not row["kind"].startswith("think") or rng.random() >= share:
            continue
        cut = budget_cut(row["messages"][-1]["content"], rng.randint(low, high), tokenizer)
        if cut is None:
            counts["budget_within"] += 1
            continue
        row["messages"][-1] = {**row["messages"][-1], "content": cut}
        row["kind"] += "_budget_cut"
        counts["budget_cut"] += 1
    return dict(counts)


def tool_rows(items: list[dict], n: int, no_think_share: float, seed: int) -> list[dict]:
    """``n`` tool-use rows (items repeated when there are fewer): the question, a calculator call,
    its result and the answer, thinking or (a ``no_think_share``) under ``/no_think``, with the
    tool's schema in the ``tools`` column."""
    rows = sft_rows(_draw(items, n, random.Random(seed)), no_think_share, seed)
    return [{**row, "kind": "tool"} for row in rows]
