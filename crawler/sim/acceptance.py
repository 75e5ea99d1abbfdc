"""The crawler's resume acceptance: crawl a hostile simulator, SIGKILL the crawl twice, resume,
and check that every complaint ends up in the output exactly once with its full text.

``run_acceptance`` starts ``tousu sim serve`` in a child process (rate limit answering HTTP
456, random 5xx, stalls past the crawler's timeout), then runs ``tousu crawl`` in child
processes: the first two are killed with SIGKILL once the output holds given shares of the
complaints, the last runs to the end. It then reads every output file and checks:

- every line of every output file is complete JSON, and no ``.part`` file is left;
- the complaints written are exactly the simulator's (none missing, none extra, none twice);
- each has the full text of its detail page (not the list summary);
- the crawl stats show the ban pauses and the retries;
- for 电诉宝, no personal field of any complainant appears in any file the crawl wrote.

With the realistic 50-page cap, a few complaints of the biggest merchant are out of reach
of every feed (see :mod:`crawler.sim.reach`); the full-size 黑猫投诉 run therefore serves
60 pages a feed, and reports what the 50-page site would let a crawler reach.

Used by ``make crawl-acceptance`` (``tousu sim acceptance``) and by the tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crawler.parsing.text import html_to_text
from crawler.sim.marketplace import Marketplace, SimConfig
from crawler.sim.process import SimProcess, recreate_workspace
from pipeline.jsonl import PART_SUFFIX
from pipeline.settings import Paths

WORKSPACE_MARKER = ".tousu-acceptance-workspace"
DEFAULT_COOKIE = "JSESSIONID=tousu-acceptance"


@dataclass(frozen=True)
class AcceptanceConfig:
    site: str = "heimao"
    complaints: int = 10_000
    merchants: int = 200
    weeks: int = 26
    seed: int = 7
    max_pages: int = 60
    rate_limit: int = 3000  # requests a minute before the simulator bans (HTTP 456)
    ban_seconds: float = 3.0
    cooldown: float = 2.0  # the crawler's first pause after a ban (doubles on repeats)
    error_rate: float = 0.03
    stall_rate: float = 0.005
    stall_seconds: float = 2.5
    timeout: float = 1.0  # the crawler's download timeout (stalls exceed it)
    mobile_share: float = 0.1
    kill_at: tuple[float, ...] = (0.3, 0.65)  # shares of the complaints written
    give_merchants: bool = True  # 黑猫投诉: pass every merchant on the command line
    page_record: int = 20  # 电诉宝 records a page
    run_timeout: float = 1500.0

    @classmethod
    def for_site(cls, site: str, **overrides: Any) -> AcceptanceConfig:
        """The full-size run of a site: 10,000 complaints for 黑猫投诉, 2,000 for the others
        (电诉宝 lists 20 a page and bans sooner, so its few requests still meet bans)."""
        defaults: dict[str, Any] = {"site": site}
        if site != "heimao":
            defaults.update(complaints=2_000, merchants=120)
        if site == "diansubao":
            defaults.update(rate_limit=20, page_record=20)
        defaults.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**defaults)

    def sim_config(self) -> SimConfig:
        return SimConfig(
            seed=self.seed,
            weeks=self.weeks,
            complaints=self.complaints,
            merchants=self.merchants,
            exit_scams=1 if self.weeks >= 10 else 0,
        )


@dataclass
class AcceptanceResult:
    site: str
    expected: int
    written_lines: int
    unique: int
    duplicates: int
    missing: list[str]
    extra: list[str]
    not_full_body: list[str]
    bad_lines: int
    part_files_left: list[str]
    runs: list[dict[str, Any]]
    kills: int
    stats: dict[str, float]
    sim_stats: dict[str, int]
    personal_data_found: list[str] = field(default_factory=list)
    reach_at_50_pages: dict[str, int] | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.written_lines == self.unique == self.expected
            and not (self.missing or self.extra or self.not_full_body or self.personal_data_found)
            and self.bad_lines == 0
            and not self.part_files_left
            and self.kills == len(self.runs) - 1
            and self.stats.get("ban/pauses", 0) > 0
            and self.stats.get("retry/count", 0) > 0
        )

    def summary(self) -> str:
        lines = [
            f"{self.site}: {self.unique} of {self.expected} complaints written "
            f"({self.duplicates} twice, {len(self.missing)} missing, {len(self.extra)} extra, "
            f"{len(self.not_full_body)} without the full text) over {len(self.runs)} runs, "
            f"{self.kills} of them killed with SIGKILL; {self.seconds:.0f} s",
            f"  ban pauses {self.stats.get('ban/pauses', 0):.0f} "
            f"({self.stats.get('ban/http_456', 0):.0f} answers 456), "
            f"retries {self.stats.get('retry/count', 0):.0f}, re-signed "
            f"{self.stats.get('signature/resigned_before_send', 0) + self.stats.get('signature/resigned_after_refusal', 0):.0f}",
            f"  simulator: {self.sim_stats}",
        ]
        if self.reach_at_50_pages:
            lines.append(f"  with the real 50-page cap: {self.reach_at_50_pages}")
        if self.personal_data_found:
            lines.append(f"  PERSONAL DATA FOUND in {self.personal_data_found}")
        lines.append("  PASS" if self.ok else "  FAIL")
        return "\n".join(lines)


def _normalize(text: str) -> str:
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in text.split("\n") if line.strip())


def expected_records(market: Marketplace, site: str) -> dict[str, str]:
    """The site's id of every complaint -> its full text, normalized."""
    if site == "jutousu":
        from crawler.sim.jutousu import JutousuView

        view = JutousuView(market)
        return {str(e.post_id): _normalize(e.post.text.body) for e in view.posts.values()}
    if site == "diansubao":
        from crawler.sim.diansubao import DiansubaoView

        dview = DiansubaoView(market)
        return {str(e.post_id): _normalize(html_to_text(e.post.text.body)) for e in dview.posts}
    return {p.sn: _normalize(p.text.body) for p in market.posts}


