"""What the 黑猫投诉 simulator sends: list items in the API's JSON shape and detail pages in the
site's desktop markup (``div.ts-d-question`` > ``ul.ts-q-list``; ``div.ts-d-steplist`` >
``div.ts-d-item`` with the body in ``div.ts-reply p``) or its mobile markup (the text in
``div.m-complaint-des4 > p``; what else the mobile page holds is not recorded, so it carries
only the title and the text here)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from crawler.sim.marketplace import Merchant, SimPost
from pipeline.contract import CHINA_TZ

SUMMARY_MAX_BYTES = 445
ELLIPSIS = "..."


def summarize(body: str, max_bytes: int = SUMMARY_MAX_BYTES) -> str:
    """Cut ``body`` to at most ``max_bytes`` UTF-8 bytes on a character boundary, adding "...".

    This is how the list endpoints show a post: the full text is only on the detail page.
    """
    encoded = body.encode("utf-8")
    if len(encoded) <= max_bytes:
        return body
    return encoded[:max_bytes].decode("utf-8", errors="ignore") + ELLIPSIS


def list_item(post: SimPost, host: str, *, date_timestamp: bool) -> dict[str, Any]:
    """One ``{"main": ..., "author": ...}`` item. The merchant feed gives ``timestamp`` as a
    date string, the index feed as unix seconds; both give ``created_at`` in seconds."""
    epoch = str(int(post.created_at.timestamp()))
    timestamp = post.created_at.astimezone(CHINA_TZ).date().isoformat() if date_timestamp else epoch
    return {
        "main": {
            "sn": post.sn,
            "title": post.text.title,
            "cotitle": post.merchant.name,
            "couid": post.merchant.couid,
            "appeal": ",".join(post.text.appeal),
            "issue": ",".join(post.text.issue),
            "comment_id": f"tousu_complaint_{post.post_id + 30_000_000}",
            "summary": summarize(post.text.body),
            "status": int(post.status),
            "timestamp": timestamp,
            "url": f"//{host}/complaint/view/{post.sn}/?sld={post.sld}",
            "share_amount": 0,
            "comment_amount": 0,
            "upvote_amount": post.votes,
            "is_upvote": False,
            "created_at": epoch,
        },
        "author": {"title": post.author, "avatar": post.avatar},
    }


def search_item(post: SimPost, host: str, keywords: list[str]) -> dict[str, Any]:
    """A search result: a feed item whose title and summary highlight the keywords."""
    item = list_item(post, host, date_timestamp=False)
    main = item["main"]
    main["title"] = highlight(main["title"], keywords)
    main["summary"] = highlight(main["summary"], keywords)
    return item


def highlight(text: str, keywords: list[str]) -> str:
    words = [re.escape(k) for k in keywords if k]
    if not words:
        return text
    return re.sub("|".join(words), lambda m: f'<span style="color:red">{m.group(0)}</span>', text)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in text.split("\n") if line.strip())


def detail_page(post: SimPost, host: str) -> str:
    """The desktop detail page of one complaint."""
    local = post.created_at.astimezone(CHINA_TZ)
    amount = f"{post.text.amount:g}元" if post.text.amount is not None else "-"
    merchant: Merchant = post.merchant
    steps = []
    for step in post.timeline:
        when = step.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
        steps.append(
            '<div class="ts-d-item">\n'
            f'<div class="ts-d-user"><span class="u-name">{escape(step.actor)}</span>'
            f'<span class="u-status">{escape(step.status)}</span>'
            f'<span class="u-date">{when}</span></div>\n'
            f'<div class="ts-d-cont"><div class="ts-reply">{_paragraphs(step.text)}</div></div>\n'
            "</div>"
        )
    title = escape(post.text.title)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{title}_黑猫投诉</title></head>
<body>
<div class="ts-wrap">
<div class="ts-d-question">
<h1 class="article">{title}</h1>
<div class="ts-q-user clearfix">
<img alt="" class="avatar" src="{escape(post.avatar)}"/>
<span class="u-name">{escape(post.author)}</span>
<span class="u-date">发布于 {local:%Y年%m月%d日 %H:%M}</span>
</div>
<ul class="ts-q-list">
<li><label>投诉编号：</label> {post.sn}</li>
<li><label>投诉对象：</label>
<a class="c_link" href="//{host}/company/view/?couid={merchant.couid}" target="_blank">{escape(merchant.name)}</a>
</li>
<li><label>投诉问题：</label> {escape(",".join(post.text.issue))}</li> <li><label>投诉要求：</label> {escape(",".join(post.text.appeal))}</li>
<li><label>涉诉金额：</label> {amount}</li>
<li><label>投诉进度：</label><b>{post.status.zh}</b></li>
</ul>
</div>
<div class="ts-d-steplist">
{chr(10).join(steps)}
</div>
</div>
</body>
</html>
"""


def mobile_detail_page(post: SimPost) -> str:
    """The mobile detail page (tousu.sina.cn) of one complaint."""
    title = escape(post.text.title)
    local = post.created_at.astimezone(CHINA_TZ)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{title}_黑猫投诉</title>
<link rel="canonical" href="https://tousu.sina.com.cn/complaint/view/{post.sn}/"></head>
<body>
<div class="m-complaint">
<h1 class="m-complaint-title">{title}</h1>
<div class="m-complaint-des1"><span>{escape(post.author)}</span><span>{local:%Y-%m-%d %H:%M}</span></div>
<div class="m-complaint-des4">{_paragraphs(post.text.body)}</div>
</div>
</body>
</html>
"""


NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在_黑猫投诉</title></head>
<body><div class="ts-404">抱歉，您访问的投诉不存在或已被删除。</div></body></html>
"""

BANNED_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>访问受限</title></head>
<body><div>您的访问过于频繁，请稍后再试。</div></body></html>
"""
