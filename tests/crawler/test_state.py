"""The crawl state: exactly-once bookkeeping that survives SIGKILL at any point."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler.state import CrawlState, ItemState, StateLockedError, state_path
from pipeline.jsonl import recover_partial
from pipeline.settings import Paths
from tests.conftest import REPO


def _records(*sns: str) -> list[dict[str, str]]:
    return [{"sn": sn, "title": f"t{sn}"} for sn in sns]


def test_state_files_are_per_target(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    real = state_path(paths, "heimao", "https://tousu.sina.com.cn/", "https://tousu.sina.com.cn")
    sim_a = state_path(paths, "heimao", "http://127.0.0.1:8765", "https://tousu.sina.com.cn")
    sim_b = state_path(paths, "heimao", "http://127.0.0.1:8766", "https://tousu.sina.com.cn")
    assert real == tmp_path / "state" / "heimao.sqlite"
    assert len({real, sim_a, sim_b}) == 3 and all(p.parent == real.parent for p in (sim_a, sim_b))


def test_only_one_crawl_holds_the_state(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "s.sqlite")
    with pytest.raises(StateLockedError, match="another crawl"):
        CrawlState(tmp_path / "s.sqlite")
    state.close()
    CrawlState(tmp_path / "s.sqlite").close()


def test_feed_positions_and_listed_records_survive_a_restart(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "s.sqlite")
    state.begin_run("r1", tmp_path / "r1.jsonl", tmp_path / "r1.rejects.jsonl")
    assert state.begin_cycle() and state.cycle == 1
    assert state.add_feed("index", "", 1) and not state.add_feed("index", "", 1)
    state.add_feed("merchant", "42", 1, {"name": "某店"})
    state.record_page(("index", "", 1), _records("1", "2"), next_page=2, cursor={"offset": "9"})
    state.mark("1", ItemState.WRITTEN)
    state.close(clean=False)  # as if killed after the marks were flushed

    again = CrawlState(tmp_path / "s.sqlite")
    assert not again.begin_cycle() and again.cycle == 1  # resumes the unfinished cycle
    feeds = {(f.kind, f.key): f for f in again.open_feeds()}
    assert feeds[("index", "")].next_page == 2 and feeds[("index", "")].cursor == {"offset": "9"}
    assert feeds[("merchant", "42")].next_page == 1 and feeds[("merchant", "42")].meta == {
        "name": "某店"
    }
    assert [r["sn"] for r in again.pending_records()] == ["2"]
    assert again.is_done("1") and again.is_known("2") and not again.is_done("2")
    again.close()


def test_a_finished_cycle_starts_over_keeping_what_was_walked(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "s.sqlite")
    state.begin_cycle()
    state.add_feed("index", "", 1)
    state.add_feed("merchant", "42", 1)
    state.record_page(("index", "", 1), _records("1"), next_page=None, walked=True)
    state.finish_feed(("merchant", "42", 1), walked=False)
    assert state.open_feeds() == []
    state.close()
    again = CrawlState(tmp_path / "s.sqlite")
    assert again.begin_cycle() and again.cycle == 2
    walked = {f.kind: (f.walked, f.next_page) for f in again.open_feeds()}
    assert walked == {"index": (True, 1), "merchant": (False, 1)}
    # A forced restart begins a new cycle even with feeds open.
    again.close()
    forced = CrawlState(tmp_path / "s.sqlite")
    assert forced.begin_cycle(force=True) and forced.cycle == 3
    forced.close()


_KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from crawler.state import CrawlState, ItemState
from pipeline.jsonl import JsonlWriter
folder = Path(sys.argv[1])
state = CrawlState(folder / "s.sqlite")
state.begin_run("r1", folder / "r1.jsonl", folder / "r1.rejects.jsonl")
state.begin_cycle()
state.add_feed("index", "", 1)
state.record_page(("index", "", 1), [{"sn": str(i)} for i in range(1, 7)], next_page=2)
out = JsonlWriter(folder / "r1.jsonl")
rejects = JsonlWriter(folder / "r1.rejects.jsonl")
for sn in ("1", "2", "3"):
    out.write({"sn": sn})
    state.mark(sn, ItemState.WRITTEN)
state.flush()
out.write({"sn": "4"})            # written, but its mark never committed
rejects.write({"reason": "bad_sn", "record": {"sn": "5"}})
out._handle.write('{"sn": "6", "bo')  # cut mid-line by the kill
out._handle.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_reconcile_after_sigkill_marks_exactly_what_reached_the_output(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_RUN), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -9, done.stderr
    assert (tmp_path / "r1.jsonl.part").exists()
    recovered = recover_partial(tmp_path)
    assert tmp_path / "r1.jsonl" in recovered
    state = CrawlState(tmp_path / "s.sqlite")
    report = state.reconcile()
    assert (report.runs, report.written, report.rejected) == (1, 1, 1)
    assert all(state.is_done(sn) for sn in ("1", "2", "3", "4", "5"))
    # The line cut by the kill is not in the output: its complaint is still owed.
    assert [r["sn"] for r in state.pending_records()] == ["6"]
    assert state.counts() == {"listed": 1, "written": 4, "rejected": 1}
    # Reconciled once: a second start finds nothing more to do.
    state.close()
    again = CrawlState(tmp_path / "s.sqlite")
    assert again.reconcile().runs == 0
    again.close()
