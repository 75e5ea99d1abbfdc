"""Training arguments: one dataclass with help text, validated on construction, saved with the
model (``training_args.json``) so every artifact says how it was made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class TrainArgs:
    base_model: str = field(
        default="artifacts/base/multilingual-e5-small",
        metadata={"help": "Local transformers folder or hub name of the pretrained encoder."},
    )
    output_dir: str = field(
        default="artifacts/classifier", metadata={"help": "Where the artifact goes."}
    )
    num_layers: int | None = field(
        default=None, metadata={"help": "Keep only the first N encoder layers (None: all)."}
    )
    max_length: int = field(
        default=256, metadata={"help": "Tokens per post (title + body), truncated."}
    )
    batch_size: int = field(default=16, metadata={"help": "Posts per training step."})
    epochs: int = field(
        default=6, metadata={"help": "Upper bound on epochs (early stopping decides)."}
    )
    learning_rate: float = field(
        default=5e-5, metadata={"help": "Peak learning rate of the encoder."}
    )
    head_learning_rate: float = field(
        default=1e-3, metadata={"help": "Learning rate of the new classification head."}
    )
    weight_decay: float = field(
        default=0.01, metadata={"help": "AdamW weight decay (not on biases and norms)."}
    )
    warmup_ratio: float = field(
        default=0.1, metadata={"help": "Share of steps with linear warm-up."}
    )
    freeze_word_embeddings: bool = field(
        default=True,
        metadata={"help": "Freeze the 96M-parameter word embeddings (faster, less overfitting)."},
    )
    frozen_layers: int = field(
        default=8,
        metadata={
            "help": "Bottom encoder layers kept frozen, their outputs computed once and cached "
            "(an epoch then runs only the top layers; 0 fine-tunes every layer)."
        },
    )
    weak_weight: float = field(
        default=0.5,
        metadata={
            "help": "Loss weight of weakly labeled posts relative to gold (0 disables them)."
        },
    )
    weak_limit: int = field(
        default=1500, metadata={"help": "At most this many weakly labeled posts."}
    )
    pos_weight_cap: float = field(
        default=4.0,
        metadata={"help": "Cap on the per-label positive weight that offsets class imbalance."},
    )
    teacher: str | None = field(
        default=None,
        metadata={
            "help": "Classifier artifact to distill from: its calibrated probabilities become "
            "the targets of the unlabeled posts and soften those of gold (None: no teacher)."
        },
    )
    distill_alpha: float = field(
        default=0.5,
        metadata={"help": "With a teacher: share of the gold label in a gold post's target."},
    )
    patience: int = field(
        default=2, metadata={"help": "Epochs without dev macro-F1 gain before stopping."}
    )
    seed: int = field(
        default=13, metadata={"help": "Random seed (data order, head init, dropout)."}
    )
    threads: int = field(default=2, metadata={"help": "torch CPU threads."})

    def __post_init__(self) -> None:
        checks = [
            (self.max_length >= 16, "max_length must be at least 16"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (
                self.learning_rate > 0 and self.head_learning_rate > 0,
                "learning rates must be positive",
            ),
            (0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)"),
            (self.weak_weight >= 0, "weak_weight must be >= 0"),
            (self.num_layers is None or self.num_layers >= 1, "num_layers must be >= 1 or None"),
            (self.patience >= 1, "patience must be at least 1"),
            (self.frozen_layers >= 0, "frozen_layers must be >= 0"),
            (
                self.frozen_layers == 0 or self.freeze_word_embeddings,
                "frozen layers sit on frozen embeddings: training the word embeddings needs "
                "frozen_layers 0 (--frozen-layers 0)",
            ),
            (self.pos_weight_cap >= 1, "pos_weight_cap must be >= 1"),
            (0 <= self.distill_alpha <= 1, "distill_alpha must be in [0, 1]"),
            (self.threads >= 1, "threads must be at least 1"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ValueError("bad training arguments: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainArgs:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)


# The distilled student: the encoder's first four layers, every layer trained (there is no
# frozen bottom to cache), on gold train and 600 of the simulator's unlabeled posts scored by
# the classifier. A third of the classifier's layers: about three times its speed. Few
# unlabeled posts and many epochs: with 2,947 posts and 6 epochs at 1e-4, dev macro-F1 was
# 0.83 after 3 epochs (4.3 min each); with 600 at 2e-4 it was 0.87 after 3 (2 min each).
STUDENT_RECIPE: dict[str, Any] = {
    "num_layers": 4,
    "frozen_layers": 0,
    "weak_weight": 1.0,
    "weak_limit": 600,
    "learning_rate": 2e-4,
    "epochs": 12,
    "patience": 3,
}


def student_args(teacher: str, output_dir: str, **overrides: Any) -> TrainArgs:
    """The student recipe (``tousu model distill``), any field overridden."""
    return TrainArgs(teacher=teacher, output_dir=output_dir, **{**STUDENT_RECIPE, **overrides})
