"""Packed rows kept apart row by row: the same loss as TRL's padding-free batch, one batch row per
packed row, and each conversation attending to itself only."""

import copy

import torch
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from hybridthink.packing import PackedRowsCollator, keep_packed_rows_apart

ROWS = [{"messages": [{"role": "user", "content": f"What is {i} + 3?" + " Paris" * (i % 4)},
                      {"role": "assistant", "content": f"The answer is {i + 3}."}]} for i in range(12)]


def _trainer(tiny_model, tokenizer, tmp_path):
    config = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, max_length=128, packing=True,
                       packing_strategy="bfd", assistant_only_loss=True, use_cpu=True, report_to="none")
    return SFTTrainer(model=copy.deepcopy(tiny_model).cpu(), args=config, train_dataset=Dataset.from_list(ROWS),
                      processing_class=tokenizer)


def test_packed_rows_give_the_padding_free_loss_with_one_batch_row_per_packed_row(tiny_model, tokenizer, tmp_path):
    trainer = _trainer(tiny_model, tokenizer, tmp_path)
    examples = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))][:4]
    flat = trainer.data_collator(examples)
    keep_packed_rows_apart(trainer)
    assert isinstance(trainer.data_collator, PackedRowsCollator)
    rows = trainer.data_collator(examples)
    assert flat["input_ids"].shape[0] == 1 and rows["input_ids"].shape[0] == len(examples) > 1
    assert "attention_mask" not in rows
    for i, example in enumerate(examples):  # position ids restart at every conversation of the row
        n, lengths = len(example["input_ids"]), example["seq_lengths"]
        starts = (rows["position_ids"][i, :n] == 0).nonzero().flatten().tolist()
        assert starts == [sum(lengths[:k]) for k in range(len(lengths))]
    model = trainer.model.eval()
    with torch.no_grad():
        keys = ("input_ids", "labels", "position_ids")
        loss_flat = model(**{k: flat[k] for k in keys}, use_cache=False).loss  # as TRL's compute_loss calls it
        loss_rows = model(**rows, use_cache=False).loss
    assert torch.allclose(loss_flat, loss_rows, atol=1e-5)


def test_a_conversation_in_a_packed_row_attends_to_itself_only(tiny_model, tokenizer, tmp_path):
    trainer = _trainer(tiny_model, tokenizer, tmp_path)
    keep_packed_rows_apart(trainer)
    example = next(e for e in trainer.train_dataset if len(e["seq_lengths"]) > 1)
    batch = trainer.data_collator([example])
    first, second = example["seq_lengths"][:2]
    ids = batch["input_ids"][:, first:first + second]
    model = trainer.model.eval()
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        alone = model(input_ids=ids, use_cache=False).logits
    packed = packed[:, first:first + second]
    assert torch.allclose(packed, alone, atol=1e-5)
