"""The label stage: complaints -> ``predictions`` (labels, per-label scores, model version).

Whatever labels the posts implements :class:`Labeler`: the weak-supervision labeler
(:mod:`pipeline.labeling`) or the fine-tuned classifier (``models`` builds it; this package never
imports ``models``).
Complaints are read and written in batches, so memory stays flat on any table size.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.jsonl import JsonlWriter, iter_lines
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label, LabelScore
from pipeline.warehouse import atomic_output, require

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


@dataclass
class PredictSummary:
    written: int
    rejected: int
    output: Path
    rejects: Path | None
    model_version: str


def predict_jsonl(
    source: Path,
    target: Path,
    labeler: Labeler,
    *,
    batch_size: int = 256,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> PredictSummary:
    """Label every record of a JSON Lines file, streaming.

    Each input line needs ``title`` or ``body`` (``issue``/``appeal`` are used when present; every
    other field, ids included, is kept as is). The output repeats the record with ``labels`` (a
    list of names), ``scores`` ({label: probability}) and ``model_version``. Lines that are not
    such records go to ``<target>.rejects.jsonl`` with their line number and reason.
    """
    rejects_path = target.with_name(target.name + ".rejects.jsonl")
    rejects_path.unlink(missing_ok=True)
    writer = JsonlWriter(target)
    rejects = JsonlWriter(rejects_path)
    advance = progress(source.stat().st_size) if progress else None
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        for record, result in zip(batch, labeler.predict(batch), strict=True):
            record["labels"] = sorted(label.value for label in result.labels)
            record["scores"] = {label.value: round(result.scores[label], 6) for label in LABELS}
            record["model_version"] = labeler.version
            writer.write(record)
        batch.clear()

    try:
        for line in iter_lines(source):
            reason = _predict_input_problem(line.text)
            if reason:
                rejects.write({"line": line.line_no, "reason": reason, "text": line.text})
            else:
                batch.append(json.loads(line.text or ""))
                if len(batch) >= batch_size:
                    flush()
            if advance:
                advance(len(line.raw) + 1)
        flush()
    finally:
        writer.close()
        rejects.close()
    return PredictSummary(
        written=writer.count,
        rejected=rejects.count,
        output=target,
        rejects=rejects_path if rejects.count else None,
        model_version=labeler.version,
    )


def _predict_input_problem(text: str | None) -> str | None:
    if text is None:
        return "not_utf8"
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return "invalid_json"
    if not isinstance(record, dict):
        return "not_object"
    if not any(isinstance(record.get(f), str) and record[f].strip() for f in ("title", "body")):
        return "no_text: needs a non-empty title or body"
    return None
