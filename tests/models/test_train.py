"""Train a tiny model through the real commands, export it, and label with every path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.settings import Paths
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
            # Every layer trains (the frozen-bottom recipe would freeze the random embeddings).
            "--frozen-layers",
            "0",
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
    from models.args import TrainArgs

    with pytest.raises(ValueError, match="needs frozen_layers 0"):
        TrainArgs(freeze_word_embeddings=False)


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


@pytest.fixture
def gold_paths(tmp_path: Path, gold_files: dict[str, Path]) -> Paths:
    """Paths whose gold folder holds the test's train and dev splits."""
    gold = tmp_path / "gold"
    (gold / "splits").mkdir(parents=True)
    for split in ("train", "dev"):
        (gold / "splits" / f"{split}.jsonl").write_bytes(gold_files[split].read_bytes())
    return Paths(tmp_path / "data", tmp_path / "artifacts", gold)


def test_ensure_classifier_trains_once_then_reuses(gold_paths: Paths, tiny_base: Path) -> None:
    from models.args import TrainArgs
    from models.registry import load_labeler
    from models.run import ensure_classifier

    paths = gold_paths
    args = TrainArgs(
        base_model=str(tiny_base),
        epochs=1,
        max_length=64,
        weak_weight=0,
        learning_rate=1e-3,
        head_learning_rate=3e-3,
        # The default recipe's shape: the bottom layer frozen and cached, the top one trained.
        frozen_layers=1,
    )
    lines: list[str] = []
    folder = ensure_classifier(paths, args=args, echo=lines.append)
    assert any("training the default model" in line for line in lines)
    meta = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
    onnx = folder / "onnx" / "model.int8.onnx"
    stamp = onnx.stat().st_mtime_ns
    # A second call finds both and does nothing.
    lines.clear()
    assert ensure_classifier(paths, args=args, echo=lines.append) == folder
    assert lines == [] and onnx.stat().st_mtime_ns == stamp
    # "auto" then labels with the exported model, and says which one.
    assert load_labeler("auto", paths).version == meta["model_version"] + "-onnx-int8"


def test_distill_trains_a_smaller_student_served_by_name(
    gold_paths: Paths, tiny_base: Path, gold_files: dict[str, Path]
) -> None:
    from models.args import TrainArgs
    from models.registry import load_labeler
    from models.run import ensure_classifier, run_distill
    from pipeline.model_info import model_info

    paths = gold_paths
    tiny = {"max_length": 64, "learning_rate": 1e-3, "head_learning_rate": 3e-3}
    teacher = ensure_classifier(
        paths,
        args=TrainArgs(base_model=str(tiny_base), epochs=1, weak_weight=0, frozen_layers=1, **tiny),  # type: ignore[arg-type]
        echo=lambda line: None,
    )
    teacher_version = json.loads((teacher / "classifier.json").read_text(encoding="utf-8"))[
        "model_version"
    ]
    result, onnx = run_distill(
        paths,
        teacher=teacher,
        output_dir=paths.student,
        unlabeled=[gold_files["test"]],
        num_layers=1,
        epochs=1,
        **tiny,
    )
    student = paths.student
    assert onnx == student / "onnx" / "model.int8.onnx" and onnx.exists()
    config = json.loads((student / "config.json").read_text(encoding="utf-8"))
    assert config["num_hidden_layers"] == 1  # the teacher has 2
    args = json.loads((student / "training_args.json").read_text(encoding="utf-8"))
    assert args["teacher"] == str(teacher) and args["base_model"] == str(tiny_base)
    metrics = json.loads((student / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["train_examples"] == {"gold": 900, "weak": 0, "teacher": 200}
    assert "distilled from the classifier" in (student / "README.md").read_text(encoding="utf-8")
    # Served when asked for by name ("auto" keeps the classifier); the report finds the
    # student's measured quality.
    version = load_labeler("student", paths).version
    assert version == result.model_version + "-onnx-int8"
    assert load_labeler("auto", paths).version == teacher_version + "-onnx-int8"
    info = model_info(paths, version)
    assert info.quality is not None and info.quality.source == str(student / "metrics.json")


def test_distill_without_a_teacher_says_how_to_make_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["model", "distill"])
    assert result.exit_code == 1 and "no classifier in" in result.output
