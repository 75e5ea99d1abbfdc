"""聚投诉 as the simulator serves it, over the same :class:`Marketplace` as 黑猫投诉.

Endpoints as :mod:`crawler.jutousu_api` describes them. Every post and merchant gets the
site's own numeric id (rising with time for posts) and each post a ``postKey``. With
``login_cookie`` set, every request must carry that cookie, else the answer is the login
page (登录聚投诉); with ``session_requests`` set the session expires after that many
requests, as a real session does after a while. 聚投诉's depth limits are not recorded, so
the simulator sets none.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from http import HTTPStatus

from crawler import jutousu_api as api
from crawler.sim.marketplace import Marketplace, Merchant, SimPost
from crawler.sim.server import ServerOptions, SimRequest, SimResponse
from pipeline.contract import CHINA_TZ

FIRST_POST_ID = 4_100_000
FIRST_MERCHANT_ID = 20_000
SHORT_TOPIC_CHARS = 60
DEFAULT_LOGIN_COOKIE = "JSESSIONID=tousu-sim-session"

_INDEX = re.compile(r"^/json/indexPcMorePost/order/ctime/pageNo/(\d+)/?$")
_MERCHANT = re.compile(
    r"^/json/merchantPostList/merchantId/(\d+)/listType/(\d+)/pageNo/(\d+)/offset/(\d+)/?$"
)
_SHOW = re.compile(r"^/tousu/show/id/(\d+)/?$")
_CONTENT = re.compile(r"^/json/getPostContent/postKey/([0-9a-f]+)/?$")

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>登录聚投诉</title></head>
<body><div class="login-box"><h2>请登录聚投诉</h2><p>登录后即可查看投诉详情</p></div></body></html>
"""
NOT_FOUND = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title>
</head><body><p>您访问的页面不存在</p></body></html>
"""


@dataclass(frozen=True)
class JutousuPost:
    post_id: int
    post_key: str
    merchant_id: int
    post: SimPost


class JutousuView:
    """The marketplace under 聚投诉's ids."""

    def __init__(self, market: Marketplace) -> None:
        seed = market.config.seed
        self.merchant_ids: dict[str, int] = {
            m.couid: FIRST_MERCHANT_ID + i for i, m in enumerate(market.merchants)
        }
        self.merchants: dict[int, Merchant] = {
            self.merchant_ids[m.couid]: m for m in market.merchants
        }
        ordered = sorted(market.posts, key=lambda p: p.sn)
        self.posts: dict[int, JutousuPost] = {}
        self.by_key: dict[str, JutousuPost] = {}
        self.by_sn: dict[str, JutousuPost] = {}
        for i, post in enumerate(ordered):
            post_id = FIRST_POST_ID + 3 * i + int(post.sn) % 3
            key = hashlib.md5(f"{seed}:jts:{post_id}".encode(), usedforsecurity=False).hexdigest()
            entry = JutousuPost(post_id, key[:24], self.merchant_ids[post.merchant.couid], post)
            self.posts[post_id] = entry
            self.by_key[entry.post_key] = entry
            self.by_sn[post.sn] = entry
        self.newest_first = sorted(self.posts.values(), key=lambda e: e.post_id, reverse=True)
        self.by_merchant: dict[int, list[JutousuPost]] = defaultdict(list)
        for entry in self.newest_first:
            self.by_merchant[entry.merchant_id].append(entry)


def short_topic(body: str) -> str:
    flat = " ".join(line.strip() for line in body.split("\n") if line.strip())
    return flat if len(flat) <= SHORT_TOPIC_CHARS else flat[:SHORT_TOPIC_CHARS] + "..."


def _ctime(entry: JutousuPost, fmt: str) -> str:
    return entry.post.created_at.astimezone(CHINA_TZ).strftime(fmt)


