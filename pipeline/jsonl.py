"""Streaming JSON Lines reading and crash-safe writing.

Readers yield one line at a time with its 1-based line number, so a bad line can be reported
exactly and memory stays flat on any input size. Writers write to ``<name>.part`` and rename on
close, so a finished file is never half-written; a ``.part`` left by a killed process still
holds every complete line and is recovered by :func:`recover_partial`. A writer holds an
exclusive lock on its ``.part`` file, so recovery never touches a file another process is
still writing.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

PART_SUFFIX = ".part"


@dataclass(frozen=True)
class RawLine:
    """One physical line of a JSON Lines file, before parsing."""

    line_no: int
    text: str | None  # None when the bytes are not valid UTF-8
    raw: bytes


def iter_lines(path: Path) -> Iterator[RawLine]:
    """Yield every non-blank line of ``path`` with its line number.

    Lines are decoded one by one so that a single non-UTF-8 line is reported on its own
    instead of failing the whole file.
    """
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = decode_line(line_no, raw)
            if line is not None:
                yield line


def decode_line(line_no: int, raw: bytes) -> RawLine | None:
    """One line as read from a file: None when blank, ``text`` None when not UTF-8."""
    # Keep the line exactly as written (for rejects) minus its line ending.
    line = raw.rstrip(b"\r\n")
    if not line.strip():
        return None
    try:
        text: str | None = line.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return RawLine(line_no=line_no, text=text, raw=line)


def dumps(obj: Any) -> str:
    """One compact JSON line, Chinese kept readable."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


class JsonlWriter:
    """Append records to ``<path>.part``; ``close()`` renames it to ``path``.

    Every record is flushed at once so that a crash loses at most the line being written.
    """

    def __init__(self, path: Path, *, flush_every: int = 1) -> None:
        self.path = path
        self.part_path = path.with_name(path.name + PART_SUFFIX)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] | None = self.part_path.open("a", encoding="utf-8")
        try:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            self._handle = None
            raise FileExistsError(f"{self.part_path} is being written by another process") from None
        self._flush_every = max(1, flush_every)
        self.count = 0

    def write(self, record: Any) -> None:
        if self._handle is None:
            raise ValueError(f"{self.path} is already closed")
        self._handle.write(dumps(record) + "\n")
        self.count += 1
        if self.count % self._flush_every == 0:
            self._handle.flush()

    def close(self) -> Path:
        """Finish the file. An empty output leaves no file behind."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            if self.count == 0 and self.part_path.stat().st_size == 0:
                self.part_path.unlink()
            else:
                self.part_path.replace(self.path)
        return self.path

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def recover_partial(directory: Path) -> list[Path]:
    """Finish every ``*.jsonl.part`` left in ``directory`` by a process that died.

    A trailing line without its newline was cut mid-write and is dropped (it cannot be
    parsed); every complete line is kept. Returns the recovered file paths.
    """
    recovered: list[Path] = []
    if not directory.is_dir():
        return recovered
    for part in sorted(directory.glob("*.jsonl" + PART_SUFFIX)):
        with part.open("rb") as probe:
            try:
                fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            data = probe.read()
        if data and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]
        target = part.with_name(part.name[: -len(PART_SUFFIX)])
        if data:
            tmp = part.with_name(part.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
            recovered.append(target)
        part.unlink()
    return recovered
