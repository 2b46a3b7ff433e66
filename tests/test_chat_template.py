"""The hybrid chat template: Qwen3 rendering, generation markers, prefix property, TRL masks."""

from __future__ import annotations

import pytest
from trl.chat_template_utils import (has_generation_markers, is_chat_template_prefix_preserving,
                                     is_chat_template_stop_token_trained, qwen3_chat_template)

from hybridthink.chat_template import HYBRID_TEMPLATE, install_chat_template, render
from hybridthink.modes import EMPTY_THINK, split_thinking
from hybridthink.toy.tokenizer import build_tokenizer

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER = {"role": "user", "content": "What is 2 + 3?"}
ANSWER = {"role": "assistant", "reasoning_content": "Add them.", "content": "5"}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
TOOL_CHAT = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "reasoning_content": "Need the tool.", "content": "", "tool_calls": [CALL]},
    {"role": "tool", "content": "18C"},
    {"role": "assistant", "reasoning_content": "Got it.", "content": "It is 18C."},
]
MULTI_TURN = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "<think>\nGreet back.\n</think>\n\nHello!"},
    {"role": "user", "content": "What is 2 + 3?"},
    ANSWER,
]
NO_THINK_FLAG_CHAT = [{"role": "user", "content": "What is 2 + 3? /no_think"}, {"role": "assistant", "content": "5"}]

SYS_USER = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
)
TOOLS_SYSTEM = (
    "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    '{"type": "function", "function": {"name": "get_weather", "description": "Get the weather.", '
    '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n'
    "</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
)


def qwen3(tokenizer, messages, **kwargs) -> str:
    """Reference rendering with Qwen3's official template (as vendored by TRL)."""
    return tokenizer.apply_chat_template(messages, chat_template=qwen3_chat_template, tokenize=False, **kwargs)


def masked_spans(tokenizer, messages, **kwargs) -> tuple[list[str], str]:
    """Tokenise as TRL's SFTTrainer does; return the decoded runs of assistant-masked tokens and the full text."""
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, **kwargs
    )
    spans, run = [], []
    for token_id, masked in zip(out["input_ids"], out["assistant_masks"], strict=True):
        if masked:
            run.append(token_id)
        elif run:
            spans.append(tokenizer.decode(run))
            run = []
    if run:
        spans.append(tokenizer.decode(run))
    return spans, tokenizer.decode(out["input_ids"])


def test_install_sets_template(tokenizer):
    assert tokenizer.chat_template == HYBRID_TEMPLATE
    assert install_chat_template(tokenizer) is tokenizer


