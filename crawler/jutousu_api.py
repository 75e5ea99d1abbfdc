"""聚投诉 (ts.21cn.com) API facts shared by the spider and the local simulator.

As public crawlers saw the site (design.md): the index list
``/json/indexPcMorePost/order/ctime/pageNo/{n}`` is JSON whose ``message`` is an HTML
fragment of posts; a merchant's list ``/json/merchantPostList/merchantId/{id}/listType/1/
pageNo/{n}/offset/{offset}`` is JSON with ``postList[] {id, title, shortTopic, shuqiu, ctime}``
and an ``offset`` to pass back for the next page; the detail page ``/tousu/show/id/{id}``
holds the post's key in ``input#postKeyValue``, and ``/json/getPostContent/postKey/{key}``
returns the post (``id, title, ctimeStr, merchantname, problemLabelList[].name, shuqiu,
topic``). Everything needs a logged-in session cookie; without one (or once it expires) the
site answers a page asking to 登录聚投诉.

Details not recorded by those crawlers (the fragment's markup, ``hasMore``, the exact
``offset`` meaning: here the id of the last post returned) are this project's reading and
are what the simulator implements; the parsers accept a little more than that.
"""

from __future__ import annotations

SITE_URL = "https://ts.21cn.com"
INDEX_PATH = "/json/indexPcMorePost/order/ctime/pageNo/{page}"
MERCHANT_PATH = (
    "/json/merchantPostList/merchantId/{merchant_id}/listType/{list_type}/pageNo/{page}"
    "/offset/{offset}"
)
SHOW_PATH = "/tousu/show/id/{post_id}"
CONTENT_PATH = "/json/getPostContent/postKey/{post_key}"
MERCHANT_PAGE_PATH = "/merchant/view/id/{merchant_id}"

PAGE_SIZE = 10
LIST_TYPE_ALL = 1
# What the site shows when the session cookie is missing or expired.
LOGIN_MARK = "登录聚投诉"


def index_url(base_url: str, page: int) -> str:
    return base_url.rstrip("/") + INDEX_PATH.format(page=page)


def merchant_url(
    base_url: str, merchant_id: str, page: int, offset: int | str = 0, list_type: int = 1
) -> str:
    path = MERCHANT_PATH.format(
        merchant_id=merchant_id, list_type=list_type, page=page, offset=offset
    )
    return base_url.rstrip("/") + path


def show_url(base_url: str, post_id: str) -> str:
    return base_url.rstrip("/") + SHOW_PATH.format(post_id=post_id)


def content_url(base_url: str, post_key: str) -> str:
    return base_url.rstrip("/") + CONTENT_PATH.format(post_key=post_key)
