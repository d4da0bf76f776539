"""The run store: every run, its per-epoch metrics and its artifacts, in SQLite.

One SQLite file (`$LABCORE_HOME/labcore.db`) is shared by the Streamlit
server (many threads, possibly several server processes), the job supervisor
and the worker processes. So that all of them can read and write at once:

- the database is in WAL mode (readers never wait for the writer) with a
  busy timeout, and every write is one `BEGIN IMMEDIATE` transaction;
- each thread gets its own connection (`threading.local`);
- state changes are conditional updates (`... WHERE status = 'queued'`), so
  two supervisors never claim one run and a finished run never runs again.

Artifacts (images, arrays, small JSON documents) are files under
`<store folder>/artifacts/<run_id>/<name>`, written atomically; the table
records them. Worker logs live under `<store folder>/logs/<run_id>.log`.

Keras-free: the Streamlit process imports this module.
"""

import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labcore import queueing
from labcore.errors import LabError, PermissionDenied, describe
from labcore.home import home

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "TERMINAL_STATUSES",
    "Artifact",
    "MetricRow",
    "Run",
    "Store",
    "StoreVersionError",
    "read_artifact",
    "write_artifact",
]

SCHEMA_VERSION = 3
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
TERMINAL_STATUSES = frozenset({"done", "failed", "cancelled", "interrupted"})

# Long enough to ride out a checkpoint or a burst of worker writes, short
# enough that a wedged writer shows up as an error rather than a frozen page.
BUSY_TIMEOUT_S = 5.0

# A leading letter or digit keeps names clear of "..", hidden files and the
# ".tmp-" files that atomic writes use.
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ARTIFACT_KINDS = ("bytes", "npy", "json")

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    device TEXT,
    pid INTEGER,
    progress REAL NOT NULL DEFAULT 0,
    progress_text TEXT NOT NULL DEFAULT '',
    error TEXT,
    traceback TEXT,
    result TEXT NOT NULL DEFAULT '{}',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    urgent INTEGER NOT NULL DEFAULT 0,
    run_key TEXT,
    follows INTEGER,
    withdrawn_at REAL,
    hidden INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_key ON runs (run_key);
CREATE INDEX runs_by_source ON runs (follows);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL,
    series TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    "values" TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX metrics_by_run ON metrics (run_id);
