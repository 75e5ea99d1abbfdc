"""Scrapy settings for the complaint crawlers.

The defaults are for real sites and are polite: one request at a time per domain, at least
2 s apart, AutoThrottle on, and an honest user agent. A ban (HTTP 456) pauses the domain for
20 minutes (doubling on repeated bans, up to 2 hours); 403/429/5xx and timeouts are retried
with exponential backoff; signed requests that waited are signed afresh. Against a loopback
address (the local simulator) a spider switches politeness off itself, since nothing there
needs protecting. Override any setting with ``tousu crawl SITE -s KEY=VALUE`` (or
``scrapy crawl -s``).
"""

from crawler import diansubao_api, heimao_api, jutousu_api
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
# Scrapy varies each delay by +-DOWNLOAD_DELAY_JITTER; 2.5 s +-20 % never goes under 2 s.
# AutoThrottle only ever lengthens it (its floor is DOWNLOAD_DELAY).
DOWNLOAD_DELAY = 2.5
DOWNLOAD_DELAY_JITTER = 0.2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.5
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 5
RETRY_HTTP_CODES = [403, 408, 429, 500, 502, 503, 504, 522, 524]

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.BanCooldownMiddleware": 560,
    "crawler.middlewares.ResignMiddleware": 570,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ContractPipeline": 100,
    "crawler.pipelines.MerchantInfoPipeline": 700,
    "crawler.pipelines.JsonlPipeline": 800,
}
EXTENSIONS = {
    "crawler.extensions.CrawlStatsWriter": 500,
    "crawler.extensions.ProgressBar": 510,
}
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0
# Throughput (see bench/crawl.py). The item pipelines are synchronous, so processing a
# callback's output through 100 parallel tasks (Scrapy's default) only costs CPU: one each.
CONCURRENT_ITEMS = 1
# Scrapy checks each callback for `return value` in a generator by parsing its source, and
# its cache misses for bound methods, so it re-parses on every response. Ours have none.
WARN_ON_GENERATOR_RETURN_VALUE = False

# Project settings (read by our spiders and pipelines).
TOUSU_DATA_DIR = str(Paths.from_env().data_dir)
TOUSU_RUN_ID = ""  # empty: a UTC timestamp is used
TOUSU_PROGRESS = True  # a bar on a terminal, else a log line every TOUSU_PROGRESS_INTERVAL s
TOUSU_PROGRESS_INTERVAL = 10.0
TOUSU_STATS_INTERVAL = 30.0  # the stats file is rewritten this often, so a killed run has one
TOUSU_LOOPBACK_FAST = True  # no politeness against 127.0.0.1 / localhost
# Bans and retries (see crawler/middlewares.py).
TOUSU_BAN_HTTP_CODES = [heimao_api.HTTP_BANNED]
TOUSU_BAN_COOLDOWN = 1200.0  # seconds; the site's bans last 10-30 minutes
TOUSU_BAN_COOLDOWN_MAX = 7200.0
TOUSU_RETRY_BACKOFF = 2.0  # first retry waits about this long, then doubling
TOUSU_RETRY_BACKOFF_MAX = 300.0
TOUSU_RESIGN_AFTER = 120.0  # re-sign a signed request older than this before sending it
# A feed walked to its end before stops after this many pages with nothing new.
TOUSU_STOP_AFTER_SEEN_PAGES = 2
# Start a new pass over every feed even if the last one was interrupted (the seen-set is
# kept either way, so nothing is written twice).
TOUSU_RESTART_CYCLE = False

HEIMAO_BASE_URL = heimao_api.SITE_URL
HEIMAO_FIELDS = sorted(heimao_api.INDUSTRY_FIELDS)
HEIMAO_MAX_PAGES = heimao_api.MAX_FEED_PAGES
# How many feeds are walked at once. Feed requests are signed when they are created, so
# keeping few in flight keeps their signatures fresh on a slow, polite crawl.
HEIMAO_CONCURRENT_FEEDS = 1
HEIMAO_COOKIES = ""  # "SUB=...; SUBP=..." for keyword search (or $TOUSU_HEIMAO_COOKIES)

JUTOUSU_BASE_URL = jutousu_api.SITE_URL
JUTOUSU_CONCURRENT_FEEDS = 1
JUTOUSU_COOKIES = ""  # the logged-in session's cookies (or $TOUSU_JUTOUSU_COOKIES)

DIANSUBAO_BASE_URL = diansubao_api.SITE_URL
DIANSUBAO_CONCURRENT_FEEDS = 1
DIANSUBAO_PAGE_RECORD = diansubao_api.PAGE_RECORD

# Applied by a spider when its base URL is loopback and TOUSU_LOOPBACK_FAST is on.
LOOPBACK_FAST_SETTINGS = {
    "DOWNLOAD_DELAY": 0.0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "HEIMAO_CONCURRENT_FEEDS": 4,
    "JUTOUSU_CONCURRENT_FEEDS": 4,
    "TOUSU_RETRY_BACKOFF": 0.05,
}
