"""A tiny BERT with a character-level tokenizer, built locally in seconds.

For tests and smoke runs only: it exercises exactly the code paths of the real encoder
(training, calibration, artifact, PyTorch and ONNX inference) without the 470 MB download-free
base model. Characters seen in ``texts`` form the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def build_tiny_model(
    out_dir: Path, texts: Iterable[str], *, hidden: int = 64, layers: int = 2, seed: int = 0
) -> Path:
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    chars = sorted({c for text in texts for c in text if not c.isspace()})
    vocab = {token: i for i, token in enumerate(SPECIALS + chars)}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    # One token per character: split on nothing but isolate every character.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Split("", "isolated")]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=512,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=512,
        pad_token_id=0,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(out_dir)
    fast.save_pretrained(out_dir)
    return out_dir
