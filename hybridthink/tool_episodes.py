"""Multi-turn tool episodes with HF ``generate``: the model may think, call tools, read their
``<tool_response>`` and answer, as TRL's GRPO tool loop does during training.

Replies are parsed with TRL's ``parse_response`` and Qwen3's response template (the hybrid chat
template renders Qwen3's format), so a call the model writes is read exactly as TRL reads it in
training; a reply that does not parse is kept as plain text.

    python -m hybridthink.tool_episodes --model runs/toy/stage3_mode_fusion --items runs/toy/base/world/tool_eval.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from transformers.utils import get_json_schema
from trl.chat_template_utils import parse_response

from .chat_template import with_response_parser
from .evaluation import ci95, conversation
from .generation import generate
from .jsonl import DataError, read_jsonl
from .rewards import math_accuracy_reward
from .stage import load_checkpoint
from .tools import get_tools


@dataclass
class Episode:
    """The messages one episode added after its prompt, and how its tool calls went."""

    messages: list[dict] = field(default_factory=list)
    tool_calls: int = 0
    tool_failures: int = 0  # unknown tool, bad arguments, or a call that could not be parsed

    @property
    def final_text(self) -> str:
        """The last assistant message's answer (content) text."""
        replies = [m for m in self.messages if m["role"] == "assistant"]
        return (replies[-1].get("content") or "") if replies else ""


def call_tool(tools: dict, call: dict) -> tuple[str, bool]:
    """Run one parsed call (``{"function": {"name", "arguments"}}``) with the tools by name; return
    the tool's text and whether the call itself failed (unknown tool, arguments that do not fit)."""
    function = call.get("function") or {}
    tool, arguments = tools.get(function.get("name")), function.get("arguments")
    if tool is None:
        return f"error: unknown tool {function.get('name')!r}; tools: {sorted(tools)}", True
    if not isinstance(arguments, dict):
        return f"error: arguments must be a JSON object, got {arguments!r}", True
    try:
        return str(tool(**arguments)), False
    except TypeError as err:
        return f"error: {err}", True


def run_episodes(model, tokenizer, conversations: list[list[dict]], tools: list, *, max_calls: int = 3,
                 max_new_tokens: int = 200, enable_thinking: bool = True, batch_size: int = 64,
                 **sampling) -> list[Episode]:
    """Run each conversation until the model answers without calling a tool, or ``max_calls``
    rounds of calls are spent (the reply after the last round is kept whatever it does)."""
    with_response_parser(tokenizer)
    schemas, by_name = [get_json_schema(t) for t in tools], {t.__name__: t for t in tools}
    conversations = [list(c) for c in conversations]
    episodes = [Episode() for _ in conversations]
    active = list(range(len(conversations)))
    for round_ in range(max_calls + 1):
        prompts = [tokenizer.apply_chat_template(conversations[i], tools=schemas, tokenize=False,
                                                 add_generation_prompt=True, enable_thinking=enable_thinking)
                   for i in active]
        outs = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size,
                        desc=f"tool round {round_ + 1}", **sampling)
        still = []
        for i, prompt, group in zip(active, prompts, outs, strict=True):
            ids = tokenizer(group[0].text, add_special_tokens=False)["input_ids"]
            ended = [] if group[0].truncated else [tokenizer.eos_token_id]
            reply = parse_response(tokenizer, ids + ended, prefix=tokenizer(prompt, add_special_tokens=False)["input_ids"],
                                   tools=schemas)
            episodes[i].tool_failures += "<tool_call>" in group[0].text and not reply.get("tool_calls")
            conversations[i].append(reply)
            episodes[i].messages.append(reply)
            if not reply.get("tool_calls") or round_ == max_calls:
                continue
            for call in reply["tool_calls"]:
                text, failed = call_tool(by_name, call)
                episodes[i].tool_calls += 1
                episodes[i].tool_failures += failed
                result = {"role": "tool", "name": (call.get("function") or {}).get("name"), "content": text}
                conversations[i].append(result)
                episodes[i].messages.append(result)
            still.append(i)
        active = still
        if not active:
            break
    return episodes


def tool_use_eval(model, tokenizer, items: list[dict], tools: list, *, modes=("think", "no_think"),
                  max_calls: int = 3, max_new_tokens: int = 120) -> tuple[dict, list[dict]]:
    """Tool-use success per mode on items with an ``answer`` (greedy; ``/no_think`` asks for the
    non-thinking mode): share answered correctly (95% CI), share that called a tool, share with a
    failed call, mean calls; and one record per episode."""
    summary, records = {}, []
    for mode in modes:
        episodes = run_episodes(model, tokenizer, [conversation(it, mode) for it in items], tools, max_calls=max_calls,
                                max_new_tokens=max_new_tokens)
        scores = [float(s or 0.0) for s in math_accuracy_reward(
            [None] * len(items), [e.final_text for e in episodes], answer=[it["answer"] for it in items])]
        summary[mode] = {"n": len(items), "success": statistics.fmean(scores), "success_ci95": ci95(scores),
                         "called_a_tool": statistics.fmean(float(e.tool_calls > 0) for e in episodes),
                         "failed_a_call": statistics.fmean(float(e.tool_failures > 0) for e in episodes),
                         "mean_calls": statistics.fmean(e.tool_calls for e in episodes)}
        records += [{"id": it.get("id"), "mode": mode, "score": s, "tool_calls": e.tool_calls,
                     "tool_failures": e.tool_failures, "messages": e.messages}
                    for it, e, s in zip(items, episodes, scores, strict=True)]
    return summary, records


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Tool-use success of a checkpoint in both modes (calculator and Python).")
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--items", required=True, type=Path, help="JSONL of items with prompt and answer")
    p.add_argument("--tools", default="calculator", help="tools offered, comma-separated (default: calculator, the one the toy recipes train with)")
    p.add_argument("--max-calls", type=int, default=3)
    p.add_argument("--max-new-tokens", type=int, default=120)
    p.add_argument("--output", type=Path, help="default: <model>/tool_eval.json")
    a = p.parse_args(argv)
    try:
        tools = get_tools([t for t in a.tools.split(",") if t])
        items = read_jsonl(a.items, ("id", "prompt", "answer"))
    except (ValueError, DataError) as err:
        raise SystemExit(f"error: {err}") from None
    model, tokenizer = load_checkpoint(a.model)
    summary, records = tool_use_eval(model, tokenizer, items, tools, max_calls=a.max_calls,
                                     max_new_tokens=a.max_new_tokens)
    out = a.output or a.model / "tool_eval.json"
    out.write_text(json.dumps({"model": str(a.model), "items": str(a.items), "tools": [t.__name__ for t in tools],
                               "modes": summary, "records": records}, indent=2) + "\n")
    for mode, m in summary.items():
        print(f"[tool use] {a.model.name} {mode:8} success {m['success']:.3f} ±{m['success_ci95']:.3f} (n={m['n']}) "
              f"called a tool {m['called_a_tool']:.3f} failed a call {m['failed_a_call']:.3f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
