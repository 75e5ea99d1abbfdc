"""Every spider follows the naming rule: ``crawler/spiders/<site>.py`` holds ``<Site>Spider``
named ``<site>`` for ``Site.<SITE>``, loadable by Scrapy, with its settings prefix."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

import crawler.spiders
from crawler import settings as project_settings
from crawler.spiders.base import ComplaintSpider
from pipeline.contract import Site


def test_one_spider_per_site_named_after_it() -> None:
    modules = sorted(
        name for _, name, _ in pkgutil.iter_modules(crawler.spiders.__path__) if name != "base"
    )
    assert modules == sorted(site.value for site in Site)
    for name in modules:
        module = importlib.import_module(f"crawler.spiders.{name}")
        spider = getattr(module, f"{name.capitalize()}Spider")
        assert issubclass(spider, ComplaintSpider)
        assert spider.name == name and spider.site is Site(name)
        assert spider.settings_prefix == name.upper()
        assert hasattr(project_settings, f"{spider.settings_prefix}_BASE_URL")
        assert hasattr(project_settings, f"{spider.settings_prefix}_CONCURRENT_FEEDS")


def test_scrapy_finds_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    loader = SpiderLoader.from_settings(get_project_settings())
    assert sorted(loader.list()) == sorted(site.value for site in Site)


def test_merchant_ids_must_be_digits() -> None:
    from crawler.spiders.base import parse_ids

    assert parse_ids("123, 456", "couids") == ["123", "456"] and parse_ids(None, "couids") == []
    with pytest.raises(ValueError, match="couids must be digits, got 'abc'"):
        parse_ids("123,abc", "couids")
