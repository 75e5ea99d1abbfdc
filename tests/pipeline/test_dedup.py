from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.dedup import (
    NUM_BINS,
    candidate_pairs,
    compact,
    components,
    estimated_jaccard,
    jaccard,
    shingle_set,
    signatures,
    text_key,
)

BODY = (
    "9月27日在京东上买了洗地机,付款后商家一直不发货,联系客服也没有人回复,"
    "申请退款被拒绝,说已经发货了,可是物流信息一直没有更新,要求尽快退款。"
)


def test_compact_keeps_letters_digits_and_ideographs() -> None:
    assert compact("退款难!! 华为Mate 60,[PHONE]…😡") == "退款难华为Mate60PHONE"


def test_text_key_matches_a_cut_summary_and_differs_on_other_text() -> None:
    body = BODY * 3
    # The list summary: the first 445 bytes and "...", as 黑猫投诉 cuts it.
    summary = body.encode()[:445].decode(errors="ignore") + "..."
    assert text_key("洗地机不发货", body) == text_key("洗地机不发货", summary)
    assert text_key("洗地机不发货", body) != text_key("洗地机不退款", body)
    assert text_key("洗地机不发货", body) != text_key("洗地机不发货", "我" + body)


def test_signatures_are_deterministic_and_shaped() -> None:
    texts = [compact(BODY), "ab", ""]
    sig, grams = signatures(texts)
    again, _ = signatures(list(reversed(texts)))
    assert sig.shape == (3, NUM_BINS) and sig.dtype == np.uint32
    assert np.array_equal(sig[0], again[2])  # a text's signature never depends on its batch
    assert list(grams) == [len(texts[0]) - 2, 0, 0]
    assert (sig[1] == 0xFFFFFFFF).all() and (sig[0] != 0xFFFFFFFF).all()


def test_estimate_tracks_exact_jaccard() -> None:
    rng = random.Random(5)
    base = compact(BODY * 3)
    errors = []
    for edits in range(0, 60, 4):
        chars = list(base)
        for _ in range(edits):
            chars[rng.randrange(len(chars))] = chr(0x4E00 + rng.randrange(3000))
        other = "".join(chars)
        sig, _ = signatures([base, other])
        exact = jaccard(shingle_set(base), shingle_set(other))
        errors.append(abs(estimated_jaccard(sig[0], sig[1]) - exact))
    assert max(errors) < 0.2 and sum(errors) / len(errors) < 0.08


def test_shingle_sets() -> None:
    assert shingle_set("abcd") == {"abc", "bcd"}
    assert shingle_set("ab") == {"ab"} and shingle_set("") == frozenset()
    assert jaccard(shingle_set("abcd"), shingle_set("abce")) == pytest.approx(1 / 3)


def test_components_roots_are_the_smallest_node() -> None:
    first = np.array([5, 1, 7, 9, 20], dtype=np.int64)
    second = np.array([1, 3, 8, 7, 21], dtype=np.int64)
    nodes, roots = components(first, second)
    assert dict(zip(nodes.tolist(), roots.tolist(), strict=True)) == {
        1: 1,
        3: 1,
        5: 1,
        7: 7,
        8: 7,
        9: 7,
        20: 20,
        21: 20,
    }


def test_components_of_a_long_chain_converge() -> None:
    n = 500
    order = np.random.default_rng(1).permutation(n)
    nodes, roots = components(order[:-1].astype(np.int64), order[1:].astype(np.int64))
    assert len(nodes) == n and set(roots.tolist()) == {0}


def test_candidate_pairs_find_similar_rows_and_only_them() -> None:
    rng = random.Random(9)
    base = compact(BODY * 2)
    # 40 unrelated texts, then a near copy of BODY twice over and one of the 6th text.
    texts = ["".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(120)) for _ in range(40)]
    texts.append(base)
    texts.append(base.replace("客服", "售后", 1) + "到现在还是没有处理结果")
    texts.append(texts[5][:110] + "再次投诉")
    sig, _ = signatures(texts)
    first, second = candidate_pairs(sig)
    assert set(zip(first.tolist(), second.tolist(), strict=True)) == {(40, 41), (5, 42)}
    assert (first < second).all()


def test_candidate_pairs_in_a_crowded_bucket_stay_linear() -> None:
    sig, _ = signatures([compact(BODY)] * 300)  # 300 identical posts share every bucket
    first, second = candidate_pairs(sig)
    assert len(first) <= 2 * 300
    nodes, roots = components(first, second)
    assert len(nodes) == 300 and set(roots.tolist()) == {0}
