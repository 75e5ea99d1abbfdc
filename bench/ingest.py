"""Benchmark of the whole ingest stage: posts per second, and peak memory as input grows.

``make bench-ingest`` (or ``python -m bench.ingest``) writes ``data/bench/ingest.json``.

Input: simulator posts written the way the crawler writes them (the list item as raw payload,
the detail page's timeline, full bodies), about 3% filed against two merchants and 3%
re-posted with small edits, 0.5% of lines malformed, in files of ``FILE_POSTS`` lines. It is
built once per size and cached under ``data/bench/ingest-input/``; records are built from the
simulated marketplace directly, because crawling 80,000 posts would measure the crawler.

Two sizes, 1x and 4x. Each is ingested from scratch in a fresh process (``--run``), so its
peak memory is its own: the parent samples the resident memory of that process and of its
worker processes together every 20 ms. Flat memory means the 4x run peaks at about the 1x
peak; throughput is posts (raw lines) over wall-clock seconds for the whole stage (reading,
validation, masking, normalization, OpenCC, MinHash, writing parts, then the DuckDB rebuild of
the table with duplicate grouping).

Each size is measured ``--repeat`` times (default 3), the sizes taking turns, and the median
run is the figure; every run is kept in the file. The machine is shared: the same code on it
has measured anywhere from 2,750 to 4,100 posts/s at 1x within the hour, so one run says
little.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import median_run, write_figures
from pipeline.settings import Paths

FILE_POSTS = 5_000
BASE_POSTS = 20_000
SCALES = (1, 4)
TARGET_POSTS_PER_S = 3_000
REPEAT = 3
MALFORMED_SHARE = 0.005
FETCHED_AT = "2026-11-20T08:00:00+00:00"


def bench_dir(paths: Paths) -> Path:
    return paths.data_dir / "bench"


def _say(line: str) -> None:
    """Progress for whoever runs the benchmark (this module is a command-line entry point)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# --- input ---------------------------------------------------------------------------------


