"""Item pipelines: validate against the record contract, then write raw JSON Lines.

``ContractPipeline`` refuses records that break the contract (counted under
``item_rejected/<code>`` and written with the reason to ``<run>.rejects.jsonl``), so no
record is lost silently. ``JsonlPipeline`` appends accepted records to ``<run>.jsonl``,
flushing each line; the file gets its final name when the crawl closes.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.spiders.base import ComplaintSpider
from pipeline.contract import RecordError, validate_record
from pipeline.jsonl import JsonlWriter, recover_partial

logger = logging.getLogger(__name__)


def _spider(crawler: Crawler) -> ComplaintSpider:
    spider = crawler.spider
    if not isinstance(spider, ComplaintSpider):
        raise TypeError(f"{type(spider).__name__} is not a ComplaintSpider")
    return spider


class ContractPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.rejects: JsonlWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> dict[str, Any]:
        try:
            record = validate_record(item)
        except RecordError as exc:
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value(f"item_rejected/{exc.code}")
            if self.rejects is None:
                self.rejects = JsonlWriter(_spider(self.crawler).rejects_path)
            self.rejects.write({"reason": exc.code, "message": exc.message, "record": item})
            raise DropItem(f"{exc.code}: {exc.message}") from None
        return record.model_dump(mode="json")

    def close_spider(self) -> None:
        if self.rejects is not None:
            self.rejects.close()


class JsonlPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer: JsonlWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = _spider(self.crawler)
        # Finish what a killed earlier run left behind before starting a new file.
        for path in recover_partial(spider.out_dir):
            logger.warning("recovered %s from an interrupted crawl", path)
        self.writer = JsonlWriter(spider.output_path)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        assert self.writer is not None
        self.writer.write(item)
        return item

    def close_spider(self) -> None:
        if self.writer is not None:
            path = self.writer.close()
            logger.info("wrote %d records to %s", self.writer.count, path)
