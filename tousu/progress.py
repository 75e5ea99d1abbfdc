"""Progress bars for long stages: tqdm on a terminal, silent otherwise (logs stay clean)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

_open_bars: list[tqdm] = []  # type: ignore[type-arg]


def bytes_bar(path: Path, size: int) -> Callable[[int], None]:
    """A bar over one file's bytes; closed by :func:`close_all`."""
    bar = tqdm(
        total=size, desc=f"ingest {path.name}", unit="B", unit_scale=True, disable=None, leave=False
    )
    _open_bars.append(bar)
    return _advancer(bar)


def rows_bar(desc: str) -> Callable[[int], Callable[[int], None]]:
    def start(total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=desc, unit=" posts", disable=None, leave=False)
        _open_bars.append(bar)
        return _advancer(bar)

    return start


def _advancer(bar: tqdm) -> Callable[[int], None]:  # type: ignore[type-arg]
    def advance(n: int) -> None:
        bar.update(n)

    return advance


def steps_bar(desc: str, total: int) -> Callable[[int], None]:
    """A bar over training steps (one per epoch)."""
    bar = tqdm(total=total, desc=desc, unit=" steps", disable=None, leave=False)
    _open_bars.append(bar)
    return _advancer(bar)


def close_all() -> None:
    while _open_bars:
        _open_bars.pop().close()
