"""Labeling functions, built from data files.

Each file ``resources/lexicons/<label>/<name>.txt`` is one LF named ``<label>:<name>``. Its
header says how it matches and how it votes::

    # kind: phrase      (one regular expression per line, matched on the cleaned text)
    # kind: token       (one word per line, matched against the post's jieba tokens)
    # vote: +1          (+1: the label applies; -1: it does not)

Two more LFs per label come from tables: ``<label>:issue_tag`` votes +1 when the complainant
picked a tag that states a fitting fact (``resources/issue_tags.csv``; loose category tags such
as 退款问题 are deliberately absent), ``<label>:appeal`` when an appeal implies it
(``resources/appeal_cues.csv``). And one is derived: ``<label>:denied`` votes -1 when the
label's positive words occur only where the text denies, fears, suspects or rumours them
(没有跑路, 担心商家跑路, 有人传这家店要跑路, 如果不退款), because the taxonomy labels what happened.

A positive hit inside such a context does not count for its own LF either. Adding a rule is
adding a line (or a file); no code changes.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from pipeline.labeling.features import Features
from pipeline.taxonomy import LABELS, Label

POSITIVE, NEGATIVE, ABSTAIN = 1, -1, 0

# Immediately before a hit: it is denied. Earlier in the same clause: it is feared,
# suspected, rumoured or hypothetical.
_NEGATOR = re.compile(r"(没有|没|不是|并非|并没有|未曾|不算|不会)$")
_HEDGE = re.compile(
    r"担心|害怕|生怕|以为|觉得|怀疑|会不会|是不是|是否|万一|防止|如果|要是|若是|否则|怕"
    r"|不至于|不会|不是|有人传|有人说|传言|听说|据说|都说|可能|要不要"
)
_CLAUSE_END = re.compile(r"[，。！？,.!?；;\n]")
NEGATOR_WINDOW, CLAUSE_WINDOW = 3, 30


def denied(text: str, start: int) -> bool:
    """Whether a hit at ``start`` is denied or only feared/suspected/rumoured in its clause."""
    clause = _CLAUSE_END.split(text[max(0, start - CLAUSE_WINDOW) : start])[-1]
    return bool(_NEGATOR.search(clause[-NEGATOR_WINDOW:]) or _HEDGE.search(clause))


@dataclass(frozen=True)
class Hits:
    plain: int  # matches outside any denial
    denied: int  # matches found only inside denials


@dataclass(frozen=True)
class PhraseLF:
    name: str
    label: Label
    vote: int
    patterns: tuple[re.Pattern[str], ...]

    def hits(self, f: Features) -> Hits:
        plain = only_denied = 0
        for pattern in self.patterns:
            starts = [m.start() for m in pattern.finditer(f.text)]
            if not starts:
                continue
            if self.vote == NEGATIVE or any(not denied(f.text, s) for s in starts):
                plain += 1
            else:
                only_denied += 1
        return Hits(plain, only_denied)

    def __call__(self, f: Features) -> int:
        return self.vote if self.hits(f).plain else ABSTAIN


@dataclass(frozen=True)
class TokenLF:
    name: str
    label: Label
    vote: int
    words: frozenset[str]

    def hits(self, f: Features) -> Hits:
        starts = [o for t, o in zip(f.tokens, f.offsets, strict=True) if t in self.words]
        if not starts:
            return Hits(0, 0)
        if self.vote == NEGATIVE or any(not denied(f.text, s) for s in starts):
            return Hits(1, 0)
        return Hits(0, 1)

    def __call__(self, f: Features) -> int:
        return self.vote if self.hits(f).plain else ABSTAIN


@dataclass(frozen=True)
class FieldLF:
    """Votes +1 when one of the complainant's own tags (or appeals) is in ``values``."""

    name: str
    label: Label
    values: frozenset[str]
    field_name: str  # "issue" | "appeal"

    def __call__(self, f: Features) -> int:
        picked = f.issue if self.field_name == "issue" else f.appeal
        return POSITIVE if any(v in self.values for v in picked) else ABSTAIN


