"""电诉宝 (315.100ec.cn) API facts shared by the spider and the local simulator.

``/api/index.php?_a=product&f=complain&page_record={n}&state=&p={page}`` answers
``{curr_page, page_total, pw_rec_list: [...]}``, newest first, with about 40 fields per
complaint as public crawlers stored them. Among them are the complainant's personal data
(``name``, ``mobile``, ``idcard``, ``email``, ``sex``, ``age``, the street address in
``concrete_area``, ``order_num``): the spider keeps only :data:`KEPT_FIELDS`, so none of it is
ever stored.

``state`` follows the site's tabs (最新 / 已移交 / 已受理 / 已评价): 2 handed to the merchant,
3 accepted (the merchant answered), 4 rated by the complainant; 1 is the state before hand-
over. The meaning of the text fields (``intro`` the complaint, ``remark`` the demand,
``remark2`` a short summary) is this project's reading of those crawlers' output.
"""

from __future__ import annotations

from urllib.parse import urlencode

from pipeline.contract import ComplaintStatus

SITE_URL = "http://www.315.100ec.cn"
LIST_PATH = "/api/index.php"
# Public crawlers asked for 1,000 records a page; a smaller page is lighter on the site.
PAGE_RECORD = 200
MAX_PAGE_RECORD = 1000

# The fields that leave the spider (into the record's ``raw``). Everything else is dropped,
# personal data first of all.
KEPT_FIELDS = (
    "id",
    "title",
    "intro",
    "remark",
    "remark2",
    "company_id",
    "company_name",
    "to_company",
    "company_web",
    "money",
    "category",
    "ctime",
    "post_time",
    "cdate",
    "state",
    "review",
    "time1",
    "time2",
    "time3",
    "back_time",
    "article_link",
)
PERSONAL_FIELDS = (
    "name",
    "mobile",
    "idcard",
    "email",
    "sex",
    "age",
    "concrete_area",
    "order_num",
)

STATUS_BY_STATE: dict[int, ComplaintStatus] = {
    1: ComplaintStatus.PENDING_ASSIGNMENT,
    2: ComplaintStatus.PROCESSING,
    3: ComplaintStatus.REPLIED,
    4: ComplaintStatus.COMPLETED,
}


def list_url(base_url: str, page: int, page_record: int = PAGE_RECORD, state: str = "") -> str:
    query = urlencode(
        {"_a": "product", "f": "complain", "page_record": page_record, "state": state, "p": page}
    )
    return f"{base_url.rstrip('/')}{LIST_PATH}?{query}"
