"""Item pipelines: validate against the record contract, then write raw JSON Lines, exactly once.

``ContractPipeline`` refuses records that break the contract (counted under
``item_rejected/<code>`` and written with the reason to ``<run>.rejects.jsonl``), so no
record is lost silently. ``JsonlPipeline`` appends accepted records to ``<run>.jsonl``,
flushing each line, and marks each ``sn`` written in the crawl state; a record whose ``sn``
is already written (by this run or an earlier one) is dropped, so a complaint is never
written twice. The file gets its final name when the crawl closes. ``MerchantInfoPipeline``
writes merchant-info records to ``merchants/<run>.jsonl``.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DropItem

from crawler.items import MerchantInfoItem
from crawler.spiders.base import ComplaintSpider
from crawler.state import ItemState, StateLockedError
from pipeline.contract import RecordError, validate_merchant_info, validate_record
from pipeline.jsonl import JsonlWriter

logger = logging.getLogger(__name__)


def _spider(crawler: Crawler) -> ComplaintSpider:
    spider = crawler.spider
    if not isinstance(spider, ComplaintSpider):
        raise TypeError(f"{type(spider).__name__} is not a ComplaintSpider")
    return spider


def _stats(crawler: Crawler) -> Any:
    stats = crawler.stats
    assert stats is not None
    return stats


class _Pipeline:
    """An item pipeline that holds the crawler (its stats, its spider, its settings)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)


class ContractPipeline(_Pipeline):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.rejects: JsonlWriter | None = None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, MerchantInfoItem):
            return item
        try:
            record = validate_record(item)
        except RecordError as exc:
            _stats(self.crawler).inc_value(f"item_rejected/{exc.code}")
            spider = _spider(self.crawler)
            if self.rejects is None:
                self.rejects = JsonlWriter(spider.rejects_path)
            self.rejects.write({"reason": exc.code, "message": exc.message, "record": item})
            if isinstance(item, dict) and item.get("sn"):
                spider.mark_written(str(item["sn"]), ItemState.REJECTED)
            raise DropItem(f"{exc.code}: {exc.message}") from None
        return record.model_dump(mode="json")

    def close_spider(self) -> None:
        if self.rejects is not None:
            self.rejects.close()


class JsonlPipeline(_Pipeline):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.writer: JsonlWriter | None = None

    def open_spider(self) -> None:
        spider = _spider(self.crawler)
        try:
            # Recovers what a killed earlier run left behind before starting a new file.
            spider.ensure_state()
        except StateLockedError as exc:
            logger.error("%s", exc)
            raise CloseSpider("state_locked") from None
        self.writer = JsonlWriter(spider.output_path)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, MerchantInfoItem):
            return item
        assert self.writer is not None
        spider = _spider(self.crawler)
        sn = str(item["sn"])
        state = spider.state
        if state is not None and state.is_done(sn):
            _stats(self.crawler).inc_value("tousu/duplicates_dropped")
            raise DropItem(f"sn {sn} is already written")
        self.writer.write(item)
        spider.mark_written(sn)
        _stats(self.crawler).inc_value("tousu/records_written")
        return item

    def close_spider(self) -> None:
        if self.writer is not None:
            path = self.writer.close()
            logger.info("wrote %d records to %s", self.writer.count, path)
        spider = self.crawler.spider
        if isinstance(spider, ComplaintSpider) and spider.state is not None:
            # The output is complete: this run needs no reconciliation.
            spider.state.close(clean=True)


class MerchantInfoPipeline(_Pipeline):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.writer: JsonlWriter | None = None

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, MerchantInfoItem):
            return item
        stats = _stats(self.crawler)
        spider = _spider(self.crawler)
        try:
            record = validate_merchant_info(item.record)
        except RecordError as exc:
            stats.inc_value(f"merchant_info_rejected/{exc.code}")
            logger.warning("merchant info refused (%s): %s", exc.code, exc.message)
            raise DropItem(f"{exc.code}: {exc.message}") from None
        if self.writer is None:
            self.writer = JsonlWriter(spider.merchants_path)
        self.writer.write(record.model_dump(mode="json"))
        stats.inc_value("tousu/merchant_info_written")
        if spider.state is not None:
            spider.state.extra_done("merchant_info", record.merchant_id)
        return item

    def close_spider(self) -> None:
        if self.writer is not None:
            self.writer.close()
