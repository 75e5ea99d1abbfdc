from __future__ import annotations

import pytest

from models.args import STUDENT_RECIPE, student_args
from models.data import Example, distilled_examples


def test_distilled_targets_mix_gold_with_the_teacher() -> None:
    gold = [Example("退款被拒", (1.0, 0.0, 1.0, 0.0), (1.0,) * 4, "gold")]
    out = distilled_examples(
        gold,
        [[0.8, 0.2, 0.4, 0.0]],
        ["店铺关门了"],
        [[0.1, 0.6, 0.3, 0.9]],
        alpha=0.5,
        weight=0.7,
    )
    assert out[0].targets == pytest.approx((0.9, 0.1, 0.7, 0.0))
    assert out[0].weights == (1.0,) * 4 and out[0].source == "gold"
    assert out[1].text == "店铺关门了" and out[1].targets == pytest.approx((0.1, 0.6, 0.3, 0.9))
    assert out[1].weights == (0.7,) * 4 and out[1].source == "teacher"
    # alpha 1 is plain gold training; alpha 0 trusts the teacher alone.
    assert distilled_examples(gold, [[0.8, 0.2, 0.4, 0.0]], [], [], alpha=1, weight=1)[
        0
    ].targets == (
        1.0,
        0.0,
        1.0,
        0.0,
    )
    with pytest.raises(ValueError):
        distilled_examples(gold, [], [], [], alpha=0.5, weight=1)


def test_student_recipe_and_overrides() -> None:
    args = student_args("artifacts/classifier", "artifacts/student", epochs=2)
    assert args.teacher == "artifacts/classifier" and args.output_dir == "artifacts/student"
    assert args.num_layers == STUDENT_RECIPE["num_layers"] and args.frozen_layers == 0
    assert args.epochs == 2
    with pytest.raises(ValueError, match="distill_alpha"):
        student_args("t", "s", distill_alpha=1.5)
