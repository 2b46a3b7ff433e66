"""The accelerate launch configs, read by accelerate itself, and the DeepSpeed ones validated by
DeepSpeed's own config classes (with the batch settings the Trainer fills in for "auto")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from accelerate.commands.config.config_args import ClusterConfig
from accelerate.utils import DeepSpeedPlugin
from deepspeed.runtime.config import DeepSpeedConfig
from pydantic import ValidationError
from transformers import TrainingArguments
from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

CONFIGS = Path(__file__).resolve().parent.parent / "recipes" / "accelerate"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_accelerate_reads_every_launch_config(path):
    config = ClusterConfig.from_yaml_file(path)
    assert config.num_processes >= 1 and config.compute_environment.value == "LOCAL_MACHINE"


def deepspeed_config(path: Path, tmp_path: Path, **overrides) -> dict:
    """The DeepSpeed config accelerate builds from ``path``, with "auto" filled in by the Trainer's rules."""
    launch = yaml.safe_load(path.read_text())
    ds = launch["deepspeed_config"]
    plugin = DeepSpeedPlugin(zero_stage=ds["zero_stage"], offload_optimizer_device=ds["offload_optimizer_device"],
                             offload_param_device=ds["offload_param_device"], zero3_init_flag=ds["zero3_init_flag"],
                             zero3_save_16bit_model=ds.get("zero3_save_16bit_model", False))
    plugin.set_mixed_precision(launch["mixed_precision"])
    config = HfTrainerDeepSpeedConfig(plugin.deepspeed_config)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, gradient_accumulation_steps=2,
                             use_cpu=True, bf16=launch["mixed_precision"] == "bf16", report_to="none")
    config.trainer_config_process(args)
    config.trainer_config_finalize(args, None, 100)
    zero = {**config.config["zero_optimization"], **overrides}
    return {**config.config, "zero_optimization": zero}


@pytest.mark.parametrize("name,stage", [("zero2.yaml", 2), ("zero3.yaml", 3)])
def test_deepspeed_accepts_the_zero_configs(name, stage, tmp_path):
    config = DeepSpeedConfig(deepspeed_config(CONFIGS / name, tmp_path))
    assert config.zero_optimization_stage == stage
    assert config.bfloat16_config.enabled
    assert (config.train_batch_size, config.gradient_accumulation_steps) == (8, 2)
    assert config.zero_config.gather_16bit_weights_on_model_save == (stage == 3)


def test_deepspeed_refuses_a_broken_zero_config(tmp_path):
    with pytest.raises(ValidationError, match="offload_param.device"):
        DeepSpeedConfig(deepspeed_config(CONFIGS / "zero2.yaml", tmp_path, offload_param={"device": "gpu"}))
