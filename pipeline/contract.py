"""The complaint record contract: one definition shared by every stage.

A crawler emits records in this shape (as JSON Lines), ingest validates them again at its
boundary, and every table downstream is derived from it. Site-specific quirks (timestamps as
unix seconds or date strings, amounts as "1,299元", comma-separated tags) are parsed here by
small pure helpers so that every spider and every stage agrees on them.

Times are timezone-aware UTC. Site dates without a time zone are China Standard Time
(UTC+8, no daylight saving since 1991), which is what the sites display.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA_VERSION = 1
CHINA_TZ = timezone(timedelta(hours=8), name="CST")
# 黑猫投诉 opened in 2017; older dates from any site are parse errors, not history.
EARLIEST_PLAUSIBLE = datetime(2010, 1, 1, tzinfo=UTC)
# Clock skew between the site and us; anything later than this is an absurd date.
FUTURE_TOLERANCE = timedelta(days=1)
MAX_AMOUNT_YUAN = 100_000_000.0


class Site(StrEnum):
    HEIMAO = "heimao"  # 黑猫投诉 tousu.sina.com.cn
    JUTOUSU = "jutousu"  # 聚投诉 ts.21cn.com
    DIANSUBAO = "diansubao"  # 电诉宝 315.100ec.cn


class ComplaintStatus(IntEnum):
    """黑猫投诉's status codes; other sites map their states onto these."""

    PUBLISHED = 1  # 通过审核
    PENDING_ASSIGNMENT = 3  # 待分配
    PROCESSING = 4  # 处理中
    REPLIED = 6  # 已回复
    COMPLETED = 7  # 已完成
    CLOSED = 8  # 已关闭

    @property
    def zh(self) -> str:
        return STATUS_ZH[self]


STATUS_ZH: dict[ComplaintStatus, str] = {
    ComplaintStatus.PUBLISHED: "通过审核",
    ComplaintStatus.PENDING_ASSIGNMENT: "待分配",
    ComplaintStatus.PROCESSING: "处理中",
    ComplaintStatus.REPLIED: "已回复",
    ComplaintStatus.COMPLETED: "已完成",
    ComplaintStatus.CLOSED: "已关闭",
}
STATUS_BY_ZH: dict[str, ComplaintStatus] = {zh: status for status, zh in STATUS_ZH.items()}


