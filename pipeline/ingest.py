"""Ingest: raw JSON Lines -> the validated, cleaned, deduplicated ``complaints`` table.

Each raw file is read as a stream and turned into one Parquet part under
``interim/complaints/`` (bad lines go to ``rejects/`` with their line number and reason); a
manifest remembers which files were ingested, so a rerun only reads new or changed files.
The table is then rebuilt from all parts with DuckDB, keeping one row per (site, sn): the
most recently fetched. Rerunning over the same raw files therefore adds nothing twice.

Memory stays flat: lines are validated in batches of ``BATCH_ROWS`` and each batch is written
out before the next is read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.contract import ComplaintRecord, RecordError, validate_record
from pipeline.jsonl import JsonlWriter, RawLine, dumps, iter_lines
from pipeline.resolve import Resolver, default_resolver
from pipeline.settings import Paths
from pipeline.text import clean_text, clean_title
from pipeline.warehouse import COMPLAINTS_SCHEMA, connect, copy_to_parquet, sql_path

logger = logging.getLogger(__name__)

# Bump when cleaning or the table's columns change: every part is rebuilt.
INGEST_VERSION = 1
BATCH_ROWS = 5_000


@dataclass(frozen=True)
class Reject:
    line_no: int
    code: str
    message: str
    raw: bytes


@dataclass
class FileResult:
    path: str
    lines: int = 0
    loaded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: bool = False  # unchanged since the last ingest

    def as_manifest(self) -> dict[str, Any]:
        return {"lines": self.lines, "loaded": self.loaded, "rejected": dict(self.rejected)}


@dataclass
class IngestSummary:
    files: list[FileResult]
    rows: int  # rows in the complaints table after this run
    duplicates: int  # records dropped because their (site, sn) was already there
    table: Path

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


# --- pure steps ----------------------------------------------------------------------------


def parse_line(line: RawLine) -> ComplaintRecord | Reject:
    """One raw line -> a valid record, or the reason it is not one."""
    if line.text is None:
        return Reject(line.line_no, "not_utf8", "line is not valid UTF-8", line.raw)
    try:
        obj = json.loads(line.text)
    except json.JSONDecodeError as exc:
        return Reject(
            line.line_no, "invalid_json", f"not JSON: {exc.msg} at column {exc.colno}", line.raw
        )
    try:
        return validate_record(obj)
    except RecordError as exc:
        return Reject(line.line_no, exc.code, exc.message, line.raw)


def to_row(
    record: ComplaintRecord, resolver: Resolver, source: str, line_no: int
) -> dict[str, Any] | Reject:
    """The cleaned table row for a record (merchant and platform resolved)."""
    title = clean_title(record.title)
    body = clean_text(record.body)
    if not title and not body:
        return Reject(line_no, "empty_text", "title and body are empty after cleaning", b"")
    merchant, platform = resolver.resolve(clean_title(record.merchant_name), f"{title}\n{body}")
    return {
        "site": record.site.value,
        "sn": record.sn,
        "url": record.url,
        "title": title,
        "body": body,
        "body_truncated": record.body_truncated,
        "merchant_name": record.merchant_name,
        "merchant_id": record.merchant_id,
        "merchant": merchant,
        "platform": platform,
        "issue": [clean_title(t) for t in record.issue],
        "appeal": [clean_title(t) for t in record.appeal],
        "amount_yuan": record.amount_yuan,
        "status": int(record.status) if record.status is not None else None,
        "created_at": record.created_at,
        "fetched_at": record.fetched_at,
        "timeline": dumps([step.model_dump(mode="json") for step in record.timeline]),
        "raw": dumps(record.raw),
        "source_file": source,
        "source_line": line_no,
    }


# --- files ---------------------------------------------------------------------------------


def discover_raw_files(paths: Paths) -> list[Path]:
    """Every finished crawl output under ``raw/`` (not rejects, not ``.part`` files)."""
    if not paths.raw.is_dir():
        return []
    return sorted(p for p in paths.raw.glob("*/*.jsonl") if not p.name.endswith(".rejects.jsonl"))


def _file_key(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:16]


def ingest_file(
    path: Path,
    part_path: Path,
    rejects_path: Path,
    *,
    resolver: Resolver,
    on_line: Callable[[int], None] | None = None,
) -> FileResult:
    """Validate and clean one raw file into a Parquet part; bad lines go to ``rejects_path``."""
    result = FileResult(path=str(path))
    part_tmp = part_path.with_name(part_path.name + ".tmp")
    part_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_path.unlink(missing_ok=True)
    rejects = JsonlWriter(rejects_path)
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(part_tmp, COMPLAINTS_SCHEMA, compression="zstd") as writer:
        for line in iter_lines(path):
            result.lines += 1
            parsed = parse_line(line)
            row = (
                to_row(parsed, resolver, str(path), line.line_no)
                if isinstance(parsed, ComplaintRecord)
                else parsed
            )
            if isinstance(row, Reject):
                result.rejected[row.code] += 1
                rejects.write(_reject_entry(path, row, line))
            else:
                result.loaded += 1
                batch.append(row)
                if len(batch) >= BATCH_ROWS:
                    writer.write_table(pa.Table.from_pylist(batch, schema=COMPLAINTS_SCHEMA))
                    batch.clear()
            if on_line is not None:
                on_line(len(line.raw) + 1)
        writer.write_table(pa.Table.from_pylist(batch, schema=COMPLAINTS_SCHEMA))
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


def run_ingest(
    paths: Paths,
    files: Iterable[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Callable[[Path, int], Callable[[int], None]] | None = None,
) -> IngestSummary:
    """Ingest ``files`` (default: every raw crawl output) and rebuild the complaints table.

    ``progress(path, size)`` may return a callback that receives bytes read, for a bar.
    """
    resolver = default_resolver()
    version = f"{INGEST_VERSION}:{resolver.version}"
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
    results: list[FileResult] = []
    for path in chosen:
        key = str(path.resolve())
        stat = path.stat()
        entry = manifest["files"].get(key)
        part = paths.interim_complaints / f"{_file_key(path)}.parquet"
        if (
            entry
            and entry["size"] == stat.st_size
            and entry["mtime_ns"] == stat.st_mtime_ns
            and part.exists()
        ):
            results.append(
                FileResult(
                    path=str(path),
                    skipped=True,
                    lines=entry["lines"],
                    loaded=entry["loaded"],
                    rejected=Counter(entry["rejected"]),
                )
            )
            continue
        rejects_path = paths.rejects / f"{path.stem}-{_file_key(path)}.rejects.jsonl"
        callback = progress(path, stat.st_size) if progress else None
        result = ingest_file(path, part, rejects_path, resolver=resolver, on_line=callback)
        manifest["files"][key] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "part": part.name,
            "rejects": str(rejects_path) if sum(result.rejected.values()) else None,
            **result.as_manifest(),
        }
        _save_manifest(paths.ingest_manifest, manifest)
        results.append(result)
    rows, duplicates = build_complaints_table(
        paths, [paths.interim_complaints / e["part"] for e in manifest["files"].values()]
    )
    return IngestSummary(files=results, rows=rows, duplicates=duplicates, table=paths.complaints)


def build_complaints_table(paths: Paths, parts: list[Path]) -> tuple[int, int]:
    """Merge every part into ``complaints.parquet``, one row per (site, sn); returns
    (rows, duplicates dropped)."""
    parts = [p for p in parts if p.exists()]
    con = connect()
    if not parts:
        empty = pa.Table.from_pylist([], schema=COMPLAINTS_SCHEMA)
        con.register("empty_parts", empty)
        return copy_to_parquet(con, "SELECT * FROM empty_parts", paths.complaints), 0
    sources = "[" + ", ".join(sql_path(p) for p in parts) + "]"
    total = int(con.execute(f"SELECT count(*) FROM read_parquet({sources})").fetchone()[0])
    query = f"""
        SELECT * FROM read_parquet({sources})
        QUALIFY row_number() OVER (
            PARTITION BY site, sn ORDER BY fetched_at DESC, source_file, source_line
        ) = 1
        ORDER BY site, created_at, sn
    """
    rows = copy_to_parquet(con, query, paths.complaints)
    return rows, total - rows
