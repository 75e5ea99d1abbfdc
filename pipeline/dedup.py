"""Duplicate grouping: one post filed against several merchants, and the same complaint posted
again with small edits.

Notation: a *record* is one row of the complaints table (one site + ``sn``; exact duplicates of
a (site, sn) are dropped before grouping, the latest fetch kept); a *post* is what one person
filed at once, one record per merchant it names; a *cluster* is one or more posts that are the
same complaint posted again. N records, P posts, K MinHash bins.

Posts (``post_id``): records of the same site whose text key is equal and whose ``sn`` are at
most :data:`MULTI_MERCHANT_SN_GAP` apart. The text key hashes the normalized title and the
first :data:`TEXT_KEY_BODY_CHARS` characters of the body, punctuation and spaces removed, so a
record whose body is only the site's cut summary still matches its full-body twin. ``post_id``
is ``<site>:<lowest sn of the post>``.

Clusters (``dup_group``): every post gets a MinHash signature of its text's character 3-grams
(one permutation hashing into K bins, empty bins filled from their neighbour; one hash per
3-gram keeps it cheap). Locality-sensitive hashing over :data:`BANDS` bands of
:data:`BAND_ROWS` bins proposes candidate pairs: within each band bucket, every post is paired
with the bucket's earliest post and with its predecessor, so the work stays linear even when
thousands of posts share a bucket. Pairs whose signatures agree on fewer than
:data:`CANDIDATE_AGREEMENT` of the bins are dropped; for the rest the texts are read and a
pair is kept when the exact Jaccard similarity of their 3-gram sets is at least
:data:`NEAR_DUP_THRESHOLD` (a 64-bin signature alone is too coarse near the threshold: short
posts differ by a few 3-grams). Clusters are the connected components, and ``dup_group`` is the
``post_id`` of the cluster's earliest post. Posts with fewer than :data:`MIN_SHINGLES` 3-grams
never join a cluster: short complaints ("一直不发货") repeat by chance.

Grouping runs over the whole table whenever new files were ingested: posts in DuckDB, the
LSH buckets in NumPy over the signatures (computed once per raw file, at ingest, and kept in
the ingest cache; 256 bytes a post), texts read back only for candidate pairs. A full pass is
what makes the result independent of the order files arrive in (a crawl that back-fills older
posts can change which post is the earliest of a cluster, and so every ``dup_group`` of it),
and it is cheap next to reading the files: about 3 s for 80,000 posts on 2 cores, most of it
writing the table (``make bench-ingest`` reports it as ``seconds_table``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

MULTI_MERCHANT_SN_GAP = 20
TEXT_KEY_BODY_CHARS = 60
NUM_BINS = 64  # K
BAND_ROWS = 3
BANDS = NUM_BINS // BAND_ROWS  # 21 bands of 3 bins (the 64th bin only estimates)
# Candidate pairs need this share of agreeing bins; kept pairs this exact 3-gram Jaccard.
CANDIDATE_AGREEMENT = 0.35
NEAR_DUP_THRESHOLD = 0.5
MIN_SHINGLES = 30
SHINGLE = 3

_EMPTY = np.uint32(0xFFFFFFFF)
_BIN_BITS = int(math.log2(NUM_BINS))
_M64 = 0xFFFFFFFFFFFFFFFF
# Fixed odd constants: signatures must be the same in every process and on every run.
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_FILL_STEP = np.uint32(0x9E3779B1)
_NOT_WORD = re.compile(r"[\W_]+")


def compact(text: str) -> str:
    """Letters, digits and ideographs only: what near-duplicate matching compares."""
    return _NOT_WORD.sub("", text)


def text_key(title: str, body: str) -> int:
    """The key two records of one post share (signed 64-bit, for Parquet)."""
    return text_key_of(compact(title), compact(body[: 4 * TEXT_KEY_BODY_CHARS]))


def text_key_of(title_compact: str, body_compact: str) -> int:
    """:func:`text_key` from texts already compacted."""
    data = f"{title_compact}\x1f{body_compact[:TEXT_KEY_BODY_CHARS]}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


def _mix(z: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """splitmix64's finalizer: every input bit reaches every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def signatures(
    texts: Sequence[str],
) -> tuple[np.ndarray[Any, np.dtype[np.uint32]], np.ndarray[Any, np.dtype[np.int32]]]:
    """MinHash signatures (shape (n, K), uint32) of already compacted texts, and the number of
    3-grams of each. A text shorter than three characters has none and an all-empty signature.
    """
    n = len(texts)
    sig = np.full((n, NUM_BINS), _EMPTY, dtype=np.uint32)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    grams = np.maximum(lengths - (SHINGLE - 1), 0)
    if not grams.any():
        return sig, grams.astype(np.int32)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    # A 3-gram may start anywhere but in the last two characters of each text.
    valid = np.ones(len(codes), dtype=bool)
    ends = np.cumsum(lengths)
    for back in range(1, SHINGLE):
        tail = ends - back
        valid[tail[tail >= np.cumsum(lengths) - lengths]] = False
    valid[len(codes) - (SHINGLE - 1) :] = False
    starts = np.flatnonzero(valid)
    with np.errstate(over="ignore"):
        hashed = _mix(codes[starts] * _P1 + codes[starts + 1] * _P2 + codes[starts + 2])
    doc = np.repeat(np.arange(n, dtype=np.int64), grams)
    bins = (hashed >> np.uint64(64 - _BIN_BITS)).astype(np.int64)
    values = (hashed & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    flat = sig.reshape(-1)
    np.minimum.at(flat, doc * NUM_BINS + bins, values)
    _densify(sig)
    return sig, grams.astype(np.int32)


def _densify(sig: np.ndarray[Any, np.dtype[np.uint32]]) -> None:
    """Fill each empty bin from the next non-empty bin to its right (circularly), shifted by
    the distance, so that similar texts agree on filled bins as they do on real ones."""
    empty = sig == _EMPTY
    rows = empty.any(axis=1) & ~empty.all(axis=1)
    if not rows.any():
        return
    part = sig[rows]
    full = np.concatenate([~empty[rows], ~empty[rows]], axis=1)
    index = np.where(full, np.arange(2 * NUM_BINS), 4 * NUM_BINS)
    nearest = np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1][:, :NUM_BINS]
    distance = (nearest - np.arange(NUM_BINS)).astype(np.uint32)
    source = np.take_along_axis(part, nearest % NUM_BINS, axis=1)
    with np.errstate(over="ignore"):
        filled = source + distance * _FILL_STEP
    sig[rows] = np.where(empty[rows], filled, part)


