"""A small byte-level BPE tokenizer for the toy world, with Qwen3's special tokens."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
from transformers.utils import get_json_schema
from transformers.utils.chat_template_utils import render_jinja_template

from ..chat_template import HYBRID_TEMPLATE, TAG_TOKENS, TURN_TOKENS, install_chat_template
from ..tools import calculator

SPECIAL_TOKENS = ["<|endoftext|>", *TURN_TOKENS]
ADDED_TOKENS = list(TAG_TOKENS)
# The soft switches as whole tokens too (the text is unchanged): with them split into pieces that
# share "think", the tiny model confused an earlier /think with /no_think
# (results/thinkfollow_toy/README.md, "Flags as tokens").
FLAG_TOKENS = ["/no_think", "/think"]


# Words of the chat format, so that BPE learns merges for them even from raw pretraining text.
CHAT_WORDS = "system\nuser\nassistant\n /think /no_think tool_call tool_response"


def tool_system_text() -> str:
    """The system turn the hybrid template writes when the calculator is offered (Qwen3's tool
    preamble and the calculator's JSON schema)."""
    rendered, _ = render_jinja_template(conversations=[[{"role": "user", "content": ""}]],
                                        tools=[get_json_schema(calculator)], chat_template=HYBRID_TEMPLATE)
    return rendered[0].split("<|im_end|>")[0].removeprefix("<|im_start|>system\n")


def _with_chat_words(texts: Iterable[str]) -> Iterable[str]:
    # The tool turn too: without merges for it, it took 430 tokens, past every position the earlier
    # stages train, and the tiny model could not work after it
    # (results/stage4_toy/README.md, "Tool use on the toy world").
    tools = tool_system_text()
    for i, text in enumerate(texts):
        yield text
        if i < 2000:
            yield CHAT_WORDS
            yield tools


def build_tokenizer(texts: Iterable[str], vocab_size: int, flag_tokens: bool = False) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE (single digits kept as tokens) and wrap it for transformers; with
    ``flag_tokens`` ``/think`` and ``/no_think`` are added tokens (not special)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_with_chat_words(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        additional_special_tokens=[],
    )
    fast.add_tokens(ADDED_TOKENS + (FLAG_TOKENS if flag_tokens else []), special_tokens=False)
    return install_chat_template(fast)
