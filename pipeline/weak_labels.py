"""First labeling functions: keyword rules and the complainant's issue tags, per label.

Notation: N posts, K = 4 labels. Each labeling function (LF) looks at one post and votes
+1 (the label applies), -1 (it does not) or 0 (abstain) for one label. Per label the votes
are combined by a weighted vote into a probability:

    raw = 1.3 * min(positive keyword rules hit, 3) + 1.0 * tag - 1.6 * negative rules - 0.5
    p   = sigmoid(2 * raw)

so one clear keyword hit gives p ~ 0.83, a fitting issue tag alone ~ 0.73, and a keyword hit
cancelled by a "resolved" pattern ~ 0.17. A post gets the label when p >= 0.5.

Keyword lists are data (``resources/lexicons/<label>.pos.txt`` / ``.neg.txt``: one regular
expression per line) and factual issue tags are ``resources/issue_tags.csv``; loose category
tags (退款问题, 服务欺诈) are deliberately absent, per the taxonomy. A positive hit that is denied
(没有跑路, 倒不是跑路, 不至于跑路) or only feared, suspected or rumoured in the same clause
(担心商家过几天跑路, 还以为是跑路, 有人传这家店要跑路, 如果不退款) does not count: the taxonomy
labels what happened. Such a denial also counts against the label, and it overrides the
complainant's tag, because "when the body contradicts a tag, the body wins".
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pipeline.contract import split_tags
from pipeline.taxonomy import LABELS, Label

POSITIVE, NEGATIVE, ABSTAIN = 1, -1, 0
THRESHOLD = 0.5
MAX_POSITIVE_HITS = 3
W_POSITIVE, W_TAG, W_NEGATIVE, BIAS, SHARPNESS = 1.3, 1.0, 1.6, -0.5, 2.0

# Immediately before a hit: it is denied. Earlier in the same clause: it is feared,
# suspected, rumoured or hypothetical.
_NEGATOR = re.compile(r"(没有|没|不是|并非|并没有|未曾|不算|不会)$")
_HEDGE = re.compile(
    r"担心|害怕|生怕|以为|觉得|怀疑|会不会|是不是|是否|万一|防止|如果|要是|若是|否则|怕"
    r"|不至于|不会|不是|有人传|有人说|传言|听说|据说|都说|可能|要不要"
)
_CLAUSE_END = re.compile(r"[，。！？,.!?；;\n]")
NEGATOR_WINDOW, CLAUSE_WINDOW = 3, 30


@dataclass(frozen=True)
class Post:
    """What the rules read: title, body and the complainant's tags."""

    text: str
    issue: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Post:
        title = str(record.get("title") or "")
        body = str(record.get("body") or "")
        issue = record.get("issue") or ()
        tags = split_tags(issue) if isinstance(issue, str) else [str(t).strip() for t in issue]
        return cls(text=f"{title}\n{body}", issue=tuple(tags))


@dataclass(frozen=True)
class KeywordRule:
    """Votes ``vote`` for ``label`` when any of its patterns matches outside a negation."""

    name: str
    label: Label
    vote: int
    patterns: tuple[re.Pattern[str], ...]

    def hits(self, post: Post) -> int:
        """How many of the rule's patterns match outside a denial (each counted once)."""
        return self.matches(post)[0]

    def matches(self, post: Post) -> tuple[int, int]:
        """(plain hits, denied-only hits), each pattern counted once."""
        hits = denied = 0
        for pattern in self.patterns:
            outcome = 0
            for match in pattern.finditer(post.text):
                if self.vote == NEGATIVE or not _negated(post.text, match.start()):
                    outcome = 1
                    break
                outcome = -1
            hits += outcome == 1
            denied += outcome == -1
        return hits, denied

    def __call__(self, post: Post) -> int:
        return self.vote if self.hits(post) else ABSTAIN


@dataclass(frozen=True)
class TagRule:
    """Votes for ``label`` when the complainant picked a tag that states a fitting fact."""

    name: str
    label: Label
    tags: frozenset[str]

    def __call__(self, post: Post) -> int:
        return POSITIVE if any(t in self.tags for t in post.issue) else ABSTAIN


def _negated(text: str, start: int) -> bool:
    # A clause boundary ends the reach of a hedge.
    clause = _CLAUSE_END.split(text[max(0, start - CLAUSE_WINDOW) : start])[-1]
    return bool(_NEGATOR.search(clause[-NEGATOR_WINDOW:]) or _HEDGE.search(clause))


@dataclass(frozen=True)
class LabelScore:
    labels: frozenset[Label]
    scores: dict[Label, float]


@dataclass(frozen=True)
class RuleSet:
    """All rules per label and the combination into probabilities."""

    positive: dict[Label, KeywordRule]
    negative: dict[Label, KeywordRule]
    tags: dict[Label, TagRule]
    version: str

    def score(self, post: Post) -> LabelScore:
        scores: dict[Label, float] = {}
        for label in LABELS:
            hits, denied = self.positive[label].matches(post)
            pos = min(hits, MAX_POSITIVE_HITS)
            # A denial with no plain hit is evidence against, and the body beats the tag.
            neg = self.negative[label].hits(post) + (1 if denied and not hits else 0)
            tag = 1 if self.tags[label](post) == POSITIVE and not neg else 0
            raw = W_POSITIVE * pos + W_TAG * tag - W_NEGATIVE * neg + BIAS
            scores[label] = 1.0 / (1.0 + math.exp(-SHARPNESS * raw))
        labels = frozenset(label for label, p in scores.items() if p >= THRESHOLD)
        return LabelScore(labels=labels, scores=scores)

    def score_many(self, posts: Iterable[Post]) -> list[LabelScore]:
        return [self.score(post) for post in posts]

    @property
    def rules(self) -> Sequence[KeywordRule | TagRule]:
        return [*self.positive.values(), *self.negative.values(), *self.tags.values()]


def _read_patterns(name: str) -> tuple[tuple[re.Pattern[str], ...], bytes]:
    data = resources.files("pipeline.resources.lexicons").joinpath(name).read_bytes()
    patterns = []
    for line_no, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            patterns.append(re.compile(line))
        except re.error as exc:
            raise ValueError(
                f"lexicon {name} line {line_no}: bad pattern {line!r}: {exc}"
            ) from None
    return tuple(patterns), data


@cache
def default_rules() -> RuleSet:
    digest = hashlib.sha1(usedforsecurity=False)
    positive, negative, tags = {}, {}, {}
    for label in LABELS:
        pos, pos_bytes = _read_patterns(f"{label.value}.pos.txt")
        neg, neg_bytes = _read_patterns(f"{label.value}.neg.txt")
        digest.update(pos_bytes + b"\0" + neg_bytes)
        positive[label] = KeywordRule(f"{label.value}:keywords", label, POSITIVE, pos)
        negative[label] = KeywordRule(f"{label.value}:resolved", label, NEGATIVE, neg)
    tag_bytes = resources.files("pipeline.resources").joinpath("issue_tags.csv").read_bytes()
    digest.update(tag_bytes)
    by_label: dict[Label, set[str]] = {label: set() for label in LABELS}
    for row in csv.DictReader(tag_bytes.decode("utf-8").splitlines()):
        by_label[Label(row["label"])].add(row["tag"])
    for label in LABELS:
        tags[label] = TagRule(f"{label.value}:issue_tag", label, frozenset(by_label[label]))
    return RuleSet(positive, negative, tags, version=f"rules-{digest.hexdigest()[:10]}")
