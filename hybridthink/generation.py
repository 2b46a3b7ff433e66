"""Batched HF ``generate`` over rendered prompts, returning completion texts and token counts."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .modes import EMPTY_THINK, THINK_OPEN


@dataclass(frozen=True)
class Completion:
    text: str
    tokens: int
    truncated: bool


# Think-block openings a generation prompt can prefill: the thinking variant's, and the hybrid hard
# switch's empty block (enable_thinking=False).
PREFILLS = (EMPTY_THINK, f"{THINK_OPEN}\n")


def assistant_turn(prompt: str, completion: str) -> str:
    """``completion`` as the assistant's whole turn: the think-block opening the prompt prefilled,
    if any, put back in front (what the chat template renders for the turn and graders expect)."""
    return next((p for p in PREFILLS if prompt.endswith(p)), "") + completion


def chat_prompts(tokenizer, conversations: list[list[dict]], enable_thinking: bool = True) -> list[str]:
    """Render conversations with the generation prompt, as served at inference."""
    return [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking)
        for c in conversations
    ]


@torch.no_grad()
def generate(
    model,
    tokenizer,
    prompts: list[str],
    *,
    max_new_tokens: int,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    num_samples: int = 1,
    batch_size: int = 64,
    seed: int = 0,
    desc: str = "generating",
) -> list[list[Completion]]:
    """``num_samples`` completions per prompt (greedy unless ``do_sample``), stopping at EOS."""
    torch.manual_seed(seed)
    tokenizer.padding_side = "left"
    eos = tokenizer.eos_token_id
    model.eval()
    out: list[list[Completion]] = []
    for start in tqdm(range(0, len(prompts), batch_size), desc=desc, leave=False, disable=len(prompts) <= batch_size):
        chunk = prompts[start : start + batch_size]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k) if do_sample else dict(do_sample=False)
        gen = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            num_return_sequences=num_samples,
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id,
            **sampling,
        )
        new = gen[:, enc["input_ids"].shape[1] :].tolist()
        for i in range(len(chunk)):
            group = []
            for ids in new[i * num_samples : (i + 1) * num_samples]:
                ended = eos in ids
                ids = ids[: ids.index(eos)] if ended else [t for t in ids if t != tokenizer.pad_token_id]
                group.append(Completion(tokenizer.decode(ids, skip_special_tokens=True), len(ids), not ended))
            out.append(group)
    return out
