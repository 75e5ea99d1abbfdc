"""Pure parsers for 聚投诉 responses (see :mod:`crawler.jutousu_api` for the endpoints).

The index list is JSON whose ``message`` is an HTML fragment: every post is found by its
link to ``/tousu/show/id/{id}``, with the merchant by its link to ``/merchant/view/id/{id}``.
The merchant list is plain JSON. A listed post's text is only a short topic; the full text
comes from ``getPostContent`` (an HTML ``topic``), reached through the detail page's post key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parsel import Selector

from crawler import jutousu_api as api
from crawler.parsing.text import html_to_text, strip_markup
from pipeline.contract import Site, split_tags

TRUNCATION_MARKS = ("...", "…")
_SHOW_ID = re.compile(r"/tousu/show/id/(\d+)")
_MERCHANT_ID = re.compile(r"/merchant/view/id/(\d+)")
_LABEL_PREFIX = re.compile(r"^\s*(?:诉求|投诉对象|投诉时间)\s*[:：]\s*")


class LoginRequiredError(Exception):
    """The site answered its login page: the session cookie is missing or expired."""


@dataclass(frozen=True)
class ListPage:
    items: list[dict[str, Any]]
    has_more: bool
    offset: str | None = None


def check_login(text: str) -> None:
    """Raise :class:`LoginRequiredError` when ``text`` is the site's login page."""
    if api.LOGIN_MARK in text and not text.lstrip().startswith(("{", "[")):
        raise LoginRequiredError("聚投诉 asks to log in (登录聚投诉): the session cookie is gone")


def parse_index_page(payload: Any) -> ListPage:
    """Items of the index list: the posts of the ``message`` fragment."""
    if not isinstance(payload, dict) or "message" not in payload:
        raise ValueError("not a 聚投诉 index response: no 'message' fragment")
    fragment = str(payload.get("message") or "")
    items = parse_fragment(fragment)
    has_more = payload.get("hasMore")
    more = bool(has_more) if has_more is not None else len(items) >= api.PAGE_SIZE
    return ListPage(items=items, has_more=more)


def parse_fragment(fragment: str) -> list[dict[str, Any]]:
    """Posts of an HTML list fragment, in order: id, title, merchant, short topic, demand, time."""
    sel = Selector(text=f"<html><body><ul>{fragment}</ul></body></html>")
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for node in sel.xpath("//*[.//a[contains(@href, '/tousu/show/id/')]][not(ancestor::li)]"):
        if node.root.tag not in ("li", "div", "article"):
            continue
        link = node.xpath(".//a[contains(@href, '/tousu/show/id/')]")[0]
        match = _SHOW_ID.search(link.attrib.get("href", ""))
        if match is None or match.group(1) in seen:
            continue
        seen.add(match.group(1))
        merchant = node.xpath(".//a[contains(@href, '/merchant/view/id/')]")
        merchant_id = None
        if merchant:
            found = _MERCHANT_ID.search(merchant[0].attrib.get("href", ""))
            merchant_id = found.group(1) if found else None
        items.append(
            {
                "id": match.group(1),
                "title": _squash(link.xpath(".//text()").getall()),
                "merchantName": _squash(merchant[0].xpath(".//text()").getall())
                if merchant
                else "",
                "merchantId": merchant_id,
                "shortTopic": _field(node, "complain-short"),
                "shuqiu": _field(node, "complain-shuqiu"),
                "ctime": _field(node, "complain-time"),
            }
        )
    return items


def parse_merchant_page(payload: Any) -> ListPage:
    if not isinstance(payload, dict) or "postList" not in payload:
        raise ValueError("not a 聚投诉 merchant list response: no 'postList'")
    items = [dict(item) for item in payload.get("postList") or [] if isinstance(item, dict)]
    has_more = payload.get("hasMore")
    more = bool(has_more) if has_more is not None else len(items) >= api.PAGE_SIZE
    offset = payload.get("offset")
    return ListPage(
        items=items, has_more=more and bool(items), offset=None if offset is None else str(offset)
    )


def record_from_list_item(
    item: dict[str, Any],
    *,
    base_url: str,
    fetched_at: datetime,
    merchant_name: str = "",
    merchant_id: str | None = None,
) -> dict[str, Any]:
    post_id = str(item.get("id") or "")
    short = strip_markup(str(item.get("shortTopic") or ""))
    return {
        "site": Site.JUTOUSU.value,
        "sn": post_id,
        "url": api.show_url(base_url, post_id) if post_id else "",
        "title": strip_markup(str(item.get("title") or "")),
        "body": short,
        "body_truncated": True,  # the list only ever shows the start of a post
        "merchant_name": strip_markup(str(item.get("merchantName") or merchant_name or "")),
        "merchant_id": str(item.get("merchantId") or merchant_id or "") or None,
        "issue": [],
        "appeal": split_tags(_LABEL_PREFIX.sub("", strip_markup(str(item.get("shuqiu") or "")))),
        "amount_yuan": None,
        "status": None,
        "created_at": item.get("ctime") or None,
        "fetched_at": fetched_at.isoformat(),
        "raw": {"list": item},
    }


def parse_post_key(html: str) -> str | None:
    """The post key of a detail page (``input#postKeyValue``)."""
    value = Selector(text=html).css("input#postKeyValue::attr(value)").get()
    return value.strip() if value and value.strip() else None


def parse_post_content(payload: Any) -> dict[str, Any] | None:
    """The ``post`` of a getPostContent response, or None when it holds none."""
    if not isinstance(payload, dict):
        return None
    post = payload.get("post")
    if not isinstance(post, dict) or not (post.get("topic") or post.get("title")):
        return None
    return post


def merge_post(record: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
    """The listed record completed by its post: full text, labels, demand, merchant."""
    merged = dict(record)
    body = html_to_text(str(post.get("topic") or ""))
    if body:
        merged["body"] = body
        merged["body_truncated"] = False
    title = strip_markup(str(post.get("title") or ""))
    if title:
        merged["title"] = title
    name = strip_markup(str(post.get("merchantname") or ""))
    if name:
        merged["merchant_name"] = name
    labels = [
        strip_markup(str(label.get("name") or ""))
        for label in post.get("problemLabelList") or []
        if isinstance(label, dict)
    ]
    if labels:
        merged["issue"] = [label for label in labels if label]
    if post.get("shuqiu"):
        merged["appeal"] = split_tags(strip_markup(str(post["shuqiu"])))
    if not merged.get("created_at") and post.get("ctimeStr"):
        merged["created_at"] = post["ctimeStr"]
    merged["raw"] = {**record.get("raw", {}), "post": post}
    return merged


def _field(node: Any, css_class: str) -> str:
    parts = node.xpath(
        f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {css_class} ')]//text()"
    ).getall()
    return _LABEL_PREFIX.sub("", _squash(parts))


def _squash(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()
