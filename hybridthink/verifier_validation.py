"""Validate the verifiers on real evaluation sets (evaluation only: nothing here trains).

* Math (``math_accuracy_reward``): a reference solution must verify against its own answer
  (true-positive rate) and must not verify against the answer of another problem (false-positive
  rate; pairs whose two answers are themselves equal are left out and counted), nor near misses
  of a numeric answer (off by one, ten times, 0.1% off). MATH-500 uses its
  worked solutions, GSM8K its solutions ending in ``#### N``; AIME24 and AMC23, which lack
  uniform worked solutions, use ``\\boxed{answer}``.
* Code (``code_execution_reward`` and the sandbox): every HumanEval canonical solution must pass;
  two mutants of it must fail: every ``return X`` made ``return None``, and an off-by-one (the
  first integer constant of the solution plus one, else its first comparison loosened or
  tightened). Mutants that survive are listed for inspection (some can be equivalent).
* Sandbox throughput: the canonical solutions run one at a time and then concurrently.

    python -m hybridthink.verifier_validation --benchmarks ../shared/benchmarks --out results
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import time
from pathlib import Path

from tqdm import tqdm

from hybridthink.jsonl import read_jsonl
from hybridthink.modes import EMPTY_THINK
from hybridthink.math_grading import math_equal
from hybridthink.rewards import code_execution_reward, math_accuracy_reward
from hybridthink.sandbox import _isolated, run_many

MATH_SETS = {  # file: (how a reference completion is built, gold answer column)
    "math500.jsonl": (lambda row: row["solution"], "answer"),
    "gsm8k_test.jsonl": (lambda row: row["answer"], lambda row: row["answer"].rsplit("####", 1)[1].strip()),
    "aime24.jsonl": (lambda row: f"\\boxed{{{row['answer']}}}", "answer"),
    "amc23.jsonl": (lambda row: f"\\boxed{{{row['answer']}}}", "answer"),
}
_LOOSEN = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def validate_math(path: Path, limit: int | None = None) -> dict:
    """TP and FP rates of ``math_accuracy_reward`` on one benchmark file."""
    completion_of, gold_col = MATH_SETS[path.name]
    rows = read_jsonl(path)[:limit]
    golds = [str(gold_col(r) if callable(gold_col) else r[gold_col]) for r in rows]
    completions = [EMPTY_THINK + completion_of(r) for r in rows]
    tp = [math_accuracy_reward(["q"], [c], answer=[g])[0] for c, g in tqdm(list(zip(completions, golds)), desc=f"{path.name} TP")]
    fp, same_answer, fp_items = [], 0, []
    for i in tqdm(range(len(rows)), desc=f"{path.name} FP"):
        j = (i + 1) % len(rows)
        if math_equal(golds[i], golds[j]):
            same_answer += 1
            continue
        fp.append(math_accuracy_reward(["q"], [completions[i]], answer=[golds[j]])[0])
        if fp[-1] == 1.0:
            fp_items.append({"item": i, "against": j, "gold": golds[i], "other": golds[j]})
    near, near_items = [], []
    for i, gold in enumerate(tqdm(golds, desc=f"{path.name} near misses")):
        for miss in near_misses(gold):
            near.append(math_accuracy_reward(["q"], [EMPTY_THINK + f"\\boxed{{{miss}}}"], answer=[gold])[0])
            if near[-1] == 1.0:
                near_items.append({"item": i, "gold": gold, "near_miss": miss})
    return {
        "n": len(rows),
        "near_misses": len(near),
        "near_miss_accept_rate": _rate(sum(r == 1.0 for r in near), len(near)),
        "near_misses_accepted": near_items,
        "true_positive_rate": _rate(sum(r == 1.0 for r in tp), len(tp)),
        "missed": [{"item": i, "gold": golds[i]} for i, r in enumerate(tp) if r != 1.0],
        "gold_unparseable": sum(r is None for r in tp),
        "false_positive_rate": _rate(sum(r == 1.0 for r in fp), len(fp)),
        "false_positives": fp_items,
        "fp_pairs": len(fp),
        "fp_pairs_left_out_same_answer": same_answer,
    }


def near_misses(gold: str) -> list[str]:
    """Wrong answers close to a numeric gold: off by one, ten times, and 0.1% off."""
    try:
        value = float(gold.replace(",", ""))
    except ValueError:
        return []
    return [f"{m:.10g}" for m in (value + 1, value - 1, value * 10, value * 1.001) if m != value]


def _entry_function(tree: ast.Module, name: str) -> ast.FunctionDef:
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)


def mutate(code: str, entry_point: str, kind: str) -> str | None:
    """A mutant of ``entry_point`` in ``code`` ('return_none' or 'off_by_one'), or None when the
    function offers nothing to mutate that way."""
    tree = ast.parse(code)
    func = _entry_function(tree, entry_point)
    nodes = [n for n in ast.walk(func) if n is not func]
    if kind == "return_none":
        returns = [n for n in nodes if isinstance(n, ast.Return) and n.value is not None]
        for r in returns:
            r.value = ast.Constant(None)
        changed = bool(returns)
    else:
        ints = [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) is int]
        compares = [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in _LOOSEN]
        if ints:
            ints[0].value += 1
        elif compares:
            compares[0].ops[0] = _LOOSEN[type(compares[0].ops[0])]()
        changed = bool(ints or compares)
    return ast.unparse(tree) if changed else None


def validate_humaneval(path: Path, limit: int | None = None) -> dict:
    """Canonical solutions must pass, mutants must fail; all through ``code_execution_reward``."""
    rows = read_jsonl(path)[:limit]
    programs = {"canonical": [r["prompt"] + r["canonical_solution"] for r in rows]}
    for kind in ("return_none", "off_by_one"):
        programs[kind] = [mutate(code, r["entry_point"], kind) for code, r in zip(programs["canonical"], rows)]
    result = {"n": len(rows)}
    for kind, codes in programs.items():
        kept = [(r, c) for r, c in zip(rows, codes) if c is not None]
        scores = code_execution_reward(
            ["q"] * len(kept),
            [EMPTY_THINK + f"```python\n{c}\n```" for _, c in kept],
            tests=[r["test"] for r, _ in kept],
            entry_point=[r["entry_point"] for r, _ in kept],
        )
        passed = [r["task_id"] for (r, _), s in zip(kept, scores) if s == 1.0]
        if kind == "canonical":
            result["canonical_pass_rate"] = _rate(len(passed), len(kept))
            result["canonical_failed"] = sorted({r["task_id"] for r in rows} - set(passed))
        else:
            result[kind] = {"mutants": len(kept), "killed_rate": _rate(len(kept) - len(passed), len(kept)), "survived": passed}
    return result


def sandbox_throughput(path: Path, limit: int | None = None, repeats: int = 3) -> dict:
    """Executions per second of the canonical HumanEval programs, one at a time and concurrently,
    ``repeats`` times each (mean and standard deviation)."""
    rows = read_jsonl(path)[:limit]
    pairs = [(r["prompt"] + r["canonical_solution"], f"{r['test']}\n\ncheck({r['entry_point']})\n") for r in rows]
    _isolated()  # probe outside the timing
    timing = {"namespaces": _isolated(), "cpu_count": os.cpu_count(), "runs": len(pairs), "repeats": repeats}
    for label, workers in (("sequential", 1), ("concurrent", os.cpu_count())):
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            results = run_many(pairs, max_workers=workers, timeout_s=10)
            rates.append(len(pairs) / (time.perf_counter() - start))
            if not all(r.passed for r in results):
                raise RuntimeError("a canonical solution failed during the throughput run")
        timing[label] = {"workers": workers, "runs_per_second": round(statistics.mean(rates), 1),
                         "sd": round(statistics.stdev(rates), 1) if repeats > 1 else 0.0}
    timing["speedup"] = round(timing["concurrent"]["runs_per_second"] / timing["sequential"]["runs_per_second"], 2)
    return timing


def validate(benchmarks: Path, limit: int | None = None) -> dict:
    """Every check above on the files found in ``benchmarks``."""
    missing = [name for name in [*MATH_SETS, "humaneval.jsonl.gz"] if not (benchmarks / name).exists()]
    if missing:
        raise FileNotFoundError(f"{benchmarks} lacks {missing}")
    return {
        "math": {name: validate_math(benchmarks / name, limit) for name in MATH_SETS},
        "humaneval": validate_humaneval(benchmarks / "humaneval.jsonl.gz", limit),
        "throughput": sandbox_throughput(benchmarks / "humaneval.jsonl.gz", limit),
    }


def to_markdown(report: dict) -> str:
    """The report as the tables the README quotes."""
    lines = [
        "| set | n | true positives | false positives: shifted answers (pairs; left out: same answer) | near misses accepted (n) |",
        "|---|---|---|---|---|",
    ]
    for name, m in report["math"].items():
        lines.append(f"| {name} | {m['n']} | {m['true_positive_rate']} | {m['false_positive_rate']} "
                     f"({m['fp_pairs']}; {m['fp_pairs_left_out_same_answer']}) | {m['near_miss_accept_rate']} ({m['near_misses']}) |")
    h = report["humaneval"]
    lines += ["", "| HumanEval | n | rate |", "|---|---|---|", f"| canonical solutions pass | {h['n']} | {h['canonical_pass_rate']} |"]
    for kind in ("return_none", "off_by_one"):
        lines.append(f"| `{kind}` mutants killed | {h[kind]['mutants']} | {h[kind]['killed_rate']} |")
    t = report["throughput"]
    seq, conc = t["sequential"], t["concurrent"]
    lines += ["", f"Sandbox throughput ({t['cpu_count']} CPUs, namespaces: {t['namespaces']}, {t['runs']} programs, "
              f"{t['repeats']} repeats, mean ± sd): {seq['runs_per_second']} ± {seq['sd']} runs/s one at a time, "
              f"{conc['runs_per_second']} ± {conc['sd']} runs/s with {conc['workers']} workers ({t['speedup']}x)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--limit", type=int, default=None, help="first N items of each set")
    args = parser.parse_args()
    report = validate(args.benchmarks, args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "verifiers.json").write_text(json.dumps(report, indent=1))
    (args.out / "verifiers.md").write_text(to_markdown(report))
    print(to_markdown(report))


if __name__ == "__main__":
    main()
