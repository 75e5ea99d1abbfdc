"""Train a tiny model through the real commands, export it, and label with every path."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tousu.cli import cli


def test_train_export_and_predict(
    tmp_path: Path, tiny_base: Path, gold_files: dict[str, Path]
) -> None:
    runner = CliRunner()
    artifacts = tmp_path / "artifacts"
    env = {"TOUSU_ARTIFACTS_DIR": str(artifacts)}
    base = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(
        cli,
        [
            *base,
            "model",
            "train",
            "--train",
            str(gold_files["train"]),
            "--dev",
            str(gold_files["dev"]),
            "--base-model",
            str(tiny_base),
            "--epochs",
            "4",
            "--max-length",
            "128",
            "--weak-weight",
            "0",
            # A tiny encoder trained from scratch needs a high rate and trainable embeddings.
            "--learning-rate",
            "1e-3",
            "--head-learning-rate",
            "3e-3",
            "--train-word-embeddings",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    folder = artifacts / "classifier"
    meta = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert meta["model_version"].startswith("clf-") and set(meta["thresholds"]) == set(
        meta["temperatures"]
    )
    assert (
        json.loads((folder / "training_args.json").read_text(encoding="utf-8"))["max_length"] == 128
    )
    assert "# Complaint label classifier" in (folder / "README.md").read_text(encoding="utf-8")
    # A tiny model from scratch on 900 posts learns the clearest labels.
    assert metrics["dev"]["macro_f1"] > 0.5, metrics["dev"]
    assert set(metrics["ece_dev_after"]) == set(meta["labels"])

    assert runner.invoke(cli, [*base, "model", "export-onnx"], env=env).exit_code == 0
    outputs = {}
    for labeler in ("classifier", "onnx", "auto"):
        out = tmp_path / f"{labeler}.jsonl"
        done = runner.invoke(
            cli,
            [
                *base,
                "predict",
                "--in",
                str(gold_files["test"]),
                "--out",
                str(out),
                "--labeler",
                labeler,
            ],
            env=env,
        )
        assert done.exit_code == 0, done.output
        outputs[labeler] = [
            json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()
        ]
    assert outputs["auto"][0]["model_version"] == meta["model_version"] + "-onnx-int8"
    agree = sum(
        a["labels"] == b["labels"]
        for a, b in zip(outputs["classifier"], outputs["onnx"], strict=True)
    )
    assert agree / len(outputs["onnx"]) > 0.95
    done = runner.invoke(
        cli, ["evaluate", "--gold", str(gold_files["test"]), "--pred", str(tmp_path / "onnx.jsonl")]
    )
    assert done.exit_code == 0 and "macro-F1" in done.output


def test_training_arguments_are_validated(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "model",
            "train",
            "--train",
            str(gold_files["train"]),
            "--dev",
            str(gold_files["dev"]),
            "--epochs",
            "0",
        ],
    )
    assert result.exit_code == 1 and "epochs must be at least 1" in result.output


def test_tfidf_baseline_learns(gold_files: dict[str, Path]) -> None:
    import numpy as np

    from models.data import post_text, read_jsonl
    from models.tfidf import TfidfBaseline
    from pipeline.evaluate import evaluate
    from pipeline.taxonomy import LABELS, parse_labels

    def xy(path: Path) -> tuple[list[str], np.ndarray, list[frozenset]]:  # type: ignore[type-arg]
        rows = read_jsonl(path)
        sets = [parse_labels(r["labels"]) for r in rows]
        return (
            [post_text(r) for r in rows],
            np.array([[label in s for label in LABELS] for s in sets], dtype=float),
            sets,
        )

    train, dev, test = xy(gold_files["train"]), xy(gold_files["dev"]), xy(gold_files["test"])
    baseline = TfidfBaseline.fit(train[0], train[1], dev[0], dev[1])
    results = baseline.predict_texts(test[0])
    assert evaluate(test[2], [r.labels for r in results]).macro_f1 > 0.7
