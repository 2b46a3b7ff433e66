"""Packed rows kept apart row by row, for attention kernels without a varlen path (SDPA, eager).

With BFD packing TRL trains padding-free: its collator joins the whole batch into one long row and
the conversations are kept apart by position ids alone. FlashAttention's varlen kernel then skips
everything between them, but with PyTorch's SDPA transformers builds a block-diagonal mask over
the whole long row and SDPA computes every block of it: a batch of 16 packed rows of 1,024 tokens
costs the attention of one 16,384-token sequence. ``PackedRowsCollator`` keeps each packed row a
row of the batch, with the position ids that restart at each conversation and no attention mask,
so transformers builds the block-diagonal mask per row and attention costs 16 rows of 1,024.
(Hand-written: TRL's collator either flattens the batch or sends a padded attention mask, which
makes the model ignore the position ids and attend across conversations.)
"""

from __future__ import annotations

from dataclasses import dataclass

from trl.trainer.sft_trainer import DataCollatorForLanguageModeling


@dataclass
class PackedRowsCollator(DataCollatorForLanguageModeling):
    """TRL's language-modelling collator for BFD-packed rows, one batch row per packed row."""

    padding_free: bool = False
    return_position_ids: bool = True

    def torch_call(self, examples):
        batch = super().torch_call(examples)
        del batch["attention_mask"]  # with it the model would not read the conversations' bounds from the position ids
        return batch


def uses_varlen_attention(model) -> bool:
    """Whether the model's attention reads conversation bounds without a mask (FlashAttention)."""
    return "flash" in str(model.config._attn_implementation)


def keep_packed_rows_apart(trainer) -> None:
    """Give an ``SFTTrainer`` built with BFD packing the row-by-row collator (TRL refuses a custom
    collator when it trains padding-free, so it is set on the built trainer)."""
    old = trainer.data_collator
    trainer.data_collator = PackedRowsCollator(pad_token_id=old.pad_token_id, pad_to_multiple_of=old.pad_to_multiple_of)