CREATE TABLE artifacts (
    run_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""

# The room's settings (`Store.settings`), beside the database.
_SETTINGS_FILE = "settings.json"

# What each schema version adds to the one before it: a store written by an
# older labcore is brought up to date when it is opened.
_MIGRATIONS = {
    2: ("ALTER TABLE runs ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0",),
    3: ("ALTER TABLE runs ADD COLUMN run_key TEXT", "ALTER TABLE runs ADD COLUMN follows INTEGER",
        "ALTER TABLE runs ADD COLUMN withdrawn_at REAL", "ALTER TABLE runs ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX runs_by_key ON runs (run_key)", "CREATE INDEX runs_by_source ON runs (follows)"),
}

# A run that follows another (an identical run, computed once) is a row of
# its own, so its owner can name, cancel and delete it; everything about the
# training (status, progress, result, metrics, artifacts) is its source's.
# In the table its status is "following" until its owner cancels it. Its
# source's owner may cancel or delete theirs while others follow: the row
# then reads cancelled (withdrawn_at) or leaves their lists (hidden), and
# the training goes on for the followers.
_OWN = "(r.follows IS NULL OR r.status = 'cancelled')"
_PRESENTED = ", ".join(
    [f"r.{column} AS {column}" for column in ("id", "kind", "title", "owner", "config", "created_at", "urgent",
                                              "follows", "cancel_requested", "hidden")]
    + [f"CASE WHEN r.withdrawn_at IS NOT NULL THEN 'cancelled' WHEN {_OWN} THEN r.status ELSE s.status END AS status",
       f"CASE WHEN r.withdrawn_at IS NOT NULL THEN r.withdrawn_at WHEN {_OWN} THEN r.finished_at"
       " ELSE s.finished_at END AS finished_at"]
    + [f"CASE WHEN {_OWN} THEN r.{column} ELSE s.{column} END AS {column}"
       for column in ("started_at", "device", "pid", "progress", "progress_text", "error", "traceback", "result")]
)
_RUNS = f"SELECT {_PRESENTED} FROM runs r LEFT JOIN runs s ON s.id = r.follows"


class StoreVersionError(RuntimeError):
    """The database was written by a newer labcore than this one."""


@dataclass(frozen=True)
class Run:
    """One row of the runs table, with its JSON columns decoded.

    Times are unix seconds (floats); `started_at` and `finished_at` are None
    until the run starts or finishes. `pid` is the worker's process id once it
    has been spawned. `progress` is a fraction in [0, 1]. `urgent` runs were
    moved to the front of the queue by an instructor. `follows` is the id of
    the identical run whose training this one shows (None when it trains
    itself): its status, times, progress, result, metrics and artifacts are
    that run's, unless this one was cancelled.
    """

    id: int
    kind: str
    title: str
    owner: str
    config: dict
    status: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    device: str | None
    pid: int | None
    progress: float
    progress_text: str
    error: str | None
    traceback: str | None
    result: dict
    cancel_requested: bool
    urgent: bool = False
    follows: int | None = None


@dataclass(frozen=True)
class MetricRow:
    """One epoch's metrics of one series ("train", "val", ...) of a run."""

    run_id: int
    series: str
    epoch: int
    values: dict
    at: float


@dataclass(frozen=True)
class Artifact:
    """A file a run produced: `kind` is "bytes", "npy" or "json"."""

    run_id: int
    name: str
    path: Path
    kind: str
    created_at: float


class Store:
    """The SQLite run store; safe to share between threads and processes.

    Args:
        path: str or Path of the database file, or None for
            `$LABCORE_HOME/labcore.db`. Artifacts and logs go in folders
            beside it.

    Attributes:
        path: Path, the database file (absolute).
        root: Path, its folder, which also holds `artifacts/` and `logs/`.
        artifact_root: Path, `root / "artifacts"`.

    Raises:
        StoreVersionError: the file's schema is newer than this code's.
        sqlite3.Error: the file is not a usable SQLite database.
    """

    def __init__(self, path=None):
        self.path = Path(path).absolute() if path is not None else home() / "labcore.db"
        self.root = self.path.parent
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifact_root = self.root / "artifacts"
        self._local = threading.local()
        # WAL is a property of the file, so setting it once per opening is enough.
        self._connect().execute("PRAGMA journal_mode=WAL")
        self._ensure_schema()

    def __repr__(self):
        return f"Store({str(self.path)!r})"

    # -- connections and transactions ------------------------------------

    def _connect(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a
            # write never upgrades a read lock (which fails at once in WAL
            # instead of waiting). timeout= is SQLite's busy_timeout.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            # NORMAL in WAL loses nothing on an application crash, only on
            # power loss, and keeps per-epoch writes cheap.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self):
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self):
        """Close this thread's connection (others close when their thread ends).

        Returns:
            None.
        """
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _ensure_schema(self):
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            if version is None:
                # One statement at a time: executescript() would commit
                # halfway, and a second process could see half a schema.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[step]:
                        conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"{self.path} has schema version {version}, newer than this labcore's"
                    f" {SCHEMA_VERSION}; upgrade labcore, or set LABCORE_HOME to another folder."
                )

    # -- runs ------------------------------------------------------------

    def create_run(self, kind, config, owner, title=None, run_key=None, follow=False):
        """Queue a new run, or follow an identical one.

        Args:
            kind: str, a key of `labcore.kinds.KINDS` (not checked here; use
                `labcore.jobs.submit`, which validates the config first).
            config: dict, JSON-serialisable (NumPy scalars and arrays are
                converted; tuples come back as lists).
            owner: str, the session or user that may cancel or delete it.
            title: str or None, shown in run lists; None uses the kind.
            run_key: str or None, what identifies identical runs
                (`labcore.sharing.run_key`); None: never shared.
            follow: bool, with a `run_key`: follow a run with the same key
                that is done (the newest), else queued or running, instead
                of training again. Found and created in one transaction.

        Returns:
            int, the new run's id.

        Raises:
            TypeError: config holds something JSON cannot represent.
        """
        config_json = _dumps(config)
        with self._write() as conn:
            source = None
            if follow and run_key is not None:
                source = conn.execute(
                    "SELECT id FROM runs WHERE run_key = ? AND follows IS NULL AND status IN ('queued', 'running',"
                    " 'done') ORDER BY status = 'done' DESC, id DESC LIMIT 1", (run_key,)).fetchone()
            cursor = conn.execute(
                "INSERT INTO runs (kind, title, owner, config, status, created_at, run_key, follows)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, title or kind, owner, config_json, "queued" if source is None else "following", time.time(),
                 run_key, None if source is None else source["id"]),
            )
            return cursor.lastrowid

    def get_run(self, run_id):
        """Read one run.

        Args:
            run_id: int.

        Returns:
            Run, or None when no run has this id (never created, or deleted:
            pages polling a run must expect another session to delete it).
        """
        row = self._connect().execute(f"{_RUNS} WHERE r.id = ?", (run_id,)).fetchone()
        return None if row is None else _run_from_row(row)

    def list_runs(self, statuses=None, *, owner=None, kind=None, limit=200):
        """List runs, newest first.

        Args:
            statuses: iterable of str or None (all statuses).
            owner: str or None (any owner).
            kind: str or None (any kind).
            limit: int, at most this many runs.

        Returns:
            list of Run.
        """
        # A deleted run that others follow is kept for them, out of every list.
        clauses, params = ["hidden = 0"], []
        if statuses is not None:
            statuses = list(statuses)
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        if owner is not None:
            clauses.append("owner = ?")
            params.append(owner)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        rows = self._connect().execute(
            f"SELECT * FROM ({_RUNS}) WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?", (*params, limit)
        ).fetchall()
        return [_run_from_row(row) for row in rows]

    def claim_next(self, device, slots=1):
        """Move the next queued run to running on `device`, atomically.

        At most `slots` runs at a time per device: while that many are
        running on `device` (started by this process or another one sharing
        the file), nothing is claimed. The next run is the one
        `labcore.queueing.fair_order` puts first: owners are served in turn.
        Two callers never get the same run.

        Args:
            device: str, the queue's device, e.g. "cpu" or "gpu".
            slots: int, runs the device trains at once.

        Returns:
            Run (now running, pid None until the worker is spawned), or None
            when nothing is queued, the device is busy or the queue is
            paused.
        """
        conn = self._connect()
        # A plain read first, so that idle supervisors polling several times
        # a second do not take the write lock each time.
        if conn.execute("SELECT 1 FROM runs WHERE status = 'queued' LIMIT 1").fetchone() is None or self.paused():
            return None
        with self._write() as conn:
            busy = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE status = 'running' AND device = ?", (device,)
            ).fetchone()[0]
            if busy >= slots:
                return None
            waiting = [queueing.Waiting(row["id"], row["owner"], bool(row["urgent"])) for row in conn.execute(
                "SELECT id, owner, urgent FROM runs WHERE status = 'queued'")]
            order = queueing.fair_order(waiting, _last_served(conn))
            if not order or not _claim(conn, order[0], device):
                return None
            return _fetch_run(conn, order[0])

    def settings(self):
        """The room's settings an instructor chose (`update_settings`), shared by every server on this store.

        Returns:
            dict: "paused" (bool: no run starts while it is true),
            "challenge_params" (int) and "challenge_dataset" (str): the
            Builder challenge's parameter budget and dataset
            (`labcore.leaderboard`), each when set.
        """
        try:
            return json.loads((self.root / _SETTINGS_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def update_settings(self, **values):
        """Set some of the room's settings; a value of None removes it.

        A JSON file beside the database, replaced atomically, so supervisors
        and pages in other processes see it on their next look.

        Returns:
            dict, the settings afterwards.
        """
        settings = {**self.settings(), **values}
        settings = {key: value for key, value in settings.items() if value is not None}
        write_artifact(self.root, _SETTINGS_FILE, settings)
        return settings

    def paused(self):
        """Whether an instructor paused the queue: running runs go on, queued ones wait.

        Returns:
            bool.
        """
        return bool(self.settings().get("paused"))

    def set_paused(self, paused):
        """Pause the queue or resume it, for every server on this store (see `settings`).

        Returns:
            None.
        """
        self.update_settings(paused=True if paused else None)

    def last_served(self):
        """When each owner's latest run started.

        Returns:
            dict, owner -> unix time (owners whose runs never started are absent).
        """
        return _last_served(self._connect())

    def set_urgent(self, run_id, urgent=True):
        """Move a queued run to the front of the queue, or back to its turn (instructors).

        Args:
            run_id: int.
            urgent: bool.

        Returns:
            bool, True if the run is queued and changed.
        """
        with self._write() as conn:
            cursor = conn.execute("UPDATE runs SET urgent = ? WHERE id = ? AND status = 'queued'",
                                  (int(bool(urgent)), run_id))
            return cursor.rowcount == 1

    def claim_run(self, run_id, device):
        """Move one given queued run to running (the CLI runs a run directly).

        Unlike `claim_next`, this does not wait for the device to be free.

        Args:
            run_id: int.
            device: str.

        Returns:
            Run, or None when the run is not queued (already claimed,
            finished or deleted).
        """
        with self._write() as conn:
            if not _claim(conn, run_id, device):
                return None
            return _fetch_run(conn, run_id)

    def set_status(self, run_id, status, error=None, traceback=None):
        """Finish a run: move it to a terminal status and set `finished_at`.

        Guarded: "done" and "interrupted" only from running; "failed" and
        "cancelled" from queued or running. A finished run never changes
        again, so a late write from a dying worker cannot undo a decision.

        Args:
            run_id: int.
            status: str, one of "done", "failed", "cancelled", "interrupted".
            error: str or None, one line for people.
            traceback: str or None, the details (a traceback, a log tail).

        Returns:
            bool, True if the run changed; False if it was not in a status
            this one may follow (or does not exist).

        Raises:
            ValueError: status is not a terminal status (runs start through
                `claim_next` or `claim_run`, and never go back to queued).
        """
        if status not in TERMINAL_STATUSES:
            raise ValueError(
                describe("status", f"one of {sorted(TERMINAL_STATUSES)}", status)
                + " Runs start through claim_next or claim_run."
            )
        previous = ("running",) if status in ("done", "interrupted") else ("queued", "running")
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, error = ?, traceback = ?, finished_at = ?,"
                " progress = CASE WHEN ? = 'done' THEN 1.0 ELSE progress END"
                f" WHERE id = ? AND status IN ({', '.join('?' * len(previous))})",
                (status, error, traceback, time.time(), status, run_id, *previous),
            )
            return cursor.rowcount == 1

    def set_pid(self, run_id, pid):
        """Record the worker process of a running run.

        Args:
            run_id: int.
            pid: int.

        Returns:
            None. Ignored unless the run is running.
        """
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET pid = ? WHERE id = ? AND status = 'running'", (pid, run_id)
            )

    def set_progress(self, run_id, fraction, text=""):
        """Record how far a running run is.

        Args:
            run_id: int.
            fraction: float, clipped to [0, 1].
            text: str, e.g. "epoch 2/5, batch 10/94".

        Returns:
            None. Ignored unless the run is running.
        """
        fraction = min(max(float(fraction), 0.0), 1.0)
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET progress = ?, progress_text = ?"
                " WHERE id = ? AND status = 'running'",
                (fraction, str(text), run_id),
            )

    def request_cancel(self, run_id, owner=None, admin=False):
        """Cancel a run: a queued one at once, a running one by flagging it.

        A running run's worker sees the flag within a fraction of a second
        and stops; the supervisor escalates to SIGTERM, then SIGKILL, if it
        does not. Finished runs are left as they are. A run that others
        follow reads cancelled to its owner but trains on for them; it
        stops once no one follows it.

        Args:
            run_id: int.
            owner: str, the caller's identity; must equal the run's owner
                unless `admin`. None is accepted only with `admin=True`.
            admin: bool, True for library, CLI and instructor use: skips the
                owner check.

        Returns:
            str, the run's status afterwards ("cancelled" for a run that was
            queued, "running" while a running one winds down, or the finished
            status it already had).

        Raises:
            KeyError: no such run.
            PermissionDenied: the caller is not the run's owner (or passed
                no owner) and `admin` is False.
        """
        with self._write() as conn:
            run = _fetch_run(conn, run_id)
            _check_owner(run, owner, admin, "cancel")
            if run.follows is not None:
                if run.status == "following":
                    conn.execute("UPDATE runs SET status = 'cancelled', cancel_requested = 1, finished_at = ?"
                                 " WHERE id = ?", (time.time(), run_id))
                    _release(conn, run.follows)
                return conn.execute(f"{_RUNS} WHERE r.id = ?", (run_id,)).fetchone()["status"]
            if _withdrawn(conn, run_id):
                return "cancelled"
            if run.status in ("queued", "running") and _followed(conn, run_id):
                conn.execute("UPDATE runs SET withdrawn_at = ? WHERE id = ?", (time.time(), run_id))
                return "cancelled"
            return _stop(conn, run)

    def delete_run(self, run_id, owner=None, admin=False):
        """Delete a run, its metrics, its artifact files and its log.

        Args:
            run_id: int.
            owner: str, as in `request_cancel`.
            admin: bool, as in `request_cancel`.

        Returns:
            None.

        A run that others follow leaves its owner's lists, and is kept for
        the others (`list_runs` no longer shows it) until the last of them
        is deleted.

        Raises:
            KeyError: no such run.
            PermissionDenied: as in `request_cancel`.
            LabError: the run is running (cancel it first).
        """
        with self._write() as conn:
            run = _fetch_run(conn, run_id)
            _check_owner(run, owner, admin, "delete")
            if run.follows is None and conn.execute("SELECT 1 FROM runs WHERE follows = ? LIMIT 1",
                                                    (run_id,)).fetchone():
                conn.execute("UPDATE runs SET hidden = 1, withdrawn_at = COALESCE(withdrawn_at, ?) WHERE id = ?",
                             (time.time(), run_id))
                return
            if run.status == "running":
                raise LabError(f"Run {run_id} is running; cancel it first, then delete it.")
            for table, column in (("metrics", "run_id"), ("artifacts", "run_id"), ("runs", "id")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (run_id,))
            source = None
            if run.follows is not None:
                _release(conn, run.follows)
                source = conn.execute(
                    "SELECT id FROM runs WHERE id = ? AND hidden = 1 AND status NOT IN ('queued', 'running')"
                    " AND NOT EXISTS (SELECT 1 FROM runs WHERE follows = ?)", (run.follows, run.follows)).fetchone()
        shutil.rmtree(self.artifact_root / str(run_id), ignore_errors=True)
        self.log_path(run_id).unlink(missing_ok=True)
        if source is not None:
            # Its owner deleted it while this run followed it; no one follows it now.
            self.delete_run(source["id"], admin=True)

    def mark_orphans_interrupted(self, is_alive, claim_grace_s=30.0):
        """Turn running runs whose worker is gone into "interrupted".

        Called when a supervisor starts (a server restart leaves runs marked
        running) and while it is idle. Assumes every worker runs on this
        machine, since it checks process ids.

        Args:
            is_alive: callable(int) -> bool, whether a process id is alive.
            claim_grace_s: float, how long a claimed run may wait for its
                worker to be spawned (pid still None) before it counts as
                orphaned.

        Returns:
            list of int, the ids marked interrupted.
        """
        now = time.time()
        marked = []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, pid, started_at FROM runs WHERE status = 'running'"
            ).fetchall()
            for row in rows:
                if row["pid"] is None:
                    if row["started_at"] is not None and now - row["started_at"] < claim_grace_s:
                        continue
                    error = (
                        "No worker was started for this run: the server stopped right after"
                        " claiming it."
                    )
                elif is_alive(row["pid"]):
                    continue
                else:
                    error = (
                        f"The worker (pid {row['pid']}) is gone without reporting: the server"
                        " or the machine restarted while this run was running."
                    )
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', error = ?, finished_at = ?"
                    " WHERE id = ? AND status = 'running'",
                    (error, now, row["id"]),
                )
                marked.append(row["id"])
        return marked

    def merge_result(self, run_id, values):
        """Merge keys into a run's result JSON (later values win).

        Args:
            run_id: int.
            values: dict, JSON-serialisable (NumPy values are converted).

        Returns:
            dict, the merged result.

        Raises:
            KeyError: no such run.
            TypeError: values hold something JSON cannot represent.
        """
        with self._write() as conn:
            merged = {**_fetch_run(conn, run_id).result, **values}
            conn.execute("UPDATE runs SET result = ? WHERE id = ?", (_dumps(merged), run_id))
        return json.loads(_dumps(merged))

    # -- metrics ---------------------------------------------------------

    def add_metrics(self, run_id, series, epoch, metrics):
        """Append one epoch's metrics.

        Args:
            run_id: int.
            series: str, e.g. "train", "val", or a member's name in an ensemble.
            epoch: int.
            metrics: dict of str -> float (NumPy scalars accepted; NaN kept).

        Returns:
            None.
        """
        with self._write() as conn:
            conn.execute(
                'INSERT INTO metrics (run_id, series, epoch, "values", at) VALUES (?, ?, ?, ?, ?)',
                (run_id, series, int(epoch), _dumps(dict(metrics)), time.time()),
            )

    def metrics(self, run_id):
        """Read a run's metrics in the order they were reported.

        Args:
            run_id: int.

        Returns:
            list of MetricRow.
        """
        conn = self._connect()
        rows = conn.execute(
            'SELECT series, epoch, "values", at FROM metrics WHERE run_id = ? ORDER BY rowid',
            (_data_ids(conn, [run_id])[run_id],),
        ).fetchall()
        return [MetricRow(run_id, row["series"], row["epoch"], json.loads(row["values"]), row["at"]) for row in rows]

    def metrics_rows(self, run_ids):
        """Flat rows for charts: one dict per (run, series, epoch).

        Args:
            run_ids: iterable of int.

        Returns:
            list of dict `{"run_id", "series", "epoch", <metric>: value, ...}`,
            ordered by run, series, epoch.
        """
        conn = self._connect()
        data_ids = _data_ids(conn, run_ids)
        if not data_ids:
            return []
        sources = sorted(set(data_ids.values()))
        rows = conn.execute(
            f'SELECT run_id, series, epoch, "values" FROM metrics'
            f" WHERE run_id IN ({', '.join('?' * len(sources))})"
            " ORDER BY run_id, series, epoch, rowid",
            sources,
        ).fetchall()
        rows_of = {}
        for row in rows:
            rows_of.setdefault(row["run_id"], []).append(row)
        # Two runs may follow one source: each gets its own copy, under its own id.
        return [
            {**json.loads(row["values"]), "run_id": run_id, "series": row["series"], "epoch": row["epoch"]}
            for run_id in sorted(data_ids) for row in rows_of.get(data_ids[run_id], [])
        ]

    # CONTRACT.md's name for the same rows.
    metrics_frame = metrics_rows

    # -- artifacts and logs ------------------------------------------------

    def add_artifact(self, run_id, name, data):
        """Save a file for a run, atomically, replacing one of the same name.

        Args:
            run_id: int.
            name: str, letters, digits, ".", "_" or "-", starting with a
                letter or digit (no path separators, no "..").
            data: bytes (saved as is), a NumPy array (saved as .npy, no
                pickles) or a dict (saved as JSON).

        Returns:
            Path, absolute, of the saved file.

        Raises:
            KeyError: no such run.
            LabError: a bad name.
            TypeError: data of another type.
        """
        if self.get_run(run_id) is None:
            raise KeyError(f"no run with id {run_id} (never created, or deleted)")
        path, kind = write_artifact(self.artifact_root / str(run_id), name, data)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO artifacts (run_id, name, path, kind, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, name, f"{run_id}/{name}", kind, time.time()),
            )
        return path

    def artifacts(self, run_id):
        """List a run's artifacts, oldest first.

        Args:
            run_id: int.

        Returns:
            list of Artifact.
        """
        conn = self._connect()
        rows = conn.execute(
            "SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, name", (_data_ids(conn, [run_id])[run_id],)
        ).fetchall()
        return [self._artifact_from_row(row) for row in rows]

    def artifact_path(self, run_id, name):
        """Where a run's artifact file is.

        Args:
            run_id: int.
            name: str.

        Returns:
            Path, absolute.

        Raises:
            KeyError: the run has no artifact of this name.
        """
        return self._artifact(run_id, name).path

    def read_artifact(self, run_id, name):
        """Load a run's artifact as it was saved.

        Args:
            run_id: int.
            name: str.

        Returns:
            bytes, numpy.ndarray or dict, matching what was saved.

        Raises:
            KeyError: the run has no artifact of this name.
            OSError: the file is missing or unreadable.
        """
        artifact = self._artifact(run_id, name)
        return read_artifact(artifact.path, artifact.kind)

    def _artifact(self, run_id, name):
        conn = self._connect()
        row = conn.execute(
            "SELECT * FROM artifacts WHERE run_id = ? AND name = ?", (_data_ids(conn, [run_id])[run_id], name)
        ).fetchone()
        if row is None:
            raise KeyError(f"run {run_id} has no artifact named {name!r}")
        return self._artifact_from_row(row)

    def _artifact_from_row(self, row):
        path = self.artifact_root / row["path"]
        return Artifact(row["run_id"], row["name"], path, row["kind"], row["created_at"])

    def log_path(self, run_id):
        """Where the worker of a run writes its stdout and stderr.

        Args:
            run_id: int.

        Returns:
            Path, absolute (the file may not exist yet).
        """
        return self.root / "logs" / f"{run_id}.log"


