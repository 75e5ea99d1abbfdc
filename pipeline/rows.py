"""One raw line -> one validated, cleaned, masked row of the complaints table (pure).

A line is parsed and validated against the record contract (a bad one becomes a
:class:`Reject` with its reason); personal data is masked (``pipeline.pii``) in the text as
received, which is kept (``title_original``/``body_original``); the text is normalized
(``pipeline.text``) and the normalized form masked again, since it is what later stages read;
the timeline, tags and raw payload are masked too (see ``pipeline.warehouse`` for what is kept
of each); merchant and platform are resolved (``pipeline.resolve``); the text key and, per
batch, the MinHash signatures for duplicate grouping are computed (``pipeline.dedup``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline import dedup
from pipeline.contract import ComplaintRecord, RecordError, validate_record
from pipeline.jsonl import RawLine
from pipeline.pii import (
    PERSONAL_KEYS,
    PiiType,
    count_kinds,
    find_pii,
    mask_text,
    may_reveal_more,
)
from pipeline.resolve import Resolver
from pipeline.text import clean_text, clean_title
from pipeline.warehouse import COMPLAINT_PARTS_SCHEMA, PII_COUNT_FIELDS

# Timeline actors that are not a person: kept as they are (a complainant's nickname is not).
SITE_ACTORS = ("匿名", "黑猫投诉", "聚投诉", "电诉宝", "系统", "平台", "小秘书")
USER_PLACEHOLDER = "[USER]"
# As pipeline.jsonl.dumps writes JSON, built once rather than on every call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Reject:
    line_no: int
    code: str
    message: str
    raw: bytes


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


class RecordMasker:
    """Masks the texts of one record. The same string (a body repeated in the timeline) is
    masked once; the complaint's own sn is never masked.

    ``text_kinds`` collects what the post's own text held (title and body); ``replaced``
    counts every placeholder put anywhere in the row.

    ``url``, the complaint's address, is stored as is in the row's ``url`` column, so its
    copies in the raw payload (with or without the scheme: ``//tousu.sina.com.cn/...``) are
    kept as is too: masking them would hide nothing the row does not show, and a unique
    string per record cannot be cached (it was a twelfth of the ingest's time).
    """

    def __init__(self, sn: str, url: str | None = None) -> None:
        self.protect = (sn,)
        self.text_kinds: list[PiiType] = []
        self.replaced = 0
        self.dropped = 0
        self._memo: dict[str, tuple[str, list[PiiType], bool]] = {}
        if url:
            for same in (url, url.partition(":")[2] if url.startswith("http") else url):
                self._memo[same] = (same, [], True)

    def post_text(self, text: str, clean: Callable[[str], str]) -> tuple[str, str | None]:
        """(normalized and masked, original masked or None) for the title or the body."""
        masked, kinds = mask_text(text, protect=self.protect)
        # Normalize what was masked (placeholders pass through unchanged), then mask the
        # normalized form too: it is what every later stage reads and exports. Anything found
        # there was hidden from the first pass (a number split by markup, say), so the
        # original, still holding it, is not kept. Where normalizing cannot reveal anything
        # (no markup, no character that expands, no run of spaces: the first pass matched on
        # the same characters, folded), the second pass would find nothing and is skipped.
        normalized = clean(masked)
        more: list[PiiType] = []
        if may_reveal_more(text):
            normalized, more = mask_text(normalized, protect=self.protect)
        safe = not more
        self._memo[text] = (masked, kinds, safe)
        self.text_kinds.extend(kinds + more)
        self.replaced += len(kinds) + len(more)
        if not safe:
            self.dropped += 1
        return normalized, masked if safe else None

    def original(self, text: str) -> str:
        """Another text as received (a timeline step, a raw field), masked; its normalized
        masked form where the original cannot be trusted (see :meth:`post_text`)."""
        if len(text) < 5 or (text.isdigit() and len(text) < 11):
            return text  # ids, counts, timestamps: nothing to find (see pii.mask_text)
        hit = self._memo.get(text)
        if hit is None:
            # Tags, merchant names, statuses repeat from record to record: masked once per
            # process, unless the string holds this record's sn (which is never masked).
            if self.protect[0] in text:
                hit = _mask_original(text, self.protect)
            else:
                hit = _mask_original_cached(text)
            self._memo[text] = hit
        masked, kinds, safe = hit
        self.replaced += len(kinds)
        if safe:
            return masked
        self.dropped += 1
        normalized, more = mask_text(clean_text(masked), protect=self.protect)
        self.replaced += len(more)
        return normalized

    def tag(self, text: str) -> str:
        """An issue or appeal tag as received -> normalized and masked. Tags come from the
        short lists a site offers, so each is cleaned and masked once per process (unless it
        holds this record's sn, which is never masked)."""
        if self.protect[0] in text:
            masked, kinds = mask_text(clean_title(text), protect=self.protect)
        else:
            masked, kinds = _tag_cached(text)
        self.replaced += len(kinds)
        return masked

    def payload(self, value: Any) -> Any:
        """A JSON value with :data:`pipeline.pii.PERSONAL_KEYS` dropped at any depth and every
        string masked."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key.lower() in PERSONAL_KEYS:
                    continue
                if isinstance(item, str):
                    out[key] = self.original(item)
                elif isinstance(item, dict | list):
                    out[key] = self.payload(item)
                else:
                    out[key] = item
            return out
        if isinstance(value, list):
            return [self.payload(v) for v in value]
        if isinstance(value, str):
            return self.original(value)
        return value


def _mask_original(text: str, protect: tuple[str, ...]) -> tuple[str, list[PiiType], bool]:
    masked, kinds = mask_text(text, protect=protect)
    safe = not may_reveal_more(masked) or not find_pii(clean_text(masked), protect=protect)
    return masked, kinds, safe


@lru_cache(maxsize=1 << 15)
def _mask_original_cached(text: str) -> tuple[str, list[PiiType], bool]:
    return _mask_original(text, ())


@lru_cache(maxsize=1 << 16)
def _merchant_title(name: str) -> str:
    """A merchant's name as the resolver reads it (merchants file many complaints each)."""
    return clean_title(name)


@lru_cache(maxsize=1 << 12)
def _tag_cached(text: str) -> tuple[str, list[PiiType]]:
    return mask_text(clean_title(text))


def to_row(
    record: ComplaintRecord, resolver: Resolver, source: str, line_no: int
) -> dict[str, Any] | Reject:
    """The cleaned, masked table row for a record (merchant and platform resolved).

    Two keys are not columns: ``_compact`` (the text :func:`rows_to_table` signs, per batch)
    and ``_originals_dropped`` (for the ingest counts); both are removed before writing.
    """
    masker = RecordMasker(record.sn, record.url)
    title, title_original = masker.post_text(record.title, clean_title)
    body, body_original = masker.post_text(record.body, clean_text)
    if not title and not body:
        return Reject(line_no, "empty_text", "title and body are empty after cleaning", b"")
    resolution = resolver.resolution(_merchant_title(record.merchant_name), f"{title}\n{body}")
    timeline = []
    for step in record.timeline:
        # As pydantic's JSON mode writes it, without its per-call cost.
        entry = {
            "status": step.status,
            "at": step.at.isoformat().replace("+00:00", "Z") if step.at else None,
            "actor": step.actor,
            "text": step.text,
        }
        if step.text:
            entry["text"] = masker.original(step.text)
        if (
            step.actor
            and step.actor != record.merchant_name
            and not step.actor.startswith(SITE_ACTORS)
        ):
            entry["actor"] = USER_PLACEHOLDER
        timeline.append(entry)
    issue = [masker.tag(t) for t in record.issue]
    appeal = [masker.tag(t) for t in record.appeal]
    raw = masker.payload(record.raw)
    title_compact, body_compact = dedup.compact(title), dedup.compact(body)
    return {
        "site": record.site.value,
        "sn": record.sn,
        "url": record.url,
        "title": title,
        "body": body,
        "body_truncated": record.body_truncated,
        "merchant_name": record.merchant_name,
        "merchant_id": record.merchant_id,
        "merchant": resolution.merchant,
        "platform": resolution.platform,
        "issue": issue,
        "appeal": appeal,
        "amount_yuan": record.amount_yuan,
        "status": int(record.status) if record.status is not None else None,
        "created_at": record.created_at,
        "fetched_at": record.fetched_at,
        "timeline": _JSON.encode(timeline),
        "raw": _JSON.encode(raw),
        "source_file": source,
        "source_line": line_no,
        "title_original": title_original,
        "body_original": body_original,
        "merchant_source": resolution.merchant_source,
        "platform_source": resolution.platform_source,
        "pii": count_kinds(masker.text_kinds),
        "pii_masked": masker.replaced,
        "text_key": dedup.text_key_of(title_compact, body_compact),
        "_compact": title_compact + body_compact,
        "_originals_dropped": masker.dropped,
    }


_ROW_SCHEMA = pa.schema(
    [f for f in COMPLAINT_PARTS_SCHEMA if f.name not in ("shingles", "minhash")]
)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """A batch of rows as a Parquet part, with the batch's MinHash signatures."""
    sig, shingles = dedup.signatures([r.pop("_compact") for r in rows])
    columns: dict[str, pa.Array] = {}
    for column in _ROW_SCHEMA:
        if column.name == "pii":
            counts = [r["pii"] for r in rows]
            columns["pii"] = pa.StructArray.from_arrays(
                [pa.array([c[f] for c in counts], pa.int32()) for f in PII_COUNT_FIELDS],
                names=list(PII_COUNT_FIELDS),
            )
        else:
            columns[column.name] = pa.array([r[column.name] for r in rows], column.type)
    columns["shingles"] = pa.array(shingles, pa.int32())
    columns["minhash"] = pa.ListArray.from_arrays(
        pa.array(np.arange(0, (len(rows) + 1) * dedup.NUM_BINS, dedup.NUM_BINS, dtype=np.int32)),
        pa.array(sig.reshape(-1), pa.uint32()),
    )
    return pa.Table.from_pydict(columns, schema=COMPLAINT_PARTS_SCHEMA)
