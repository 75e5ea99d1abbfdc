"""Pure parsers for 黑猫投诉 responses: list JSON -> record fields, detail page -> full text.

No network and no Scrapy here, so the same functions run on live responses, on the simulator
and on real recorded pages in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from pipeline.contract import Site, TimelineEvent, parse_amount, parse_site_time, split_tags

_TAG = re.compile(r"<[^>]+>")
TRUNCATION_MARKS = ("...", "…")


def strip_markup(text: str) -> str:
    """Drop the highlight markup search results put in titles and unescape entities."""
    return unescape(_TAG.sub("", text)).strip()


@dataclass(frozen=True)
class Pager:
    current: int
    page_amount: int
    item_count: int
    next: int


@dataclass(frozen=True)
class FeedPage:
    code: int
    msg: str
    items: list[dict[str, Any]]
    pager: Pager | None


class FeedFormatError(ValueError):
    """The response is not the API's JSON envelope at all."""


def parse_feed(payload: Any) -> FeedPage:
    """Read ``result.status`` and the items of a feed, search or merchant-feed response."""
    try:
        result = payload["result"]
        status = result["status"]
        code = int(status["code"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FeedFormatError(f"not a 黑猫投诉 API response: missing {exc}") from None
    data = result.get("data") or {}
    if not isinstance(data, dict):
        data = {}
    items = data.get("lists") or data.get("complaints") or []
    pager_raw = data.get("pager")
    pager = None
    if isinstance(pager_raw, dict):
        pager = Pager(
            current=int(pager_raw.get("current") or 0),
            page_amount=int(pager_raw.get("page_amount") or 0),
            item_count=int(pager_raw.get("item_count") or 0),
            next=int(pager_raw.get("next") or 0),
        )
    return FeedPage(code=code, msg=str(status.get("msg", "")), items=list(items), pager=pager)


def record_from_item(
    item: dict[str, Any], *, page_url: str, fetched_at: datetime
) -> dict[str, Any]:
    """Record fields from one list item (``{"main": ..., "author": ...}``).

    The body is the list summary until the detail page replaces it, so ``body_truncated`` is
    set when the summary ends with the site's ellipsis.
    """
    main = item.get("main", item)
    summary = str(main.get("summary") or "").strip()
    # created_at is unix seconds everywhere; timestamp is seconds or a bare date by endpoint.
    created = main.get("created_at") or main.get("timestamp")
    url = str(main.get("url") or "")
    return {
        "site": Site.HEIMAO.value,
        "sn": str(main.get("sn") or ""),
        "url": urljoin(page_url, url) if url else "",
        "title": strip_markup(str(main.get("title") or "")),
        "body": strip_markup(summary),
        "body_truncated": summary.endswith(TRUNCATION_MARKS),
        "merchant_name": strip_markup(str(main.get("cotitle") or "")),
        "merchant_id": str(main["couid"]) if main.get("couid") else None,
        "issue": split_tags(strip_markup(str(main.get("issue") or ""))),
        "appeal": split_tags(strip_markup(str(main.get("appeal") or ""))),
        "amount_yuan": parse_amount(main["cost"]) if main.get("cost") else None,
        "status": main.get("status"),
        "created_at": created,
        "fetched_at": fetched_at.isoformat(),
        "raw": item,
    }


@dataclass
class DetailPage:
    sn: str | None = None
    title: str | None = None
    merchant_name: str | None = None
    merchant_id: str | None = None
    issue: list[str] = field(default_factory=list)
    appeal: list[str] = field(default_factory=list)
    amount_yuan: float | None = None
    status_text: str | None = None
    body: str | None = None
    timeline: list[TimelineEvent] = field(default_factory=list)


_FILED = ("发起投诉", "投诉已发布", "发布投诉")
_COUID = re.compile(r"couid=(\d+)")


def parse_detail(html: str) -> DetailPage:
    """Parse a desktop detail page (``/complaint/view/{sn}/``).

    The complaint's own text is the ``ts-reply`` of the timeline step that files it
    (发起投诉); when no step says so, the earliest step is taken.
    """
    sel = Selector(text=html)
    page = DetailPage()
    question = sel.css("div.ts-d-question")
    page.title = _text(question.css("h1.article")) or None
    for li in question.css("ul.ts-q-list > li"):
        label = _text(li.css("label")).rstrip("：:").strip()
        value = _squash(li.xpath("./text() | ./*[not(self::label)]//text()").getall())
        if label == "投诉编号":
            page.sn = value or None
        elif label == "投诉对象":
            page.merchant_name = value or None
            href = li.css("a::attr(href)").get() or ""
            match = _COUID.search(href)
            page.merchant_id = match.group(1) if match else None
        elif label == "投诉问题":
            page.issue = split_tags(value)
        elif label == "投诉要求":
            page.appeal = split_tags(value)
        elif label == "涉诉金额":
            page.amount_yuan = parse_amount(value)
        elif label == "投诉进度":
            page.status_text = value or None
    steps = []
    for item in sel.css("div.ts-d-steplist > div.ts-d-item"):
        paragraphs = [_text(p) for p in item.css("div.ts-reply p")]
        when = _text(item.css("span.u-date"))
        steps.append(
            TimelineEvent(
                status=_text(item.css("span.u-status")),
                at=parse_site_time(when) if when else None,
                actor=_text(item.css("span.u-name")) or None,
                text="\n".join(p for p in paragraphs if p) or None,
            )
        )
    page.timeline = steps
    filed = [s for s in steps if s.status.startswith(_FILED)]
    if filed:
        page.body = filed[0].text
    elif steps:
        earliest = min(steps, key=lambda s: s.at.timestamp() if s.at else float("inf"))
        page.body = earliest.text
    return page


def merge_detail(record: dict[str, Any], detail: DetailPage) -> dict[str, Any]:
    """The list record completed by its detail page: full body, amount and timeline.

    List fields win where both exist (they are structured); the page fills what the list
    lacks. A page without a body leaves the summary and its truncation flag alone.
    """
    merged = dict(record)
    if detail.body:
        merged["body"] = detail.body
        merged["body_truncated"] = False
    if merged.get("amount_yuan") is None:
        merged["amount_yuan"] = detail.amount_yuan
    for key in ("issue", "appeal"):
        if not merged.get(key):
            merged[key] = getattr(detail, key)
    if not merged.get("title") and detail.title:
        merged["title"] = detail.title
    merged["timeline"] = [step.model_dump(mode="json") for step in detail.timeline]
    return merged


def _text(selection: Any) -> str:
    """All text under a selection, whitespace collapsed."""
    return _squash(selection.xpath(".//text()").getall())


def _squash(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()


__all__ = [
    "DetailPage",
    "FeedFormatError",
    "FeedPage",
    "Pager",
    "merge_detail",
    "parse_detail",
    "parse_feed",
    "record_from_item",
    "strip_markup",
]
