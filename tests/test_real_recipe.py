"""The real-model recipe (recipes/qwen3-0.6b-base) run offline: its base stage maps local files that
have the hub datasets' columns, with a tiny Qwen3 in place of Qwen3-0.6B-Base, then stages 1 to 4
run from the real recipe files with small-scale overrides (no vLLM)."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from transformers import AutoTokenizer

from hybridthink.chat_template import template_variant
from hybridthink.dataset_items import build_splits, split_completion
from hybridthink.handoff import validate_parent
from hybridthink.jsonl import DataError, read_jsonl, write_jsonl
from hybridthink.recipe import RecipeError

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes" / "qwen3-0.6b-base"
SMALL = ["--set", "trainer.max_steps=2", "--set", "trainer.per_device_train_batch_size=4", "--set",
         "trainer.gradient_accumulation_steps=1", "--set", "trainer.gradient_checkpointing=false"]


def _trace(a: int, b: int, defect: str | None) -> str:
    thinking = f"I add {a} and {b}.\n{a} + {b} = {a + b}." + ("\nI am not sure, so I will guess." if defect == "guess" else "")
    answer = a + b + (1 if defect == "wrong" else 0)
    text = f"<think>\n{thinking}\n</think>\n\nThe sum is \\boxed{{{answer}}}."
    return text.replace("</think>", "") if defect == "unclosed" else text


def local_sources(tmp: Path) -> dict[str, Path]:
    """Local files with the columns of the hub datasets the real recipe names."""
    rng = random.Random(0)
    math_rows = []
    for i in range(40):
        a, b = rng.randrange(10, 99), rng.randrange(10, 99) + 100 * i
        defect = {3: "wrong", 5: "guess", 7: "unclosed"}.get(i)
        math_rows.append({"problem": f"Problem {i}: what is {a} + {b}?", "solution": "...", "answer": str(a + b),
                          "messages": [{"role": "user", "content": "..."},
                                       {"role": "assistant", "content": _trace(a, b, defect)}]})
    mbpp = [{"task_id": i, "text": f"Write a function add_{i}(x) that adds {i} to x.", "code": "...",
             "test_list": [f"assert add_{i}(1) == {1 + i}", f"assert add_{i}(5) == {5 + i}"]} for i in range(12)]
    prompts = [{"prompt": f"Write a short note to a friend about day {i} of the trip.", "prompt_id": str(i),
                "messages": [], "category": "Generation"} for i in range(20)]
    math500 = [{"problem": f"Find {i} times {i + 7}.", "solution": "...", "answer": str(i * (i + 7)), "subject": "Algebra",
                "level": 1, "unique_id": f"test/{i}.json"} for i in range(12)]
    # google/IFEval's parquet fills every kwargs key of every instruction, None where it does not apply
    kwargs_keys = ("num_words", "relation", "num_highlights")
    ifeval = [{"key": i, "prompt": f"Write a short story about lamp {i}.",
               "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
               "kwargs": [dict.fromkeys(kwargs_keys), {**dict.fromkeys(kwargs_keys), "num_words": 50, "relation": "less than"}]}
              for i in range(12)]
    files = {"open-r1/OpenR1-Math-220k": tmp / "openr1.jsonl", "google-research-datasets/mbpp": tmp / "mbpp.jsonl",
             "HuggingFaceH4/no_robots": tmp / "no_robots.jsonl",
             "HuggingFaceH4/MATH-500": tmp / "math500.jsonl", "google/IFEval": tmp / "ifeval.jsonl"}
    write_jsonl(files["HuggingFaceH4/MATH-500"], math500)
    write_jsonl(files["google/IFEval"], ifeval)
    write_jsonl(files["open-r1/OpenR1-Math-220k"], math_rows)
    write_jsonl(files["google-research-datasets/mbpp"], mbpp)
    write_jsonl(files["HuggingFaceH4/no_robots"], prompts)
    return files


def offline_recipes(tmp: Path, model_dir: Path) -> Path:
    """The real recipe folder with its datasets pointed at local files and its model at ``model_dir``;
    the OpenR1 row ranges shrunk a thousandfold, the others taken whole or to 10 rows."""
    files = local_sources(tmp)
    out = tmp / "recipes"
    out.mkdir()
    base = yaml.safe_load((RECIPES / "base.yaml").read_text())
    base["pretrained"]["model"] = str(model_dir)
    for sources in base["splits"].values():
        for source in sources:
            name = source["dataset"]
            source["dataset"] = str(files[name])
            source.pop("config", None)
            if name == "open-r1/OpenR1-Math-220k":
                source["rows"] = [r // 1000 for r in source["rows"]]
            elif "rows" in source:
                source["rows"] = [0, 10]
    (out / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    for stage in ("stage1", "stage2", "stage3", "stage4"):
        (out / f"{stage}.yaml").write_text((RECIPES / f"{stage}.yaml").read_text())
    return out


@pytest.fixture
def base_like_checkpoint(tmp_path, tokenizer, tiny_model):
    """The tiny model saved as a Qwen3-Base checkpoint is: text ends at <|endoftext|>, no chat template."""
    model_dir = tmp_path / "base-like"
    tiny_model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    config.update(eos_token="<|endoftext|>")
    (model_dir / "tokenizer_config.json").write_text(json.dumps(config))
    (model_dir / "chat_template.jinja").unlink(missing_ok=True)
    return model_dir


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYBRIDTHINK_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_real_recipe_maps_its_datasets_and_runs_all_four_stages(tmp_path, base_like_checkpoint):
    recipes = offline_recipes(tmp_path, base_like_checkpoint)
    base = tmp_path / "run" / "base"
    proc = _run(["hybridthink.pretrained_base", "--config", str(recipes / "base.yaml"), "--output", str(base)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    manifest = validate_parent(base, "base")
    assert manifest["base_model"] == str(base_like_checkpoint)
    tok = AutoTokenizer.from_pretrained(base)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token != tok.eos_token and template_variant(tok) == "hybrid"
    world = {split: read_jsonl(base / "world" / f"{split}.jsonl") for split in ("eval", "stage1", "stage2", "stage3", "stage4")}
    prompts = [it["prompt"] for items in world.values() for it in items]
    assert len(prompts) == len(set(prompts)), "no prompt is in two splits"
    assert {it["family"] for it in world["eval"]} == {"math", "instruction"}
    ifeval = [it for it in world["eval"] if it["family"] == "instruction"]
    assert len(ifeval) == 10 and all(json.loads(it["kwargs"]) and it["instruction_id_list"] for it in ifeval)
    assert world["stage1"][0]["prompt"].endswith("Put the final answer in \\boxed{}.")
    assert world["stage1"][0]["thinking"].startswith("I add") and world["stage1"][0]["response"].startswith("The sum")
    code = [it for it in world["stage2"] if it["family"] == "code"]
    assert len(code) == 12 and code[0]["tests"].count("assert") == 2 and "assert add_0(1) == 1" in code[0]["prompt"]
    made = [it for it in world["stage3"] if it["family"] == "instruction"]
    assert made and all(1 <= len(it["instruction_id_list"]) <= 2 for it in made)
    assert all(len(it["instruction_id_list"]) == len(json.loads(it["kwargs"])) for it in made)
    counts = manifest["metrics"]["splits"]["stage1"][0]
    assert counts == {"dataset": str(tmp_path / "openr1.jsonl"), "read": 20, "kept": 19,
                      "dropped": {"completion without </think>": 1}}

    stage1 = tmp_path / "run" / "stage1_cold_start"
    proc = _run(["stage1_cold_start", "--config", str(recipes / "stage1.yaml"), "--parent", str(base),
                 "--output", str(stage1), "--set", "query_filter.max_new_tokens=8", "--set", "trainer.max_length=256",
                 "--set", "trainer.num_train_epochs=1", *SMALL], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    curation = json.loads((stage1 / "handoff.json").read_text())["metrics"]["curation"]
    assert curation["queries"] == 19 and curation["teacher_responses"] == 19 - curation["removed_solved_without_cot"]
    assert curation["removed_by_response_filter"]["wrong_answer"] == 1 and curation["removed_by_response_filter"]["guesswork"] == 1
    sft = read_jsonl(stage1 / "data" / "sft.jsonl")
    assert sft and all(r["messages"][-1]["content"].startswith("<think>\nI add") for r in sft)

    stage2 = tmp_path / "run" / "stage2_reasoning_rl"
    proc = _run(["stage2_reasoning_rl", "--config", str(recipes / "stage2.yaml"), "--parent", str(stage1),
                 "--output", str(stage2), "--set", "trainer.use_vllm=false", "--set", "trainer.num_generations=4",
                 "--set", "trainer.max_completion_length=16", *SMALL], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    queries = read_jsonl(stage2 / "data" / "queries.jsonl")
    assert {r["family"] for r in queries} == {"math", "code"}
    assert json.loads((stage2 / "handoff.json").read_text())["metrics"]["train"]["steps"] == 2

    stage3 = tmp_path / "run" / "stage3_mode_fusion"
    proc = _run(["stage3_mode_fusion", "--config", str(recipes / "stage3.yaml"), "--parent", str(stage2),
                 "--output", str(stage3), "--set", "rejection_sampling.k=2", "--set", "rejection_sampling.max_new_tokens=16",
                 "--set", "mix.size=40", "--set", "mix.budget_range=[2,8]", "--set", "mix.length_rows=6", "--set", "trainer.max_length=256",
                 "--set", "trainer.num_train_epochs=1", *SMALL], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    mix = json.loads((stage3 / "handoff.json").read_text())["metrics"]["mix"]
    instruction_prompts = sum(it["family"] == "instruction" for it in world["stage3"])
    assert mix["non_thinking_without_response"] == instruction_prompts > 0 and mix["think"] > 0 and mix["no_think"] > 0
    lengths = [r for r in read_jsonl(stage3 / "data" / "fusion.jsonl") if r["kind"].endswith("_length")]
    assert len(lengths) == mix["length"] == 6 - mix.get("length_no_fit", 0) > 0
    asked = [next(m["content"] for m in reversed(r["messages"]) if m["role"] == "user") for r in lengths]
    assert all(re.search(r"Answer in at (most|least) \d+ \w+\.", q) for q in asked), asked

    stage4 = tmp_path / "run" / "stage4_general_rl"
    proc = _run(["stage4_general_rl", "--config", str(recipes / "stage4.yaml"), "--parent", str(stage3),
                 "--output", str(stage4), "--set", "data.max_prompts=16", "--set", "trainer.use_vllm=false",
                 "--set", "trainer.num_generations=4", "--set", "trainer.max_completion_length=16", *SMALL], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    train = json.loads((stage4 / "handoff.json").read_text())["metrics"]["train"]
    assert train["steps"] == 2 and {"math/math_accuracy_curve", "instruction/ifeval_curve"} <= set(train), sorted(train)


def test_split_completion_reads_think_blocks_with_and_without_the_opening_tag():
    assert split_completion("<think>\nwork\n</think>\n\nanswer") == ("work", "answer")
    assert split_completion("work</think>answer") == ("work", "answer")
    assert split_completion("no block at all") is None


def _fake(rows):
    from datasets import Dataset

    return lambda source: Dataset.from_list(rows)


def test_sources_are_checked_and_missing_columns_named():
    math = {"dataset": "x/y", "family": "math", "columns": {"prompt": "problem", "answer": "answer"}}
    rows = [{"problem": "1 + 1?", "answer": 2}, {"problem": "1 + 1?", "answer": 2}, {"problem": "", "answer": 3}]
    world, stats = build_splits({"eval": [math]}, "r.yaml", load=_fake(rows))
    assert [it["answer"] for it in world["eval"]] == ["2"]
    assert stats["eval"][0]["dropped"] == {"duplicate in the split": 1, "no prompt (problem)": 1}
    with pytest.raises(DataError, match=r"splits.stage1 kept no item.*'in an earlier split': 2"):
        build_splits({"eval": [math], "stage1": [math]}, "r.yaml", load=_fake(rows))
    with pytest.raises(DataError, match=r"r.yaml: splits.eval\[0\] \(x/y\): no column\(s\) answer; the dataset has problem"):
        build_splits({"eval": [math]}, "r.yaml", load=_fake([{"problem": "a"}]))
    for bad, message in [({**math, "family": "poetry"}, "family 'poetry' has no grader"),
                         ({**math, "columns": {"prompt": "problem"}}, "graded on answer"),
                         ({**math, "colums": {}}, "unknown key"),
                         ({**math, "prompt_template": "{problem}"}, "either as columns.prompt or as prompt_template"),
                         ({**math, "family": "instruction", "instructions": [0, 2]}, r"instructions is \[min, max\]")]:
        with pytest.raises(RecipeError, match=message):
            build_splits({"stage1": [bad]}, "r.yaml", load=_fake(rows))
    with pytest.raises(RecipeError, match="unknown split"):
        build_splits({"train": [math]}, "r.yaml", load=_fake(rows))


def test_attached_instructions_are_ifeval_checkable_and_reproducible():
    from hybridthink.ifeval import check

    source = {"dataset": "x", "family": "instruction", "instructions": [2, 2], "seed": 3, "columns": {"prompt": "p"}}
    rows = [{"p": f"Write about topic {i}."} for i in range(30)]
    first, _ = build_splits({"stage4": [source]}, "r.yaml", load=_fake(rows))
    again, _ = build_splits({"stage4": [source]}, "r.yaml", load=_fake(rows))
    assert first == again
    kinds = {i for it in first["stage4"] for i in it["instruction_id_list"]}
    assert len(kinds) > 10, kinds
    for it in first["stage4"]:
        verdicts = check("some reply", it["instruction_id_list"], it["kwargs"], it["prompt"])
        # two asked; one where the first excludes every other (IFEval's conflict table)
        assert len(verdicts) == len(it["instruction_id_list"]) in (1, 2)
    assert sum(len(it["instruction_id_list"]) == 2 for it in first["stage4"]) > 20
