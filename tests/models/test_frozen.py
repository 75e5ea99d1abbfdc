"""The split forward pass (frozen bottom run once, top with gradients) is the model's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from models.encoder import load_for_training
from models.frozen import FrozenBottom, UnsupportedArchitectureError


def test_cached_bottom_plus_top_equals_the_full_forward_pass(
    tiny_base: Path, labeled_sim_posts: list[dict[str, Any]]
) -> None:
    model, tokenizer = load_for_training(str(tiny_base), None)
    model.eval()
    texts = [r["title"] + "\n" + r["body"] for r in labeled_sim_posts[:12]]
    encoded = tokenizer(texts, truncation=True, max_length=96)["input_ids"]
    assert len({len(ids) for ids in encoded}) > 1  # padding is exercised
    frozen = FrozenBottom(model, 1)
    cached = frozen.encode(encoded, tokenizer.pad_token_id, batch_size=5)
    assert [c.shape[0] for c in cached] == [len(ids) for ids in encoded]
    assert all(c.dtype == torch.float16 for c in cached)
    with torch.inference_mode():
        split = frozen.logits(cached)
        padded = tokenizer.pad({"input_ids": encoded}, return_tensors="pt")
        full = model(**padded).logits
    # float16 storage of the cached states is the only difference.
    assert torch.allclose(split, full, atol=2e-3), (split - full).abs().max()


def test_only_the_top_is_trainable_and_bad_depths_are_refused(tiny_base: Path) -> None:
    model, _ = load_for_training(str(tiny_base), None)
    FrozenBottom(model, 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(n.startswith(("bert.embeddings.", "bert.encoder.layer.0.")) for n in trainable)
    assert any(n.startswith("bert.encoder.layer.1.") for n in trainable)
    assert {"classifier.weight", "classifier.bias"} <= trainable
    with pytest.raises(ValueError, match=r"frozen_layers must be in 1\.\.1"):
        FrozenBottom(load_for_training(str(tiny_base), None)[0], 2)
    with pytest.raises(UnsupportedArchitectureError):
        FrozenBottom(torch.nn.Linear(2, 2), 1)
