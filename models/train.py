"""Fine-tune the encoder for the four labels (one sigmoid each) and write the artifact.

Data: gold train (weight 1) plus weakly labeled posts (per-label weight ``weak_weight`` x the
label model's confidence |2p - 1|). Class imbalance: BCE ``pos_weight`` per label = negatives /
positives in gold train, capped. Optimizer: AdamW with a higher learning rate for the new head,
linear warm-up and decay; word embeddings frozen by default. Batches group posts of similar
length (dynamic padding). After each epoch the model is scored on gold dev (macro-F1 at 0.5);
the best epoch is kept and training stops after ``patience`` epochs without gain. The kept model
is then calibrated on dev (temperature per label) and its thresholds tuned on dev.

The artifact folder holds the weights and tokenizer (transformers format), ``classifier.json``
(labels, temperatures, thresholds, model version), ``training_args.json``, ``metrics.json``
(dev figures, calibration error, timings) and a model card ``README.md``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.args import TrainArgs
from models.calibration import Calibration, calibrate, sigmoid
from models.data import Example, length_batches
from models.encoder import batched_logits, load_for_training
from models.frozen import FrozenBottom
from models.layout import ARTIFACT_FILE
from pipeline.evaluate import EvalReport, evaluate
from pipeline.taxonomy import LABELS

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    model_version: str
    dev: EvalReport
    best_epoch: int
    epochs_run: int
    seconds: float
    calibration: Calibration


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _pos_weight(train: Sequence[Example], cap: float) -> torch.Tensor:
    gold = np.array([e.targets for e in train if e.source == "gold"])
    positives = gold.sum(axis=0)
    negatives = len(gold) - positives
    return torch.tensor(
        np.clip(negatives / np.maximum(positives, 1.0), 1.0, cap), dtype=torch.float32
    )


def _optimizer(model: Any, args: TrainArgs, total_steps: int) -> tuple[Any, Any]:
    from transformers import get_linear_schedule_with_warmup

    head_names = {n for n, _ in model.named_parameters() if n.startswith("classifier.")}
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = name.endswith("bias") or "LayerNorm" in name
        groups.setdefault((name in head_names, no_decay), []).append(param)
    param_groups = [
        {
            "params": params,
            "lr": args.head_learning_rate if is_head else args.learning_rate,
            "weight_decay": 0.0 if no_decay else args.weight_decay,
        }
        for (is_head, no_decay), params in groups.items()
    ]
    optimizer = torch.optim.AdamW(param_groups)
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(args.warmup_ratio * total_steps), total_steps
    )
    return optimizer, schedule


def _dev_report(
    logits: np.ndarray,
    dev: Sequence[Example],
    thresholds: Sequence[float] | None = None,
    probs: np.ndarray | None = None,
) -> EvalReport:
    p = sigmoid(logits) if probs is None else probs
    t = np.asarray(thresholds if thresholds is not None else [0.5] * len(LABELS))
    gold = [
        frozenset(label for label, v in zip(LABELS, e.targets, strict=True) if v >= 0.5)
        for e in dev
    ]
    pred = [
        frozenset(label for label, hit in zip(LABELS, row, strict=True) if hit) for row in p >= t
    ]
    scores = [dict(zip(LABELS, map(float, row), strict=True)) for row in p]
    return evaluate(gold, pred, scores)


def train(
    args: TrainArgs,
    train_set: Sequence[Example],
    dev_set: Sequence[Example],
    *,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> TrainResult:
    """Train, select, calibrate and save; returns the dev figures of the saved model."""
    started = time.monotonic()
    torch.set_num_threads(args.threads)
    _seed(args.seed)
    model, tokenizer = load_for_training(args.base_model, args.num_layers)
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad = False
    texts = [e.text for e in train_set]
    encoded = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    targets = torch.tensor([e.targets for e in train_set], dtype=torch.float32)
    weights = torch.tensor([e.weights for e in train_set], dtype=torch.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        reduction="none", pos_weight=_pos_weight(train_set, args.pos_weight_cap)
    )
    dev_texts = [e.text for e in dev_set]
    frozen = FrozenBottom(model, args.frozen_layers) if args.frozen_layers else None
    cache: list[torch.Tensor] = []
    dev_cache: list[torch.Tensor] = []
    if frozen is not None:
        dev_encoded = tokenizer(dev_texts, truncation=True, max_length=args.max_length)["input_ids"]
        advance = progress("frozen layers", len(encoded) + len(dev_encoded)) if progress else None
        cache = frozen.encode(encoded, tokenizer.pad_token_id, advance=advance)
        dev_cache = frozen.encode(dev_encoded, tokenizer.pad_token_id, advance=advance)
        logger.info(
            "bottom %d layers run once over %d posts: %.1f min",
            args.frozen_layers,
            len(cache) + len(dev_cache),
            (time.monotonic() - started) / 60,
        )

    def dev_logits_now() -> np.ndarray:
        if frozen is None:
            return batched_logits(model, tokenizer, dev_texts, max_length=args.max_length)
        model.eval()
        with torch.inference_mode():
            return np.concatenate(
                [
                    frozen.logits(dev_cache[i : i + 64]).float().numpy()
                    for i in range(0, len(dev_cache), 64)
                ]
            )

    steps_per_epoch = (len(train_set) + args.batch_size - 1) // args.batch_size
    optimizer, schedule = _optimizer(model, args, steps_per_epoch * args.epochs)
    rng = random.Random(args.seed)
    best_f1, best_epoch, best_state, epochs_run = -1.0, 0, None, 0
    for epoch in range(1, args.epochs + 1):
        epochs_run = epoch
        model.train()
        batches = length_batches([len(ids) for ids in encoded], args.batch_size)
        rng.shuffle(batches)  # similar lengths within a batch, random order across batches
        advance = progress(f"epoch {epoch}/{args.epochs}", len(batches)) if progress else None
        total, log_every = 0.0, max(1, len(batches) // 5)
        for step, batch in enumerate(batches, start=1):
            if frozen is not None:
                logits = frozen.logits([cache[i] for i in batch])
            else:
                padded = tokenizer.pad(
                    {"input_ids": [encoded[i] for i in batch]}, return_tensors="pt"
                )
                logits = model(
                    input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]
                ).logits
            w = weights[batch]
            loss = (loss_fn(logits, targets[batch]) * w).sum() / w.sum().clamp(min=1e-6)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            total += float(loss.detach())
            if advance:
                advance(1)
            if step % log_every == 0:  # a line in logs too, where the bar is silent
                logger.info(
                    "epoch %d: step %d/%d, %.1f min so far",
                    epoch,
                    step,
                    len(batches),
                    (time.monotonic() - started) / 60,
                )
        f1 = _dev_report(dev_logits_now(), dev_set).macro_f1
        logger.info(
            "epoch %d: train loss %.4f, dev macro-F1 %.4f", epoch, total / max(1, len(batches)), f1
        )
        if f1 > best_f1:
            best_f1, best_epoch, best_state = f1, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= args.patience:
            logger.info("no dev gain for %d epochs: stopping", args.patience)
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    dev_logits = batched_logits(model, tokenizer, dev_texts, max_length=args.max_length)
    y = np.array([e.targets for e in dev_set])
    calibration = calibrate(dev_logits, y)
    dev = _dev_report(
        dev_logits, dev_set, calibration.thresholds, calibration.probabilities(dev_logits)
    )
    seconds = time.monotonic() - started
    version = save_artifact(
        args,
        model,
        tokenizer,
        calibration,
        dev,
        extra={
            "best_epoch": best_epoch,
            "epochs_run": epochs_run,
            "train_seconds": seconds,
            "train_examples": {
                "gold": sum(e.source == "gold" for e in train_set),
                "weak": sum(e.source == "weak" for e in train_set),
                "teacher": sum(e.source == "teacher" for e in train_set),
            },
            "dev_examples": len(dev_set),
            "dev_macro_f1_at_0.5": best_f1,
        },
    )
    return TrainResult(args.output_path, version, dev, best_epoch, epochs_run, seconds, calibration)


def _weights_digest(folder: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(folder.glob("*.safetensors")):
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:10]


def save_artifact(
    args: TrainArgs,
    model: Any,
    tokenizer: Any,
    calibration: Calibration,
    dev: EvalReport,
    *,
    extra: dict[str, Any],
) -> str:
    out = args.output_path
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    version = f"clf-{_weights_digest(tmp)}"
    labels = [label.value for label in LABELS]
    (tmp / ARTIFACT_FILE).write_text(
        json.dumps(
            {
                "model_version": version,
                "labels": labels,
                "temperatures": dict(zip(labels, calibration.temperatures, strict=True)),
                "thresholds": dict(zip(labels, calibration.thresholds, strict=True)),
                "max_length": args.max_length,
                "base_model": args.base_model,
                "num_layers": args.num_layers,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    (tmp / "training_args.json").write_text(json.dumps(args.to_json(), indent=1), encoding="utf-8")
    metrics = {
        "model_version": version,
        "dev": dev.to_json(),
        "ece_dev_before": dict(zip(labels, calibration.ece_before, strict=True)),
        "ece_dev_after": dict(zip(labels, calibration.ece_after, strict=True)),
        **extra,
    }
    (tmp / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (tmp / "README.md").write_text(
        model_card(version, args, dev, calibration, extra), encoding="utf-8"
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return version


def _data_line(args: TrainArgs, counts: dict[str, int]) -> str:
    if args.teacher:
        return (
            f"distilled from the classifier in `{args.teacher}`: {counts['gold']} hand-labeled "
            f"gold posts (target {args.distill_alpha} x gold label + {1 - args.distill_alpha:g} "
            f"x teacher probability) and {counts['teacher']} unlabeled posts with the teacher's "
            f"calibrated probabilities (weight {args.weak_weight})."
        )
    return (
        f"{counts['gold']} hand-labeled gold posts and {counts['weak']} weakly labeled posts "
        f"(weight {args.weak_weight} x label-model confidence)."
    )


def model_card(
    version: str, args: TrainArgs, dev: EvalReport, calibration: Calibration, extra: dict[str, Any]
) -> str:
    rows = "\n".join(
        f"| {label.value} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} | {m.support} | "
        f"{calibration.thresholds[k]:.2f} | {calibration.ece_after[k]:.3f} |"
        for k, (label, m) in enumerate(dev.labels.items())
    )
    return f"""# Complaint label classifier `{version}`

