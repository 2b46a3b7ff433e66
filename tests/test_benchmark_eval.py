"""The benchmark runner on the real evaluation sets: loading, verifiers, decontamination, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hybridthink.benchmarks import FAMILIES, load_family, overlaps, score, setting_budget, training_files
from hybridthink.handoff import write_manifest
from hybridthink.jsonl import file_sha256, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
SIZES = {"gsm8k": 1319, "math500": 500, "aime24": 30, "amc23": 40, "humaneval": 164, "ifeval": 541}
GRADING = {"humaneval": "tests", "ifeval": "instruction_id_list"}


def test_every_family_loads_whole_with_its_grading_columns():
    for family in FAMILIES:
        items = load_family(BENCHMARKS, family)
        assert len(items) == SIZES[family] and len({it["id"] for it in items}) == len(items)
        key = GRADING.get(family, "answer")
        assert all(it[key] and it["question"] in it["prompt"] for it in items), family
    assert {it["answer"] for it in load_family(BENCHMARKS, "amc23")} >= {"27", "36"}, "integral floats print as integers"
    assert load_family(BENCHMARKS, "gsm8k")[0]["answer"] == "18"


def _scores(items, texts):
    return [s["score"] for s in score(items, texts)]


def test_verifiers_accept_the_reference_and_refuse_a_wrong_answer():
    math = load_family(BENCHMARKS, "math500")[:3]
    right = [f"<think>\n\n</think>\n\nSo \\boxed{{{it['answer']}}}." for it in math]
    assert _scores(math, right) == [1.0, 1.0, 1.0]
    assert _scores(math, right[1:] + right[:1]) == [0.0, 0.0, 0.0]
    code = load_family(BENCHMARKS, "humaneval")[:2]
    raw = read_jsonl(BENCHMARKS / "humaneval.jsonl.gz")[:2]
    solved = [f"<think>\n\n</think>\n\n```python\n{r['prompt']}{r['canonical_solution']}```" for r in raw]
    broken = [f"<think>\n\n</think>\n\n```python\n{r['prompt']}    return None\n```" for r in raw]
    assert _scores(code, solved) == [1.0, 1.0]
    assert _scores(code, broken) == [0.0, 0.0]


def test_ifeval_grades_the_answer_part_at_prompt_and_instruction_level():
    item = next(it for it in load_family(BENCHMARKS, "ifeval") if it["id"] == "ifeval/1000")
    assert item["instruction_id_list"][0] == "punctuation:no_comma"  # + 3 highlights + at least 300 words
    body = " ".join(["word"] * 300) + " *one* *two* *three*"
    grades = score([item] * 4, [f"<think>\nno, commas, here\n</think>\n\n{body}", body.replace("word", "word,", 1),
                                f"Title, then:\n{body}", f"<think>\n{body}"])
    assert [(g["score"], g["loose"], g["followed_strict"], g["followed_loose"]) for g in grades] == [
        (1.0, 1.0, 3, 3), (0.0, 0.0, 2, 2), (0.0, 1.0, 2, 3), (0.0, 0.0, 0, 0)]


def test_settings_map_to_budgets():
    efforts = {"low": 8}
    assert [setting_budget(s, efforts) for s in ("think", "no_think", "budget:32", "effort:low")] == [None, 0, 32, 8]
    with pytest.raises(ValueError, match="unknown setting 'fast'"):
        setting_budget("fast", efforts)


def _with_training_data(model_dir: Path, rows: list[dict]) -> Path:
    data = model_dir / "data" / "sft.jsonl"
    data.parent.mkdir()
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_manifest(model_dir, stage="stage1_cold_start", parent=None, base_model="tiny", config={},
                   data={"sft": {"path": data, "rows": len(rows), "sha256": file_sha256(data)}}, metrics={}, world=None)
    return data


def test_items_in_the_training_data_are_refused(tiny_checkpoint, tmp_path):
    model_dir, _, _ = tiny_checkpoint
    item = load_family(BENCHMARKS, "gsm8k")[1]
    leaked = {"messages": [{"role": "user", "content": "  " + item["question"].upper().replace(" ", "\n ") + " "}]}
    data = _with_training_data(model_dir, [{"messages": [{"role": "user", "content": "What is 2 + 2?"}]}, leaked])
    assert training_files(model_dir) == [data]
    assert [(it["id"], path) for it, path in overlaps(load_family(BENCHMARKS, "gsm8k")[:3], [data])] == [("gsm8k/1", data)]
    cmd = [sys.executable, "-m", "hybridthink.benchmarks", "--model", str(model_dir), "--benchmarks", str(BENCHMARKS),
           "--families", "gsm8k", "--limit", "3", "--settings", "no_think", "--max-answer-tokens", "4",
           "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "gsm8k/1 in" in proc.stderr and "sft.jsonl" in proc.stderr
    proc = subprocess.run(cmd + ["--allow-overlap"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "benchmarks.json").read_text())["overlapping_items"] == ["gsm8k/1"]


def test_cli_writes_avg_at_k_and_every_completion(tiny_checkpoint, tmp_path):
    model_dir, _, _ = tiny_checkpoint
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "hybridthink.benchmarks", "--model", str(model_dir),
                           "--benchmarks", str(BENCHMARKS), "--families", "amc23,humaneval,ifeval", "--limit", "2", "--k", "2",
                           "--settings", "no_think,budget:4", "--max-answer-tokens", "6", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "benchmarks.json").read_text())
    for family in ("amc23", "humaneval", "ifeval"):
        for setting in ("no_think", "budget:4"):
            m = result["families"][family][setting]
            assert (m["n_items"], m["k"]) == (2, 2) and 0.0 <= m["avg_at_k"] <= 1.0
    records = [json.loads(line) for line in (out / "benchmark_items.jsonl").read_text().splitlines()]
    assert len(records) == 3 * 2 * 2 * 2  # families x settings x items x samples
    assert 0.0 <= result["families"]["ifeval"]["no_think"]["instruction_level_loose"] <= 1.0
    assert all(r["thinking_tokens"] <= 4 for r in records if r["setting"] == "budget:4")
    assert all(r["thinking_tokens"] == 0 and r["text"].startswith("<think>\n\n</think>") for r in records
               if r["setting"] == "no_think")
    assert "| humaneval | budget:4 |" in (out / "benchmarks.md").read_text()
    assert "ifeval no_think: prompt-level strict" in (out / "benchmarks.md").read_text()
