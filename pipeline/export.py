"""The labeled dataset: one row per complaint post, Parquet splits and a dataset card.

``tousu export-dataset --out DIR`` writes::

    DIR/data/train.parquet, validation.parquet, test.parquet
    DIR/thresholds.json     the labeling model's version, thresholds and measured quality
    DIR/README.md           the dataset card (Hugging Face YAML header + documentation)

Rows: the primary record of each post (``is_post_primary``), the merchants it names and its
labels and per-label scores. Splits: 80/10/10 by a salted hash of the post's near-duplicate
cluster (``dup_group``), so a complaint and its re-posts never sit in different splits, and a
post keeps its split when the data grow.

Personal data: the text is ingest's masked text; as a safety net every text column is masked
again with :mod:`pipeline.pii` (counted in the card) and then scanned for mainland mobile and
resident-id numbers; any hit stops the export before a file is written. Raw payloads,
timelines, URLs and the unmasked originals are never exported.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.model_info import ModelInfo, model_info
from pipeline.pii import mask_text
from pipeline.predictions import score_column
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, TAXONOMY_VERSION
from pipeline.warehouse import connect, require, sql_path

SPLITS: tuple[tuple[str, float], ...] = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
SPLIT_SALT = "tousu-split-v1"
BATCH_ROWS = 10_000

# What no exported text may hold, whatever the masking found: a mainland mobile number or an
# 18-character resident id (birth date inside). Deliberately simpler than pipeline.pii.
PHONE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9])")
ID_RE = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)

DATASET_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("site", pa.string()),
        ("sn", pa.string()),
        ("dup_group", pa.string()),
        ("title", pa.string()),
        ("body", pa.string()),
        ("body_truncated", pa.bool_()),
        ("merchant", pa.string()),
        ("merchants", pa.list_(pa.string())),
        ("platform", pa.string()),
        ("issue", pa.list_(pa.string())),
        ("appeal", pa.list_(pa.string())),
        ("amount_yuan", pa.float64()),
        ("status", pa.int8()),
        ("created_date", pa.date32()),
        ("labels", pa.list_(pa.string())),
        *[(score_column(label), pa.float64()) for label in LABELS],
        ("model_version", pa.string()),
    ]
)
TEXT_COLUMNS = ("title", "body")
LIST_TEXT_COLUMNS = ("issue", "appeal")


class ExportError(RuntimeError):
    """The export would publish something it must not; nothing was written."""


def split_of(key: str) -> str:
    """The split of a near-duplicate cluster: stable, salted, 80/10/10."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, share in SPLITS:
        edge += share
        if u < edge:
            return name
    return SPLITS[-1][0]


def personal_numbers(text: str) -> list[str]:
    """Phone and resident-id numbers left in ``text`` (the export's last check)."""
    return [m.group(0) for m in PHONE_RE.finditer(text)] + [
        m.group(0) for m in ID_RE.finditer(text)
    ]


