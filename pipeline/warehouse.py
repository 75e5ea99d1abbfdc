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

# Personal-data counts per complaint, one field per kind (see pipeline.pii).
PII_COUNT_FIELDS: tuple[str, ...] = (
    "phone",
    "id_card",
    "bank_card",
    "email",
    "order_no",
    "tracking_no",
    "qq",
    "wechat",
    "name",
    "partial",
)
PII_COUNTS_TYPE = pa.struct([(name, pa.int32()) for name in PII_COUNT_FIELDS])

# Columns of one validated, cleaned, masked record: what ingest writes per raw file.
_RECORD_COLUMNS: list[tuple[str, pa.DataType]] = [
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
    ("title_original", pa.string()),
    ("body_original", pa.string()),
    ("merchant_source", pa.string()),
    ("platform_source", pa.string()),
    ("pii", PII_COUNTS_TYPE),
    ("pii_masked", pa.int32()),
]

# The ingest cache (``interim/complaints/*.parquet``): records plus what grouping needs.
COMPLAINT_PARTS_SCHEMA = pa.schema(
    [
        *_RECORD_COLUMNS,
        ("text_key", pa.int64()),
        ("shingles", pa.int32()),
        ("minhash", pa.list_(pa.uint32())),
    ]
)

COMPLAINTS_SCHEMA = pa.schema(
    [
        *_RECORD_COLUMNS,
        ("post_id", pa.string()),
        ("post_size", pa.int32()),
        ("post_merchants", pa.list_(pa.string())),
        ("dup_group", pa.string()),
        ("dup_size", pa.int32()),
        ("is_post_primary", pa.bool_()),
        ("is_dup_primary", pa.bool_()),
        ("counts_in_rankings", pa.bool_()),
    ]
)
"""The ``complaints`` table (``processed/complaints.parquet``), one row per (site, ``sn``):
the latest fetch of each complaint record. Text is stored only after personal data is masked.

Record columns (the crawl's contract, cleaned):

- ``site``, ``sn``, ``url``: where the record lives. ``sn`` is unique per site.
- ``title``, ``body``: the normalized text (``pipeline.text.clean_title`` / ``clean_text``:
  HTML stripped, NFKC, simplified Chinese, whitespace and repeated punctuation folded, emoji
  kept), personal data replaced by typed placeholders (``[PHONE]``, ``[ID]``, ``[BANK_CARD]``,
  ``[EMAIL]``, ``[ORDER]``, ``[TRACKING]``, ``[QQ]``, ``[WECHAT]``, ``[NAME]``,
  ``[PARTIAL]``; see ``pipeline.pii``). What every later stage reads.
- ``title_original``, ``body_original``: the text exactly as received, with the same
  placeholders put in at the same places. NULL in the rare case where the normalized text
  revealed personal data the original's markup had hidden (a number split by an HTML tag or
  written as entities): the original is then dropped rather than stored half-masked.
- ``body_truncated``: ``body`` is only the site's list summary, cut with ``...``.
- ``merchant_name``, ``merchant_id``: 投诉对象 as the site shows it (``cotitle``/``couid``).
- ``merchant``: the canonical merchant (拼多多客户服务 / 拼多多平台 -> 拼多多);
  ``merchant_source`` says how: ``alias`` (the alias table), ``suffix`` (an account suffix
  such as 官方微博 removed) or ``name`` (unknown to the table: ``tousu merchants unresolved``).
- ``platform``: where the complainant bought (淘宝, 拼多多, 抖音, 微信小程序 ... or 未知);
  ``platform_source``: ``account`` (a platform's own account), ``text`` (the post says so),
  ``merchant`` (the post says nothing; most of the merchant's other posts name this one) or
  ``none``.
- ``issue``, ``appeal``: 投诉问题 / 投诉要求 tags, cleaned and masked.
- ``amount_yuan``, ``status``, ``created_at``, ``fetched_at`` (UTC).
- ``timeline``: JSON list of the detail page's steps ``{status, at, actor, text}``; ``text``
  masked like the body; ``actor`` kept when it is the merchant (its ``merchant_name``), the
  site or 匿名, otherwise (a complainant's nickname) replaced by ``[USER]``.
- ``raw``: JSON of the payload as received, minus every key that identifies a person at any
  depth (``author``, ``uid``, ``nickname``, ``mobile``, ``idcard``, ``email``, ``name`` ...:
  ``pipeline.pii.PERSONAL_KEYS``), every string in it masked.
- ``source_file``, ``source_line``: the raw line it came from.
- ``pii``: how many items of each kind were masked (struct, one int per kind, summed over
  title, body, timeline, tags and raw); ``pii_masked``: the total.

Grouping columns (``pipeline.dedup``):

- ``post_id``: ``<site>:<lowest sn>`` of the post this record belongs to. One post filed
  against several merchants is several records (consecutive ``sn``, the same text), one per
  merchant; they share ``post_id``. ``post_size``: records in the post; ``post_merchants``: the
  canonical merchants it names, in ``sn`` order (the same list on each of its records).
- ``dup_group``: the ``post_id`` of the earliest post of its near-duplicate cluster (the same
  complaint posted again with small edits, maybe against another variant of the merchant);
  equal to ``post_id`` for a post that was never re-posted. ``dup_size``: posts in it.
- ``is_post_primary``: the record with the lowest ``sn`` of its post.
- ``is_dup_primary``: ``is_post_primary`` of the cluster's earliest post.
- ``counts_in_rankings``: the earliest record of each (``dup_group``, ``merchant``) pair.

How to count:

- Rankings (per merchant, per week ...): ``WHERE counts_in_rankings``: a post counts once for
  every merchant it names, and a re-post adds nothing. Per platform, count
  ``DISTINCT dup_group`` (a post against a shop and its platform's account is one complaint
  about that platform).
- Datasets, one row per post: ``WHERE is_post_primary`` (``post_merchants`` lists the
  merchants); one row per complaint, re-posts folded: ``WHERE is_dup_primary``.
- Everything else (labels, joins): one row per (site, ``sn``), as before.
"""


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
