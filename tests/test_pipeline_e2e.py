"""The whole pipeline on the smallest recipe: base + four stages + evaluation + report, through
the real launch scripts (accelerate launch), real TRL trainers and real handoff directories."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from hybridthink.chat_template import HYBRID_TEMPLATE, template_variant
from hybridthink.handoff import manifest_sha256, validate_parent
from hybridthink.modes import set_flag
from hybridthink.report import build_report, to_markdown
from stage4_general_rl.__main__ import DEFAULT_TASKS

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["base", "stage1_cold_start", "stage2_reasoning_rl", "stage3_mode_fusion", "stage4_general_rl"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return {**os.environ, "HYBRIDTHINK_CACHE": str(cache), "PYTHON": sys.executable,
            "THINKFOLLOW_ARGS": "--dialogues 6 --turns 2 --max-new-tokens 48", "FLAG_PROBE_ARGS": "--n 3", "BASE_ARGS": "--set trainer.seed=7",
            "PER_FAMILY": "4", "TOOL": "3", "LENGTH": "3", "DIALOGUES": "2"}  # the held-out gain's set


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, env):
    run = tmp_path_factory.mktemp("smoke")
    proc = subprocess.run(["bash", "scripts/run_pipeline.sh", "recipes/smoke", str(run)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return run, proc


def test_manifest_chain_links_every_stage(smoke_run):
    run, _ = smoke_run
    for parent, child in zip(STAGES, STAGES[1:]):
        manifest = validate_parent(run / child, child)
        assert (run / child / manifest["parent"]["path"]).resolve() == (run / parent).resolve()
        assert manifest["parent"]["sha256"] == manifest_sha256(run / parent)
        assert manifest["base_model"].startswith("toy-base-")
        for name, entry in manifest["data"].items():
            assert (run / child / entry["path"]).is_file()
            # A 3-step model passes no rejection sampling: its thinking rows are references (fill_unsolved).
            assert entry["rows"] > 0 or name == "rejection_sampled", (child, name)
    base = json.loads((run / "base" / "handoff.json").read_text())
    assert base["config"]["resolved"]["trainer"]["seed"] == 7, "BASE_ARGS reach the base"
    stage1 = json.loads((run / "stage1_cold_start" / "handoff.json").read_text())
    assert stage1["config"]["resolved"]["trainer"].get("seed") != 7, "and the base alone"
    flags = base["metrics"]["pretrain"]["flag_embedding_cosine"]
    assert abs(flags["after"]) < 0.5, "the flags pretraining never reads get distinct embeddings"
    curation = stage1["metrics"]["curation"]
    assert curation["teacher_responses"] > 0 and "removed_by_response_filter" in curation
    assert 0 < curation["sft_dialogues"] < curation["sft_samples"], "stage 1 turns a share of its rows into dialogues"
    assert curation["leaked_eval_items"] == 2 and curation["removed_eval_overlap"] >= 2, "the leaked held-out items go"
    assert curation["removed_unverifiable"] == 0 and curation["eval_overlap_index"]["benchmark_questions"] > 1000
    sft = [json.loads(line) for line in (run / "stage1_cold_start" / "data" / "sft.jsonl").open()]
    assert not any(r["id"].startswith("leaked-") for r in sft)
    stage3 = json.loads((run / "stage3_mode_fusion" / "handoff.json").read_text())["metrics"]
    assert stage3["mix"]["tool"] == 4 and stage3["train"]["rows_over_max_length"] == 0, "tool rows fit whole"
    assert stage3["mix"]["length"] == 4, "rows asking for a length, answered within it"
    assert stage3["inherit_phase_train"]["steps"] == 2 and stage3["train"]["steps"] == 2, "each phase its own steps"
    assert stage3["inherit_phase_train"]["loss"] > 0 and stage3["train"]["loss"] > 0, "the mix did not resume the phase's checkpoint"
    assert stage3["inherit_phase_mix"]["no_think"] > 0 and "tool" not in stage3["inherit_phase_mix"]


def test_grpo_stages_log_a_curve_per_reward_and_task(smoke_run):
    run, _ = smoke_run
    for stage in ("stage2_reasoning_rl", "stage4_general_rl"):
        manifest = json.loads((run / stage / "handoff.json").read_text())
        train = manifest["metrics"]["train"]
        steps = len(train["reward_curve"])
        assert steps == train["steps"] > 0
        resolved = manifest["config"]["resolved"]
        names = resolved["rewards"] if stage == "stage2_reasoning_rl" else [
            f"{task}/{reward}" for task, spec in (resolved["tasks"] or DEFAULT_TASKS).items() for reward in spec["rewards"]]
        for name in names:
            assert len(train[f"{name}_curve"]) == steps, (stage, name)
        if stage == "stage2_reasoning_rl":  # stage 2 keeps a KL anchor (beta > 0) by default
            assert len(train["kl_curve"]) == steps


def test_checkpoints_load_with_the_hybrid_template(smoke_run):
    run, _ = smoke_run
    final = run / "stage4_general_rl"
    AutoModelForCausalLM.from_pretrained(final)
    assert AutoTokenizer.from_pretrained(final).chat_template == HYBRID_TEMPLATE


def test_report_has_every_stage_and_mode(smoke_run):
    run, proc = smoke_run
    report = json.loads((run / "report.json").read_text())
    assert list(report["stages"]) == STAGES and report["missing"] == []
    for stage in STAGES:
        modes = ("raw", "think") if stage == "base" else ("think", "no_think")  # the base never learned /no_think
        assert set(report["stages"][stage]) - {"mode_control", "train", "tool_use"} == set(modes)
        for mode in modes:
            row = report["stages"][stage][mode]
            assert row["n"] == 12
            assert 0.0 <= row["accuracy"] <= 1.0 and row["mean_tokens"] > 0
            assert row["adherence"] is None if mode == "raw" else 0.0 <= row["adherence"] <= 1.0
    md = (run / "report.md").read_text()
    assert "| base | raw |" in md and "| stage4_general_rl | think |" in md and "| stage4_general_rl | no_think |" in md
    assert md.startswith("| stage | mode | accuracy (±95% CI) | arithmetic | code | instruction | mean tokens |"), \
        "a column per family of the world"
    assert "| stage4_general_rl | math/mode_adherence |" in md and "| stage2_reasoning_rl | math_accuracy |" in md
    assert "stage4_general_rl" in proc.stdout


def test_stage3_trains_on_tool_trajectories_and_tool_use_is_evaluated(smoke_run):
    run, _ = smoke_run
    rows = [json.loads(line) for line in (run / "stage3_mode_fusion" / "data" / "fusion.jsonl").open()]
    tool = [r for r in rows if r["kind"] == "tool"]
    assert len(tool) == 4 and all(r["tools"][0]["function"]["name"] == "calculator" for r in tool)
    assert [m["role"] for m in tool[0]["messages"]] == ["user", "assistant", "tool", "assistant"]
    report = json.loads((run / "report.json").read_text())
    for stage in ("stage3_mode_fusion", "stage4_general_rl"):
        use = report["stages"][stage]["tool_use"]
        assert set(use) == {"think", "no_think"} and all(m["n"] == 2 and 0 <= m["success"] <= 1 for m in use.values())
    assert "tool_use" not in report["stages"]["stage2_reasoning_rl"]
    trained_with = yaml.safe_load((ROOT / "recipes" / "smoke" / "stage4.yaml").read_text())["tasks"]["tool"]["tools"]
    for stage in ("stage3_mode_fusion", "stage4_general_rl"):  # offered the tools it trained with, no others
        assert json.loads((run / stage / "tool_eval.json").read_text())["tools"] == trained_with == ["calculator"]
    assert "| stage4_general_rl | no_think | " in (run / "report.md").read_text().split("tool-use success")[1]


def test_report_card_has_instruction_following_length_control_and_the_stage4_gain(smoke_run):
    run, _ = smoke_run
    report = json.loads((run / "report.json").read_text())
    items = [json.loads(line) for line in (run / "base" / "world" / "eval.jsonl").open()]
    for stage in ("stage3_mode_fusion", "stage4_general_rl"):
        for mode in ("think", "no_think"):
            row = report["stages"][stage][mode]
            assert row["ifeval"]["n_prompts"] == sum(it["family"] == "instruction" for it in items) > 0
            assert row["length_control"]["n"] == sum(it["family"] == "arithmetic" for it in items) > 0
    gain = report["stage4_over_stage3"]
    metrics = {(r["metric"], r["mode"]) for r in gain["rows"]}
    assert {("IFEval prompt-level (toy instruction items)", "no_think"), ("length-control accuracy", "think"),
            ("tool-use success", "think"), ("ThinkFollow", "dialogues")} <= metrics
    assert gain["general_rl_tax"]["family"] == "arithmetic"
    md = (run / "report.md").read_text()
    assert "General-RL tax" in md and "| stage4_general_rl | no_think | " in md.split("IFEval prompt-level (±95% CI)")[1]


def test_stage3_pairs_its_non_thinking_rows_with_the_queries_it_sampled(smoke_run):
    run, _ = smoke_run
    metrics = json.loads((run / "stage3_mode_fusion" / "handoff.json").read_text())["metrics"]
    assert metrics["rejection_sampling"]["reference_filled"] == 8 - metrics["rejection_sampling"]["queries_kept"]
    assert metrics["mix"]["unpaired_non_thinking_dropped"] > 0
    queries = {json.loads(line)["prompt"] for line in list((run / "base" / "world" / "stage1.jsonl").open())[:8]}
    rows = [json.loads(line) for line in (run / "stage3_mode_fusion" / "data" / "fusion.jsonl").open()]
    # (length rows ask the same queries with a limit after them)
    asked = {set_flag(r["messages"][-2]["content"], None).split(" Answer in ")[0] for r in rows if r["kind"].startswith("no_think")}
    assert asked and asked <= queries


def test_stage4_tool_task_offers_its_tools_to_its_own_rows_only(smoke_run):
    run, _ = smoke_run
    rows = [json.loads(line) for line in (run / "stage4_general_rl" / "data" / "prompts.jsonl").open()]
    assert {(r["task"], r["environment"]) for r in rows} == {
        ("math", "none"), ("code", "none"), ("instruction", "none"), ("tool", "tool")}
    assert all(r["family"] == "tool" and r["answer"] for r in rows if r["task"] == "tool")
    train = json.loads((run / "stage4_general_rl" / "handoff.json").read_text())["metrics"]["train"]
    assert len(train["tool/math_accuracy_curve"]) == train["steps"]


def test_stage4_keeps_only_the_learnable_rows_of_the_tasks_that_ask_for_it(smoke_run, tmp_path, env):
    """Tool and math rows are sampled in their own mode (tool rows as episodes) and kept only when
    some but not all samples are right; every candidate is counted, the other tasks keep theirs."""
    run, _ = smoke_run
    out = tmp_path / "stage4_general_rl"
    proc = subprocess.run([sys.executable, "-m", "stage4_general_rl", "--config", "recipes/smoke/stage4.yaml",
                           "--parent", str(run / "stage3_mode_fusion"), "--output", str(out),
                           "--set", "learnability.tasks=[tool, math]", "--set", "learnability.k=2",
                           "--set", "learnability.pool=2", "--set", "learnability.max_new_tokens=16",
                           "--set", "trainer.max_steps=1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "handoff.json").read_text())["metrics"]
    rows = Counter(json.loads(line)["task"] for line in (out / "data" / "prompts.jsonl").open())
    for task in ("tool", "math"):
        s, mix = metrics["query_selection"][task], metrics["tasks"][task]
        assert s["candidates"] == mix["taken"] == 2 * mix["asked"], (s, mix)
        assert s["kept"] + s["dropped_too_easy"] + s["dropped_too_hard"] == s["candidates"]
        assert rows[task] == s["used"] == min(s["kept"], mix["asked"])
    assert rows["code"] == metrics["tasks"]["code"]["taken"] and rows["instruction"] == metrics["tasks"]["instruction"]["taken"]
    assert metrics["prompts"]["after_selection"] == dict(Counter(
        f"{r['task']}/{r['mode']}" for r in map(json.loads, (out / "data" / "prompts.jsonl").open())))


def test_stage4_focus_phase_trains_on_its_tasks_alone_after_the_mix(smoke_run, tmp_path, env):
    """A focus phase on the tool task: its rows are tool episodes only, in the tool environment, it
    trains its own steps after the mixed phase, and it is recorded."""
    run, _ = smoke_run
    out = tmp_path / "stage4_general_rl"
    proc = subprocess.run([sys.executable, "-m", "stage4_general_rl", "--config", "recipes/smoke/stage4.yaml",
                           "--parent", str(run / "stage3_mode_fusion"), "--output", str(out),
                           "--set", "focus_phase.tasks=[tool]", "--set", "focus_phase.steps=2", "--set", "trainer.max_steps=1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    handoff = json.loads((out / "handoff.json").read_text())
    focus = handoff["metrics"]["focus_phase"]
    rows = [json.loads(line) for line in (out / "data" / "focus_prompts.jsonl").open()]
    assert {(r["task"], r["environment"]) for r in rows} == {("tool", "tool")}
    assert len(rows) == focus["tasks"]["tool"]["taken"] == handoff["data"]["focus_prompts"]["rows"]
    assert set(focus["tasks"]) == {"tool", "items_of_no_task"}
    assert handoff["metrics"]["train"]["steps"] == 1 and focus["train"]["steps"] == 2
    assert len(focus["train"]["tool/math_accuracy_curve"]) == 2
    assert not any(focus["train"].get("math/math_accuracy_curve") or [])  # no math prompt in the phase
    # the report card lists the phase's rewards after the mix's, only those of its tasks
    shutil.copy(run / "stage4_general_rl" / "eval.json", out / "eval.json")
    md = to_markdown(build_report(tmp_path))
    assert "| stage4_general_rl (focus phase) | tool/math_accuracy |" in md
    assert re.search(r"\| stage4_general_rl \(focus phase\) \| -?[0-9.]+ \| -?[0-9.]+ \| 2 \|", md)  # mean reward, 2 steps
    assert "| stage4_general_rl (focus phase) | math/" not in md


def test_report_card_has_mode_control_and_the_budget_curve(smoke_run, env):
    run, _ = smoke_run
    report = json.loads((run / "report.json").read_text())
    for stage in ("stage3_mode_fusion", "stage4_general_rl"):  # ThinkFollow and the flag probe run after the fusion stages
        control = report["stages"][stage]["mode_control"]
        assert control["think_follow_turns"] == 12 and 0.0 <= control["think_follow"] <= 1.0
        assert control["no_think_leakage"] is not None
        probe = json.loads((run / stage / "flag_probe.json").read_text())
        assert probe["n"] == 3 and len(probe["cases"]) == 10
    assert "think_follow" not in report["stages"]["stage2_reasoning_rl"]["mode_control"]
    subprocess.run([sys.executable, "-m", "hybridthink.budget_eval", "--model", str(run / "stage4_general_rl"),
                    "--items", str(run / "base/world/eval.jsonl"), "--budgets", "0,8", "--max-answer-tokens", "16",
                    "--out", str(run / "budget")], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    subprocess.run(["bash", "scripts/report.sh", str(run)], cwd=ROOT, env=env, check=True, capture_output=True)
    md = (run / "report.md").read_text()
    assert "| stage4_general_rl | " in md.split("ThinkFollow")[1], "a mode-control row for stage 4"
    assert "| N = 0 | N = 8 | area |" in md
    curve = json.loads((run / "report.json").read_text())["budget_curves"]["stage4_general_rl"]
    assert [p["budget"] for p in curve["points"]] == [0, 8]
    levels = curve["efforts"]["levels"]  # the checkpoint's own effort levels, from stage 3's recipe
    assert {k: v["budget"] for k, v in levels.items()} == {"low": 2, "high": 8}


def test_stage4_gain_on_a_larger_held_out_set_averages_several_stage4_runs(smoke_run, env, tmp_path):
    """The pipeline measures stage 4's gain on a held-out set new to the world and reports it; the
    script averages several stage-4 runs, keeps evaluations of unchanged checkpoints and redoes one
    whose checkpoint changed."""
    run, _ = smoke_run
    world = {json.loads(line)["prompt"] for path in (run / "base" / "world").glob("*.jsonl") for line in path.open()}
    held = [json.loads(line) for line in (run / "heldout_gain" / "heldout" / "heldout.jsonl").open()]
    assert len(held) == 4 * len({it["family"] for it in held}) and not {it["prompt"] for it in held} & world
    md = (run / "report.md").read_text()
    assert "on the larger held-out set in `heldout_gain/`:" in md and md.count("Up beyond its CI:") == 2

    out = tmp_path / "gain"
    shutil.copytree(run / "heldout_gain", out)
    stage3, stage4 = str(run / "stage3_mode_fusion"), str(run / "stage4_general_rl")
    kept = (out / "stage4_1" / "eval.json").stat().st_mtime_ns

    def gain_heldout(*stage4s):
        proc = subprocess.run(["bash", "scripts/gain_heldout.sh", stage3, *stage4s[:1], str(out), *stage4s[1:]], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return (out / "gain.md").read_text()

    gain = gain_heldout(stage4, stage4)
    assert (out / "stage4_1" / "eval.json").stat().st_mtime_ns == kept, "an unchanged checkpoint is not evaluated again"
    for name in ("stage3", "stage4_1", "stage4_2"):
        assert {"eval.json", "eval_items.jsonl", "thinkfollow.json", "tool_eval.json"} <= {p.name for p in (out / name).iterdir()}
    assert "the mean of stage4_1, stage4_2 over stage3" in gain and "| ThinkFollow | dialogues |" in gain
    row = next(line for line in gain.splitlines() if line.startswith("| tool-use success | no_think |"))
    first, second = row.rstrip(" |").rsplit("| ", 1)[1].split(" / ")
    assert first == second and row.split(" | ")[5].startswith("3"), "the same model twice: the same change; 3 episodes"
    gain = gain_heldout(stage3)  # another checkpoint under stage4_1: evaluated anew, so no change at all
    changes = [line.split(" | ")[4] for line in gain.splitlines() if line.startswith("| ") and " ± " in line]
    assert changes and all(c.startswith("+0.000 ± 0.000") for c in changes), changes


def test_effort_levels_of_the_recipe_travel_with_the_checkpoints(smoke_run, env, tmp_path):
    run, _ = smoke_run
    for stage in ("stage3_mode_fusion", "stage4_general_rl"):
        assert json.loads((run / stage / "thinking_efforts.json").read_text()) == {"low": 2, "high": 8}
    assert not (run / "stage2_reasoning_rl" / "thinking_efforts.json").exists()
    proc = subprocess.run([sys.executable, "-m", "stage3_mode_fusion", "--config", "recipes/smoke/stage3.yaml",
                           "--parent", str(run / "stage2_reasoning_rl"), "--output", str(tmp_path / "s3"),
                           "--set", "efforts.low=-1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "recipes/smoke/stage3.yaml: effort level 'low' needs a budget in tokens >= 0" in proc.stderr


def test_finished_stages_are_skipped_on_rerun(smoke_run, env):
    run, _ = smoke_run
    proc = subprocess.run(["bash", "scripts/stage2.sh", "recipes/smoke", str(run / "stage1_cold_start"),
                           str(run / "stage2_reasoning_rl")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "already holds a complete handoff" in proc.stdout


def test_killed_stage_resumes_from_its_last_checkpoint(smoke_run, tmp_path, env):
    run, _ = smoke_run
    out = tmp_path / "stage1"
    cmd = [sys.executable, "-m", "stage1_cold_start", "--config", "recipes/smoke/stage1.yaml",
           "--parent", str(run / "base"), "--output", str(out),
           "--set", "trainer.max_steps=40", "--set", "trainer.save_steps=2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "trainer").glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "handoff.json").exists(), "the stage finished before it could be killed"
    (out / "trainer" / "checkpoint-999").mkdir()  # a checkpoint the kill cut off mid-write
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in done.stdout and "checkpoint-" in done.stdout
    assert validate_parent(out)["metrics"]["train"]["steps"] == 40


# The smoke stage-1 model solves no stage-2 query, so GRPO gets no advantage there and moves no
# weight; its merge is still checked (a saved PeftModel would write an adapter, not a checkpoint).
@pytest.mark.parametrize("stage,parent,learns", [("stage1_cold_start", "base", True),
                                                 ("stage2_reasoning_rl", "stage1_cold_start", False)])
def test_lora_stage_hands_off_a_merged_plain_checkpoint(smoke_run, tmp_path, env, stage, parent, learns):
    run, _ = smoke_run
    out = tmp_path / stage
    proc = subprocess.run([sys.executable, "-m", stage, "--config", f"recipes/smoke/{stage[:6]}.yaml",
                           "--parent", str(run / parent), "--output", str(out),
                           "--set", "lora.enabled=true", "--set", "lora.r=4", "--set", "trainer.max_steps=2",
                           "--set", "trainer.learning_rate=1e-2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (out / "adapter_config.json").exists()
    before = AutoModelForCausalLM.from_pretrained(run / parent).state_dict()
    after = AutoModelForCausalLM.from_pretrained(out).state_dict()
    assert after.keys() == before.keys()  # no lora_A / lora_B left: the adapter was merged
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert all(k.endswith("proj.weight") for k in changed), changed  # only the adapted linears moved
    assert bool(changed) == learns


def test_packed_stage_keeps_each_packed_row_a_batch_row(smoke_run, tmp_path, env):
    run, _ = smoke_run
    out = tmp_path / "stage1_cold_start"
    proc = subprocess.run([sys.executable, "-m", "stage1_cold_start", "--config", "recipes/smoke/stage1.yaml",
                           "--parent", str(run / "base"), "--output", str(out), "--set", "trainer.max_steps=2",
                           "--set", "trainer.packing=true", "--set", "trainer.packing_strategy=bfd"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "packing: each packed row stays a batch row (attention 'sdpa'" in proc.stdout
    assert json.loads((out / "handoff.json").read_text())["metrics"]["train"]["packing"] == "rows"
    plain = json.loads((run / "stage1_cold_start" / "handoff.json").read_text())["metrics"]["train"]
    assert plain["packing"] is None


def test_two_processes_hand_off_the_same_data_as_one(smoke_run, tmp_path, env):
    """`accelerate launch` with two processes on the CPU (gloo): both run the stage, the main one
    alone writes, both train on the rows it wrote, and the handoff matches the one-process run's."""
    run, _ = smoke_run
    out = tmp_path / "stage1_cold_start"
    proc = subprocess.run(["bash", "scripts/stage1.sh", "recipes/smoke", str(run / "base"), str(out)], cwd=ROOT,
                          env={**env, "ACCELERATE_CONFIG": "recipes/accelerate/cpu_ddp.yaml", "NUM_PROCESSES": "2"},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.count("[stage1_cold_start] sft_samples:") == 2, "both processes curate the data"
    one, two = (json.loads((d / "handoff.json").read_text()) for d in (run / "stage1_cold_start", out))
    validate_parent(out, "stage1_cold_start")
    assert two["data"]["sft"]["sha256"] == one["data"]["sft"]["sha256"]
    assert two["metrics"]["curation"] == one["metrics"]["curation"]
    assert (one["metrics"]["train"]["processes"], two["metrics"]["train"]["processes"]) == (1, 2)
    assert two["metrics"]["train"]["steps"] == one["metrics"]["train"]["steps"]
    assert not (out / "trainer").exists()
    AutoModelForCausalLM.from_pretrained(out)


def zero3_launch(tmp_path: Path, processes: int) -> dict:
    """An accelerate launch of DeepSpeed ZeRO-3 on CPU processes (gloo) that partitions every weight:
    the shipped zero3.yaml leaves parameters under 1e5 elements whole, which would be all of a tiny model's."""
    ds = tmp_path / "ds_zero3.json"
    ds.write_text(json.dumps({"zero_optimization": {"stage": 3, "stage3_param_persistence_threshold": 0,
                                                    "stage3_gather_16bit_weights_on_model_save": True},
                              **{k: "auto" for k in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                                                     "gradient_clipping", "train_batch_size")}}))
    launch = tmp_path / f"zero3_cpu_{processes}.yaml"
    launch.write_text(yaml.safe_dump({"compute_environment": "LOCAL_MACHINE", "distributed_type": "DEEPSPEED",
                                      "deepspeed_config": {"deepspeed_config_file": str(ds), "zero3_init_flag": False},
                                      "num_machines": 1, "num_processes": processes, "use_cpu": True}))
    return {"ACCELERATE_CONFIG": str(launch)}


