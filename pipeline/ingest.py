"""Ingest: raw JSON Lines -> the validated, cleaned, masked, grouped ``complaints`` table.

Per raw file, the expensive part, done once per file: every line becomes a row
(``pipeline.rows``: validated, personal data masked, normalized, merchant and platform
resolved, duplicate-grouping signatures) or a reject (``rejects/``, with its line number,
reason and the line itself); rows are written in batches of ``BATCH_ROWS`` to Parquet parts
under ``interim/complaints/``.

Memory stays flat: a file is streamed line by line and each batch is written before the next
is read. Large files are cut at line boundaries into units of about ``CHUNK_BYTES``, and the
units of all files are processed by a pool of worker processes (one per core by default),
each writing its own part; line numbers stay those of the whole file, and each raw file still
gets one rejects file. A manifest remembers which files were ingested (size and modification
time), so a rerun reads only new or changed files.

Then the table is rebuilt from all parts (``pipeline.complaints_table``): one row per
(site, sn), the latest fetch, grouped into posts and near-duplicate clusters over the whole
table. Rerunning over the same raw files therefore adds nothing twice; rerunning with nothing
new keeps the table as it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import dedup
from pipeline.complaints_table import GroupStats, build_complaints_table
from pipeline.contract import ComplaintRecord
from pipeline.jsonl import JsonlWriter, RawLine, decode_line
from pipeline.pii import mask_text, rules_version
from pipeline.resolve import Resolver, default_resolver
from pipeline.rows import Reject, parse_line, rows_to_table, to_row
from pipeline.settings import Paths
from pipeline.text import clean_text
from pipeline.warehouse import COMPLAINT_PARTS_SCHEMA

logger = logging.getLogger(__name__)

# Bump when cleaning, masking, grouping inputs or the table's columns change: every part is
# rebuilt.
INGEST_VERSION = 3
BATCH_ROWS = 2_000
CHUNK_BYTES = 8 * 1024 * 1024


@dataclass
class FileResult:
    path: str
    lines: int = 0
    loaded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: bool = False  # unchanged since the last ingest
    pii: Counter[str] = field(default_factory=Counter)  # items masked in post texts, by kind
    originals_dropped: int = 0  # texts whose original was not kept (see pipeline.warehouse)

    def add(self, other: FileResult) -> None:
        self.lines += other.lines
        self.loaded += other.loaded
        self.rejected.update(other.rejected)
        self.pii.update(other.pii)
        self.originals_dropped += other.originals_dropped

    def as_manifest(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "loaded": self.loaded,
            "rejected": dict(self.rejected),
            "pii": dict(self.pii),
            "originals_dropped": self.originals_dropped,
        }


@dataclass
class IngestSummary:
    files: list[FileResult]
    rows: int  # rows in the complaints table after this run
    duplicates: int  # records dropped because their (site, sn) was already there
    table: Path
    groups: GroupStats | None = None
    seconds_files: float = 0.0  # reading, validating, masking, normalizing, writing parts
    seconds_table: float = 0.0  # rebuilding the table: dedup, grouping, writing

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files if not f.skipped)

    @property
    def rejected(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            if not f.skipped:
                total.update(f.rejected)
        return total

    @property
    def pii(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            if not f.skipped:
                total.update(f.pii)
        return total


# --- files ---------------------------------------------------------------------------------


def discover_raw_files(paths: Paths) -> list[Path]:
    """Every finished crawl output under ``raw/`` (not rejects, not ``.part`` files)."""
    if not paths.raw.is_dir():
        return []
    return sorted(p for p in paths.raw.glob("*/*.jsonl") if not p.name.endswith(".rejects.jsonl"))


def _file_key(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:16]


@dataclass(frozen=True)
class Unit:
    """A stretch of whole lines of one raw file, ingested into one part."""

    path: Path
    start: int  # byte offset of its first line
    end: int  # byte offset just after its last line
    first_line: int  # line number of its first line in the whole file
    index: int  # its position among the file's units


def split_file(path: Path, chunk_bytes: int | None = None) -> list[Unit]:
    """Cut a file at line boundaries into about equal units of at most ``chunk_bytes``."""
    size = path.stat().st_size
    count = max(1, math.ceil(size / (chunk_bytes or CHUNK_BYTES)))
    if count == 1:
        return [Unit(path, 0, size, 1, 0)]
    starts = [0]
    with path.open("rb") as handle:
        for i in range(1, count):
            handle.seek(max(size * i // count - 1, starts[-1]))
            handle.readline()  # to the start of the next line
            if handle.tell() < size and handle.tell() > starts[-1]:
                starts.append(handle.tell())
        # Line numbers: newlines before each start.
        handle.seek(0)
        first_lines = [1]
        pos = 0
        lines = 0
        for target in starts[1:]:
            while pos < target:
                block = handle.read(min(1 << 22, target - pos))
                lines += block.count(b"\n")
                pos += len(block)
            first_lines.append(lines + 1)
    ends = [*starts[1:], size]
    return [
        Unit(path, s, e, n, i)
        for i, (s, e, n) in enumerate(zip(starts, ends, first_lines, strict=True))
    ]


def iter_unit_lines(unit: Unit) -> Iterator[RawLine]:
    """The non-blank lines of a unit, numbered as in the whole file (as ``iter_lines``)."""
    with unit.path.open("rb") as handle:
        handle.seek(unit.start)
        pos = unit.start
        line_no = unit.first_line - 1
        for raw in handle:
            if pos >= unit.end:
                break
            pos += len(raw)
            line_no += 1
            line = decode_line(line_no, raw)
            if line is not None:
                yield line


def ingest_unit(
    unit: Unit,
    part_path: Path,
    rejects_path: Path,
    *,
    resolver: Resolver | None = None,
    on_line: Callable[[int], None] | None = None,
) -> FileResult:
    """Validate, mask and clean one unit into a Parquet part; bad lines go to ``rejects_path``
    (no file when there are none)."""
    resolver = resolver or default_resolver()
    result = FileResult(path=str(unit.path))
    part_tmp = part_path.with_name(part_path.name + ".tmp")
    part_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path.unlink(missing_ok=True)
    rejects = JsonlWriter(rejects_path)
    source = str(unit.path)
    batch: list[dict[str, Any]] = []
    try:
        with pq.ParquetWriter(
            part_tmp, COMPLAINT_PARTS_SCHEMA, compression="zstd", compression_level=1
        ) as writer:
            for line in iter_unit_lines(unit):
                result.lines += 1
                parsed = parse_line(line)
                row = (
                    to_row(parsed, resolver, source, line.line_no)
                    if isinstance(parsed, ComplaintRecord)
                    else parsed
                )
                if isinstance(row, Reject):
                    result.rejected[row.code] += 1
                    rejects.write(_reject_entry(unit.path, row, line))
                else:
                    result.loaded += 1
                    result.originals_dropped += row.pop("_originals_dropped")
                    result.pii.update({k: v for k, v in row["pii"].items() if v})
                    batch.append(row)
                    if len(batch) >= BATCH_ROWS:
                        writer.write_table(rows_to_table(batch))
                        batch.clear()
                if on_line is not None:
                    on_line(len(line.raw) + 1)
            if batch:
                writer.write_table(rows_to_table(batch))
    finally:
        rejects.close()
    part_tmp.replace(part_path)
    return result


def _reject_entry(path: Path, reject: Reject, line: RawLine) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "file": str(path),
        "line": reject.line_no,
        "reason": reject.code,
        "message": reject.message,
    }
    if line.text is not None:
        entry["text"] = line.text
    else:
        entry["bytes_b64"] = base64.b64encode(line.raw).decode("ascii")
    return entry


def _ingest_unit_job(unit: Unit, part_path: Path, rejects_path: Path) -> FileResult:
    """What a worker process runs (module level, so that it pickles)."""
    return ingest_unit(unit, part_path, rejects_path)


# --- the stage -----------------------------------------------------------------------------


def _load_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"files": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        logger.warning("ingest manifest %s is unreadable; re-ingesting every file", path)
        return {"files": {}}
    return manifest if isinstance(manifest, dict) and "files" in manifest else {"files": {}}


def _save_manifest(path: Path, manifest: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def _table_stamp(path: Path) -> list[int] | None:
    if not path.exists():
        return None
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class _FileJob:
    path: Path
    key: str
    units: list[Unit]
    parts: list[Path]
    unit_rejects: list[Path]
    rejects: Path
    stat: os.stat_result
    results: dict[int, FileResult] = field(default_factory=dict)
    progress: Callable[[Path, int], Callable[[int], None]] | None = None
    _bar: Callable[[int], None] | None = None

    def advance(self, n: int) -> None:
        """Report ``n`` more bytes read (the file's bar starts with its first bytes)."""
        if self.progress is None:
            return
        if self._bar is None:
            self._bar = self.progress(self.path, self.stat.st_size)
        self._bar(n)


def run_ingest(
    paths: Paths,
    files: Iterable[Path] | None = None,
    *,
    rebuild: bool = False,
    workers: int | None = None,
    progress: Callable[[Path, int], Callable[[int], None]] | None = None,
) -> IngestSummary:
    """Ingest ``files`` (default: every raw crawl output) and rebuild the complaints table.

    ``workers``: processes for the per-file work (default: one per available core; 1 runs
    everything in this process). ``progress(path, size)`` may return a callback that receives
    bytes read, for a bar.
    """
    resolver = default_resolver()
    version = f"{INGEST_VERSION}:{resolver.version}:{rules_version()}"
    chosen = list(files) if files is not None else discover_raw_files(paths)
    for path in chosen:
        if not path.is_file():
            raise FileNotFoundError(f"raw file {path} does not exist")
    paths.interim_complaints.mkdir(parents=True, exist_ok=True)
    manifest = {"files": {}} if rebuild else _load_manifest(paths.ingest_manifest)
    if manifest.get("version") != version:
        manifest = {"files": {}}
        for stale in paths.interim_complaints.glob("*.parquet"):
            stale.unlink()
    manifest["version"] = version
    results: dict[str, FileResult] = {}
    jobs: list[_FileJob] = []
    for path in chosen:
        key = str(path.resolve())
        stat = path.stat()
        entry = manifest["files"].get(key)
        if (
            entry
            and entry["size"] == stat.st_size
            and entry["mtime_ns"] == stat.st_mtime_ns
            and all((paths.interim_complaints / p).exists() for p in entry["parts"])
        ):
            results[key] = FileResult(
                path=str(path),
                skipped=True,
                lines=entry["lines"],
                loaded=entry["loaded"],
                rejected=Counter(entry["rejected"]),
                pii=Counter(entry.get("pii", {})),
                originals_dropped=entry.get("originals_dropped", 0),
            )
            continue
        file_key = _file_key(path)
        for old in paths.interim_complaints.glob(f"{file_key}-*.parquet"):
            old.unlink()
        units = split_file(path)
        rejects = paths.rejects / f"{path.stem}-{file_key}.rejects.jsonl"
        unit_rejects = (
            [rejects]
            if len(units) == 1
            else [rejects.with_name(f".{rejects.name}.{u.index}") for u in units]
        )
        jobs.append(
            _FileJob(
                path=path,
                key=key,
                units=units,
                parts=[
                    paths.interim_complaints / f"{file_key}-{u.index:04d}.parquet" for u in units
                ],
                unit_rejects=unit_rejects,
                rejects=rejects,
                stat=stat,
                progress=progress,
            )
        )
    started = time.perf_counter()
    for job, result in _run_jobs(jobs, workers):
        manifest["files"][job.key] = {
            "size": job.stat.st_size,
            "mtime_ns": job.stat.st_mtime_ns,
            "parts": [p.name for p in job.parts],
            "rejects": str(job.rejects) if sum(result.rejected.values()) else None,
            **result.as_manifest(),
        }
        _save_manifest(paths.ingest_manifest, manifest)
        results[job.key] = result
    files_done = time.perf_counter()
    parts = [paths.interim_complaints / p for e in manifest["files"].values() for p in e["parts"]]
    built = manifest.get("table")
    if (
        not jobs
        and built
        and built["parts"] == sorted(p.name for p in parts)
        and (_table_stamp(paths.complaints) == built["stamp"])
    ):
        # Nothing new and the table is the one built from these parts: keep it.
        rows, duplicates, groups = built["rows"], built["duplicates"], GroupStats(**built["groups"])
    else:
        rows, duplicates, groups = build_complaints_table(paths, parts)
        manifest["table"] = {
            "parts": sorted(p.name for p in parts),
            "stamp": _table_stamp(paths.complaints),
            "rows": rows,
            "duplicates": duplicates,
            "groups": asdict(groups),
        }
        _save_manifest(paths.ingest_manifest, manifest)
    return IngestSummary(
        files=[results[str(p.resolve())] for p in chosen],
        rows=rows,
        duplicates=duplicates,
        table=paths.complaints,
        groups=groups,
        seconds_files=files_done - started,
        seconds_table=time.perf_counter() - files_done,
    )


def warm_up() -> None:
    """Load what every record needs (tables, compiled patterns, OpenCC, the Arrow/pandas
    glue pyarrow imports on first use) once, before worker processes are forked."""
    resolver = default_resolver()
    row = "手機１３８００１３８０００，微信abc_12345，收件人王伟"
    mask_text(clean_text(row), protect=("0",))
    resolver.resolution("拼多多", row)
    dedup.signatures([dedup.compact(row)])
    pa.array([row], pa.string())


def _run_jobs(jobs: list[_FileJob], workers: int | None) -> Iterator[tuple[_FileJob, FileResult]]:
    """Ingest every unit of every job; yields each file once all its units are done."""
    units = [(job, i) for job in jobs for i in range(len(job.units))]
    workers = min(workers or available_cpus(), len(units))
    if workers <= 1:
        for job in jobs:
            for i, unit in enumerate(job.units):
                job.results[i] = ingest_unit(
                    unit, job.parts[i], job.unit_rejects[i], on_line=job.advance
                )
            yield job, _finish_file(job)
        return
    # fork is fast and shares the loaded tables, but forking a process that runs other
    # threads (a test's server, say) can deadlock the child on a lock one of them held.
    method = "fork" if threading.active_count() == 1 else "spawn"
    if method == "fork":
        warm_up()  # children inherit the loaded tables instead of each building them
    context = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures: dict[Future[FileResult], tuple[_FileJob, int]] = {
            pool.submit(_ingest_unit_job, job.units[i], job.parts[i], job.unit_rejects[i]): (
                job,
                i,
            )
            for job, i in units
        }
        pending = {id(job): len(job.units) for job in jobs}
        for future in as_completed(futures):
            job, i = futures[future]
            job.results[i] = future.result()
            job.advance(job.units[i].end - job.units[i].start)
            pending[id(job)] -= 1
            if pending[id(job)] == 0:
                yield job, _finish_file(job)
    except BaseException:
        # Files already finished are in the manifest; the rest is not waited for.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _finish_file(job: _FileJob) -> FileResult:
    """One result per file, and one rejects file per raw file (units' rejects in order)."""
    total = FileResult(path=str(job.path))
    for i in range(len(job.units)):
        total.add(job.results[i])
    if len(job.units) > 1:
        pieces = [p for p in job.unit_rejects if p.exists()]
        job.rejects.unlink(missing_ok=True)
        if pieces:
            tmp = job.rejects.with_name(job.rejects.name + ".tmp")
            with tmp.open("wb") as out:
                for piece in pieces:
                    out.write(piece.read_bytes())
            tmp.replace(job.rejects)
        for piece in pieces:
            piece.unlink()
    return total


# --- the table -----------------------------------------------------------------------------