class RecordError(ValueError):
    """A record that cannot enter the pipeline, with a short machine-readable ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TimelineEvent(BaseModel):
    """One step of the complaint's public timeline (filed, assigned, replied, completed)."""

    model_config = ConfigDict(extra="forbid")

    status: str  # the site's wording, e.g. 发起投诉, 商家已回复, 投诉已完成
    at: datetime | None = None
    actor: str | None = None
    text: str | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _parse_at(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_site_time(value)


class ComplaintRecord(BaseModel):
    """One complaint post as filed against one merchant.

    ``sn`` is unique per site. A post filed against several merchants appears as several
    records with consecutive ``sn`` and the same text; ingest groups them later.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    site: Site
    sn: str = Field(min_length=1, description="the site's complaint id")
    url: str
    title: str
    body: str
    body_truncated: bool = Field(description="body is only the list summary, cut by the site")
    merchant_name: str = Field(min_length=1, description="投诉对象 as the site shows it (cotitle)")
    merchant_id: str | None = Field(default=None, description="the site's merchant id (couid)")
    issue: list[str] = Field(default_factory=list, description="投诉问题 tags")
    appeal: list[str] = Field(default_factory=list, description="投诉要求")
    amount_yuan: float | None = Field(default=None, description="涉诉金额 in yuan")
    status: ComplaintStatus | None = None
    created_at: datetime
    fetched_at: datetime
    timeline: list[TimelineEvent] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, description="the payload as received")
    replied_at: datetime | None = Field(
        default=None, description="when the merchant first replied (from the timeline)"
    )
    completed_at: datetime | None = Field(
        default=None, description="when the complaint was marked completed (from the timeline)"
    )

    @field_validator("replied_at", "completed_at", mode="before")
    @classmethod
    def _parse_optional_time(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_site_time(value)

    @field_validator("created_at", "fetched_at", mode="before")
    @classmethod
    def _parse_time(cls, value: Any) -> Any:
        return parse_site_time(value)

    @field_validator("issue", "appeal", mode="before")
    @classmethod
    def _parse_tags(cls, value: Any) -> Any:
        return split_tags(value) if isinstance(value, str) or value is None else value

    @field_validator("amount_yuan", mode="before")
    @classmethod
    def _parse_amount(cls, value: Any) -> Any:
        return parse_amount(value) if isinstance(value, str) or value is None else value

    @field_validator("status", mode="before")
    @classmethod
    def _parse_status(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.strip() in STATUS_BY_ZH:
            return STATUS_BY_ZH[value.strip()]
        return value

    @model_validator(mode="after")
    def _check_values(self) -> ComplaintRecord:
        if not self.title.strip() and not self.body.strip():
            raise ValueError("empty_text: both title and body are empty")
        if self.site is Site.HEIMAO and not (len(self.sn) == 11 and self.sn.isdigit()):
            raise ValueError(f"bad_sn: 黑猫投诉 sn must be 11 digits, got {self.sn!r}")
        if self.created_at < EARLIEST_PLAUSIBLE or self.created_at > (
            self.fetched_at + FUTURE_TOLERANCE
        ):
            raise ValueError(
                f"absurd_date: created_at {self.created_at.isoformat()} is outside "
                f"{EARLIEST_PLAUSIBLE.date()} .. fetched_at {self.fetched_at.isoformat()}"
            )
        if self.amount_yuan is not None and not 0 <= self.amount_yuan < MAX_AMOUNT_YUAN:
            raise ValueError(f"absurd_amount: {self.amount_yuan} yuan is outside 0 .. 1e8")
        return self


class MerchantInfoRecord(BaseModel):
    """A merchant's standing as its site reports it (黑猫投诉 ``company/info``), for ranking.

    A snapshot: the same merchant is fetched again on later crawls, so ``fetched_at`` orders
    the snapshots. Counts are the site's own (all time and last 30 days).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    site: Site
    merchant_id: str = Field(min_length=1, description="the site's merchant id (couid)")
    name: str = Field(min_length=1)
    complaints: int | None = Field(default=None, ge=0, description="valid_amt")
    replied: int | None = Field(default=None, ge=0, description="replied_amt")
    completed: int | None = Field(default=None, ge=0, description="completed_amt")
    complaints_30d: int | None = Field(default=None, ge=0, description="valid30d")
    replied_30d: int | None = Field(default=None, ge=0, description="reply30d")
    completed_30d: int | None = Field(default=None, ge=0, description="complete30d")
    rating: float | None = Field(default=None, description="eval_points (the site's 1-5 score)")
    fetched_at: datetime
    raw: dict[str, Any] = Field(default_factory=dict, description="the payload as received")

    @field_validator("fetched_at", mode="before")
    @classmethod
    def _parse_time(cls, value: Any) -> Any:
        return parse_site_time(value)

    @field_validator(
        "complaints",
        "replied",
        "completed",
        "complaints_30d",
        "replied_30d",
        "completed_30d",
        "rating",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value in (None, "") else value


def validate_merchant_info(obj: Any) -> MerchantInfoRecord:
    """Validate one merchant-info record; raises :class:`RecordError` like
    :func:`validate_record`."""
    if not isinstance(obj, dict):
        raise RecordError("not_object", f"expected a JSON object, got {type(obj).__name__}")
    try:
        return MerchantInfoRecord.model_validate(obj)
    except ValidationError as exc:
        raise _record_error(exc) from None


def validate_record(obj: Any) -> ComplaintRecord:
    """Validate one decoded JSON value as a complaint record.

    Raises :class:`RecordError` whose ``code`` is one of ``not_object``, ``missing_field``,
    ``wrong_type``, ``empty_text``, ``bad_sn``, ``absurd_date``, ``absurd_amount`` or
    ``bad_value``, and whose message names every offending field.
    """
    if not isinstance(obj, dict):
        raise RecordError("not_object", f"expected a JSON object, got {type(obj).__name__}")
    try:
        return ComplaintRecord.model_validate(obj)
    except ValidationError as exc:
        raise _record_error(exc) from None


def _record_error(exc: ValidationError) -> RecordError:
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    code = "bad_value"
    for i, err in enumerate(errors):
        where = ".".join(str(p) for p in err["loc"]) or "record"
        message = str(err["msg"]).removeprefix("Value error, ")
        this_code = _error_code(err["type"], message)
        message = message.removeprefix(this_code + ": ")
        if i == 0:
            code = this_code
        parts.append(f"{where}: {message}" if where != "record" else message)
    return RecordError(code, "; ".join(parts))


_OWN_CODES = ("empty_text", "bad_sn", "absurd_date", "absurd_amount")


def _error_code(error_type: str, message: str) -> str:
    for own in _OWN_CODES:
        if message.startswith(own + ":"):
            return own
    if error_type == "missing":
        return "missing_field"
    if error_type == "extra_forbidden":
        return "unknown_field"
    if error_type.endswith("_type") or error_type.endswith("_parsing"):
        return "wrong_type"
    return "bad_value"


# --- site field parsers (pure) -------------------------------------------------------------

_TAG_SPLIT = re.compile(r"[,，、;；]+")


def split_tags(value: str | None) -> list[str]:
    """``"退款,赔偿，解释"`` -> ``["退款", "赔偿", "解释"]``; blanks dropped, order kept."""
    if not value:
        return []
    return [tag.strip() for tag in _TAG_SPLIT.split(value) if tag.strip()]


_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


def parse_amount(value: str | float | int | None) -> float | None:
    """``"1,299.50元"`` -> 1299.5; ``"￥50"`` -> 50.0; ``""``/``"不详"`` -> None.

    A figure in 万 (ten thousand) is scaled: ``"2.5万元"`` -> 25000.0.
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip().replace(",", "").replace("，", "")
    match = _AMOUNT.search(text)
    if match is None:
        return None
    amount = float(match.group())
    if "万" in text[match.end() :]:
        amount *= 10_000
    return amount


_CN_DATETIME = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")


def parse_site_time(value: Any) -> datetime:
    """Parse the timestamps the complaint sites use into an aware UTC datetime.

    Accepts unix seconds or milliseconds (int or digit string), ISO 8601 with or without an
    offset, and date strings like ``2026-04-27``, ``2026-04-27 10:20:30`` or
    ``2020年10月16日 08:48`` (China time when no zone is given).
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day, tzinfo=CHINA_TZ)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        dt = _from_epoch(float(value))
    elif isinstance(value, str):
        text = value.strip()
        dt = _from_epoch(float(text)) if _EPOCH.fullmatch(text) else _parse_date_string(text)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=CHINA_TZ)
    return dt.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # 13-digit milliseconds
        seconds /= 1000.0
    return datetime.fromtimestamp(seconds, tz=UTC)


def _parse_date_string(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _CN_DATETIME.search(text)
    if match is None:
        raise ValueError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=CHINA_TZ)
