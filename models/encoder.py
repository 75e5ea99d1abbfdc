"""Loading the encoder and running it in length-sorted batches (shared by training, the torch
labeler and the benchmark). Imports torch: only the model commands import this module."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from models.data import length_batches
from pipeline.taxonomy import LABELS


def load_for_training(base_model: str, num_layers: int | None) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    # The new head (and the pooler, which sentence encoders ship without) is reported as
    # "MISSING" in a table a user would read as a failure; it is the expected state here.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            base_model,
            num_labels=len(LABELS),
            problem_type="multi_label_classification",
            id2label=dict(enumerate(label.value for label in LABELS)),
            label2id={label.value: i for i, label in enumerate(LABELS)},
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    if num_layers is not None:
        layers = model.base_model.encoder.layer
        if num_layers > len(layers):
            raise ValueError(f"num_layers {num_layers} exceeds the encoder's {len(layers)} layers")
        # Keep the lower layers: half the compute, most of the quality (design.md).
        model.base_model.encoder.layer = layers[:num_layers]
        model.config.num_hidden_layers = num_layers
    return model, tokenizer


@torch.inference_mode()
def batched_logits(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 32,
    advance: Callable[[int], None] | None = None,
) -> NDArray[np.float64]:
    """Logits (N x K) in the input order, computed in length-sorted batches."""
    model.eval()
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    out = np.zeros((len(texts), len(LABELS)))
    for batch in length_batches([len(ids) for ids in encoded], batch_size):
        padded = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
        logits = model(
            input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]
        ).logits
        out[batch] = logits.float().numpy()
        if advance:
            advance(len(batch))
    return out