def write_input(folder: Path, posts: int, seed: int) -> list[Path]:
    """Raw JSON Lines for ``posts`` simulated complaints (cached: reused when complete)."""
    done = folder / "DONE"
    if done.exists():
        return sorted(folder.glob("*.jsonl"))
    from crawler.sim.marketplace import Marketplace, SimConfig
    from crawler.sim.pages import list_item

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    weeks = max(26, 26 * posts // 20_000)
    market = Marketplace(
        SimConfig(
            seed=seed,
            weeks=weeks,
            complaints=posts,
            merchants=max(300, posts // 40),
            near_duplicate_rate=0.03,
        )
    )
    rng = random.Random(seed)
    files: list[Path] = []
    handle = None
    for i, post in enumerate(market.posts):
        if i % FILE_POSTS == 0:
            if handle is not None:
                handle.close()
            files.append(folder / f"run{i // FILE_POSTS:03d}.jsonl")
            handle = files[-1].open("w", encoding="utf-8")
        assert handle is not None
        record = {
            "site": "heimao",
            "sn": post.sn,
            "url": f"https://tousu.sina.com.cn/complaint/view/{post.sn}/?sld={post.sld}",
            "title": post.text.title,
            "body": post.text.body,
            "body_truncated": False,
            "merchant_name": post.merchant.name,
            "merchant_id": post.merchant.couid,
            "issue": list(post.text.issue),
            "appeal": list(post.text.appeal),
            "amount_yuan": post.text.amount,
            "status": int(post.status),
            "created_at": str(int(post.created_at.timestamp())),
            "fetched_at": FETCHED_AT,
            "timeline": [
                {"status": s.status, "at": s.at.isoformat(), "actor": s.actor, "text": s.text}
                for s in post.timeline
            ],
            "raw": list_item(post, "tousu.sina.com.cn", date_timestamp=False),
        }
        line = json.dumps(record, ensure_ascii=False)
        if rng.random() < MALFORMED_SHARE:
            line = line[: len(line) // 2]  # a line cut short, as by a killed writer
        handle.write(line + "\n")
    if handle is not None:
        handle.close()
    done.write_text(f"{posts}\n", encoding="utf-8")
    return files


# --- one measured run (child process) --------------------------------------------------------


def run_once(input_dir: Path, data_dir: Path, workers: int | None) -> dict[str, Any]:
    from pipeline.ingest import run_ingest

    shutil.rmtree(data_dir, ignore_errors=True)
    files = sorted(input_dir.glob("*.jsonl"))
    started = time.perf_counter()
    summary = run_ingest(Paths(data_dir), files, workers=workers)
    seconds = time.perf_counter() - started
    lines = sum(f.lines for f in summary.files)
    groups = summary.groups
    return {
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "posts": lines,
        "loaded": summary.loaded,
        "rejected": sum(summary.rejected.values()),
        "rows": summary.rows,
        "seconds": round(seconds, 3),
        "seconds_files": round(summary.seconds_files, 3),
        "seconds_table": round(summary.seconds_table, 3),
        "posts_per_s": round(lines / seconds, 1),
        "pii_masked": dict(summary.pii),
        "multi_merchant_posts": groups.multi_merchant_posts if groups else None,
        "near_duplicate_reposts": groups.reposts if groups else None,
    }


# --- memory sampling ---------------------------------------------------------------------------


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc (children lists)."""
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        proc = Path(f"/proc/{pid}")
        try:
            status = (proc / "status").read_text(errors="replace").splitlines()
            total += next((int(x.split()[1]) for x in status if x.startswith("VmRSS:")), 0)
            for task in (proc / "task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # a process that just ended
    return total


def measure(input_dir: Path, data_dir: Path, workers: int | None) -> dict[str, Any]:
    """Run one ingest in a child process, sampling the memory of its process tree."""
    result_file = data_dir.with_name(data_dir.name + ".result.json")
    command = [
        sys.executable,
        "-m",
        "bench.ingest",
        "--run",
        str(input_dir),
        "--data",
        str(data_dir),
        "--result",
        str(result_file),
    ]
    if workers:
        command += ["--workers", str(workers)]
    child = subprocess.Popen(command)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kb(child.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    code = child.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"the measured ingest failed with exit code {code}")
    figures: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result_file.unlink()
    figures["peak_rss_mb"] = round(peak / 1024, 1)
    # CPU time of the whole run (its workers included): the figure to compare on a machine
    # that other work shares, where wall-clock time depends on what else runs.
    cpu = usage.ru_utime + usage.ru_stime
    figures["cpu_seconds"] = round(cpu, 3)
    figures["posts_per_cpu_s"] = round(figures["posts"] / cpu, 1)
    return figures


# --- instructions per post (machine-independent) ------------------------------------------

INSTRUCTION_POSTS = 3_000


def ingest_lines(path: Path, lines: int, work: Path) -> None:
    """Warm up as ingest does, then ingest the first ``lines`` lines of ``path`` in this
    process (what :func:`count_instructions` runs under valgrind)."""
    from pipeline.ingest import Unit, ingest_unit, warm_up

    warm_up()
    if lines == 0:
        return
    end = 0
    with path.open("rb") as handle:
        for _ in range(lines):
            end += len(handle.readline())
    work.mkdir(parents=True, exist_ok=True)
    ingest_unit(Unit(path, 0, end, 1, 0), work / "part.parquet", work / "rejects.jsonl")


def count_instructions(path: Path, posts: int, work: Path) -> float:
    """User-space instructions per post of the per-file work (reading, validation, masking,
    normalization, grouping signatures, writing the part), from two valgrind runs (``posts``
    lines and none, the difference over ``posts``) at a fixed hash seed. Unlike seconds, the
    figure does not move with the machine's load; valgrind takes a few minutes."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    totals = []
    for lines in (0, posts):
        done = subprocess.run(
            [
                "valgrind", "--tool=cachegrind", "--cache-sim=no",
                "--cachegrind-out-file=/dev/null",
                sys.executable, "-m", "bench.ingest",
                "--count-child", str(path), "--data", str(work), "--count-lines", str(lines),
            ],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONHASHSEED": "0"},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        match = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if match is None:
            raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr}")
        totals.append(int(match.group(1).replace(",", "")))
    return (totals[1] - totals[0]) / posts


def summarize_runs(scale: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One size's figures: its median run by throughput (with that run's other figures), the
    spread over the runs, the highest peak memory of any run, and every run."""
    return {
        **median_run(runs, "posts_per_s"),
        "scale": scale,
        "posts_per_cpu_s_median": statistics.median(r["posts_per_cpu_s"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="Figures file (JSON).")
    parser.add_argument("--base-posts", type=int, default=BASE_POSTS, help="Posts at 1x.")
    parser.add_argument("--workers", type=int, default=None, help="Ingest worker processes.")
    parser.add_argument(
        "--repeat", type=int, default=REPEAT, help="Runs per size; the median is reported."
    )
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count-lines", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="Also count instructions per post under valgrind (slow; machine-independent).",
    )
    args = parser.parse_args(argv)
    if args.run is not None:  # the measured child
        figures = run_once(args.run, args.data, args.workers)
        args.result.write_text(json.dumps(figures), encoding="utf-8")
        return
    if args.count_child is not None:  # the child valgrind counts
        ingest_lines(args.count_child, args.count_lines, args.data)
        return
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    paths = Paths.from_env()
    root = bench_dir(paths)
    out = args.out or root / "ingest.json"
    inputs = {}
    for scale in SCALES:
        posts = args.base_posts * scale
        _say(f"bench-ingest: preparing {posts} posts")
        inputs[scale] = root / "ingest-input" / f"{posts}"
        write_input(inputs[scale], posts, seed=100 + scale)
    runs: dict[int, list[dict[str, Any]]] = {scale: [] for scale in SCALES}
    for rep in range(args.repeat):
        for scale in SCALES:
            figures = measure(inputs[scale], root / "ingest-work", args.workers)
            runs[scale].append(figures)
            _say(
                f"  run {rep + 1}/{args.repeat}, {figures['posts']} posts in "
                f"{figures['seconds']} s: {figures['posts_per_s']} posts/s "
                f"({figures['posts_per_cpu_s']} per CPU-second), "
                f"peak RSS {figures['peak_rss_mb']} MB"
            )
    shutil.rmtree(root / "ingest-work", ignore_errors=True)
    sizes = [summarize_runs(scale, runs[scale]) for scale in SCALES]
    from pipeline.ingest import available_cpus

    report = {
        "benchmark": "ingest",
        "command": "make bench-ingest",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": available_cpus(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "workers": args.workers or available_cpus(),
        "repeat": args.repeat,
        "target_posts_per_s": TARGET_POSTS_PER_S,
        "sizes": sizes,
        "posts_per_s": min(s["posts_per_s"] for s in sizes),
        "meets_target": all(s["posts_per_s"] >= TARGET_POSTS_PER_S for s in sizes),
        "peak_rss_growth": round(sizes[-1]["peak_rss_mb"] / sizes[0]["peak_rss_mb"], 2),
    }
    if args.instructions:
        _say(f"bench-ingest: counting instructions over {INSTRUCTION_POSTS} posts (valgrind)")
        first = sorted(inputs[SCALES[0]].glob("*.jsonl"))[0]
        per_post = count_instructions(first, INSTRUCTION_POSTS, root / "ingest-count")
        shutil.rmtree(root / "ingest-count", ignore_errors=True)
        report["instructions_per_post"] = round(per_post)
        _say(f"  {per_post:,.0f} instructions per post")
    write_figures(out, report)
    _say(
        f"bench-ingest: {report['posts_per_s']} posts/s, the median of {args.repeat} runs "
        f"(target {TARGET_POSTS_PER_S}), "
        f"peak RSS x{report['peak_rss_growth']} from 1x to 4x; figures in {out}"
    )


if __name__ == "__main__":
    main()