def clean_row(row: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Mask the row's texts again (ingest did; this is the safety net); returns the row and
    how many items were masked now."""
    masked = 0
    protect = [row["sn"]] if row.get("sn") else []
    for column in TEXT_COLUMNS:
        if row.get(column):
            row[column], kinds = mask_text(row[column], protect=protect)
            masked += len(kinds)
    for column in LIST_TEXT_COLUMNS:
        values = []
        for value in row.get(column) or []:
            text, kinds = mask_text(value, protect=protect)
            masked += len(kinds)
            values.append(text)
        row[column] = values
    return row, masked


def _rows_sql(paths: Paths) -> str:
    complaints = sql_path(require(paths.complaints, "ingest"))
    predictions = sql_path(require(paths.predictions, "label"))
    scores = ", ".join(f"p.{score_column(label)}" for label in LABELS)
    return f"""
        SELECT c.post_id AS id, c.site, c.sn, c.dup_group, c.title, c.body, c.body_truncated,
               c.merchant, c.post_merchants AS merchants, c.platform, c.issue, c.appeal,
               c.amount_yuan, c.status,
               CAST(timezone('Asia/Shanghai', c.created_at) AS DATE) AS created_date,
               coalesce(p.labels, []) AS labels, {scores}, p.model_version
        FROM read_parquet({complaints}) c
        JOIN read_parquet({predictions}) p USING (site, sn)
        WHERE c.is_post_primary
        ORDER BY c.created_at, c.site, c.sn
    """


def _batches(paths: Paths) -> Iterator[list[dict[str, Any]]]:
    con = connect()
    reader = con.sql(_rows_sql(paths)).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        yield batch.to_pylist()


@dataclass
class ExportSummary:
    out: Path
    rows: dict[str, int]
    labels: dict[str, Counter[str]]  # split -> label -> posts
    masked_now: int  # personal-data items the export's own masking still found
    models: list[ModelInfo]
    first_date: str | None = None
    last_date: str | None = None
    sites: Counter[str] = field(default_factory=Counter)
    platforms: Counter[str] = field(default_factory=Counter)


def run_export(paths: Paths, out: Path) -> ExportSummary:
    """Write the dataset to ``out`` (replaced whole on success; kept as it was on failure)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    writers = {
        name: pq.ParquetWriter(tmp / "data" / f"{name}.parquet", DATASET_SCHEMA, compression="zstd")
        for name, _ in SPLITS
    }
    summary = ExportSummary(
        out=out,
        rows=Counter(),
        labels={name: Counter() for name, _ in SPLITS},
        masked_now=0,
        models=[],
    )
    versions: Counter[str] = Counter()
    dates: list[str] = []
    try:
        for batch in _batches(paths):
            by_split: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in SPLITS}
            for raw in batch:
                row, masked = clean_row(raw)
                summary.masked_now += masked
                leaks = [n for c in TEXT_COLUMNS for n in personal_numbers(row.get(c) or "")]
                leaks += [n for c in LIST_TEXT_COLUMNS for v in row[c] for n in personal_numbers(v)]
                if leaks:
                    raise ExportError(
                        f"post {row['id']} still holds {len(leaks)} phone or id number(s) after "
                        "masking: extend pipeline/pii.py (or its cue lists) and export again"
                    )
                split = split_of(str(row["dup_group"] or row["id"]))
                by_split[split].append(row)
                summary.rows[split] += 1
                summary.labels[split].update(row["labels"])
                summary.sites[row["site"]] += 1
                summary.platforms[row["platform"] or "未知"] += 1
                versions[row["model_version"]] += 1
                if row["created_date"] is not None:
                    dates.append(row["created_date"].isoformat())
            for name, rows in by_split.items():
                if rows:
                    writers[name].write_table(pa.Table.from_pylist(rows, schema=DATASET_SCHEMA))
    except BaseException:
        for writer in writers.values():
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for writer in writers.values():
        writer.close()
    if not sum(summary.rows.values()):
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError("no labeled posts to export: run `tousu ingest` and `tousu label` first")
    summary.rows = {name: summary.rows[name] for name, _ in SPLITS}
    summary.models = [model_info(paths, v) for v, _ in versions.most_common()]
    summary.first_date, summary.last_date = min(dates, default=None), max(dates, default=None)
    (tmp / "thresholds.json").write_text(
        json.dumps(_thresholds(summary), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (tmp / "README.md").write_text(dataset_card(summary, _source(paths)), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return summary


def _thresholds(summary: ExportSummary) -> dict[str, Any]:
    return {
        "taxonomy_version": TAXONOMY_VERSION,
        "models": [
            {
                "model_version": m.version,
                "kind": m.kind,
                "thresholds": m.thresholds,
                "quality": None
                if m.quality is None
                else {
                    "what": m.quality.what,
                    "macro_f1": m.quality.macro_f1,
                    "f1": {k: v.f1 for k, v in m.quality.labels.items()},
                },
            }
            for m in summary.models
        ],
    }


def _source(paths: Paths) -> str:
    """Where the posts came from, as the crawl stats say (a simulator on loopback or a site)."""
    bases = set()
    for stats in sorted(paths.raw.glob("*/*.stats.json")) if paths.raw.is_dir() else []:
        try:
            bases.add(str(json.loads(stats.read_text(encoding="utf-8")).get("base_url") or ""))
        except (OSError, json.JSONDecodeError):
            continue
    if bases and all(re.match(r"https?://(127\.0\.0\.1|localhost)", b) for b in bases):
        return "simulator"
    return "sites" if bases else "unknown"


def size_category(n: int) -> str:
    """The Hugging Face ``size_categories`` bucket of ``n`` rows."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    bounds += [(1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    for bound, name in bounds:
        if n < bound:
            return name
    return "n>1T" if n > 10**12 else "100M<n<1B"


def dataset_card(summary: ExportSummary, source: str) -> str:
    total = sum(summary.rows.values())
    split_files = "\n".join(
        f"  - split: {name}\n    path: data/{name}.parquet" for name, _ in SPLITS
    )
    label_rows = "\n".join(
        f"| `{label.value}` | {label.zh} | "
        + " | ".join(str(summary.labels[name][label.value]) for name, _ in SPLITS)
        + " |"
        for label in LABELS
    )
    rows = " | ".join(str(summary.rows[name]) for name, _ in SPLITS)
    models = []
    for m in summary.models:
        thresholds = ", ".join(f"{k} {v:.2f}" for k, v in m.thresholds.items()) or "not recorded"
        if m.quality is None:
            quality = "quality not measured (no evaluation found for this version)"
        else:
            per = ", ".join(f"{k} {v.f1:.3f}" for k, v in m.quality.labels.items())
            quality = f"macro-F1 {m.quality.macro_f1:.3f} on {m.quality.what} ({per})"
        models.append(f"- `{m.version}` ({m.kind}): thresholds {thresholds}; {quality}.")
    origin = {
        "simulator": "**These posts are synthetic**: they were crawled from the project's local "
        "黑猫投诉 simulator (a seeded generator), not from a real site. Use them to test "
        "pipelines, not to study real merchants.",
        "sites": "Posts were crawled from public Chinese consumer-complaint sites (黑猫投诉 "
        "tousu.sina.com.cn and, where configured, 聚投诉 and 电诉宝).",
        "unknown": "The crawl statistics that say where the posts came from were not found.",
    }[source]
    platforms = ", ".join(f"{k} {v}" for k, v in summary.platforms.most_common(8))
    created = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"""---
language:
- zh
license: other
license_name: complaint-posts-research-only
pretty_name: Chinese online-shopping complaints with fraud-pattern labels
task_categories:
- text-classification
task_ids:
- multi-label-classification
size_categories:
- {size_category(total)}
multilinguality: monolingual
tags:
- consumer-complaints
- e-commerce
- fraud-detection
configs:
- config_name: default
  data_files:
{split_files}
---

# Chinese online-shopping complaints, labeled

Complaint posts about online shopping (one row per post), each labeled with zero or more of
four fraud patterns (taxonomy v{TAXONOMY_VERSION}), with the labeling model's per-label scores.
Built by `tousu export-dataset` on {created}; {total} posts created between
{summary.first_date} and {summary.last_date}.

{origin}

```python
from datasets import load_dataset
ds = load_dataset("parquet", data_files={{"train": "data/train.parquet",
                                          "validation": "data/validation.parquet",
                                          "test": "data/test.parquet"}})
```

## Dataset structure

| field | type | meaning |
|---|---|---|
| `id` | string | the post (`<site>:<lowest sn>`); one row per post |
| `site`, `sn` | string | the site and its complaint number (the post's first record) |
| `dup_group` | string | near-duplicate cluster (re-posts of one complaint share it; never split across splits) |
| `title`, `body` | string | normalized text, personal data replaced by placeholders such as `[PHONE]`, `[ID]`, `[ORDER]`, `[NAME]` |
| `body_truncated` | bool | only the site's list summary was available, not the full text |
| `merchant` | string | the complained-about merchant (canonical name) of the first record |
| `merchants` | list of strings | every merchant the post names (a post can be filed against several) |
| `platform` | string | where the complainant bought (淘宝, 拼多多, ... or 未知) |
| `issue`, `appeal` | list of strings | the complainant's own tags (投诉问题, 投诉要求): noisy |
| `amount_yuan` | float | amount in dispute, yuan (null when not given) |
| `status` | int | the site's status (1 published, 3 awaiting assignment, 4 processing, 6 replied, 7 completed, 8 closed) |
| `created_date` | date | posting date, China time |
| `labels` | list of strings | the labels given (score at or above the model's threshold) |
| `score_<label>` | float | the model's probability for each label |
| `model_version` | string | the model that labeled the post |

Labels and counts per split:

| label | 中文 | train | validation | test |
|---|---|---|---|---|
{label_rows}
| posts | | {rows} |

Splits are fixed by a salted hash of `dup_group` (80/10/10): stable as the data grow, and a
complaint never appears in two splits through its re-posts. Top platforms: {platforms}.

## Collection

{origin} A crawler read the sites' list feeds and merchant pages and, where it could, each
post's detail page for the full text. Ingest validated every record against one contract,
cleaned the text (HTML removed, NFKC, simplified Chinese), resolved merchant aliases and the
platform, masked personal data, folded records fetched twice, grouped a post filed against
several merchants into one post, and clustered near-duplicate re-posts (MinHash). Records that
failed validation were set aside with their reasons and are not in the dataset.

## Labeling

Labels follow the project taxonomy (`fake_shipment` 虚假发货, `no_customer_service` 无人工客服,
`refund_refusal` 拒绝退款, `exit_scam` 商家跑路; multi-label; "other" = none). They are
**model predictions, not human annotations**:

{chr(10).join(models)}

A label is given when its score reaches the threshold; scores are kept so that users can pick
their own operating point. Errors are systematic rather than random (keyword-like cues,
sarcasm, negation); do not use these labels as gold for evaluation.

## Personal data

Complainants post phone numbers, order and tracking numbers, names and sometimes id numbers.
Before anything was stored, ingest replaced them with typed placeholders; the raw payloads,
complaint timelines, URLs, author fields and unmasked originals are not exported. The export
masked every text again ({summary.masked_now} further item(s) found now) and then scanned every
text for mainland mobile and 18-character resident-id numbers: it refuses to write a dataset
where any remains. Masking is rule-based and can miss unusual formats (numbers written in
Chinese characters, names without a cue word); merchant names are business names, not personal
data. Report any personal data you find so it can be removed at the source.

## Biases

- Complaint sites over-represent large platforms, high-value disputes and users who know the
  site; silence does not mean good service.
- One merchant can dominate a label (an exit scam produces dozens of posts in a few weeks).
- Platform attribution comes from the merchant account or the text and is unknown for some
  posts; the model's errors are not uniform across platforms and writing styles.

## Limitations

- Labels are predictions (see Labeling); `body_truncated` posts were judged on a summary.
- Posts are a snapshot as of the crawl: status and replies change later.
- Not suitable for judging an individual merchant without reading the posts.

## Maintenance

Regenerated from the project's warehouse with `tousu export-dataset --out DIR` (or
`make export-dataset`): the same data give the same splits. The card, the thresholds file
(`thresholds.json`) and the files are rewritten together. Licence: the posts' text belongs to
their authors; this export is for research on consumer protection only, without
redistribution of the text for other purposes.
"""