def shingle_set(text: str) -> frozenset[str]:
    """The character 3-grams of an already compacted text (the text itself when shorter)."""
    if len(text) < SHINGLE:
        return frozenset((text,)) if text else frozenset()
    return frozenset(text[i : i + SHINGLE] for i in range(len(text) - SHINGLE + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def estimated_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """The share of bins on which two signatures agree."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def components(
    first: np.ndarray[Any, np.dtype[np.int64]], second: np.ndarray[Any, np.dtype[np.int64]]
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Connected components of the graph with edges ``first[i] -- second[i]``.

    Returns (nodes, roots): every node that has an edge, sorted, and the smallest node of its
    component. Label propagation with pointer jumping: a few vectorized passes.
    """
    nodes, inverse = np.unique(np.concatenate([first, second]), return_inverse=True)
    a, b = inverse[: len(first)], inverse[len(first) :]
    labels = np.arange(len(nodes))
    while True:
        low = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, labels):
            return nodes, nodes[labels]
        labels = new


def candidate_pairs(
    sig: np.ndarray[Any, np.dtype[np.uint32]],
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """LSH candidate pairs (a < b, row numbers of ``sig``) whose signatures agree on at least
    :data:`CANDIDATE_AGREEMENT` of the bins.

    Rows must be in time order. Per band, rows with the same band key form a bucket; each
    member is paired with the bucket's first row and with the member before it.
    """
    n = len(sig)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    firsts, seconds = [], []
    rows = np.arange(n, dtype=np.int64)
    with np.errstate(over="ignore"):
        for band in range(BANDS):
            key = np.zeros(n, dtype=np.uint64)
            for column in sig[:, band * BAND_ROWS : (band + 1) * BAND_ROWS].T:
                key = _mix(key * _P1 + column.astype(np.uint64))
            order = np.argsort(key, kind="stable")  # stable: time order within a bucket
            sorted_key = key[order]
            new = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
            start = np.maximum.accumulate(np.where(new, rows, 0))  # first position of bucket
            later = ~new
            firsts.append(order[start[later]])
            seconds.append(order[later])
            chained = later & np.r_[False, later[:-1]]  # members after the second
            firsts.append(order[np.flatnonzero(chained) - 1])
            seconds.append(order[chained])
    pair = np.unique(np.concatenate(firsts) * n + np.concatenate(seconds))
    first, second = pair // n, pair % n
    agree = math.ceil(CANDIDATE_AGREEMENT * NUM_BINS)
    keep = np.zeros(len(pair), dtype=bool)
    step = 1 << 16  # pairs compared at a time: bounded memory
    for lo in range(0, len(pair), step):
        a, b = first[lo : lo + step], second[lo : lo + step]
        keep[lo : lo + step] = (sig[a] == sig[b]).sum(axis=1) >= agree
    return first[keep], second[keep]


# --- table-level grouping (DuckDB) ----------------------------------------------------------


def assign_posts(con: Any, records: str) -> None:
    """Create ``post_of(site, sn, post_id, is_primary)`` from ``records(site, sn, text_key)``;
    the primary record of a post is its lowest sn."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE post_of AS
        WITH o AS (
            SELECT site, sn, text_key, TRY_CAST(sn AS BIGINT) AS n FROM {records}
        ), b AS (
            SELECT *, CASE WHEN n - lag(n) OVER w <= {MULTI_MERCHANT_SN_GAP} THEN 0 ELSE 1 END AS brk
            FROM o WINDOW w AS (PARTITION BY site, text_key ORDER BY n, sn)
        ), g AS (
            SELECT *, sum(brk) OVER (
                PARTITION BY site, text_key ORDER BY n, sn ROWS UNBOUNDED PRECEDING
            ) AS grp
            FROM b
        )
        SELECT site, sn,
               site || ':' || first_value(sn) OVER post AS post_id,
               row_number() OVER post = 1 AS is_primary
        FROM g
        WINDOW post AS (PARTITION BY site, text_key, grp ORDER BY n, sn)
    """)


def assign_clusters(con: Any, records: str, texts: str) -> int:
    """Create ``cluster_of(post_id, dup_group)`` for posts that are near duplicates of an
    earlier post (others are their own cluster); returns the number of verified pairs.

    Needs ``post_of`` (:func:`assign_posts`), ``records(site, sn, source_file, source_line,
    created_at, shingles, minhash)`` and ``texts(source_file, source_line, title, body)``,
    from which the texts of candidate pairs only are read. Holds the signatures of the posts
    that can cluster in memory: 256 bytes a post.
    """
    # Posts in time order; each is represented by its primary record.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE post_sig AS
        SELECT p.post_id, r.minhash AS sig, r.source_file, r.source_line,
               row_number() OVER (ORDER BY r.created_at, p.post_id) - 1 AS idx
        FROM {records} r JOIN post_of p USING (site, sn)
        WHERE p.is_primary AND r.shingles >= {MIN_SHINGLES}
    """)
    flat = con.execute("SELECT unnest(sig) AS v FROM post_sig ORDER BY idx").fetchnumpy()["v"]
    sig = np.asarray(flat, dtype=np.uint32).reshape(-1, NUM_BINS)
    first, second = candidate_pairs(sig)
    texts_of: dict[int, str] = {}
    if len(first):
        needed = pa.table({"idx": np.unique(np.concatenate([first, second]))})
        con.register("needed_posts", needed)
        rows = con.execute(f"""
            SELECT s.idx, any_value(t.title || chr(10) || t.body)
            FROM needed_posts n
            JOIN post_sig s USING (idx)
            JOIN {texts} t ON t.source_file = s.source_file AND t.source_line = s.source_line
            GROUP BY s.idx
        """).fetchall()
        con.unregister("needed_posts")
        texts_of = {int(i): str(text) for i, text in rows}
    # The signatures only propose: a pair is kept on the exact 3-gram Jaccard of its texts.
    grams: dict[int, frozenset[str]] = {}
    kept_a, kept_b = [], []
    for a, b in zip(first.tolist(), second.tolist(), strict=True):
        for i in (a, b):
            if i not in grams:
                grams[i] = shingle_set(compact(texts_of.get(i, "")))
        if jaccard(grams[a], grams[b]) >= NEAR_DUP_THRESHOLD:
            kept_a.append(a)
            kept_b.append(b)
    if kept_a:
        nodes, roots = components(np.asarray(kept_a, np.int64), np.asarray(kept_b, np.int64))
        moved = nodes != roots
        links = pa.table({"idx": nodes[moved], "root": roots[moved]})
    else:
        links = pa.table({"idx": pa.array([], pa.int64()), "root": pa.array([], pa.int64())})
    con.register("cluster_links", links)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE cluster_of AS
        SELECT s.post_id, r.post_id AS dup_group
        FROM cluster_links l
        JOIN post_sig s ON s.idx = l.idx
        JOIN post_sig r ON r.idx = l.root
    """)
    con.unregister("cluster_links")
    return len(kept_a)