def write_artifact(directory, name, data):
    """Write an artifact file atomically (temporary file, then rename).

    Readers never see a half-written file, and a crash leaves at worst a
    hidden ".tmp-*" file behind.

    Args:
        directory: str or Path, created if missing.
        name: str, see `Store.add_artifact`.
        data: bytes, numpy.ndarray or dict.

    Returns:
        tuple (Path, str): the file and its kind ("bytes", "npy" or "json").

    Raises:
        LabError: a bad name.
        TypeError: data of another type.
    """
    if not isinstance(name, str) or not _ARTIFACT_NAME.fullmatch(name) or ".." in name:
        raise LabError(
            describe(
                "artifact name",
                "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit,"
                " without '..'",
                name,
            )
        )
    if isinstance(data, (bytes, bytearray, memoryview)):
        kind = "bytes"
    elif isinstance(data, np.ndarray):
        kind = "npy"
    elif isinstance(data, dict):
        kind = "json"
    else:
        raise TypeError(
            describe("artifact data", "bytes, a numpy array or a dict", type(data).__name__)
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            if kind == "npy":
                np.save(file, data, allow_pickle=False)
            elif kind == "json":
                file.write(_dumps(data).encode("utf-8"))
            else:
                file.write(bytes(data))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return directory / name, kind


def read_artifact(path, kind):
    """Load an artifact file written by `write_artifact`.

    Args:
        path: str or Path.
        kind: str, "bytes", "npy" or "json".

    Returns:
        bytes, numpy.ndarray or dict.

    Raises:
        ValueError: an unknown kind.
        OSError: the file is missing or unreadable.
    """
    path = Path(path)
    if kind == "npy":
        return np.load(path, allow_pickle=False)
    if kind == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    if kind == "bytes":
        return path.read_bytes()
    raise ValueError(describe("artifact kind", f"one of {list(_ARTIFACT_KINDS)}", kind))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} values cannot be stored as JSON: {value!r:.60}")


