"""The embedded warehouse: Parquet tables under the data folder, queried with DuckDB.

Tables are written whole to a temporary file and renamed into place, so a reader never sees a
half-written table and a failed stage leaves the previous table intact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

# The complaints table, as ingest writes it. Lists stay lists; the raw payload and the
# timeline are JSON text so that any source's shape fits.
COMPLAINTS_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("sn", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("body", pa.string()),
        ("body_truncated", pa.bool_()),
        ("merchant_name", pa.string()),
        ("merchant_id", pa.string()),
        ("merchant", pa.string()),
        ("platform", pa.string()),
        ("issue", pa.list_(pa.string())),
        ("appeal", pa.list_(pa.string())),
        ("amount_yuan", pa.float64()),
        ("status", pa.int8()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("timeline", pa.string()),
        ("raw", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
    ]
)


def connect(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def sql_path(path: Path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def copy_to_parquet(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Write the result of ``query`` to ``path`` atomically; returns the row count."""
    with atomic_output(path) as tmp:
        con.execute(f"COPY ({query}) TO {sql_path(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    return int(con.execute(f"SELECT count(*) FROM read_parquet({sql_path(path)})").fetchone()[0])


class MissingTableError(FileNotFoundError):
    """A stage's input table does not exist yet: say which stage makes it."""

    def __init__(self, path: Path, stage: str) -> None:
        super().__init__(f"{path} does not exist: run `tousu {stage}` first")
        self.path = path
        self.stage = stage


def require(path: Path, stage: str) -> Path:
    if not path.exists():
        raise MissingTableError(path, stage)
    return path
