"""Item types besides complaint records (which travel as plain dicts of contract fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MerchantInfoItem:
    """A merchant-info record (``pipeline.contract.MerchantInfoRecord`` fields), written to
    its own file: it describes a merchant, not a complaint."""

    record: dict[str, Any]