def _dumps(value):
    return json.dumps(value, default=_json_default)


def _run_from_row(row):
    return Run(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        owner=row["owner"],
        config=json.loads(row["config"]),
        status=row["status"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        device=row["device"],
        pid=row["pid"],
        progress=row["progress"],
        progress_text=row["progress_text"],
        error=row["error"],
        traceback=row["traceback"],
        result=json.loads(row["result"]),
        cancel_requested=bool(row["cancel_requested"]),
        urgent=bool(row["urgent"]),
        follows=row["follows"],
    )


def _fetch_run(conn, run_id):
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise KeyError(f"no run with id {run_id} (never created, or deleted)")
    return _run_from_row(row)


def _stop(conn, run):
    """Cancel a queued run at once, flag a running one; return its status afterwards."""
    if run.status == "queued":
        conn.execute("UPDATE runs SET status = 'cancelled', cancel_requested = 1, finished_at = ? WHERE id = ?",
                     (time.time(), run.id))
        return "cancelled"
    if run.status == "running":
        conn.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run.id,))
    return run.status


def _withdrawn(conn, run_id):
    return conn.execute("SELECT withdrawn_at FROM runs WHERE id = ?", (run_id,)).fetchone()[0] is not None


def _followed(conn, run_id):
    return conn.execute("SELECT 1 FROM runs WHERE follows = ? AND status = 'following' LIMIT 1",
                        (run_id,)).fetchone() is not None


