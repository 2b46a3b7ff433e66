"""Toy-world tool tasks: items the calculator answers, trajectories that render as generated."""

import json

from hybridthink.chat_template import render
from hybridthink.jsonl import read_jsonl
from hybridthink.modes import completion_mode
from hybridthink.rewards import assistant_turns, mode_adherence_reward, think_format_reward
from hybridthink.toy.base import write_world
from hybridthink.toy.tool_tasks import make_items, pretraining_text, sft_rows, trajectory
from hybridthink.toy.world import pretraining_corpus
from hybridthink.tools import calculator


def test_items_are_distinct_products_the_calculator_answers():
    items = make_items(60, seed=0, difficulties=[2, 3])
    assert len({it["expression"] for it in items}) == 60 and len({it["id"] for it in items}) == 60
    assert all(calculator(it["expression"]) == it["answer"] and int(it["answer"]) >= 1000 for it in items)
    assert not {it["prompt"] for it in make_items(20, seed=1, difficulties=[2], exclude={items[0]["prompt"]})} & {
        items[0]["prompt"]}


def test_no_product_is_asked_in_two_splits_of_the_world(tmp_path):
    recipe = {"world": {"seed": 0, "families": ["arithmetic"], "difficulties": [1],
                        "sizes": {"pretrain": 5, "stage1": 5, "stage2": 5, "stage3": 5, "stage4": 5, "eval": 5},
                        "tool_sizes": {"pretrain": 2500, "stage3": 200, "eval": 40}, "tool_difficulties": [1]}}
    write_world(recipe, tmp_path)
    products = {split: {it["expression"] for it in read_jsonl(tmp_path / f"tool_{split}.jsonl")}
                for split in ("pretrain", "stage3", "eval")}
    assert sum(map(len, products.values())) == 2740
    assert not products["eval"] & (products["pretrain"] | products["stage3"])
    assert not products["pretrain"] & products["stage3"]


def test_trajectories_render_as_the_model_generates_them_in_both_modes(tokenizer):
    item = make_items(1, seed=0, difficulties=[2])[0]
    for thinking in (True, False):
        steps = trajectory(item, thinking)
        assert steps[1]["content"] == calculator(item["expression"])
        assert item["answer"] in steps[2]["content"]
        user = [{"role": "user", "content": item["prompt"] + ("" if thinking else " /no_think")}]
        whole = render(tokenizer, user + steps)
        for end in (1, 3):  # every generation prompt is a prefix of the whole rendering
            assert whole.startswith(render(tokenizer, user + steps[:end - 1] if end > 1 else user,
                                           add_generation_prompt=True))
        replies = whole.split("<|im_start|>assistant\n")[1:]
        # thinking before the call only: the answer follows the tool's result straight away in both modes
        assert [completion_mode(r.split("<|im_end|>")[0]) for r in replies] == ["think" if thinking else "no_think", "no_think"]


def test_sft_rows_offer_the_calculator_and_flag_the_non_thinking_share():
    rows = sft_rows(make_items(40, seed=0, difficulties=[2]), no_think_share=0.5, seed=0)
    flagged = sum(r["messages"][0]["content"].endswith(" /no_think") for r in rows)
    assert 10 <= flagged <= 30
    assert all(r["tools"][0]["function"]["name"] == "calculator" and len(r["messages"]) == 4 for r in rows)


def test_sft_rows_render_like_the_parsed_calls_they_teach(tokenizer):
    item = make_items(1, seed=0, difficulties=[2])[0]
    [row] = sft_rows([item], no_think_share=0.0, seed=0)
    parsed = [{"role": "user", "content": item["prompt"]}, *trajectory(item, True)]  # arguments as a dict
    assert render(tokenizer, row["messages"], tools=row["tools"]) == render(tokenizer, parsed, tools=row["tools"])


def test_pretraining_text_shows_the_call_format_without_the_chat_template():
    item = make_items(1, seed=0, difficulties=[2])[0]
    [text] = pretraining_corpus([item], worked_share=0.5, seed=0)
    assert text == pretraining_text(item)
    call = text.split("<tool_call>\n")[1].split("\n</tool_call>")[0]
    assert json.loads(call) == {"name": "calculator", "arguments": {"expression": item["expression"]}}
    assert f"<tool_response>\n{item['answer']}\n</tool_response>" in text and "<|im_start|>" not in text


def test_mode_reward_reads_every_turn_of_a_tool_episode_as_the_tool_loop_writes_it(tokenizer):
    item = make_items(1, seed=0, difficulties=[2])[0]
    for thinking, want in ((True, "think"), (False, "no_think")):
        [row] = sft_rows([item], no_think_share=0.0 if thinking else 1.0, seed=0)
        whole = render(tokenizer, row["messages"], tools=row["tools"])
        prompt = render(tokenizer, row["messages"][:1], tools=row["tools"], add_generation_prompt=True)
        raw = whole[len(prompt):]  # the completion: the call, the tool's turn, the answer
        decoded = tokenizer.decode(tokenizer.encode(raw, add_special_tokens=False), skip_special_tokens=True)
        other = "no_think" if thinking else "think"
        for text in (raw, decoded):
            assert len(assistant_turns(text)) == 2
            assert mode_adherence_reward(None, [text, text], [want, other]) == [1.0, 0.0]
            assert think_format_reward(None, [text]) == [1.0]
        # a second turn without its think block follows no mode
        broken = raw[: raw.rindex("<think>")] + raw[raw.rindex("</think>") + len("</think>"):].lstrip()
        assert mode_adherence_reward(None, [broken], [want]) == [0.0] and think_format_reward(None, [broken]) == [0.0]
        # thinking after the call: still 'think' in think mode, but thinking in a no_think episode
        late = raw[: raw.rindex("<think>")] + "<think>\nThe result is in.\n</think>\n\n" + raw[raw.rindex("</think>") + len("</think>"):].lstrip()
        assert mode_adherence_reward(None, [late], [want]) == [float(thinking)] and think_format_reward(None, [late]) == [1.0]
        if thinking:  # thinking only after the call does not make a think-mode reply
            first_empty = "<think>\n\n</think>\n\n" + raw[raw.index("</think>") + len("</think>"):].lstrip()
            assert mode_adherence_reward(None, [first_empty], ["think"]) == [0.0]