@dataclass(frozen=True)
class DeniedLF:
    """Votes -1 when the label's positive LFs hit only inside denials."""

    name: str
    label: Label
    positives: tuple[PhraseLF | TokenLF, ...]

    def __call__(self, f: Features) -> int:
        plain = only_denied = 0
        for lf in self.positives:
            hits = lf.hits(f)
            plain += hits.plain
            only_denied += hits.denied
        return NEGATIVE if only_denied and not plain else ABSTAIN


LabelingFunction = PhraseLF | TokenLF | FieldLF | DeniedLF


@dataclass(frozen=True)
class RuleSet:
    """Every LF, in a fixed order (the columns of the vote matrix), and a version that
    changes whenever any rule file changes."""

    lfs: tuple[LabelingFunction, ...]
    version: str
    by_label: dict[Label, tuple[int, ...]] = field(default_factory=dict)  # column indices

    def columns(self, label: Label) -> tuple[int, ...]:
        return self.by_label[label]


def _header(lines: list[str], key: str, path: str) -> str:
    for line in lines:
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    raise ValueError(f"lexicon {path} has no '# {key}:' header line")


def _load_file(label: Label, entry: Traversable) -> tuple[PhraseLF | TokenLF, bytes]:
    data = entry.read_bytes()
    lines = data.decode("utf-8").splitlines()
    where = f"{label.value}/{entry.name}"
    kind, vote_text = _header(lines, "kind", where), _header(lines, "vote", where)
    if vote_text not in ("+1", "-1"):
        raise ValueError(f"lexicon {where}: vote must be +1 or -1, got {vote_text!r}")
    vote = POSITIVE if vote_text == "+1" else NEGATIVE
    items = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    name = f"{label.value}:{entry.name.removesuffix('.txt')}"
    if kind == "token":
        return TokenLF(name, label, vote, frozenset(items)), data
    if kind != "phrase":
        raise ValueError(f"lexicon {where}: kind must be phrase or token, got {kind!r}")
    patterns = []
    for number, item in enumerate(items, start=1):
        try:
            patterns.append(re.compile(item))
        except re.error as exc:
            raise ValueError(
                f"lexicon {where} rule {number}: bad pattern {item!r}: {exc}"
            ) from None
    return PhraseLF(name, label, vote, tuple(patterns)), data


def _table(name: str) -> tuple[dict[Label, set[str]], bytes]:
    data = resources.files("pipeline.resources").joinpath(name).read_bytes()
    table: dict[Label, set[str]] = {label: set() for label in LABELS}
    for row in csv.DictReader(data.decode("utf-8").splitlines()):
        key = next(k for k in row if k != "label")
        table[Label(row["label"])].add(row[key])
    return table, data


@cache
def default_ruleset() -> RuleSet:
    digest = hashlib.sha1(usedforsecurity=False)
    lfs: list[LabelingFunction] = []
    tags, tag_bytes = _table("issue_tags.csv")
    appeals, appeal_bytes = _table("appeal_cues.csv")
    digest.update(tag_bytes + appeal_bytes)
    root = resources.files("pipeline.resources").joinpath("lexicons")
    for label in LABELS:
        files = sorted(root.joinpath(label.value).iterdir(), key=lambda e: e.name)
        loaded = [_load_file(label, e) for e in files if e.name.endswith(".txt")]
        for lf, data in loaded:
            digest.update(lf.name.encode() + b"\0" + data)
        lfs.extend(lf for lf, _ in loaded)
        positives = tuple(lf for lf, _ in loaded if lf.vote == POSITIVE)
        lfs.append(DeniedLF(f"{label.value}:denied", label, positives))
        lfs.append(FieldLF(f"{label.value}:issue_tag", label, frozenset(tags[label]), "issue"))
        if appeals[label]:
            lfs.append(FieldLF(f"{label.value}:appeal", label, frozenset(appeals[label]), "appeal"))
    by_label = {
        label: tuple(i for i, lf in enumerate(lfs) if lf.label is label) for label in LABELS
    }
    return RuleSet(tuple(lfs), version=digest.hexdigest()[:10], by_label=by_label)


def vote_row(ruleset: RuleSet, f: Features) -> list[int]:
    return [lf(f) for lf in ruleset.lfs]


def vote_matrix(ruleset: RuleSet, features: Sequence[Features]) -> list[list[int]]:
    """N x J votes (a plain list; the models turn it into an array)."""
    return [vote_row(ruleset, f) for f in features]