def _sim_args(config: AcceptanceConfig) -> list[str]:
    args = [
        "--site",
        config.site,
        "--seed",
        str(config.seed),
        "--weeks",
        str(config.weeks),
        "--complaints",
        str(config.complaints),
        "--merchants",
        str(config.merchants),
        "--exit-scams",
        str(config.sim_config().exit_scams),
        "--max-pages",
        str(config.max_pages),
        "--rate-limit",
        str(config.rate_limit),
        "--ban-seconds",
        str(config.ban_seconds),
        "--error-rate",
        str(config.error_rate),
        "--stall-rate",
        str(config.stall_rate),
        "--stall-seconds",
        str(config.stall_seconds),
        "--mobile-share",
        str(config.mobile_share),
    ]
    if config.site == "jutousu":
        args += ["--login-cookie", DEFAULT_COOKIE]
    return args


class _LineCounter:
    """Complete lines in a folder's ``*.jsonl`` outputs (and their ``.part``), read as they grow."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.offsets: dict[Path, int] = {}
        self.lines = 0

    def count(self) -> int:
        if not self.folder.is_dir():
            return self.lines
        for path in self.folder.iterdir():
            name = path.name
            if ".rejects." in name or not (
                name.endswith(".jsonl") or name.endswith(".jsonl" + PART_SUFFIX)
            ):
                continue
            # A finished file is the renamed .part: carry its offset over.
            key = path.with_name(name.removesuffix(PART_SUFFIX))
            start = self.offsets.get(key, 0)
            try:
                with path.open("rb") as handle:
                    handle.seek(start)
                    chunk = handle.read()
            except FileNotFoundError:
                continue
            complete = chunk[: chunk.rfind(b"\n") + 1] if b"\n" in chunk else b""
            self.lines += complete.count(b"\n")
            self.offsets[key] = start + len(complete)
        return self.lines


def _crawl_command(
    config: AcceptanceConfig, base_url: str, data_dir: Path, market: Marketplace
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "tousu",
        "--data-dir",
        str(data_dir),
        "crawl",
        config.site,
        "--base-url",
        base_url,
        "--cooldown",
        str(config.cooldown),
        "-s",
        f"DOWNLOAD_TIMEOUT={config.timeout}",
        "-s",
        "TOUSU_STATS_INTERVAL=1",
        "-s",
        "TOUSU_PROGRESS=False",
        "-s",
        "LOG_LEVEL=WARNING",
        "-s",
        "RETRY_TIMES=8",
    ]
    if config.site == "heimao":
        command += ["--max-pages", str(config.max_pages)]
        if config.give_merchants:
            couids = [m.couid for m in market.merchants if market.merchant_posts(m.couid)]
            command += ["--couids", ",".join(couids)]
    elif config.site == "jutousu":
        command += ["--cookies", DEFAULT_COOKIE]
    elif config.site == "diansubao":
        command += ["-s", f"DIANSUBAO_PAGE_RECORD={config.page_record}"]
    return command


def run_acceptance(config: AcceptanceConfig, workspace: Path) -> AcceptanceResult:
    started = time.monotonic()
    recreate_workspace(workspace, WORKSPACE_MARKER, "the crawl acceptance run")
    paths = Paths(workspace / "data")
    market = Marketplace(config.sim_config())
    expected = expected_records(market, config.site)
    sim = SimProcess(_sim_args(config), log_path=workspace / "sim.log")
    runs: list[dict[str, Any]] = []
    kills = 0
    try:
        command = _crawl_command(config, sim.base_url, paths.data_dir, market)
        counter = _LineCounter(paths.raw_site(config.site))
        for share in (*config.kill_at, None):
            log_path = workspace / f"crawl-{len(runs) + 1}.log"
            with log_path.open("w", encoding="utf-8") as log:
                proc = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
                )
                killed = False
                deadline = time.monotonic() + config.run_timeout
                threshold = None if share is None else int(share * len(expected))
                while proc.poll() is None:
                    if time.monotonic() > deadline:
                        proc.kill()
                        proc.wait()
                        raise RuntimeError(
                            f"crawl run {len(runs) + 1} took over {config.run_timeout} s (see {log_path})"
                        )
                    if threshold is not None and counter.count() >= threshold:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait()
                        killed = True
                        kills += 1
                        break
                    time.sleep(0.1)
            runs.append(
                {
                    "run": len(runs) + 1,
                    "killed": killed,
                    "exit_code": proc.returncode,
                    "lines_after": counter.count(),
                    "log": str(log_path),
                }
            )
        sim_stats = sim.stats()
    finally:
        sim.stop()
    result = _check(config, paths, expected, runs, kills, sim_stats)
    if config.site == "heimao":
        from crawler.sim.reach import reachable

        everyone = [m.couid for m in market.merchants]
        result.reach_at_50_pages = {
            "complaints": len(market.posts),
            "by_discovery": len(reachable(market, max_pages=50).sns),
            "with_every_merchant_given": len(
                reachable(market, max_pages=50, merchants=everyone).sns
            ),
        }
    result.seconds = time.monotonic() - started
    (workspace / "acceptance.json").write_text(
        json.dumps(
            {"config": asdict(config), "ok": result.ok, **asdict(result)},
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return result


def _check(
    config: AcceptanceConfig,
    paths: Paths,
    expected: dict[str, str],
    runs: list[dict[str, Any]],
    kills: int,
    sim_stats: dict[str, int],
) -> AcceptanceResult:
    folder = paths.raw_site(config.site)
    sns: list[str] = []
    not_full: list[str] = []
    bad = 0
    for path in sorted(folder.glob("*.jsonl")):
        if path.name.endswith(".rejects.jsonl"):
            continue
        with path.open("rb") as handle:
            for raw in handle:
                try:
                    record = json.loads(raw)
                except ValueError:
                    bad += 1
                    continue
                sn = str(record.get("sn"))
                sns.append(sn)
                if record.get("body_truncated") or _normalize(
                    str(record.get("body", ""))
                ) != expected.get(sn):
                    not_full.append(sn)
    parts = [str(p) for p in paths.data_dir.rglob("*" + PART_SUFFIX)]
    unique = set(sns)
    stats: dict[str, float] = {}
    for stats_file in folder.glob("*.stats.json"):
        payload = json.loads(stats_file.read_text(encoding="utf-8"))
        for key, value in payload.get("stats", {}).items():
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and key.startswith(("ban/", "retry/", "signature/", "tousu/"))
            ):
                stats[key] = stats.get(key, 0) + value
    personal: list[str] = []
    if config.site == "diansubao":
        personal = _personal_data_in(paths.data_dir, Marketplace(config.sim_config()))
    return AcceptanceResult(
        site=config.site,
        expected=len(expected),
        written_lines=len(sns),
        unique=len(unique),
        duplicates=len(sns) - len(unique),
        missing=sorted(set(expected) - unique),
        extra=sorted(unique - set(expected)),
        not_full_body=sorted(not_full),
        bad_lines=bad,
        part_files_left=parts,
        runs=runs,
        kills=kills,
        stats=stats,
        sim_stats=sim_stats,
        personal_data_found=personal,
    )


_TOKENS = re.compile(
    rb'\d{17}[\dX]|\d{11,18}|[\w.]+@example\.com|(?<=")[\xe4-\xe9][^"<>\s]{2,60}?'
    rb"\d+\xe5\x8f\xb7\d+\xe6\xa0\x8b\d+\xe5\xae\xa4"
)


def _personal_data_in(data_dir: Path, market: Marketplace) -> list[str]:
    """Files under ``data_dir`` holding any complainant's personal field value.

    Every ID-card, mobile and order number, e-mail address and street address shaped token
    of every file (state database included) is looked up among the simulator's values.
    """
    from crawler.sim.diansubao import DiansubaoView

    needles = {
        value.encode("utf-8")
        for person in DiansubaoView(market).personal()
        for key, value in person.items()
        if key in ("mobile", "idcard", "email", "concrete_area", "order_num")
    }
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and any(t in needles for t in _TOKENS.findall(path.read_bytes())):
            found.append(str(path))
    return found