class JutousuSite:
    def __init__(
        self, market: Marketplace, options: ServerOptions, count: Callable[[str], None]
    ) -> None:
        self.view = JutousuView(market)
        self.options = options
        self.count = count
        self._served = 0
        self._lock = threading.Lock()

    def handle(self, request: SimRequest) -> SimResponse:
        if not self._logged_in(request):
            self.count("login_page")
            return SimResponse.html(LOGIN_PAGE)
        if (m := _INDEX.match(request.path)) is not None:
            self.count("index")
            return self._index(int(m.group(1)))
        if (m := _MERCHANT.match(request.path)) is not None:
            self.count("merchant_list")
            return self._merchant(
                int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
            )
        if (m := _SHOW.match(request.path)) is not None:
            self.count("show")
            return self._show(int(m.group(1)))
        if (m := _CONTENT.match(request.path)) is not None:
            self.count("content")
            return self._content(m.group(1))
        self.count("not_found")
        return SimResponse.html(NOT_FOUND, HTTPStatus.NOT_FOUND)

    def _logged_in(self, request: SimRequest) -> bool:
        if self.options.login_cookie is None:
            return True
        name, _, value = self.options.login_cookie.partition("=")
        if request.cookies().get(name) != value:
            return False
        with self._lock:
            self._served += 1
            limit = self.options.session_requests
            return limit is None or self._served <= limit

    def _index(self, page: int) -> SimResponse:
        size = api.PAGE_SIZE
        window = self.view.newest_first[(page - 1) * size : page * size] if page >= 1 else []
        fragment = "\n".join(self._fragment_item(e) for e in window)
        has_more = page >= 1 and page * size < len(self.view.newest_first)
        return SimResponse.json(
            {
                "success": True,
                "pageNo": page,
                "pageSize": size,
                "hasMore": has_more,
                "message": fragment,
            }
        )

    def _fragment_item(self, entry: JutousuPost) -> str:
        post = entry.post
        return (
            f'<li class="complain-item" data-id="{entry.post_id}">'
            f'<div class="complain-hd"><a class="complain-title" href="/tousu/show/id/{entry.post_id}"'
            f' target="_blank">{escape(post.text.title)}</a></div>'
            f'<div class="complain-bd"><p class="complain-short">{escape(short_topic(post.text.body))}</p>'
            f'<span class="complain-merchant">投诉对象：<a href="/merchant/view/id/{entry.merchant_id}">'
            f"{escape(post.merchant.name)}</a></span>"
            f'<span class="complain-shuqiu">诉求：{escape(",".join(post.text.appeal))}</span>'
            f'<span class="complain-time">{_ctime(entry, "%Y-%m-%d %H:%M")}</span></div></li>'
        )

    def _merchant(self, merchant_id: int, list_type: int, page: int, offset: int) -> SimResponse:
        if list_type != api.LIST_TYPE_ALL:
            return SimResponse.json({"success": False, "message": "参数错误", "postList": []})
        posts = self.view.by_merchant.get(merchant_id, [])
        if offset > 0:
            posts = [e for e in posts if e.post_id < offset]
        window = posts[: api.PAGE_SIZE]
        items = [
            {
                "id": e.post_id,
                "title": e.post.text.title,
                "shortTopic": short_topic(e.post.text.body),
                "shuqiu": ",".join(e.post.text.appeal),
                "ctime": int(e.post.created_at.timestamp() * 1000),
            }
            for e in window
        ]
        return SimResponse.json(
            {
                "success": True,
                "pageNo": page,
                "offset": window[-1].post_id if window else offset,
                "hasMore": len(posts) > len(window),
                "postList": items,
            }
        )

    def _show(self, post_id: int) -> SimResponse:
        entry = self.view.posts.get(post_id)
        if entry is None:
            return SimResponse.html(NOT_FOUND, HTTPStatus.NOT_FOUND)
        post = entry.post
        page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(post.text.title)}_聚投诉</title></head>
<body>
<div class="tousu-detail">
<h1 class="detail-title">{escape(post.text.title)}</h1>
<div class="detail-merchant">投诉对象：<a href="/merchant/view/id/{entry.merchant_id}">{escape(post.merchant.name)}</a></div>
<div class="detail-time">{_ctime(entry, "%Y-%m-%d %H:%M:%S")}</div>
<div id="postContent" class="detail-content"><p class="loading">加载中...</p></div>
<input type="hidden" id="postKeyValue" value="{entry.post_key}">
</div>
</body></html>
"""
        return SimResponse.html(page)

    def _content(self, post_key: str) -> SimResponse:
        entry = self.view.by_key.get(post_key)
        if entry is None:
            return SimResponse.json({"success": False, "message": "帖子不存在", "post": None})
        post = entry.post
        topic = "".join(
            f"<p>{escape(line)}</p>" for line in post.text.body.split("\n") if line.strip()
        )
        return SimResponse.json(
            {
                "success": True,
                "post": {
                    "id": entry.post_id,
                    "title": post.text.title,
                    "ctimeStr": _ctime(entry, "%Y-%m-%d %H:%M:%S"),
                    "merchantname": post.merchant.name,
                    "merchantId": entry.merchant_id,
                    "problemLabelList": [{"name": tag} for tag in post.text.issue],
                    "shuqiu": ",".join(post.text.appeal),
                    "topic": topic,
                },
            }
        )
