"""Per-rule summary, as snorkel reports it: for each LF its polarity, coverage (share of posts
it votes on), overlap (share of posts where it and another LF of the same label both vote),
conflict (share where another LF of the same label votes the other way) and, with gold labels,
its accuracy on the posts it votes on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.labeling.lfs import POSITIVE, RuleSet
from pipeline.labeling.model import Votes
from pipeline.taxonomy import LABELS


@dataclass(frozen=True)
class LFStats:
    name: str
    label: str
    polarity: str  # "+", "-", or "" when it never voted
    coverage: float
    overlap: float
    conflict: float
    votes: int
    accuracy: float | None
    correct: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lf_summary(
    ruleset: RuleSet, votes: Votes, gold: NDArray[np.bool_] | None = None
) -> list[LFStats]:
    n = max(1, votes.shape[0])
    stats: list[LFStats] = []
    for k, label in enumerate(LABELS):
        cols = list(ruleset.columns(label))
        block = votes[:, cols]
        active = block != 0
        for position, j in enumerate(cols):
            mine = active[:, position]
            others = np.delete(active, position, axis=1)
            other_votes = np.delete(block, position, axis=1)
            overlap = mine & others.any(axis=1)
            opposite = (other_votes * block[:, [position]]) < 0
            conflict = mine & opposite.any(axis=1)
            cast = block[mine, position]
            polarity = ("+" if cast[0] == POSITIVE else "-") if len(cast) else ""
            accuracy: float | None = None
            correct: int | None = None
            if gold is not None and len(cast):
                truth = gold[mine, k]
                correct = int(((cast == POSITIVE) == truth).sum())
                accuracy = correct / len(cast)
            stats.append(
                LFStats(
                    name=ruleset.lfs[j].name,
                    label=label.value,
                    polarity=polarity,
                    coverage=float(mine.sum() / n),
                    overlap=float(overlap.sum() / n),
                    conflict=float(conflict.sum() / n),
                    votes=int(mine.sum()),
                    accuracy=accuracy,
                    correct=correct,
                )
            )
    return stats


def format_summary(stats: list[LFStats]) -> str:
    lines = [
        f"{'labeling function':<40}{'pol':>4}{'cover':>8}{'overlap':>9}{'conflict':>9}{'votes':>7}{'acc':>7}"
    ]
    for s in stats:
        acc = f"{s.accuracy:.2f}" if s.accuracy is not None else "-"
        lines.append(
            f"{s.name:<40}{s.polarity:>4}{s.coverage:8.3f}{s.overlap:9.3f}{s.conflict:9.3f}{s.votes:7d}{acc:>7}"
        )
    return "\n".join(lines)
