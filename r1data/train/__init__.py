"""`r1data train sft|grpo`: the curated shards train a model, judged by the rewards that curated them.

- `config`: the settings (defaults < recipe < flags) and the checks made before a model loads;
- `data`: training rows from r1data folders, and the context check;
- `run`: the step (train in a work folder, publish OUT, resume from checkpoints);
- `trl`: the TRL adapter (imported only when training runs); `dynamic_sampling`: DAPO's dynamic sampling.
"""

from r1data.train.config import (
    CONFIGS,
    GRPOTrainConfig,
    SFTTrainConfig,
    TrainConfig,
    config_class,
    load_train_config,
)
from r1data.train.run import run

__all__ = ["CONFIGS", "config_class", "GRPOTrainConfig", "SFTTrainConfig", "TrainConfig", "load_train_config", "run"]
