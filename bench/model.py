"""Classifier speed and quality, all paths on the same texts: ``make bench-model``.

On gold test (or ``--gold``), measures posts per second and macro-F1 for
(a) ``transformers.pipeline("text-classification")`` on the fine-tuned fp32 model, called as a
    user would (a list of texts, default batching), its probabilities put through the
    artifact's calibration and thresholds so that F1 compares the same decision rule;
(b) our PyTorch path (length-sorted batches, dynamic padding);
(c) our ONNX Runtime dynamic-int8 path on the same model;
(d) the 4-layer student distilled from it (``tousu model distill``), ONNX int8, when it
    exists;
and the macro-F1 of the baselines (labeling functions, TF-IDF). Each timed path runs once as a
warm-up on a few texts first. Figures go to ``data/bench/model.json``. Targets, checked for
each ONNX path: at least 4x the posts/s of (a), losing at most 1 macro-F1 point against the
fp32 model (b).

    python -m bench.model [--gold gold/splits/test.jsonl] [--out data/bench/model.json]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.figures import write_figures
from models.data import post_text, read_jsonl
from models.layout import INT8_FILE, ONNX_DIR
from pipeline.evaluate import evaluate
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, LabelScore, parse_labels

SPEEDUP_TARGET = 4.0
MAX_F1_LOSS = 0.01


def _timed(fn: Callable[[], list[LabelScore]], n: int) -> tuple[list[LabelScore], float]:
    started = time.perf_counter()
    results = fn()
    seconds = time.perf_counter() - started
    return results, n / seconds


def _macro_f1(records: Sequence[dict[str, Any]], results: Sequence[LabelScore]) -> float:
    gold = [parse_labels(r["labels"]) for r in records]
    return evaluate(gold, [r.labels for r in results], [r.scores for r in results]).macro_f1


def run(gold_path: Path, paths: Paths, threads: int) -> dict[str, Any]:
    import torch
    from transformers import pipeline

    from models.classifier import ClassifierLabeler, Scorer, read_artifact
    from models.onnx_export import OnnxLabeler, export_onnx
    from models.run import run_baselines

    torch.set_num_threads(threads)
    folder = paths.classifier
    meta = read_artifact(folder)
    if not (folder / ONNX_DIR / INT8_FILE).exists():
        export_onnx(folder)
    records = read_jsonl(gold_path)
    texts = [post_text(r) for r in records]
    n = len(records)
    figures: dict[str, Any] = {}

    classify = pipeline(
        "text-classification",
        model=str(folder),
        tokenizer=str(folder),
        top_k=None,
        function_to_apply="none",
        device=-1,
    )
    scorer = Scorer(meta)
    index = {label.value: k for k, label in enumerate(LABELS)}

    def via_pipeline() -> list[LabelScore]:
        outputs = classify(texts, truncation=True, max_length=scorer.max_length)
        logits = np.array(
            [[o["score"] for o in sorted(out, key=lambda o: index[o["label"]])] for out in outputs]
        )
        return scorer.results(logits)

    classify(texts[:4], truncation=True, max_length=scorer.max_length)
    results, speed = _timed(via_pipeline, n)
    figures["a_transformers_pipeline_fp32"] = {
        "posts_per_s": speed,
        "macro_f1": _macro_f1(records, results),
    }

    ours = ClassifierLabeler(folder, threads=threads)
    ours.predict(records[:4])
    results, speed = _timed(lambda: ours.predict(records), n)
    figures["b_pytorch_fp32"] = {"posts_per_s": speed, "macro_f1": _macro_f1(records, results)}

    for name, model_folder in (("c_onnx_int8", folder), ("d_student_onnx_int8", paths.student)):
        if name.startswith("d_") and not (model_folder / ONNX_DIR / INT8_FILE).exists():
            continue
        fast = OnnxLabeler(model_folder, threads=threads)
        fast.predict(records[:4])
        results, speed = _timed(functools.partial(fast.predict, records), n)
        figures[name] = {
            "posts_per_s": speed,
            "macro_f1": _macro_f1(records, results),
            "model_version": fast.version,
        }

    baselines = run_baselines(
        paths,
        train_path=paths.gold_split("train"),
        dev_path=paths.gold_split("dev"),
        test_path=gold_path,
    )
    for name, result in baselines.items():
        figures[f"baseline_{name}"] = {"macro_f1": result["test"]["macro_f1"]}
    pipeline_speed = figures["a_transformers_pipeline_fp32"]["posts_per_s"]
    checks = {
        name: {
            "speedup_vs_pipeline": figures[name]["posts_per_s"] / pipeline_speed,
            "f1_loss_vs_fp32": figures["b_pytorch_fp32"]["macro_f1"] - figures[name]["macro_f1"],
        }
        for name in ("c_onnx_int8", "d_student_onnx_int8")
        if name in figures
    }
    for check in checks.values():
        check["meets_targets"] = bool(
            check["speedup_vs_pipeline"] >= SPEEDUP_TARGET
            and check["f1_loss_vs_fp32"] <= MAX_F1_LOSS
        )
    return {
        "model_version": meta["model_version"],
        "texts": n,
        "gold": str(gold_path),
        "threads": threads,
        "paths": figures,
        "onnx_checks": checks,
        "targets": {"speedup": SPEEDUP_TARGET, "max_f1_loss": MAX_F1_LOSS},
        "meets_targets": any(c["meets_targets"] for c in checks.values()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": datetime.now(UTC).isoformat(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    paths = Paths.from_env()
    parser.add_argument("--gold", type=Path, default=paths.gold_split("test"))
    parser.add_argument("--out", type=Path, default=paths.data_dir / "bench" / "model.json")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    result = run(args.gold, paths, args.threads)
    write_figures(args.out, result)
    for name, f in result["paths"].items():
        speed = f"{f['posts_per_s']:8.1f} posts/s" if "posts_per_s" in f else " " * 16
        print(f"{name:<32} {speed}   macro-F1 {f['macro_f1']:.3f}")  # noqa: T201 - a command's output
    for name, check in result["onnx_checks"].items():
        print(  # noqa: T201
            f"{name}: {check['speedup_vs_pipeline']:.2f}x the pipeline's posts/s (target "
            f"{SPEEDUP_TARGET}x), F1 loss vs fp32 {100 * check['f1_loss_vs_fp32']:.2f} points "
            f"(max 1): {'met' if check['meets_targets'] else 'NOT met'}"
        )
    print(f"figures in {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
