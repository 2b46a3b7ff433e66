"""A multi-turn tool episode end to end on a tiny model: SFT on one calculator trajectory, then the
evaluation loop and TRL's GRPO tool loop both call the tool and feed its answer back."""

import copy

import pytest
from datasets import Dataset
from transformers.utils import get_json_schema
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

from hybridthink.rewards import math_accuracy_reward
from hybridthink.chat_template import with_response_parser
from hybridthink.learnability import pass_rates, select_learnable
from hybridthink.tool_episodes import call_tool, run_episodes
from hybridthink.tools import calculator

QUESTION = {"role": "user", "content": "What is 482 * 937?"}
CALL = {"type": "function", "function": {"name": "calculator", "arguments": {"expression": "482 * 937"}}}
TRAJECTORY = [
    QUESTION,
    {"role": "assistant", "reasoning_content": "Too large for my head: use the calculator.", "content": "",
     "tool_calls": [CALL]},
    {"role": "tool", "name": "calculator", "content": "451634"},
    {"role": "assistant", "reasoning_content": "The calculator says 451634.", "content": "The answer is \\boxed{451634}."},
]
COMMON = dict(use_cpu=True, bf16=False, report_to=[], save_strategy="no", logging_steps=1, seed=0)


@pytest.fixture(scope="module")
def tool_model(tokenizer, tiny_model, tmp_path_factory):
    """The tiny model after SFT on the trajectory above (it learns to call, read and answer)."""
    tok = with_response_parser(copy.deepcopy(tokenizer))
    model = copy.deepcopy(tiny_model).train()
    model.config.max_position_embeddings = 2048  # the tools' schemas alone take ~400 tokens of this tokenizer
    args = SFTConfig(output_dir=str(tmp_path_factory.mktemp("sft")), max_steps=80, learning_rate=1e-2,
                     per_device_train_batch_size=1, assistant_only_loss=True, **COMMON)
    rows = Dataset.from_list([{"messages": TRAJECTORY, "tools": [get_json_schema(calculator)]}])
    SFTTrainer(model=model, args=args, train_dataset=rows, processing_class=tok).train()
    return model.eval(), tok


def test_episode_calls_the_tool_reads_the_response_and_answers(tool_model):
    model, tok = tool_model
    [episode] = run_episodes(model, tok, [[QUESTION]], [calculator], max_new_tokens=160)
    roles = [m["role"] for m in episode.messages]
    assert roles == ["assistant", "tool", "assistant"], episode.messages
    assert episode.messages[0]["tool_calls"][0]["function"] == CALL["function"]
    assert episode.messages[1]["content"] == "451634" and (episode.tool_calls, episode.tool_failures) == (1, 0)
    assert math_accuracy_reward([None], [episode.final_text], answer=["451634"]) == [1.0]


def test_bad_calls_are_answered_with_an_error_not_an_exception():
    tools = {"calculator": calculator}
    assert call_tool(tools, CALL) == ("451634", False)
    text, failed = call_tool(tools, {"function": {"name": "search", "arguments": {}}})
    assert failed and text.startswith("error: unknown tool 'search'")
    assert call_tool(tools, {"function": {"name": "calculator", "arguments": "482*937"}})[1]
    assert call_tool(tools, {"function": {"name": "calculator", "arguments": {"expr": "1"}}})[1]
    assert call_tool(tools, {"function": {"name": "calculator", "arguments": {"expression": "1/0"}}}) == (
        "error: ZeroDivisionError: division by zero", False), "a tool's own error is its answer, not a bad call"


def test_grpo_tool_loop_runs_the_tool_and_masks_its_tokens(tool_model, tmp_path):
    model, tok = tool_model
    seen = []

    def reward(prompts, completions, answer, **kwargs):
        seen.extend(completions)
        return math_accuracy_reward(prompts, completions, answer)

    args = GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=200, learning_rate=1e-6, beta=0.0, temperature=0.1, **COMMON)
    trainer = GRPOTrainer(model=copy.deepcopy(model), reward_funcs=[reward], args=args, processing_class=tok,
                          train_dataset=Dataset.from_list([{"prompt": [QUESTION], "answer": "451634"}] * 2),
                          tools=[calculator])
    trainer.train()
    logged = {k: v for row in trainer.state.log_history for k, v in row.items()}
    assert logged["tools/call_frequency"] > 0 and logged["tools/failure_frequency"] == 0
    tool_turns = [m for c in seen for m in c if m["role"] == "tool"]
    assert tool_turns and all(m["content"] == "451634" for m in tool_turns)
    assert logged["rewards/reward/mean"] == 1.0


def test_sft_rows_longer_than_max_length_are_counted(tokenizer):
    """A row the trainer would cut (its answer lost) is counted: tool rows carry the tool schema."""
    from hybridthink.toy.tool_tasks import make_items, sft_rows
    from hybridthink.training import rows_over_length

    rows = sft_rows(make_items(3, seed=0, difficulties=[1]), no_think_share=0.0, seed=0)
    rows.append({"messages": [{"role": "user", "content": "2 + 3?"}, {"role": "assistant", "content": "5"}]})
    lengths = [len(tokenizer(tokenizer.apply_chat_template(r["messages"], tools=r.get("tools"), tokenize=False,
                                                           **r.get("chat_template_kwargs", {})))["input_ids"]) for r in rows]
    assert lengths[-1] < min(lengths[:3])
    assert rows_over_length(tokenizer, rows, min(lengths[:3]) - 1) == 3
    assert rows_over_length(tokenizer, rows, max(lengths)) == 0
    assert rows_over_length(tokenizer, rows, None) == 0


def test_learnability_samples_tool_episodes_and_grades_their_final_answer(tool_model):
    """Pass rates with tools: each sample is an episode; its final answer, read from the calculator,
    is right for the true product and wrong for another, so neither item is learnable."""
    model, tok = tool_model
    items = [{"family": "tool", "prompt": QUESTION["content"], "answer": answer} for answer in ("451634", "451635")]
    rates = pass_rates(model, tok, items, k=3, max_new_tokens=160, temperature=0.1, batch_size=8, seed=0,
                       conversations=[[QUESTION]] * 2, tools=[calculator])
    assert rates == [1.0, 0.0]
    assert select_learnable(items, rates)[1] == {
        "candidates": 2, "dropped_too_easy": 1, "dropped_too_hard": 1, "kept": 0, "kept_by_family": {}, "mean_pass_rate": 0.5}
    assert pass_rates(model, tok, items[:1], k=3, max_new_tokens=160, temperature=0.1, batch_size=8, seed=0) == [0.0], \
        "without the calculator the tiny model cannot answer"
