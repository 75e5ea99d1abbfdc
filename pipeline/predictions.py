"""The label stage: complaints -> ``predictions`` (labels, per-label scores, model version).

Whatever labels the posts implements :class:`Labeler`: the keyword rules today, the
fine-tuned classifier later (``models`` builds it; this package never imports ``models``).
Complaints are read and written in batches, so memory stays flat on any table size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label
from pipeline.warehouse import atomic_output, require
from pipeline.weak_labels import LabelScore, Post, RuleSet, default_rules

INPUT_COLUMNS = ["site", "sn", "title", "body", "issue", "appeal"]
BATCH_ROWS = 2_000


def score_column(label: Label) -> str:
    return f"score_{label.value}"


PREDICTIONS_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("sn", pa.string()),
        ("labels", pa.list_(pa.string())),
        *[(score_column(label), pa.float64()) for label in LABELS],
        ("model_version", pa.string()),
        ("labeled_at", pa.timestamp("us", tz="UTC")),
    ]
)


class Labeler(Protocol):
    """Anything that turns posts into labels with per-label probabilities."""

    @property
    def version(self) -> str: ...

    def predict(self, records: Sequence[dict[str, Any]]) -> list[LabelScore]:
        """Records carry at least ``title`` and ``body``; ``issue``/``appeal`` when known."""
        ...


class RuleLabeler:
    """The keyword and issue-tag rules of :mod:`pipeline.weak_labels`."""

    def __init__(self, rules: RuleSet | None = None) -> None:
        self.rules = rules or default_rules()

    @property
    def version(self) -> str:
        return self.rules.version

    def predict(self, records: Sequence[dict[str, Any]]) -> list[LabelScore]:
        return [self.rules.score(Post.from_record(r)) for r in records]


@dataclass
class LabelSummary:
    rows: int
    label_counts: Counter[str]
    model_version: str


def run_label(
    paths: Paths,
    labeler: Labeler,
    *,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> LabelSummary:
    """Label every complaint and write ``predictions.parquet``.

    ``progress(total_rows)`` may return a callback that receives rows done, for a bar.
    """
    source = pq.ParquetFile(require(paths.complaints, "ingest"))
    advance = progress(source.metadata.num_rows) if progress else None
    counts: Counter[str] = Counter()
    rows = 0
    now = datetime.now(UTC)
    with (
        atomic_output(paths.predictions) as tmp,
        pq.ParquetWriter(tmp, PREDICTIONS_SCHEMA, compression="zstd") as writer,
    ):
        for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=INPUT_COLUMNS):
            records = batch.to_pylist()
            scored = labeler.predict(records)
            out = []
            for record, result in zip(records, scored, strict=True):
                names = sorted(label.value for label in result.labels)
                counts.update(names)
                row: dict[str, Any] = {
                    "site": record["site"],
                    "sn": record["sn"],
                    "labels": names,
                }
                row.update({score_column(label): result.scores[label] for label in LABELS})
                row.update(model_version=labeler.version, labeled_at=now)
                out.append(row)
            writer.write_table(pa.Table.from_pylist(out, schema=PREDICTIONS_SCHEMA))
            rows += len(records)
            if advance:
                advance(len(records))
    return LabelSummary(rows=rows, label_counts=counts, model_version=labeler.version)
