"""Crawl throughput against the local simulator, politeness off: the crawler's own cost.

The simulator runs in its own process; the crawl (``tousu crawl heimao``, list pages and
every detail page, state store and exactly-once bookkeeping included) runs in another,
whose CPU time (user + sys, from ``wait4``) is the crawler's cost. Reports complaints per
CPU-second of the crawl process and per wall-second, and writes them to
``data/bench/crawl.json``. Target: 150 complaints per CPU-second, so that on a 2-core
machine the crawler is never what limits a crawl of a real site (which allows about one
request every 2 s).

    python -m bench.crawl [--complaints 5000] [--merchants 200] [--out data/bench/crawl.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import write_figures
from pipeline.settings import Paths

TARGET_PER_CPU_SECOND = 150.0
REPO = Path(__file__).resolve().parents[1]


def _proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def run(complaints: int, merchants: int, seed: int) -> dict[str, Any]:
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tousu",
            "sim",
            "serve",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--complaints",
            str(complaints),
            "--merchants",
            str(merchants),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        if " on http://" not in line:
            raise RuntimeError(f"the simulator did not start: {line!r}")
        base_url = line.rsplit(" on ", 1)[1].strip()
        sim_cpu_before = _proc_cpu_seconds(sim.pid)
        with tempfile.TemporaryDirectory(prefix="tousu-bench-") as tmp:
            command = [
                sys.executable,
                "-m",
                "tousu",
                "--data-dir",
                tmp,
                "crawl",
                "heimao",
                "--base-url",
                base_url,
                "-s",
                "LOG_LEVEL=WARNING",
                "-s",
                "TOUSU_PROGRESS=False",
            ]
            started = time.monotonic()
            crawl = subprocess.Popen(
                command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            _, status, usage = os.wait4(crawl.pid, 0)
            wall = time.monotonic() - started
            output = crawl.stdout.read() if crawl.stdout else ""
            errors = crawl.stderr.read() if crawl.stderr else ""
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"the crawl failed:\n{errors[-3000:]}")
            stats_file = next((Path(tmp) / "raw" / "heimao").glob("*.stats.json"))
            stats = json.loads(stats_file.read_text(encoding="utf-8"))["stats"]
        sim_cpu_after = _proc_cpu_seconds(sim.pid)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    written = int(stats.get("tousu/records_written", 0))
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "benchmark": "crawl",
        "what": "tousu crawl heimao against the local simulator, politeness off; "
        "list pages + every detail page + merchant info",
        "complaints": written,
        "requests": int(stats.get("downloader/request_count", 0)),
        "wall_seconds": round(wall, 2),
        "crawl_cpu_user_seconds": round(usage.ru_utime, 2),
        "crawl_cpu_sys_seconds": round(usage.ru_stime, 2),
        "complaints_per_cpu_second": round(written / cpu, 1) if cpu else None,
        "complaints_per_wall_second": round(written / wall, 1) if wall else None,
        "simulator_cpu_seconds": (
            round(sim_cpu_after - sim_cpu_before, 2)
            if sim_cpu_before is not None and sim_cpu_after is not None
            else None
        ),
        "target_complaints_per_cpu_second": TARGET_PER_CPU_SECOND,
        "meets_target": bool(cpu and written / cpu >= TARGET_PER_CPU_SECOND),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "simulator": {"complaints": complaints, "merchants": merchants, "seed": seed},
        "crawl_output": output.strip().splitlines()[-1:] if output else [],
        "measured_at": datetime.now(UTC).isoformat(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=5000)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out", type=Path, default=Paths.from_env().data_dir / "bench" / "crawl.json"
    )
    args = parser.parse_args(argv)
    result = run(args.complaints, args.merchants, args.seed)
    write_figures(args.out, result)
    sys.stdout.write(
        f"crawl: {result['complaints']} complaints, {result['complaints_per_cpu_second']}/CPU-s, "
        f"{result['complaints_per_wall_second']}/wall-s (target {TARGET_PER_CPU_SECOND}/CPU-s: "
        f"{'met' if result['meets_target'] else 'NOT met'}); written to {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
