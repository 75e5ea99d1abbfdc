"""The hand-written gold corpus: validate it, apply adjudications, split it, measure agreement.

Layout (``gold/``, project data in the repository):

    parts/<writer>.jsonl     the posts as their authors wrote and labeled them
    annotation2.jsonl        an independent second annotation of a sample: {id, labels, note}
    adjudication.jsonl       decisions on the disagreements: {id, labels, rule}
    splits/{train,dev,test}.jsonl   the fixed splits, final labels (written by ``tousu gold build``)
    stats.json, agreement.json      figures for the data card (README.md) and the guide (GUIDE.md)

Final labels are the author's, replaced by the adjudicated ones where a disagreement was
settled. Splits are stratified by label combination (hard negatives spread evenly), seeded,
and disjoint by text: posts that share a 20-character passage are kept in the same split.
Splits are fixed: once a post has a split it keeps it (a later adjudication changes its labels,
never its split); only posts added later are assigned, among themselves.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.jsonl import JsonlWriter, iter_lines
from pipeline.taxonomy import LABELS, Label

SPLITS = ("train", "dev", "test")
FRACTIONS = (0.6, 0.2, 0.2)
SPLIT_SEED = 20261122
SHARED_PASSAGE = 20  # characters


class GoldPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)
    merchant: str = Field(min_length=1)
    platform: str | None
    issue: list[str]
    appeal: list[str]
    amount: float | None = Field(ge=0)
    date: date
    labels: list[Label]
    hard_negative: bool
    note: str
    split: str | None = None

    @field_validator("labels")
    @classmethod
    def _unique(cls, value: list[Label]) -> list[Label]:
        if len(set(value)) != len(value):
            raise ValueError("labels repeat")
        return sorted(value, key=LABELS.index)

    @property
    def label_set(self) -> frozenset[Label]:
        return frozenset(self.labels)


class Decision(BaseModel):
    """A second annotation or an adjudication of one post."""

    model_config = ConfigDict(extra="forbid")

    id: str
    labels: list[Label]
    note: str = ""
    rule: str = ""

    @field_validator("labels")
    @classmethod
    def _ordered(cls, value: list[Label]) -> list[Label]:
        return sorted(set(value), key=LABELS.index)


class GoldError(ValueError):
    """A gold file that breaks the format; the message names the file, line and field."""


def _read(path: Path, model: type[BaseModel]) -> list[Any]:
    items = []
    for line in iter_lines(path):
        where = f"{path} line {line.line_no}"
        try:
            items.append(model.model_validate_json(line.text or ""))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "record"
            raise GoldError(f"{where}: {field}: {first['msg']}") from None
    return items


def load_parts(gold_dir: Path) -> list[GoldPost]:
    parts = sorted((gold_dir / "parts").glob("*.jsonl"))
    if not parts:
        raise GoldError(f"no gold parts under {gold_dir / 'parts'}")
    posts: list[GoldPost] = [post for part in parts for post in _read(part, GoldPost)]
    seen: set[str] = set()
    for post in posts:
        if post.id in seen:
            raise GoldError(f"gold id {post.id} appears twice")
        seen.add(post.id)
    return posts


def load_decisions(path: Path) -> dict[str, Decision]:
    return {d.id: d for d in _read(path, Decision)} if path.exists() else {}


def final_labels(posts: Sequence[GoldPost], adjudication: dict[str, Decision]) -> list[GoldPost]:
    unknown = sorted(set(adjudication) - {p.id for p in posts})
    if unknown:
        raise GoldError(f"adjudication names unknown ids: {unknown[:5]}")
    return [
        post.model_copy(update={"labels": sorted(adjudication[post.id].labels, key=LABELS.index)})
        if post.id in adjudication
        else post
        for post in posts
    ]


def _passage_groups(posts: Sequence[GoldPost]) -> list[list[int]]:
    """Connected groups of posts that share any 20-character passage (union-find)."""
    parent = list(range(len(posts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, post in enumerate(posts):
        text = re.sub(r"\s+", "", post.body)
        for start in range(0, max(1, len(text) - SHARED_PASSAGE + 1)):
            passage = text[start : start + SHARED_PASSAGE]
            if len(passage) < SHARED_PASSAGE:
                break
            j = owner.setdefault(passage, i)
            if j != i:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(posts)):
        groups[find(i)].append(i)
    return list(groups.values())


def assign_splits(
    posts: Sequence[GoldPost], *, seed: int = SPLIT_SEED, existing: dict[str, str] | None = None
) -> list[GoldPost]:
    """Stratified, seeded train/dev/test assignment, disjoint by text; posts in ``existing``
    keep their split, and a new post sharing a passage with one joins that split."""
    existing = existing or {}
    groups = _passage_groups(posts)
    split_of: dict[int, str] = {}
    fresh_groups = []
    for group in groups:
        kept = {existing[posts[i].id] for i in group if posts[i].id in existing}
        if len(kept) > 1:
            raise GoldError(
                f"posts sharing a passage sit in different splits: {[posts[i].id for i in group]}"
            )
        if kept:
            for i in group:
                split_of[i] = next(iter(kept))
        else:
            fresh_groups.append(group)
    groups = fresh_groups
    strata: dict[tuple[str, ...], list[list[int]]] = defaultdict(list)
    for group in groups:
        first = posts[group[0]]
        key = tuple(label.value for label in first.labels) + (
            ("hard",) if first.hard_negative else ()
        )
        strata[key].append(group)
    rng = random.Random(seed)
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda g: posts[g[0]].id)
        rng.shuffle(members)
        total = sum(len(g) for g in members)
        filled = dict.fromkeys(SPLITS, 0)
        for group in members:
            # Give each group to the split furthest below its target share.
            target = max(SPLITS, key=lambda s: FRACTIONS[SPLITS.index(s)] * total - filled[s])
            filled[target] += len(group)
            for i in group:
                split_of[i] = target
    return [post.model_copy(update={"split": split_of[i]}) for i, post in enumerate(posts)]


def corpus_stats(posts: Sequence[GoldPost]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for split in (*SPLITS, "all"):
        chosen = [p for p in posts if split == "all" or p.split == split]
        lengths = sorted(len(p.body) for p in chosen)
        stats[split] = {
            "posts": len(chosen),
            "positives": {
                label.value: sum(label in p.label_set for p in chosen) for label in LABELS
            },
            "no_label": sum(not p.labels for p in chosen),
            "no_label_hard_negative": sum(not p.labels and p.hard_negative for p in chosen),
            "hard_negative": sum(p.hard_negative for p in chosen),
            "combinations": dict(
                Counter(
                    "+".join(lab.value for lab in p.labels) or "none" for p in chosen
                ).most_common()
            ),
            "body_chars": {
                "min": lengths[0],
                "median": lengths[len(lengths) // 2],
                "max": lengths[-1],
            }
            if lengths
            else {},
        }
    return stats


def write_splits(gold_dir: Path, posts: Sequence[GoldPost]) -> dict[str, Path]:
    out = {}
    for split in SPLITS:
        path = gold_dir / "splits" / f"{split}.jsonl"
        with JsonlWriter(path) as writer:
            for post in sorted((p for p in posts if p.split == split), key=lambda p: p.id):
                writer.write(post.model_dump(mode="json"))
        out[split] = path
    return out


def existing_splits(gold_dir: Path) -> dict[str, str]:
    out = {}
    for split in SPLITS:
        path = gold_dir / "splits" / f"{split}.jsonl"
        if path.exists():
            out.update({post.id: split for post in _read(path, GoldPost)})
    return out


def build(gold_dir: Path) -> dict[str, Any]:
    """Validate parts, apply adjudications, split (keeping existing splits), write splits and stats."""
    posts = final_labels(load_parts(gold_dir), load_decisions(gold_dir / "adjudication.jsonl"))
    posts = assign_splits(posts, existing=existing_splits(gold_dir))
    write_splits(gold_dir, posts)
    stats = corpus_stats(posts)
    (gold_dir / "stats.json").write_text(
        json.dumps(stats, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return stats


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa for two binary annotations of the same items."""
    n = len(a)
    if n == 0 or n != len(b):
        raise ValueError("kappa needs two equally long, non-empty annotations")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def agreement(posts: Iterable[GoldPost], second: dict[str, Decision]) -> dict[str, Any]:
    """Per-label Cohen's kappa and raw agreement between the authors and the second annotator,
    on the posts both labeled, and the list of disagreements to adjudicate."""
    by_id = {p.id: p for p in posts}
    missing = sorted(set(second) - set(by_id))
    if missing:
        raise GoldError(f"second annotation names unknown ids: {missing[:5]}")
    ids = sorted(second)
    result: dict[str, Any] = {"posts": len(ids), "labels": {}, "disagreements": []}
    for label in LABELS:
        first = [label in by_id[i].label_set for i in ids]
        other = [label in second[i].labels for i in ids]
        result["labels"][label.value] = {
            "kappa": cohen_kappa(first, other),
            "agreement": sum(x == y for x, y in zip(first, other, strict=True)) / len(ids),
            "positives_author": sum(first),
            "positives_second": sum(other),
        }
    result["macro_kappa"] = sum(v["kappa"] for v in result["labels"].values()) / len(LABELS)
    for i in ids:
        if by_id[i].label_set != frozenset(second[i].labels):
            result["disagreements"].append(
                {
                    "id": i,
                    "author": [lab.value for lab in by_id[i].labels],
                    "second": [lab.value for lab in second[i].labels],
                }
            )
    return result
