"""Pure parser for 电诉宝 list records (see :mod:`crawler.diansubao_api`).

A list record is complete (the whole complaint is in ``intro``), so there is no detail page.
Only :data:`~crawler.diansubao_api.KEPT_FIELDS` are kept: the complainant's personal data
never reaches a record, a rejects file or the crawl state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawler import diansubao_api as api
from crawler.parsing.text import html_to_text, strip_markup
from pipeline.contract import Site, parse_amount, split_tags


@dataclass(frozen=True)
class ListPage:
    items: list[dict[str, Any]]
    current: int
    total: int


def parse_list_page(payload: Any) -> ListPage:
    if not isinstance(payload, dict) or "pw_rec_list" not in payload:
        raise ValueError("not a 电诉宝 list response: no 'pw_rec_list'")
    items = [item for item in payload.get("pw_rec_list") or [] if isinstance(item, dict)]
    return ListPage(
        items=items,
        current=int(payload.get("curr_page") or 0),
        total=int(payload.get("page_total") or 0),
    )


def public_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The item without the complainant's personal data (an allow list, not a deny list)."""
    return {key: item[key] for key in api.KEPT_FIELDS if key in item}


def record_from_item(
    item: dict[str, Any], *, base_url: str, fetched_at: datetime
) -> dict[str, Any]:
    kept = public_fields(item)
    post_id = str(kept.get("id") or "")
    state = kept.get("state")
    status = None
    if str(state or "").isdigit():
        found = api.STATUS_BY_STATE.get(int(str(state)))
        status = int(found) if found is not None else None
    link = str(kept.get("article_link") or "")
    money = kept.get("money")
    return {
        "site": Site.DIANSUBAO.value,
        "sn": post_id,
        "url": link or f"{base_url.rstrip('/')}{api.LIST_PATH}?id={post_id}",
        "title": strip_markup(str(kept.get("title") or "")),
        "body": html_to_text(str(kept.get("intro") or "")),
        "body_truncated": False,
        "merchant_name": strip_markup(
            str(kept.get("company_name") or kept.get("to_company") or "")
        ),
        "merchant_id": str(kept.get("company_id") or "") or None,
        "issue": split_tags(strip_markup(str(kept.get("category") or ""))),
        "appeal": split_tags(strip_markup(str(kept.get("remark") or ""))),
        "amount_yuan": parse_amount(str(money)) if money not in (None, "") else None,
        "status": status,
        "created_at": kept.get("ctime") or kept.get("post_time") or None,
        "fetched_at": fetched_at.isoformat(),
        "raw": kept,
    }
