"""The flag probe on a tiny real model: every case asks for the mode its flags say, the empty-block
probability matches one computed token by token, and the CLI writes every case."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hybridthink.flag_probe import CASES, empty_block_probability, main
from hybridthink.modes import EMPTY_THINK, resolve_mode

A = {"id": "a", "prompt": "What is 2 + 3?", "response": "The answer is \\boxed{5}."}
C = {"id": "c", "prompt": "What is 4 + 4?", "response": "The answer is \\boxed{8}."}


def test_every_case_asks_for_the_mode_of_its_last_flag():
    wanted = {name: resolve_mode(build(A, C)) for name, build in CASES.items()}
    assert wanted == {
        "last turn /no_think": "no_think", "last turn /think": "think", "no flag": "think",
        "system /no_think": "no_think", "system /think": "think",
        "earlier turn /no_think": "no_think", "earlier turn /think": "think", "earlier turn, no flag": "think",
        "earlier /no_think, last /think": "think", "earlier /think, last /no_think": "no_think"}
    for build in CASES.values():
        assert build(A, C)[-1]["role"] == "user" and C["prompt"] in build(A, C)[-1]["content"]


@torch.no_grad()
def test_empty_block_probability_matches_a_token_by_token_product(tiny_model, tokenizer):
    tiny_model.eval()
    for build in CASES.values():
        messages = build(A, C)
        ids = tokenizer(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
                        add_special_tokens=False)["input_ids"]
        logp = 0.0
        for token in tokenizer(EMPTY_THINK, add_special_tokens=False)["input_ids"]:
            logp += torch.log_softmax(tiny_model(torch.tensor([ids])).logits[0, -1], -1)[token].item()
            ids = ids + [token]
        assert math.log(empty_block_probability(tiny_model, tokenizer, messages)) == pytest.approx(logp, abs=1e-3)


def test_cli_writes_every_case(tiny_checkpoint, tmp_path):
    model_dir, _, _ = tiny_checkpoint
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(it) + "\n" for it in (A, C, {**A, "id": "b", "prompt": "What is 1 + 1?"})))
    main(["--model", str(model_dir), "--items", str(items), "--n", "4"])
    result = json.loads((model_dir / "flag_probe.json").read_text())
    assert set(result["cases"]) == set(CASES) and result["n"] == 4
    for case in result["cases"].values():
        assert 0.0 <= case["p_empty"] <= 1.0 and case["n"] == 4 and case["followed"] in (0.0, 0.25, 0.5, 0.75, 1.0)