def test_zero3_stages_hand_off_the_whole_trained_weights(smoke_run, tmp_path, env):
    """Under ZeRO-3 each process holds a shard of every weight; the handoff must hold the whole
    trained weights (saving the model's own state wrote empty tensors), for SFT and for GRPO."""
    run, _ = smoke_run
    one = tmp_path / "stage1_one"
    proc = subprocess.run(["bash", "scripts/stage1.sh", "recipes/smoke", str(run / "base"), str(one)], cwd=ROOT,
                          env={**env, **zero3_launch(tmp_path, 1)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    plain = AutoModelForCausalLM.from_pretrained(run / "stage1_cold_start").state_dict()
    sharded = AutoModelForCausalLM.from_pretrained(one).state_dict()
    base = AutoModelForCausalLM.from_pretrained(run / "base").state_dict()
    assert sharded.keys() == plain.keys()
    assert all(torch.allclose(sharded[k], plain[k], atol=1e-6) for k in plain), "ZeRO-3 on one process trains as without it"
    assert any(not torch.allclose(plain[k], base[k], atol=1e-6) for k in plain), "stage 1 moved no weight"
    # Two processes: the shards are gathered across ranks; GRPO generates with them. (No reference model:
    # on CPU accelerate leaves DeepSpeed's own process group to the Trainer, too late for the reference
    # model's zero.Init; on GPUs accelerate starts it first.)
    two = tmp_path / "stage2_two"
    proc = subprocess.run(["bash", "scripts/stage2.sh", "recipes/smoke", str(one), str(two), "--set", "trainer.beta=0.0"],
                          cwd=ROOT, env={**env, **zero3_launch(tmp_path, 2)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert validate_parent(two, "stage2_reasoning_rl")["metrics"]["train"]["processes"] == 2
    after = AutoModelForCausalLM.from_pretrained(two).state_dict()
    assert {k: v.shape for k, v in after.items()} == {k: v.shape for k, v in sharded.items()}
    lora = subprocess.run(["bash", "scripts/stage1.sh", "recipes/smoke", str(run / "base"), str(tmp_path / "lora"),
                           "--set", "lora.enabled=true"], cwd=ROOT, env={**env, **zero3_launch(tmp_path, 1)},
                          capture_output=True, text=True, timeout=600)
    assert lora.returncode != 0 and "'lora' cannot be merged under DeepSpeed ZeRO-3" in lora.stderr


def test_stage4_trains_on_a_preference_reward_model_a_judge_and_length_limits(smoke_run, tmp_path, env):
    """A reward model trained by RewardTrainer from the stage-3 checkpoint, and that checkpoint as a
    judge, used by a stage-4 task; a second task asks for length limits."""
    run, _ = smoke_run
    rm = tmp_path / "reward_model"
    proc = subprocess.run([sys.executable, "-m", "hybridthink.reward_model", "--base", str(run / "stage3_mode_fusion"),
                           "--output", str(rm), "--max-steps", "2", "--max-pairs", "48"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    checked = json.loads((rm / "reward_model.json").read_text())
    assert checked["steps"] == 2 and checked["train_pairs"]["all"]["n"] == 48 and checked["held_out_pairs"]["all"]["n"] > 0
    out = tmp_path / "stage4_general_rl"
    tasks = ("{chat: {families: [arithmetic, code], share: 1, rewards: {preference: 1.0, judge: 1.0, mode_adherence: 1.0}}, "
             "short: {families: [instruction], share: 1, rewards: {length: 1.0}}}")
    recipe = yaml.safe_load((ROOT / "recipes" / "smoke" / "stage4.yaml").read_text())
    recipe.pop("tasks")  # only the two tasks below
    (tmp_path / "stage4.yaml").write_text(yaml.safe_dump(recipe))
    proc = subprocess.run([sys.executable, "-m", "stage4_general_rl", "--config", str(tmp_path / "stage4.yaml"),
                           "--parent", str(run / "stage3_mode_fusion"), "--output", str(out),
                           "--set", f"reward_model.path={rm}", "--set", f"judge.path={run / 'stage3_mode_fusion'}",
                           "--set", "judge.max_new_tokens=8", "--set", f"tasks={tasks}",
                           "--set", "trainer.per_device_train_batch_size=16"],  # 4 prompts a step: both tasks
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "handoff.json").read_text())["metrics"]
    train = metrics["train"]
    assert sum(v for k, v in metrics["prompts"].items() if k.startswith("length_limit/")) == metrics["tasks"]["short"]["taken"] > 0
    assert len(train["short/length_curve"]) == train["steps"]
    curve = train["chat/preference_curve"]
    assert len(curve) == train["steps"] == 2 and all(isinstance(v, float) and v == v for v in curve), curve
    # the smoke model as a judge writes no usable verdict: the judge reward is counted unparseable
    assert len(train["chat/judge_curve"]) == 2 and train["judge_unparseable_curve"] == [1.0, 1.0]


def test_mix_sweep_runs_each_mix_and_seed_reusing_one_rejection_sampling(smoke_run, env, tmp_path):
    run, _ = smoke_run
    mixes = "recipes/toy/mixes/think_heavy.yaml recipes/toy/mixes/unpaired.yaml"
    proc = subprocess.run(["bash", "scripts/sweep_mixes.sh", "recipes/smoke", str(run / "stage2_reasoning_rl"), str(tmp_path)],
                          cwd=ROOT, env={**env, "MIXES": mixes, "SEEDS": "0 1", "EVAL_ARGS": "--max-new-tokens 48"},
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    runs = ["think_heavy_seed0", "think_heavy_seed1", "unpaired_seed0", "unpaired_seed1"]
    manifests = {name: json.loads((tmp_path / name / "handoff.json").read_text()) for name in runs}
    assert "reused_from" not in manifests[runs[0]]["metrics"]["rejection_sampling"]
    for name in runs[1:]:
        assert manifests[name]["metrics"]["rejection_sampling"]["reused_from"] == str(tmp_path / runs[0])
        assert manifests[name]["data"]["rejection_sampled"]["sha256"] == manifests[runs[0]]["data"]["rejection_sampled"]["sha256"]
    picked = Counter()
    for group, n in manifests["think_heavy_seed0"]["metrics"]["mix"]["by_group"].items():
        picked[group.rsplit("/", 1)[1]] += n
    assert picked["think"] > 2 * picked["no_think"] > 0, picked
    assert manifests["think_heavy_seed1"]["config"]["resolved"]["trainer"]["seed"] == 1
    stage1 = {json.loads(line)["prompt"] for line in (run / "base" / "world" / "stage1.jsonl").open()}
    rows = [json.loads(line) for line in (tmp_path / "unpaired_seed0" / "data" / "fusion.jsonl").open()]
    asked = {set_flag(r["messages"][-2]["content"], None) for r in rows
             if r["kind"].startswith("no_think") and not r["kind"].endswith("_length")}  # length rows: sampled queries
    assert asked and not asked & stage1, "the unpaired mix asks its non-thinking questions from another split"
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert list(sweep["mixes"]) == ["think_heavy", "unpaired"] and sweep["mixes"]["unpaired"]["seeds"] == [0, 1]
    assert (tmp_path / "pareto.png").stat().st_size > 10_000
    assert "| think_heavy | 0, 1 |" in (tmp_path / "sweep.md").read_text()
    again = subprocess.run([sys.executable, "-m", "stage3_mode_fusion", "--config", "recipes/smoke/stage3.yaml",
                            "--parent", str(run / "stage2_reasoning_rl"), "--output", str(tmp_path / "k3"),
                            "--set", "rejection_sampling.k=3", "--set", f"rejection_sampling.reuse={tmp_path / runs[0]}"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "sampled with other rejection_sampling.k" in again.stderr


def test_split_variants_keep_one_mode_without_flags_and_are_compared_with_the_hybrid(smoke_run, env, tmp_path):
    run, _ = smoke_run
    proc = subprocess.run(["bash", "scripts/split_variants.sh", "recipes/smoke", str(run), str(tmp_path)], cwd=ROOT,
                          env={**env, "EVAL_ARGS": "--max-new-tokens 32"}, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    for variant, mode in (("instruct", "no_think"), ("thinking", "think")):
        s3, s4 = tmp_path / variant / "stage3_mode_fusion", tmp_path / variant / "stage4_general_rl"
        fusion = [json.loads(line) for line in (s3 / "data" / "fusion.jsonl").open()]
        assert {r["kind"].removesuffix("_length") for r in fusion} == {mode}
        reused = json.loads((s3 / "handoff.json").read_text())["metrics"]["rejection_sampling"]["reused_from"]
        assert reused == str(run / "stage3_mode_fusion"), "the variants reuse the hybrid's samples"
        phase = [json.loads(line) for line in (s3 / "data" / "inherit_phase.jsonl").open()]
        assert {r["kind"] for r in phase} == {mode}, "a variant's first phase trains its one mode"
        assert json.loads((s3 / "handoff.json").read_text())["metrics"]["inherit_phase_train"]["steps"] == 2
        prompts = [json.loads(line) for line in (s4 / "data" / "prompts.jsonl").open()]
        assert {r["mode"] for r in prompts} == {mode}
        turns = [m for r in fusion + phase for m in r["messages"] if m["role"] != "assistant"] + [
            m for r in prompts for m in r["prompt"]]
        assert not any("/think" in m["content"] or "/no_think" in m["content"] for m in turns), "the variants have no switches"
        for stage in (s3, s4):
            assert template_variant(AutoTokenizer.from_pretrained(stage)) == variant
            modes = json.loads((stage / "eval.json").read_text())["modes"]
            assert list(modes) == [mode] and modes[mode]["n"] > 0 and modes[mode]["adherence"] is not None
        train = json.loads((s4 / "handoff.json").read_text())["metrics"]["train"]
        assert len(train["math/mode_adherence_curve"]) == train["steps"] > 0
    tax = json.loads((tmp_path / "hybrid_tax.json").read_text())
    assert [(r["stage"], r["mode"], r["variant"]) for r in tax] == [
        (stage, mode, variant) for stage in ("stage3_mode_fusion", "stage4_general_rl")
        for mode, variant in (("no_think", "instruct"), ("think", "thinking"))]
    row = tax[0]
    hybrid = json.loads((run / "stage3_mode_fusion" / "eval.json").read_text())["modes"]["no_think"]
    assert row["hybrid_accuracy"] == hybrid["accuracy"] and row["n"] == hybrid["n"]
    assert row["tax"] == pytest.approx(row["variant_accuracy"] - row["hybrid_accuracy"])
    assert "| stage4_general_rl | think |" in (tmp_path / "hybrid_tax.md").read_text()
