"""Pure parsers for 黑猫投诉 responses: list JSON -> record fields, detail page -> full text.

No network and no Scrapy here, so the same functions run on live responses, on the simulator
and on real recorded pages in tests. The detail page comes in two markups: the desktop page
(``div.ts-d-question`` with ``ul.ts-q-list``, the timeline in ``div.ts-d-steplist``) and the
mobile page (``tousu.sina.cn``: the text in ``div.m-complaint-des4 > p``, no timeline);
:func:`parse_detail` reads either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lxml_html

from crawler.parsing.text import strip_markup
from pipeline.contract import Site, TimelineEvent, parse_amount, parse_site_time, split_tags

TRUNCATION_MARKS = ("...", "…")


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
    markup: str = "desktop"  # or "mobile"


_FILED = ("发起投诉", "投诉已发布", "发布投诉")
_REPLIED = ("商家已回复", "商家回复", "已回复")
_COMPLETED = ("投诉已完成", "已完成")
_COUID = re.compile(r"couid=(\d+)")
_VIEW_SN = re.compile(r"/complaint/view/(\d{11})")


def _has_class(tag: str, name: str) -> str:
    """XPath for ``tag.name`` (what the CSS selector means), without parsel's per-call cost."""
    return f"{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"


# Compiled once: compiling an XPath costs more than evaluating it on a page this size.
_QUESTION = etree.XPath("//" + _has_class("div", "ts-d-question"))
_DESKTOP = etree.XPath(
    "//" + _has_class("div", "ts-d-question") + " | //" + _has_class("div", "ts-d-steplist")
)
_MOBILE_TEXT = etree.XPath("//" + _has_class("div", "m-complaint-des4") + "//p")
_MOBILE_TITLE = etree.XPath("//" + _has_class("h1", "m-complaint-title"))
_CANONICAL = etree.XPath('//link[@rel="canonical"]/@href')
_TITLE = etree.XPath(".//" + _has_class("h1", "article"))
_Q_ITEMS = etree.XPath("./" + _has_class("ul", "ts-q-list") + "/li")
_LABEL = etree.XPath("./label")
_VALUE = etree.XPath("./text() | ./*[not(self::label)]//text()")
_HREF = etree.XPath(".//a/@href")
_STEPS = etree.XPath(
    "//" + _has_class("div", "ts-d-steplist") + "/" + _has_class("div", "ts-d-item")
)
_STEP_TEXT = etree.XPath(".//" + _has_class("div", "ts-reply") + "//p")
_STEP_DATE = etree.XPath(".//" + _has_class("span", "u-date"))
_STEP_STATUS = etree.XPath(".//" + _has_class("span", "u-status"))
_STEP_NAME = etree.XPath(".//" + _has_class("span", "u-name"))
_ALL_TEXT = etree.XPath(".//text()")


def parse_detail(html: str) -> DetailPage:
    """Parse a detail page (``/complaint/view/{sn}/``), desktop or mobile markup.

    Desktop: the complaint's own text is the ``ts-reply`` of the timeline step that files
    it (发起投诉); when no step says so, the earliest step is taken. Mobile: the text is the
    paragraphs of ``div.m-complaint-des4``. Read with lxml directly: this runs once per
    complaint and is most of the crawler's parsing cost.
    """
    if not html.strip():
        return DetailPage()
    root = lxml_html.fromstring(html)
    if not _DESKTOP(root) and _MOBILE_TEXT(root):
        return _parse_mobile(root)
    page = DetailPage()
    questions = _QUESTION(root)
    page.title = _texts(n for q in questions for n in _TITLE(q)) or None
    for li in (li for q in questions for li in _Q_ITEMS(q)):
        label = _texts(_LABEL(li)).rstrip("：:").strip()
        value = _squash(_VALUE(li))
        if label == "投诉编号":
            page.sn = value or None
        elif label == "投诉对象":
            page.merchant_name = value or None
            href = next(iter(_HREF(li)), "")
            match = _COUID.search(str(href))
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
    for item in _STEPS(root):
        paragraphs = [_texts([p]) for p in _STEP_TEXT(item)]
        when = _texts(_STEP_DATE(item))
        steps.append(
            TimelineEvent(
                status=_texts(_STEP_STATUS(item)),
                at=parse_site_time(when) if when else None,
                actor=_texts(_STEP_NAME(item)) or None,
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


def _parse_mobile(root: Any) -> DetailPage:
    page = DetailPage(
        title=_texts(_MOBILE_TITLE(root)) or None,
        markup="mobile",
    )
    canonical = next(iter(_CANONICAL(root)), "")
    match = _VIEW_SN.search(str(canonical))
    page.sn = match.group(1) if match else None
    paragraphs = [_texts([p]) for p in _MOBILE_TEXT(root)]
    page.body = "\n".join(p for p in paragraphs if p) or None
    return page


def reply_dates(timeline: list[TimelineEvent]) -> tuple[datetime | None, datetime | None]:
    """When the merchant first replied and when the complaint was completed, if it was."""
    replied = next((s.at for s in timeline if s.status.startswith(_REPLIED) and s.at), None)
    completed = next((s.at for s in timeline if s.status.startswith(_COMPLETED) and s.at), None)
    return replied, completed


def merchant_info_record(
    data: dict[str, Any], *, couid: str, fetched_at: datetime
) -> dict[str, Any]:
    """A merchant-info record (the contract's ``MerchantInfoRecord``) from ``company/info``."""
    return {
        "site": Site.HEIMAO.value,
        "merchant_id": couid,
        "name": strip_markup(str(data.get("name") or data.get("title") or "")),
        "complaints": data.get("valid_amt"),
        "replied": data.get("replied_amt"),
        "completed": data.get("completed_amt"),
        "complaints_30d": data.get("valid30d"),
        "replied_30d": data.get("reply30d"),
        "completed_30d": data.get("complete30d"),
        "rating": data.get("eval_points"),
        "fetched_at": fetched_at.isoformat(),
        "raw": data,
    }


def merge_detail(record: dict[str, Any], detail: DetailPage) -> dict[str, Any]:
    """The list record completed by its detail page: full body, amount and timeline.

    List fields win where both exist (they are structured); the page fills what the list
    lacks. A page without a body leaves the summary and its truncation flag alone. The
    timeline gives when the merchant replied and when the complaint was completed.
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
    if detail.timeline:
        merged["timeline"] = [step.model_dump(mode="json") for step in detail.timeline]
        replied, completed = reply_dates(detail.timeline)
        merged["replied_at"] = replied.isoformat() if replied else None
        merged["completed_at"] = completed.isoformat() if completed else None
    return merged


def _texts(nodes: Any) -> str:
    """All text under the nodes, whitespace collapsed."""
    return _squash([text for node in nodes for text in _ALL_TEXT(node)])


def _squash(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()


__all__ = [
    "DetailPage",
    "FeedFormatError",
    "FeedPage",
    "Pager",
    "merchant_info_record",
    "merge_detail",
    "parse_detail",
    "parse_feed",
    "record_from_item",
    "reply_dates",
    "strip_markup",
]