def test_single_turn_thinking(tokenizer):
    expected = SYS_USER + "<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n5<|im_end|>\n"
    assert render(tokenizer, [SYSTEM, USER, ANSWER]) == expected
    inline = {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n5"}
    assert render(tokenizer, [SYSTEM, USER, inline]) == expected


def test_single_turn_enable_thinking_false_drops_reasoning(tokenizer):
    expected = SYS_USER + "<|im_start|>assistant\n<think>\n\n</think>\n\n5<|im_end|>\n"
    assert render(tokenizer, [SYSTEM, USER, ANSWER], enable_thinking=False) == expected
    inline = {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n5"}
    assert render(tokenizer, [SYSTEM, USER, inline], enable_thinking=False) == expected


def test_single_turn_no_think_flag(tokenizer):
    expected = (
        "<|im_start|>user\nWhat is 2 + 3? /no_think<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n5<|im_end|>\n"
    )
    assert render(tokenizer, NO_THINK_FLAG_CHAT) == expected
    explicit = [NO_THINK_FLAG_CHAT[0], {"role": "assistant", "content": EMPTY_THINK + "5"}]
    assert render(tokenizer, explicit) == expected


def test_generation_prompts(tokenizer):
    assert render(tokenizer, [SYSTEM, USER], add_generation_prompt=True) == SYS_USER + "<|im_start|>assistant\n"
    assert (
        render(tokenizer, [SYSTEM, USER], add_generation_prompt=True, enable_thinking=False)
        == SYS_USER + "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )


def test_enable_thinking_none_is_default(tokenizer):
    for messages, prompt in (([SYSTEM, USER], True), ([SYSTEM, USER, ANSWER], False)):
        assert render(tokenizer, messages, add_generation_prompt=prompt, enable_thinking=None) == render(
            tokenizer, messages, add_generation_prompt=prompt
        )


def test_multi_turn_drops_earlier_reasoning(tokenizer):
    assert render(tokenizer, MULTI_TURN) == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n5<|im_end|>\n"
    )


def test_tool_calls_and_responses(tokenizer):
    assert render(tokenizer, TOOL_CHAT, tools=[TOOL]) == TOOLS_SYSTEM + (
        "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nNeed the tool.\n</think>\n\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n<think>\nGot it.\n</think>\n\nIt is 18C.<|im_end|>\n"
    )


def test_tool_responses_grouped_and_system_merged(tokenizer):
    messages = [
        SYSTEM,
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [CALL, CALL]},
        {"role": "tool", "content": "18C"},
        {"role": "tool", "content": "21C"},
    ]
    assert render(tokenizer, messages, tools=[TOOL], add_generation_prompt=True) == (
        TOOLS_SYSTEM.replace("<|im_start|>system\n", "<|im_start|>system\nYou are a helpful assistant.\n\n")
        + "<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\nChecking.\n"  # the empty block stays (EXTENSION)
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n21C\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_tool_response_wrapped_user_is_not_a_query(tokenizer):
    """Reasoning survives after a user turn that only wraps a tool response."""
    messages = [
        TOOL_CHAT[0],
        TOOL_CHAT[1],
        {"role": "user", "content": "<tool_response>\n18C\n</tool_response>"},
        TOOL_CHAT[3],
    ]
    text = render(tokenizer, messages)
    assert "<think>\nNeed the tool.\n</think>\n\n<tool_call>" in text
    assert text.endswith("<think>\nGot it.\n</think>\n\nIt is 18C.<|im_end|>\n")


CONVERSATIONS = {
    "single": ([SYSTEM, USER, ANSWER], None),
    "multi_turn": (MULTI_TURN, None),
    "tools": (TOOL_CHAT, [TOOL]),
    "no_think_flag": (NO_THINK_FLAG_CHAT, None),
}


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_identical_to_qwen3(tokenizer, name):
    """Every inference prompt and every thinking-mode training rendering matches Qwen3 byte for byte."""
    messages, tools = CONVERSATIONS[name]
    for end in range(1, len(messages) + 1):
        head = messages[:end]
        if head[-1]["role"] == "assistant":
            assert render(tokenizer, head, tools=tools) == qwen3(tokenizer, head, tools=tools)
        else:
            for thinking in (True, False):
                kwargs = {"tools": tools, "add_generation_prompt": True, "enable_thinking": thinking}
                assert render(tokenizer, head, **kwargs) == qwen3(tokenizer, head, **kwargs)


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_non_thinking_training_equals_qwen3_without_last_reasoning(tokenizer, name):
    """The extension: enable_thinking=False renders the last turn as Qwen3 does with its reasoning removed."""
    messages, tools = CONVERSATIONS[name]
    last = dict(messages[-1], reasoning_content="")
    last["content"] = split_thinking(last["content"])[1]
    assert render(tokenizer, messages, tools=tools, enable_thinking=False) == qwen3(
        tokenizer, messages[:-1] + [last], tools=tools
    )


@pytest.mark.parametrize(
    "messages, tools, thinking",
    [
        ([SYSTEM, USER, ANSWER], None, True),
        (MULTI_TURN, None, True),
        (TOOL_CHAT, [TOOL], True),
        (TOOL_CHAT[:2], [TOOL], True),
        ([SYSTEM, USER, ANSWER], None, False),
        (MULTI_TURN, None, False),
        (TOOL_CHAT, [TOOL], False),
        (NO_THINK_FLAG_CHAT, None, True),
        (NO_THINK_FLAG_CHAT, None, None),
    ],
)
def test_prefix_preserving(tokenizer, messages, tools, thinking):
    prompt = render(tokenizer, messages[:-1], tools=tools, add_generation_prompt=True, enable_thinking=thinking)
    full = render(tokenizer, messages, tools=tools, enable_thinking=thinking)
    assert full.startswith(prompt)
    assert full != prompt


@pytest.mark.parametrize(
    "messages, tools, thinking, expected",
    [
        (
            [SYSTEM, USER, ANSWER],
            None,
            True,
            ["<think>\nAdd them.\n</think>\n\n5<|im_end|>"],
        ),
        (
            MULTI_TURN,
            None,
            True,
            # an earlier turn is context (rendered without its think block): only its end is trained
            ["<|im_end|>", "<think>\nAdd them.\n</think>\n\n5<|im_end|>"],
        ),
        (
            TOOL_CHAT,
            [TOOL],
            True,
            [
                "<think>\nNeed the tool.\n</think>\n\n"
                '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
                "<think>\nGot it.\n</think>\n\nIt is 18C.<|im_end|>",
            ],
        ),
        (NO_THINK_FLAG_CHAT, None, True, ["<think>\n\n</think>\n\n5<|im_end|>"]),
        # The empty think block is prefilled by the non-thinking generation prompt: not trained.
        ([SYSTEM, USER, ANSWER], None, False, ["5<|im_end|>"]),
    ],
)
def test_assistant_mask(tokenizer, messages, tools, thinking, expected):
    spans, text = masked_spans(tokenizer, messages, tools=tools, enable_thinking=thinking)
    assert text == render(tokenizer, messages, tools=tools, enable_thinking=thinking)
    assert spans == expected
    unmasked = text
    for span in spans:
        unmasked = unmasked.replace(span, "", 1)
    assert "<|im_start|>assistant\n" in unmasked
    for message in messages:
        if message["role"] in ("system", "user", "tool"):
            assert message["content"] in unmasked


def test_trl_sft_tokenisation_path(tokenizer):
    """TRL keeps a template with generation markers and trains the end-of-turn token."""
    assert has_generation_markers(tokenizer.chat_template)
    assert is_chat_template_stop_token_trained(tokenizer)
    # SFTTrainer's tokenize_fn: chat_template=None (kept), tools, then the row's chat_template_kwargs.
    example = {"messages": [SYSTEM, USER, ANSWER], "chat_template_kwargs": {"enable_thinking": False}}
    out = tokenizer.apply_chat_template(
        example["messages"],
        chat_template=None,
        tools=None,
        **example["chat_template_kwargs"],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "5<|im_end|>"
    assert tokenizer.decode(out["input_ids"]).endswith(EMPTY_THINK + "5<|im_end|>\n")


def test_thinking_effort_kwarg_renders_the_system_line_budgets_read(tokenizer):
    from hybridthink.budget import resolve_budget

    user = [{"role": "user", "content": "What is 2 + 3?"}]
    system = [{"role": "system", "content": "You are a helpful assistant."}, *user]

    def prompt(messages, **kw):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kw)

    assert prompt(user, thinking_effort="low") == (
        "<|im_start|>system\nThinking effort: low<|im_end|>\n<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert prompt(system, thinking_effort=32).startswith(
        "<|im_start|>system\nYou are a helpful assistant.\nThinking effort: 32<|im_end|>\n"
    )
    assert prompt(system, thinking_effort=None) == prompt(system) == SYS_USER + "<|im_start|>assistant\n"
    with_tools = prompt(user, tools=[TOOL], thinking_effort="high")
    assert with_tools.startswith("<|im_start|>system\nThinking effort: high\n\n# Tools\n")
    # The rendered system turn is the form resolve_budget reads.
    rendered_system = prompt(system, thinking_effort="low").split("<|im_end|>")[0].removeprefix("<|im_start|>system\n")
    assert resolve_budget([{"role": "system", "content": rendered_system}, *user]) == 64


def test_flag_tokens_keep_the_text_and_make_each_flag_one_token():
    corpus = ["What is 2 + 3? The answer is 5. /think /no_think", "Hi there, hello."]
    plain, flagged = build_tokenizer(corpus, 300), build_tokenizer(corpus, 300, flag_tokens=True)
    text = "Add 2 and 3. /no_think\nThen 4 and 5 /think"
    ids = flagged(text, add_special_tokens=False)["input_ids"]
    assert flagged.decode(ids) == plain.decode(plain(text, add_special_tokens=False)["input_ids"]) == text
    pieces = flagged.convert_ids_to_tokens(ids)
    assert pieces.count("/no_think") == pieces.count("/think") == 1
    messages = [{"role": "user", "content": "Hi /no_think"}, {"role": "assistant", "content": "Hello"}]
    assert render(flagged, messages) == render(plain, messages)


def test_tool_steps_keep_their_empty_think_block_as_trl_requires(tokenizer):
    """The one rendering where the template leaves Qwen3's: an in-progress tool-calling turn whose
    think block is empty keeps it, so the turn renders as the model generated it."""
    call = [{"type": "function", "function": {"name": "dummy", "arguments": {}}}]
    step = [{"role": "user", "content": "dummy"}, {"role": "assistant", "content": "", "tool_calls": call}]
    after = step + [{"role": "tool", "name": "dummy", "content": "dummy"}]
    assert is_chat_template_prefix_preserving(tokenizer)
    for thinking in (True, False):
        prompt = render(tokenizer, step[:1], add_generation_prompt=True, enable_thinking=thinking)
        assert render(tokenizer, after, add_generation_prompt=True, enable_thinking=thinking).startswith(
            prompt.removesuffix("<think>\n\n</think>\n\n") + "<think>\n\n</think>\n\n<tool_call>")
    assert "<think>\n\n</think>\n\n<tool_call>" not in qwen3(tokenizer, after, add_generation_prompt=True)
