"""The crawl's durable memory: what was seen, what was written, and where each feed stands.

One SQLite database per site and target (``<data>/state/<site>.sqlite`` for the real site,
``<site>-<hash>.sqlite`` for any other base URL such as a simulator), in WAL mode, so that
a crawl killed at any moment (SIGKILL included) restarts where it stopped:

- ``items``: every complaint id (``sn``) ever seen on a list page. A new one is stored with
  its list record *before* its detail page is requested (state ``LISTED``); once its line is
  in an output file it becomes ``WRITTEN`` (or ``REJECTED`` when the contract refused it).
  Nothing listed is ever dropped: ``LISTED`` records are fetched again on the next run.
- ``feeds``: each feed's next page and cursor, saved in the same transaction as the page's
  items, and whether the feed finished in the current *cycle* (one full pass over every
  feed; a run that finds the cycle finished starts the next one, where feeds walked before
  stop after a few pages with nothing new).
- ``runs``: each run's output files. Marks of written records are committed in batches; a
  run that died before its final commit is *reconciled* on the next start by reading the
  complete lines of its output (a ``.part`` left behind is recovered first), so no record is
  ever written twice.
- ``extras``: small per-cycle tasks (a merchant's info page) done or not.

Only one crawl may use a state database at a time (an exclusive ``flock`` on a lock file).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

from pipeline.jsonl import PART_SUFFIX, dumps
from pipeline.settings import Paths

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# Marks of written records are committed at least this often (records / seconds).
FLUSH_EVERY = 500
FLUSH_SECONDS = 2.0


class ItemState(IntEnum):
    LISTED = 0
    WRITTEN = 1
    REJECTED = 2


class StateLockedError(RuntimeError):
    """Another crawl holds the state database."""


def state_path(paths: Paths, site: str, base_url: str, default_base_url: str) -> Path:
    """Where the state of crawling ``site`` at ``base_url`` lives.

    The real site gets ``<site>.sqlite``; any other target (a simulator on some port) gets
    its own file, so that crawling a simulator never marks real complaints as seen.
    """
    folder = paths.data_dir / "state"
    if base_url.rstrip("/") == default_base_url.rstrip("/"):
        return folder / f"{site}.sqlite"
    digest = hashlib.sha1(base_url.rstrip("/").encode(), usedforsecurity=False).hexdigest()[:10]
    return folder / f"{site}-{digest}.sqlite"


@dataclass(frozen=True)
class FeedState:
    """Where one feed stands in the current cycle."""

    kind: str
    key: str
    tab: int
    next_page: int
    cursor: dict[str, Any] | None
    walked: bool  # walked to its end (or the site's cap) at least once, in any cycle
    meta: dict[str, Any]


@dataclass(frozen=True)
class ReconcileReport:
    runs: int
    written: int
    rejected: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    sn TEXT PRIMARY KEY,
    state INTEGER NOT NULL,
    record TEXT,
    run_id TEXT NOT NULL,
    listed_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_listed ON items (state) WHERE state = 0;
CREATE TABLE IF NOT EXISTS feeds (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    tab INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    cycle INTEGER NOT NULL,
    next_page INTEGER NOT NULL,
    cursor TEXT,
    done INTEGER NOT NULL,
    walked INTEGER NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (kind, key, tab)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    output TEXT NOT NULL,
    rejects TEXT NOT NULL,
    started REAL NOT NULL,
    closed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS extras (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class CrawlState:
    """The state database of one site and target, held exclusively while open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock: IO[str] | None = _acquire_lock(path.with_name(path.name + ".lock"))
        try:
            # isolation_level=None: transactions are explicit (BEGIN ... COMMIT) below.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (only a power cut may lose the
            # last transactions), at a fraction of FULL's fsync cost.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('cycle', '0')",
                (str(SCHEMA_VERSION),),
            )
        except BaseException:
            self._release_lock()
            raise
        self._states: dict[str, int] = dict(self._db.execute("SELECT sn, state FROM items"))
        self._feeds: set[tuple[str, str, int]] = {
            (kind, key, int(tab))
            for kind, key, tab in self._db.execute("SELECT kind, key, tab FROM feeds")
        }
        self._marks: list[tuple[int, str]] = []
        self._last_flush = time.monotonic()
        self.run_id: str | None = None
        self.cycle = int(self._meta("cycle"))

    # --- runs and reconciliation -------------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Mark every record found in the output of runs that died before closing.

        Call after their ``.part`` files were recovered (see :func:`recover_partial`); a
        ``.part`` still there is read too, complete lines only.
        """
        runs = self._db.execute(
            "SELECT run_id, output, rejects FROM runs WHERE closed = 0 AND run_id IS NOT ?",
            (self.run_id,),
        ).fetchall()
        written = rejected = 0
        with self._transaction():
            for run_id, output, rejects in runs:
                for sn in _sns_in(Path(output), nested=False):
                    if self._states.get(sn) != ItemState.WRITTEN:
                        self._mark_now(sn, ItemState.WRITTEN, run_id)
                        written += 1
                for sn in _sns_in(Path(rejects), nested=True):
                    if self._states.get(sn, ItemState.LISTED) == ItemState.LISTED:
                        self._mark_now(sn, ItemState.REJECTED, run_id)
                        rejected += 1
                self._db.execute("UPDATE runs SET closed = 1 WHERE run_id = ?", (run_id,))
        if runs:
            logger.info(
                "reconciled %d interrupted run(s): %d written and %d rejected records marked",
                len(runs),
                written,
                rejected,
            )
        return ReconcileReport(runs=len(runs), written=written, rejected=rejected)

    def begin_run(self, run_id: str, output: Path, rejects: Path) -> None:
        self.run_id = run_id
        self._db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, 0)",
            (run_id, str(output), str(rejects), time.time()),
        )

    def begin_cycle(self, *, force: bool = False) -> bool:
        """Start the next cycle unless the current one still has feeds to walk (or ``force``).

        Returns whether a new cycle started (every known feed starts again at page 1).
        """
        open_feeds = self._db.execute(
            "SELECT count(*) FROM feeds WHERE cycle = ? AND done = 0", (self.cycle,)
        ).fetchone()[0]
        if open_feeds and self.cycle > 0 and not force:
            return False
        self.cycle += 1
        with self._transaction():
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'cycle'", (str(self.cycle),))
            self._db.execute(
                "UPDATE feeds SET cycle = ?, next_page = 1, cursor = NULL, done = 0",
                (self.cycle,),
            )
        return True

    # --- feeds -------------------------------------------------------------------------------

    def add_feed(
        self, kind: str, key: str, tab: int = 1, meta: dict[str, Any] | None = None
    ) -> bool:
        """Register a feed for the current cycle; False if it was known already."""
        if (kind, key, tab) in self._feeds:
            return False
        self._feeds.add((kind, key, tab))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO feeds VALUES "
            "(?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM feeds), ?, 1, NULL, 0, 0, ?)",
            (kind, key, tab, self.cycle, dumps(meta or {})),
        )
        return cursor.rowcount > 0

    def open_feeds(self) -> list[FeedState]:
        """Feeds still to walk in the current cycle, in the order they were found."""
        rows = self._db.execute(
            "SELECT kind, key, tab, next_page, cursor, walked, meta FROM feeds "
            "WHERE cycle = ? AND done = 0 ORDER BY seq",
            (self.cycle,),
        ).fetchall()
        return [_feed_state(row) for row in rows]

    def feed(self, kind: str, key: str, tab: int = 1) -> FeedState | None:
        row = self._db.execute(
            "SELECT kind, key, tab, next_page, cursor, walked, meta FROM feeds "
            "WHERE kind = ? AND key = ? AND tab = ?",
            (kind, key, tab),
        ).fetchone()
        return _feed_state(row) if row else None

    def record_page(
        self,
        feed: tuple[str, str, int],
        records: Iterable[dict[str, Any]],
        *,
        next_page: int | None,
        cursor: dict[str, Any] | None = None,
        walked: bool = False,
    ) -> None:
        """Store a list page's new records and the feed's position in one transaction.

        ``next_page`` None finishes the feed for this cycle; ``walked`` says it reached its
        end (so later cycles may stop it early once nothing new turns up).
        """
        now = time.time()
        rows = []
        for record in records:
            sn = str(record["sn"])
            if sn not in self._states:
                rows.append((sn, int(ItemState.LISTED), dumps(record), self.run_id or "", now))
        kind, key, tab = feed
        with self._transaction():
            self._db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?)", rows)
            self._db.execute(
                "UPDATE feeds SET next_page = ?, cursor = ?, done = ?, walked = max(walked, ?) "
                "WHERE kind = ? AND key = ? AND tab = ?",
                (
                    next_page or 0,
                    dumps(cursor) if cursor else None,
                    int(next_page is None),
                    int(walked),
                    kind,
                    key,
                    tab,
                ),
            )
        for row in rows:
            self._states[row[0]] = ItemState.LISTED

    def finish_feed(self, feed: tuple[str, str, int], *, walked: bool) -> None:
        self.record_page(feed, (), next_page=None, walked=walked)

    # --- items -------------------------------------------------------------------------------

    def is_known(self, sn: str) -> bool:
        return sn in self._states

    def is_done(self, sn: str) -> bool:
        return self._states.get(sn, ItemState.LISTED) != ItemState.LISTED

    def pending_records(self) -> Iterator[dict[str, Any]]:
        """List records seen but not yet written (their detail pages are still owed)."""
        rows = self._db.execute(
            "SELECT record FROM items WHERE state = 0 ORDER BY listed_at, sn"
        ).fetchall()
        for (record,) in rows:
            if record:
                loaded: dict[str, Any] = json.loads(record)
                yield loaded

    def mark(self, sn: str, state: ItemState) -> None:
        """Record that ``sn`` reached an output file (committed in batches)."""
        self._states[sn] = state
        self._marks.append((int(state), sn))
        if len(self._marks) >= FLUSH_EVERY or time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._marks:
            with self._transaction():
                self._db.executemany(
                    "UPDATE items SET state = ?, record = NULL WHERE sn = ?", self._marks
                )
            self._marks.clear()
        self._last_flush = time.monotonic()

    def counts(self) -> dict[str, int]:
        counts = {state.name.lower(): 0 for state in ItemState}
        for state in self._states.values():
            counts[ItemState(state).name.lower()] += 1
        return counts

    # --- per-cycle extras --------------------------------------------------------------------

    def extra_needed(self, kind: str, key: str) -> bool:
        row = self._db.execute(
            "SELECT cycle FROM extras WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return row is None or int(row[0]) < self.cycle

    def extra_done(self, kind: str, key: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO extras VALUES (?, ?, ?)", (kind, key, self.cycle))

    # --- closing -----------------------------------------------------------------------------

    def close(self, *, clean: bool = True) -> None:
        """Commit what is pending; a clean close marks the run as needing no reconciliation."""
        if self._lock is None:
            return
        try:
            self.flush()
            if clean and self.run_id is not None:
                self._db.execute("UPDATE runs SET closed = 1 WHERE run_id = ?", (self.run_id,))
            self._db.close()
        finally:
            self._release_lock()

    @property
    def closed(self) -> bool:
        return self._lock is None

    # --- helpers -----------------------------------------------------------------------------

    def _meta(self, key: str) -> str:
        return str(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _mark_now(self, sn: str, state: ItemState, run_id: str) -> None:
        self._db.execute(
            "INSERT INTO items VALUES (?, ?, NULL, ?, ?) "
            "ON CONFLICT (sn) DO UPDATE SET state = excluded.state, record = NULL",
            (sn, int(state), run_id, time.time()),
        )
        self._states[sn] = state

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _acquire_lock(path: Path) -> IO[str]:
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StateLockedError(
            f"another crawl ({holder}) is using {path.with_suffix('')}; wait for it to finish "
            "or stop it (its progress is kept), then run again"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def _feed_state(row: tuple[Any, ...]) -> FeedState:
    kind, key, tab, next_page, cursor, walked, meta = row
    return FeedState(
        kind=kind,
        key=key,
        tab=int(tab),
        next_page=max(1, int(next_page)),
        cursor=json.loads(cursor) if cursor else None,
        walked=bool(walked),
        meta=json.loads(meta) if meta else {},
    )


def _sns_in(path: Path, *, nested: bool) -> Iterator[str]:
    """The ``sn`` of every complete line of a JSON Lines output (and of its ``.part``)."""
    for candidate in (path, path.with_name(path.name + PART_SUFFIX)):
        if not candidate.is_file():
            continue
        with candidate.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # cut mid-write by the kill: not in the output
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                if nested and isinstance(obj, dict):
                    obj = obj.get("record")
                if isinstance(obj, dict) and obj.get("sn"):
                    yield str(obj["sn"])
