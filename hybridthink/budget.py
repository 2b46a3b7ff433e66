"""Thinking budgets at inference: budget forcing and effort levels.

Qwen3's mechanism (technical report §4.3): let the model think; when its thinking reaches the
budget, end it with the stop-thinking text and ``</think>\\n\\n`` and let it answer from what it
has. It runs in two batched phases, on token ids so that the count is exact: phase 1 generates
at most ``budget`` thinking tokens after a prefilled ``<think>\\n`` and stops early at
``</think>``; phase 2 continues every row (with the stop-thinking text appended where the budget
ran out) to the answer, bounded by ``max_answer_tokens``. Budget 0 is the non-thinking mode (the
empty think block prefilled). The model is an HF causal LM (batched ``generate``) or a
``vllm.LLM`` (one ``LLM.generate`` call per phase, the two-phase recipe of Qwen's documentation);
both stop on the same token ids, so greedy decoding gives the same text on either. Hand-written:
TRL, transformers and vLLM offer no thinking-budget generation.

Effort levels name budgets (``efforts``: the checkpoint's own, from its recipe, through
:func:`hybridthink.efforts.checkpoint_efforts`); a request picks one by argument or by a line
``Thinking effort: <level or number>`` in a system turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from transformers import AutoTokenizer

from hybridthink.chat_template import render
from hybridthink.efforts import DEFAULT_EFFORTS
from hybridthink.modes import EMPTY_THINK, STOP_THINKING_TEXT, THINK_CLOSE, THINK_OPEN, split_thinking
from hybridthink.stage import load_checkpoint

_EFFORT_RE = re.compile(r"^[ \t]*thinking effort:[ \t]*(\w+)[ \t]*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class BudgetedCompletion:
    """One completion: ``thinking_tokens`` counts the model's own thinking tokens (the
    stop-thinking text is not the model's and is not counted); ``forced`` says it was inserted;
    ``answer_complete`` says an answer followed and ended within its token bound."""

    text: str
    budget: int | None
    thinking_tokens: int
    answer_tokens: int
    forced: bool
    answer_complete: bool  # a non-empty answer that ended (end of turn) within max_answer_tokens


def resolve_budget(
    conversation: list[dict], thinking_budget: int | None = None, effort: str | int | None = None, efforts: dict | None = None
) -> int | None:
    """The budget for one request: ``thinking_budget``, else ``effort``, else the last
    ``Thinking effort:`` line of a system turn, else None (unlimited)."""
    if thinking_budget is not None:
        return _check_budget(thinking_budget)
    if effort is None:
        found = [m for msg in conversation if msg.get("role") == "system" for m in _EFFORT_RE.findall(msg.get("content") or "")]
        effort = found[-1] if found else None
    if effort is None:
        return None
    if isinstance(effort, int) or str(effort).isdigit():
        return _check_budget(int(effort))
    levels = efforts or DEFAULT_EFFORTS
    if effort not in levels:
        raise ValueError(f"unknown effort {effort!r}; known: {sorted(levels)} or a number of tokens")
    return _check_budget(levels[effort])


def _check_budget(budget: int) -> int:
    if not isinstance(budget, int) or budget < 0:
        raise ValueError(f"a thinking budget is a number of tokens >= 0, got {budget!r}")
    return budget


def _token_id(tokenizer, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(f"{text!r} must be a single token of the tokenizer, got {ids}")
    return ids[0]


def is_vllm(model) -> bool:
    """Whether ``model`` is a ``vllm.LLM`` (checked without importing vLLM)."""
    return any(c.__module__.startswith("vllm.") and c.__name__ == "LLM" for c in type(model).__mro__)


def _continue(model, tokenizer, rows: list[list[int]], max_new_tokens: int, stop_ids: set, sampling: dict,
              batch_size: int) -> list[list[int]]:
    """New token ids for each row, cut after the first stop id: left-padded HF batches, or one
    vLLM call over all rows."""
    if max_new_tokens <= 0 or not rows:
        return [[] for _ in rows]
    if is_vllm(model):
        return _continue_vllm(model, rows, max_new_tokens, stop_ids, sampling)
    return [ids for start in range(0, len(rows), batch_size)
            for ids in _continue_batch(model, tokenizer, rows[start : start + batch_size], max_new_tokens, stop_ids, sampling)]


@torch.no_grad()
def _continue_batch(model, tokenizer, rows, max_new_tokens, stop_ids, sampling) -> list[list[int]]:
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=model.device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=model.device)
    out = model.generate(
        input_ids=input_ids, attention_mask=mask, max_new_tokens=max_new_tokens, eos_token_id=sorted(stop_ids),
        pad_token_id=pad, **sampling,
    )
    new = []
    for ids in out[:, width:].tolist():
        cut = next((i + 1 for i, t in enumerate(ids) if t in stop_ids), None)
        new.append(ids[:cut] if cut is not None else [t for t in ids if t != pad])
    return new


def _continue_vllm(llm, rows, max_new_tokens, stop_ids, sampling) -> list[list[int]]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    # The model's own end-of-text ids are ignored, as HF's generate does with an explicit
    # eos_token_id: only ``stop_ids`` end a row, and a stop id is kept in the output. Sampled rows
    # draw from the engine's generator (``LLM(seed=...)``): per-request seeds fail on vLLM's CPU build.
    knobs = {k: sampling[k] for k in ("temperature", "top_p", "top_k")} if sampling["do_sample"] else {"temperature": 0.0}
    params = SamplingParams(max_tokens=max_new_tokens, stop_token_ids=sorted(stop_ids), ignore_eos=True,
                            skip_special_tokens=False, **knobs)
    outs = llm.generate([TokensPrompt(prompt_token_ids=r) for r in rows], params, use_tqdm=False)
    return [list(o.outputs[0].token_ids) for o in outs]


def generate_with_budget(
    model,
    tokenizer,
    conversations: list[list[dict]],
    thinking_budget: int | None = None,
    effort: str | int | None = None,
    *,
    efforts: dict | None = None,
    max_answer_tokens: int = 256,
    max_thinking_tokens: int = 4096,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    batch_size: int = 64,
) -> list[BudgetedCompletion]:
    """Budget-forced completions, one per conversation (see the module docstring); ``model`` is
    an HF causal LM or a ``vllm.LLM`` (``batch_size`` applies to HF only).

    Requests without a budget think up to ``max_thinking_tokens`` and are never forced.
    """
    sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k) if do_sample else dict(do_sample=False)
    close, end = _token_id(tokenizer, THINK_CLOSE), tokenizer.eos_token_id
    budgets = [resolve_budget(c, thinking_budget, effort, efforts) for c in conversations]
    prompts = []
    for conversation, budget in zip(conversations, budgets, strict=True):
        text = render(tokenizer, conversation, add_generation_prompt=True, enable_thinking=budget != 0)
        prompts.append(tokenizer.encode(text + (f"{THINK_OPEN}\n" if budget != 0 else ""), add_special_tokens=False))
    heads = [f"{THINK_OPEN}\n" if b != 0 else "" for b in budgets]
    stop_ids = tokenizer.encode(STOP_THINKING_TEXT, add_special_tokens=False)

    thinking: list[list[int]] = [[] for _ in conversations]
    for budget in sorted({b for b in budgets if b != 0}, key=lambda b: -1 if b is None else b):
        rows = [i for i, b in enumerate(budgets) if b == budget]
        limit = max_thinking_tokens if budget is None else budget
        for i, ids in zip(rows, _continue(model, tokenizer, [prompts[i] for i in rows], limit, {close, end}, sampling, batch_size)):
            thinking[i] = ids

    forced = [b not in (0, None) and close not in t and end not in t and len(t) >= b for t, b in zip(thinking, budgets)]
    ended = [end in t for t in thinking]  # the model stopped inside its thinking: no answer follows
    heads_ids = [p + t + (stop_ids if f else []) for p, t, f in zip(prompts, thinking, forced)]
    todo = [i for i in range(len(conversations)) if not ended[i]]
    answers: list[list[int]] = [[] for _ in conversations]
    for i, ids in zip(todo, _continue(model, tokenizer, [heads_ids[i] for i in todo], max_answer_tokens, {end}, sampling, batch_size)):
        answers[i] = ids

    out = []
    for i, budget in enumerate(budgets):
        own_thinking = [t for t in thinking[i] if t not in (close, end)]
        body = thinking[i] + (stop_ids if forced[i] else []) + answers[i]
        text = heads[i] + tokenizer.decode(body, skip_special_tokens=True)
        if budget == 0:
            text = EMPTY_THINK + text
        answer_tokens = len([t for t in answers[i] if t != end])
        complete = end in answers[i] and THINK_CLOSE in text and bool(split_thinking(text)[1])
        out.append(BudgetedCompletion(text, budget, len(own_thinking), answer_tokens, forced[i], complete))
    return out


def load_generator(path, backend: str = "hf"):
    """(model, tokenizer) of a checkpoint for :func:`generate_with_budget`: the HF model on this
    process's device, or a ``vllm.LLM`` over the checkpoint (``backend="vllm"``; without a GPU,
    vLLM's CPU build in float32 with a 1 GiB KV cache, as the HF model runs there)."""
    if backend == "hf":
        return load_checkpoint(path)
    if backend != "vllm":
        raise ValueError(f"unknown backend {backend!r}; known: hf, vllm")
    try:
        from vllm import LLM
    except ImportError as err:
        raise RuntimeError(f"backend vllm needs vLLM installed ({err}); `make test-vllm` builds a CPU one in .venv-vllm") from None
    cpu = {} if torch.cuda.is_available() else dict(dtype="float32", gpu_memory_utilization=0.1, kv_cache_memory_bytes=2**30)
    return LLM(model=str(path), seed=0, **cpu), AutoTokenizer.from_pretrained(path)


def generate(model, tokenizer, conversations, thinking_budget=None, effort=None, **sampling) -> list[str]:
    """One completion text per conversation under a thinking budget or effort level."""
    return [c.text for c in generate_with_budget(model, tokenizer, conversations, thinking_budget, effort, **sampling)]
