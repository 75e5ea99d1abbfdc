"""Scrapy settings for the complaint crawlers.

The defaults are for real sites and are polite: one request at a time per domain, at least
2 s apart, AutoThrottle on, and an honest user agent. Against a loopback address (the local
simulator) a spider switches politeness off itself, since nothing there needs protecting.
Override any setting with ``tousu crawl heimao -s KEY=VALUE`` (or ``scrapy crawl -s``).
"""

from crawler import heimao_api
from pipeline.settings import Paths

BOT_NAME = "tousu"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "tousu-complaint-research/0.1 (academic consumer-protection study; polite crawler)"
# The JSON endpoints are what the site's own pages call; politeness is enforced by rate below.
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

CONCURRENT_REQUESTS = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 3
RETRY_HTTP_CODES = [403, 408, 429, 500, 502, 503, 504, 522, 524]

ITEM_PIPELINES = {
    "crawler.pipelines.ContractPipeline": 100,
    "crawler.pipelines.JsonlPipeline": 800,
}
EXTENSIONS = {
    "crawler.extensions.CrawlStatsWriter": 500,
    "crawler.extensions.ProgressBar": 510,
}
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0

# Project settings (read by our spiders and pipelines).
TOUSU_DATA_DIR = str(Paths.from_env().data_dir)
TOUSU_RUN_ID = ""  # empty: a UTC timestamp is used
TOUSU_PROGRESS = True  # a bar on a terminal, else a log line every TOUSU_PROGRESS_INTERVAL s
TOUSU_PROGRESS_INTERVAL = 10.0
TOUSU_LOOPBACK_FAST = True  # no politeness against 127.0.0.1 / localhost

HEIMAO_BASE_URL = heimao_api.SITE_URL
HEIMAO_FIELDS = sorted(heimao_api.INDUSTRY_FIELDS)
HEIMAO_MAX_PAGES = heimao_api.MAX_FEED_PAGES
# How many feeds are walked at once. Feed requests are signed when they are created, so
# keeping few in flight keeps their signatures fresh on a slow, polite crawl.
HEIMAO_CONCURRENT_FEEDS = 1

# Applied by a spider when its base URL is loopback and TOUSU_LOOPBACK_FAST is on.
LOOPBACK_FAST_SETTINGS = {
    "DOWNLOAD_DELAY": 0.0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "HEIMAO_CONCURRENT_FEEDS": 4,
}
