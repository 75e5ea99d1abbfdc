"""The four complaint labels of ``shared/docs/taxonomy.md`` (v1.1), multi-label.

A post carries zero or more labels; a post with none is "other". The English names are the
machine-readable form everywhere (records, tables, model heads).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

TAXONOMY_VERSION = "1.1"


class Label(StrEnum):
    FAKE_SHIPMENT = "fake_shipment"
    NO_CUSTOMER_SERVICE = "no_customer_service"
    REFUND_REFUSAL = "refund_refusal"
    EXIT_SCAM = "exit_scam"

    @property
    def zh(self) -> str:
        """The Chinese name used in reports."""
        return LABEL_ZH[self]


LABELS: tuple[Label, ...] = tuple(Label)

LABEL_ZH: dict[Label, str] = {
    Label.FAKE_SHIPMENT: "虚假发货",
    Label.NO_CUSTOMER_SERVICE: "无人工客服",
    Label.REFUND_REFUSAL: "拒绝退款",
    Label.EXIT_SCAM: "商家跑路",
}


def parse_labels(names: object) -> frozenset[Label]:
    """Turn a list of label names into labels, naming any unknown one.

    Raises ``ValueError`` listing the unknown names and the valid ones.
    """
    if names is None:
        return frozenset()
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise ValueError(f"labels must be a list of names, got {type(names).__name__}")
    values = list(names)
    unknown = sorted({str(n) for n in values if n not in Label._value2member_map_})
    if unknown:
        valid = ", ".join(label.value for label in LABELS)
        raise ValueError(f"unknown label(s) {unknown}; valid labels are: {valid}")
    return frozenset(Label(n) for n in values)


@dataclass(frozen=True)
class LabelScore:
    """What every labeler returns per post: the labels given and a probability per label."""

    labels: frozenset[Label]
    scores: dict[Label, float]