def _release(conn, source_id):
    """Stop a run its owner withdrew once the last run following it is cancelled or deleted."""
    if _withdrawn(conn, source_id) and not _followed(conn, source_id):
        _stop(conn, _fetch_run(conn, source_id))


def _data_ids(conn, run_ids):
    """Run id -> the id whose metrics and artifacts it shows (its source's, when it follows one)."""
    run_ids = [int(run_id) for run_id in run_ids]
    rows = conn.execute(f"SELECT id, COALESCE(follows, id) FROM runs WHERE id IN ({', '.join('?' * len(run_ids))})",
                        run_ids).fetchall() if run_ids else []
    found = dict(rows)
    return {run_id: found.get(run_id, run_id) for run_id in run_ids}


def _last_served(conn):
    rows = conn.execute("SELECT owner, MAX(started_at) FROM runs WHERE started_at IS NOT NULL GROUP BY owner")
    return {owner: started for owner, started in rows}


def _claim(conn, run_id, device):
    cursor = conn.execute(
        "UPDATE runs SET status = 'running', started_at = ?, device = ?, pid = NULL,"
        " progress = 0, progress_text = '' WHERE id = ? AND status = 'queued'",
        (time.time(), device, run_id),
    )
    return cursor.rowcount == 1


def _check_owner(run, owner, admin, action):
    if admin:
        return
    if owner is None:
        raise PermissionDenied(
            f"To {action} run {run.id}, pass the owner who submitted it, or admin=True"
            " for library and CLI use."
        )
    if owner != run.owner:
        raise PermissionDenied(
            f"Run {run.id} belongs to another session; only its owner can {action} it."
        )