Multi-label classifier for Chinese consumer-complaint posts: one sigmoid per label
({", ".join(label.value for label in LABELS)}; definitions in the project's taxonomy). Input is
the post's title and body (cleaned as ingest cleans them), at most {args.max_length} tokens.

- Base encoder: `{args.base_model}`{f", first {args.num_layers} layers" if args.num_layers else ""}; word embeddings {"frozen" if args.freeze_word_embeddings else "trained"}.
- Training data: {_data_line(args, extra["train_examples"])}
- Selection: best of {extra["epochs_run"]} epochs on gold dev (epoch {extra["best_epoch"]}); per-label temperature scaling and thresholds fitted on gold dev.
- Training time: {extra["train_seconds"] / 60:.1f} min on {args.threads} CPU threads.

## Gold dev figures (thresholds and calibration fitted here, so optimistic; see the test figures)

| label | precision | recall | F1 | support | threshold | ECE after calibration |
|---|---|---|---|---|---|---|
{rows}

macro-F1 {dev.macro_f1:.3f}, micro-F1 {dev.micro_f1:.3f}, exact match {dev.exact_match:.3f}.

## Limits
Trained on hand-written posts about online shopping and prepaid services; quality on other
domains, on traditional-Chinese posts and on very long posts (truncated) is unmeasured. Labels
follow the taxonomy's conventions: what the complainant reports as having happened.
"""
