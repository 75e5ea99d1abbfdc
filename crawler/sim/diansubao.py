"""电诉宝 as the simulator serves it, over the same :class:`Marketplace` as 黑猫投诉.

One endpoint (see :mod:`crawler.diansubao_api`): the complaint list, newest first,
``page_record`` records a page (at most 1,000), each with about 40 fields as public crawlers
stored them, including the complainant's personal data (name, mobile, ID card number,
e-mail, sex, age, street address, order number). That data is synthetic, drawn per complaint
from the marketplace seed, and exposed by :meth:`DiansubaoView.personal` so tests can check
that none of it is ever stored.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Any

from crawler import diansubao_api as api
from crawler.sim.grammar import id_check_digit
from crawler.sim.marketplace import Marketplace, SimPost
from crawler.sim.server import ServerOptions, SimRequest, SimResponse
from pipeline.contract import CHINA_TZ, ComplaintStatus

FIRST_ID = 880_000
FIRST_COMPANY_ID = 5_000
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
_AREAS = (
    "北京市朝阳区建国路",
    "上海市浦东新区张杨路",
    "广东省深圳市南山区科技园路",
    "浙江省杭州市西湖区文三路",
    "四川省成都市武侯区人民南路",
    "湖北省武汉市洪山区珞喻路",
)
_STATE_BY_STATUS = {
    ComplaintStatus.PUBLISHED: 1,
    ComplaintStatus.PENDING_ASSIGNMENT: 1,
    ComplaintStatus.PROCESSING: 2,
    ComplaintStatus.CLOSED: 2,
    ComplaintStatus.REPLIED: 3,
    ComplaintStatus.COMPLETED: 4,
}


@dataclass(frozen=True)
class DiansubaoPost:
    post_id: int
    company_id: int
    post: SimPost
    personal: dict[str, str]


def _personal(rng: random.Random, created: date) -> dict[str, str]:
    birth = date(created.year - rng.randint(18, 65), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{rng.choice(('110105', '310115', '440305', '330106', '510107'))}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    age = created.year - birth.year
    return {
        "name": rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2)))),
        "mobile": rng.choice(("138", "139", "150", "186", "177")) + f"{rng.randrange(10**8):08d}",
        "idcard": first17 + id_check_digit(first17),
        "email": f"{rng.choice(('qq', 'wx', 'zh'))}{rng.randrange(10**6, 10**9)}@example.com",
        "sex": rng.choice(("男", "女")),
        "age": str(age),
        "concrete_area": f"{rng.choice(_AREAS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2808)}室",
        "order_num": f"{rng.randrange(10**17, 10**18)}",
    }


class DiansubaoView:
    """The marketplace under 电诉宝's ids, with synthetic personal data per complaint."""

    def __init__(self, market: Marketplace) -> None:
        rng = random.Random(f"diansubao:{market.config.seed}")
        company_ids = {m.couid: FIRST_COMPANY_ID + i for i, m in enumerate(market.merchants)}
        ordered = sorted(market.posts, key=lambda p: p.sn)
        self.posts: list[DiansubaoPost] = []
        for i, post in enumerate(ordered):
            created = post.created_at.astimezone(CHINA_TZ).date()
            self.posts.append(
                DiansubaoPost(
                    FIRST_ID + i, company_ids[post.merchant.couid], post, _personal(rng, created)
                )
            )
        self.by_sn = {entry.post.sn: entry for entry in self.posts}
        self.newest_first = list(reversed(self.posts))

    def personal(self) -> list[dict[str, str]]:
        return [entry.personal for entry in self.posts]


def record(entry: DiansubaoPost, host: str) -> dict[str, Any]:
    """One ``pw_rec_list`` item: about 40 fields, personal data included."""
    post = entry.post
    created = int(post.created_at.timestamp())
    steps = [int(step.at.timestamp()) for step in post.timeline[1:4]]
    steps += [0] * (3 - len(steps))
    digest = hashlib.md5(f"dsb:{entry.post_id}".encode(), usedforsecurity=False).hexdigest()
    body = post.text.body
    item: dict[str, Any] = {
        "id": str(entry.post_id),
        "title": post.text.title,
        "intro": body,
        "remark": ",".join(post.text.appeal),
        "remark2": body[:50],
        "company_id": str(entry.company_id),
        "company_name": post.merchant.name,
        "to_company": post.merchant.name,
        "company_web": "",
        "money": f"{post.text.amount:.2f}" if post.text.amount is not None else "0.00",
        "category": ",".join(post.text.issue),
        "ctime": str(created),
        "post_time": str(created),
        "cdate": post.created_at.astimezone(CHINA_TZ).date().isoformat(),
        "state": str(_STATE_BY_STATUS[post.status]),
        "review": str(int(digest[:2], 16) % 3) if post.status is ComplaintStatus.COMPLETED else "",
        "time1": str(steps[0]),
        "time2": str(steps[1]),
        "time3": str(steps[2]),
        "back_time": str(steps[1]) if steps[1] else "",
        "article_link": f"http://{host}/index/detail--{entry.post_id}.html",
        "manager": "",
    }
    for n in range(1, 6):
        item[f"pic{n}"] = f"/upload/complain/{digest[:8]}_{n}.jpg" if n == 1 else ""
        item[f"pic{n}_info"] = ""
    item.update(entry.personal)
    return item


class DiansubaoSite:
    def __init__(
        self, market: Marketplace, options: ServerOptions, count: Callable[[str], None]
    ) -> None:
        self.view = DiansubaoView(market)
        self.options = options
        self.count = count

    def handle(self, request: SimRequest) -> SimResponse:
        query = request.query
        if request.path.rstrip("/") != api.LIST_PATH or (query.get("_a"), query.get("f")) != (
            "product",
            "complain",
        ):
            self.count("not_found")
            return SimResponse.html("<html><body>404</body></html>", HTTPStatus.NOT_FOUND)
        self.count("list")
        try:
            page = max(1, int(query.get("p", "1") or 1))
            size = int(query.get("page_record", "10") or 10)
        except ValueError:
            return SimResponse.json({"error": "bad parameter"})
        size = max(1, min(size, api.MAX_PAGE_RECORD))
        posts = self.view.newest_first
        state = query.get("state", "")
        if state.isdigit():
            posts = [e for e in posts if _STATE_BY_STATUS[e.post.status] == int(state)]
        total = max(1, math.ceil(len(posts) / size))
        window = posts[(page - 1) * size : page * size]
        return SimResponse.json(
            {
                "curr_page": page,
                "page_total": total,
                "pw_rec_list": [record(e, request.host) for e in window],
            }
        )
