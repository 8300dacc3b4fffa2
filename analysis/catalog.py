"""The catalog: a SQLite index of analysed calls in a batch output folder (DIR/catalog.sqlite).

CONTRACT (agreed between the batch engine and the dashboard; the lead wrote this
schema first — implement the rest of this module around it, keep these names):

* WAL mode; ``PRAGMA user_version`` = schema version; migrations = ordered list of
  SQL scripts (``MIGRATIONS`` below), each applied in one transaction.
* The per-call JSON reports (DIR/<call_id>.json) are the source of truth; the
  catalog is their index (rebuildable from them).
* Score names: calm_tone, active_listening, empathy, deescalation (NULL = not scored).
* Python API expected by the dashboard: ``Catalog.open(dir, readonly=False)``,
  ``upsert_call(report, report_path, meta, call_key, names)``, ``record_failure(...)``,
  ``start_run(...)`` / ``finish_run(...)``, ``add_note(call_key, reviewer, text, start=None)``,
  ``add_override(call_key, score, value, reason, reviewer)``, ``close()``; all writes in
  transactions; safe to read while a batch writes.

Beyond the contract (migration 2, additive): ``turns`` gets a stable
``turn_id INTEGER PRIMARY KEY`` (the full-text index points at it, so VACUUM
cannot break it) plus ``wpm``/``sentiment``; ``events`` get ``value``/``unit``;
``calls`` get ``run_id``, ``agent_channel``, ``rubric_sha256``, ``indexed_at``;
``failures`` get ``call_id``, ``error``, ``resolved_at``; ``runs`` get
``status``, ``audio_seconds``, ``inputs``, ``host``, ``pid``; a ``file_hashes``
table remembers each file's SHA-256 by path, size and modification time so a
re-run does not read every file again.

One writer at a time (the batch driver, under the folder lock of
:mod:`analysis.batch`); any number of readers (dashboard, plain SQL).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import CallReviewError, CatalogError
from .records import CallReport

log = logging.getLogger(__name__)

_STORAGE_ERRORS = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")
_STORAGE_WORDS = ("disk is full", "disk i/o error", "unable to open", "readonly database", "read-only")


def is_storage_error(exc: BaseException) -> bool:
    """Whether a SQLite error means the catalog's disk or folder cannot take the write (full, I/O, permissions)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(_STORAGE_ERRORS) or any(w in str(exc).lower() for w in _STORAGE_WORDS)


def storage_error(path: str | Path, exc: BaseException) -> CatalogError:
    """The one-line error for a catalog write the disk or folder refused (nothing of it was kept)."""
    return CatalogError(
        f"{path}: cannot write the catalog ({exc}): the disk may be full or the folder not writable; "
        "free disk space or choose another --out folder, then run the same command again; earlier results are intact"
    )


CATALOG_FILE = "catalog.sqlite"

SCORE_NAMES: tuple[str, ...] = ("calm_tone", "active_listening", "empathy", "deescalation")
"""Scores that have a column of their own in ``calls``."""

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE calls (
        call_key TEXT PRIMARY KEY,          -- sha256(audio)[:16] + '-' + sha256(result-shaping settings)[:16]
        call_id TEXT UNIQUE NOT NULL,
        audio_sha256 TEXT NOT NULL,
        source_path TEXT,
        report_path TEXT,                   -- relative to DIR
        agent TEXT, team TEXT, started_at TEXT, language TEXT,
        duration REAL, layout TEXT, asr_model TEXT,
        rubric_name TEXT, rubric_version TEXT, tool_version TEXT, analysed_at TEXT,
        status TEXT NOT NULL DEFAULT 'done',
        calm_tone REAL, active_listening REAL, empathy REAL, deescalation REAL,
        agent_talk_share REAL,
        interruptions INTEGER,              -- agent interrupting the customer
        raised_voice INTEGER,               -- agent raised-voice events
        dead_air INTEGER, holds INTEGER,
        escalation_asked INTEGER,           -- customer asked for a manager
        redacted INTEGER
    );
    CREATE INDEX calls_agent ON calls(agent);
    CREATE INDEX calls_team ON calls(team);
    CREATE INDEX calls_started ON calls(started_at);
    CREATE INDEX calls_calm ON calls(calm_tone);
    CREATE INDEX calls_listening ON calls(active_listening);
    CREATE INDEX calls_empathy ON calls(empathy);
    CREATE INDEX calls_deesc ON calls(deescalation);
    CREATE TABLE call_names (call_key TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (call_key, path));
    CREATE TABLE components (
        call_key TEXT NOT NULL, score TEXT NOT NULL, component TEXT NOT NULL,
        value REAL, unit TEXT, sub_score REAL, weight REAL, reason TEXT
    );
    CREATE INDEX components_call ON components(call_key);
    CREATE TABLE evidence (
        call_key TEXT NOT NULL, score TEXT, component TEXT, start REAL, "end" REAL,
        speaker TEXT, role TEXT, quote TEXT, why TEXT, effect TEXT
    );
    CREATE INDEX evidence_call ON evidence(call_key);
    CREATE TABLE events (
        call_key TEXT NOT NULL, kind TEXT NOT NULL, start REAL, "end" REAL,
        speaker TEXT, role TEXT, target TEXT, detail TEXT
    );
    CREATE INDEX events_call ON events(call_key);
    CREATE TABLE turns (
        call_key TEXT NOT NULL, idx INTEGER NOT NULL, speaker TEXT, role TEXT,
        start REAL, "end" REAL, text TEXT
    );
    CREATE INDEX turns_call ON turns(call_key);
    CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='turns', content_rowid='rowid');
    CREATE TRIGGER turns_ai AFTER INSERT ON turns BEGIN
        INSERT INTO turns_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    CREATE TRIGGER turns_ad AFTER DELETE ON turns BEGIN
        INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    END;
    CREATE TABLE failures (
        id INTEGER PRIMARY KEY, run_id TEXT, path TEXT NOT NULL, audio_sha256 TEXT,
        reason TEXT NOT NULL, detail TEXT, at TEXT NOT NULL
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, started_at TEXT, finished_at TEXT, config TEXT, rubric TEXT,
        model TEXT, tool_version TEXT, total INTEGER, done INTEGER, skipped INTEGER, failed INTEGER,
        engine TEXT, workers INTEGER
    );
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY, call_key TEXT NOT NULL, at TEXT NOT NULL, reviewer TEXT NOT NULL,
        text TEXT NOT NULL, start REAL
    );
    CREATE TABLE overrides (
        id INTEGER PRIMARY KEY, call_key TEXT NOT NULL, score TEXT NOT NULL, value REAL NOT NULL,
        reason TEXT NOT NULL, reviewer TEXT NOT NULL, at TEXT NOT NULL
    );
    """,
    # 2: batch engine additions (additive; see the module docstring)
    """
    DROP TRIGGER turns_ai;
    DROP TRIGGER turns_ad;
    DROP TABLE turns_fts;
    CREATE TABLE turns_v2 (
        turn_id INTEGER PRIMARY KEY,
        call_key TEXT NOT NULL, idx INTEGER NOT NULL, speaker TEXT, role TEXT,
        start REAL, "end" REAL, text TEXT, wpm REAL, sentiment REAL
    );
    INSERT INTO turns_v2 (turn_id, call_key, idx, speaker, role, start, "end", text)
        SELECT rowid, call_key, idx, speaker, role, start, "end", text FROM turns;
    DROP TABLE turns;
    ALTER TABLE turns_v2 RENAME TO turns;
    CREATE INDEX turns_call ON turns(call_key);
    CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='turns', content_rowid='turn_id');
    INSERT INTO turns_fts(turns_fts) VALUES ('rebuild');
    CREATE TRIGGER turns_ai AFTER INSERT ON turns BEGIN
        INSERT INTO turns_fts(rowid, text) VALUES (new.turn_id, new.text);
    END;
    CREATE TRIGGER turns_ad AFTER DELETE ON turns BEGIN
        INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.turn_id, old.text);
    END;
    CREATE TRIGGER turns_au AFTER UPDATE ON turns BEGIN
        INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.turn_id, old.text);
        INSERT INTO turns_fts(rowid, text) VALUES (new.turn_id, new.text);
    END;
    ALTER TABLE events ADD COLUMN value REAL;
    ALTER TABLE events ADD COLUMN unit TEXT;
    ALTER TABLE calls ADD COLUMN run_id TEXT;
    ALTER TABLE calls ADD COLUMN agent_channel TEXT;
    ALTER TABLE calls ADD COLUMN rubric_sha256 TEXT;
    ALTER TABLE calls ADD COLUMN indexed_at TEXT;
    CREATE INDEX calls_audio ON calls(audio_sha256);
    CREATE INDEX call_names_path ON call_names(path);
    ALTER TABLE failures ADD COLUMN call_id TEXT;
    ALTER TABLE failures ADD COLUMN error TEXT;
    ALTER TABLE failures ADD COLUMN resolved_at TEXT;
    CREATE INDEX failures_path ON failures(path);
    ALTER TABLE runs ADD COLUMN status TEXT;
    ALTER TABLE runs ADD COLUMN audio_seconds REAL;
    ALTER TABLE runs ADD COLUMN inputs TEXT;
    ALTER TABLE runs ADD COLUMN host TEXT;
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    CREATE INDEX notes_call ON notes(call_key);
    CREATE INDEX overrides_call ON overrides(call_key);
    CREATE TABLE file_hashes (
        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
        audio_sha256 TEXT NOT NULL, at TEXT NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
"""The catalog schema version this callreview writes (``PRAGMA user_version``)."""


@dataclass(frozen=True)
class CatalogCall:
    """The catalog's entry for one recording (the parts the batch engine needs)."""

    call_key: str
    call_id: str
    audio_sha256: str
    report_path: str | None
    source_path: str | None


@dataclass(frozen=True)
class FailureRecord:
    """The latest failure of one input file.

    ``attempts`` counts the runs in which the file failed; ``resolved_at`` is set
    once a later run analysed it.
    """

    path: str
    reason: str
    detail: str
    error: str | None
    call_id: str | None
    audio_sha256: str | None
    run_id: str | None
    at: str
    attempts: int
    resolved_at: str | None


def utc_now() -> str:
    """The current UTC time, ISO 8601, seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement: {buf.strip()[:80]}")
    return out


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, source: str, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring a catalog database to the newest schema, one transaction per migration.

    Parameters
    ----------
    conn : sqlite3.Connection
        In autocommit mode (``isolation_level=None``).
    source : str
        Name of the database for messages.
    migrations : sequence of str
        SQL scripts; migration ``n`` (1-based) takes ``user_version`` from ``n-1`` to ``n``.

    Returns
    -------
    int
        The number of migrations applied.

    Raises
    ------
    CatalogError
        The database is newer than this callreview, or a migration fails.
    """
    latest = len(migrations)
    version = _schema_version(conn)
    if version > latest:
        raise CatalogError(
            f"{source}: catalog schema version {version} is newer than this callreview reads ({latest}); upgrade callreview"
        )
    applied = 0
    while version < latest:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _schema_version(conn)  # another process may have migrated meanwhile
            if version < latest:
                for stmt in split_statements(migrations[version]):
                    conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                applied += 1
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise CatalogError(f"{source}: cannot upgrade the catalog to schema version {version + 1} ({exc}); nothing was changed") from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = _schema_version(conn)
    if applied:
        log.info("%s: catalog upgraded to schema version %d", source, latest)
    return applied


def _redacted(report: CallReport) -> int | None:
    """1 when the report's texts were redacted, 0 when left unredacted on request, None when redaction did not run."""
    red = getattr(report.call, "redaction", None)
    if red is None:
        return None
    return 1 if getattr(red, "mode", "") == "redacted" else 0


class Catalog:
    """The catalog database of one batch output folder.

    Open it with :meth:`open`; use it as a context manager or call :meth:`close`.

    Parameters
    ----------
    conn : sqlite3.Connection
    path : Path
        The database file.
    readonly : bool
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self._hash_buffer: list[tuple[str, int, int, str, str]] = []

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: str | Path, readonly: bool = False) -> "Catalog":
        """Open (creating or upgrading, unless ``readonly``) the catalog of a batch output folder.

        Parameters
        ----------
        folder : str or Path
            The batch output folder (``--out DIR``); the database is ``DIR/catalog.sqlite``.
        readonly : bool
            Open for reading only (a dashboard, an export): never creates or upgrades.

        Raises
        ------
        CatalogError
            No catalog there (read-only), not a catalog, or of another schema version.
        """
        folder = Path(folder)
        path = folder / CATALOG_FILE
        try:
            if readonly:
                if not path.is_file():
                    raise CatalogError(f"{folder}: no {CATALOG_FILE} here; run `callreview batch FILES --out {folder}` first")
                conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None, check_same_thread=False)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                created = not path.exists()
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
                if created:  # transcripts are in it: owner only, like the reports (its -wal/-shm files follow)
                    os.chmod(path, 0o600)
        except (OSError, sqlite3.Error) as exc:
            raise CatalogError(f"{path}: cannot open the catalog ({exc}); check the folder exists and is writable") from None
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if readonly:
                version = _schema_version(conn)
                if version != len(MIGRATIONS):
                    newer = version > len(MIGRATIONS)
                    raise CatalogError(
                        f"{path}: catalog schema version {version}, this callreview reads {len(MIGRATIONS)}; "
                        + ("upgrade callreview" if newer else f"run `callreview batch ... --out {folder}` once to upgrade it")
                    )
            else:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning("%s: WAL mode unavailable (%s); readers may wait while the batch writes", path, mode)
                conn.execute("PRAGMA synchronous = FULL")
                migrate(conn, str(path))
        except sqlite3.DatabaseError as exc:
            conn.close()
            if is_storage_error(exc):
                raise storage_error(path, exc) from None
            raise CatalogError(
                f"{path}: not a callreview catalog ({exc}); move it away and re-run the batch to rebuild it from the reports"
            ) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, readonly)

    def close(self) -> None:
        """Write what is buffered and close the database."""
        if self.conn is None:
            return
        try:
            if self._hash_buffer and not self.readonly:
                with self._write():
                    pass
        finally:
            self.conn.close()
            self.conn = None  # type: ignore[assignment]

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # an error is on its way out: closing must not replace it with another
            self.close()
        except CallReviewError as err:
            log.info("%s: %s", self.path, err)

    @property
    def schema_version(self) -> int:
        return _schema_version(self.conn)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any error)."""
        if self.readonly:
            raise CatalogError(f"{self.path}: opened read-only; cannot write")
        c = self.conn
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_storage_error(exc):
                raise storage_error(self.path, exc) from None
            raise CatalogError(f"{self.path}: cannot write the catalog ({exc}); is another program holding it?") from None
        try:
            if self._hash_buffer:
                c.executemany(
                    "INSERT INTO file_hashes (path, size, mtime_ns, audio_sha256, at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
                    "audio_sha256=excluded.audio_sha256, at=excluded.at",
                    self._hash_buffer,
                )
            yield c
        except BaseException as exc:
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:  # SQLite already rolled back (disk full, I/O error)
                pass
            if is_storage_error(exc):
                raise storage_error(self.path, exc) from None
            raise
        else:
            try:
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                try:
                    c.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if is_storage_error(exc):
                    raise storage_error(self.path, exc) from None
                raise
            self._hash_buffer.clear()

    # -- runs ---------------------------------------------------------------------------

    def start_run(
        self,
        *,
        engine: str,
        workers: int,
        config: Mapping[str, Any],
        rubric: Mapping[str, Any] | None,
        model: str,
        tool_version: str,
        inputs: Sequence[str],
        total: int,
    ) -> str:
        """Record the start of a batch run and return its id (``YYYYmmddTHHMMSSZ-xxxxxx``)."""
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        with self._write() as c:
            c.execute(
                "INSERT INTO runs (run_id, started_at, status, config, rubric, model, tool_version, total, done, skipped, failed, "
                "engine, workers, audio_seconds, inputs, host, pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, 0, ?, ?, ?)",
                (
                    run_id, utc_now(), json.dumps(config, sort_keys=True), json.dumps(rubric, sort_keys=True) if rubric else None,
                    model, tool_version, total, engine, workers, json.dumps(list(inputs)), socket.gethostname(), os.getpid(),
                ),
            )
        return run_id

    def finish_run(self, run_id: str, status: str, skipped: int = 0, total: int | None = None) -> None:
        """Record the end of a run (status ``finished``, ``aborted`` or ``interrupted``).

        ``done``, ``failed`` and audio seconds were counted call by call; ``skipped``
        (kept in memory during the run) is added here.
        """
        with self._write() as c:
            c.execute(
                "UPDATE runs SET status=?, finished_at=?, skipped=skipped+?, total=COALESCE(?, total) WHERE run_id=?",
                (status, utc_now(), skipped, total, run_id),
            )

    def close_stale_runs(self) -> list[str]:
        """Mark runs still 'running' as 'killed' (call only while holding the folder lock)."""
        with self._write() as c:
            ids = [r[0] for r in c.execute("SELECT run_id FROM runs WHERE status='running'")]
            c.execute("UPDATE runs SET status='killed' WHERE status='running'")
        return ids

    def runs(self) -> list[sqlite3.Row]:
        """All batch runs, oldest first."""
        return list(self.conn.execute("SELECT * FROM runs ORDER BY started_at, run_id"))

    @staticmethod
    def _bump(c: sqlite3.Connection, run_id: str | None, done: int = 0, failed: int = 0, skipped: int = 0, audio_seconds: float = 0.0) -> None:
        if run_id:
            c.execute(
                "UPDATE runs SET done=done+?, failed=failed+?, skipped=skipped+?, audio_seconds=audio_seconds+? WHERE run_id=?",
                (done, failed, skipped, audio_seconds, run_id),
            )

    # -- calls --------------------------------------------------------------------------

    def call_for_audio(self, audio_sha256: str) -> CatalogCall | None:
        """The catalogued call of a recording (by its content hash), if any."""
        r = self.conn.execute(
            "SELECT call_key, call_id, audio_sha256, report_path, source_path FROM calls WHERE audio_sha256=? ORDER BY analysed_at DESC LIMIT 1",
            (audio_sha256,),
        ).fetchone()
        return CatalogCall(**dict(r)) if r else None

    def call(self, call_key: str) -> sqlite3.Row | None:
        """The ``calls`` row of ``call_key``."""
        return self.conn.execute("SELECT * FROM calls WHERE call_key=?", (call_key,)).fetchone()

    def call_id_owner(self, call_id: str) -> str | None:
        """The audio hash of the call that has ``call_id``, if any."""
        r = self.conn.execute("SELECT audio_sha256 FROM calls WHERE call_id=?", (call_id,)).fetchone()
        return r[0] if r else None

    def names(self, call_key: str) -> list[str]:
        """Every path the recording of ``call_key`` was seen under."""
        return [r[0] for r in self.conn.execute("SELECT path FROM call_names WHERE call_key=? ORDER BY path", (call_key,))]

    def upsert_call(
        self,
        report: CallReport,
        report_path: str,
        meta: Mapping[str, Any],
        call_key: str,
        names: Iterable[str],
        run_id: str | None = None,
        count_as: str | None = "done",
    ) -> None:
        """Index one analysed call, in one transaction.

        Replaces what the catalog held for the same recording (also under an older
        ``call_key``: reviewers' notes and overrides move to the new key), resolves
        earlier failures of its file names and counts it in the run.

        Parameters
        ----------
        report : CallReport
        report_path : str
            The JSON report, relative to the output folder.
        meta : mapping
            ``agent``, ``team``, ``started_at``, ``agent_channel``, ``language``
            (None: keep what the catalog has).
        call_key : str
            ``sha256(audio)[:16]-sha256(result-shaping settings)[:16]``.
        names : iterable of str
            Paths the recording was seen under.
        run_id : str, optional
            The batch run that analysed (or re-indexed) it.
        count_as : {"done", "skipped", None}
            Which counter of the run it adds to.

        Raises
        ------
        CatalogError
            The call id is taken by another recording.
        """
        info = report.call
        sha = info.source_sha256
        agent = info.roles.agent
        role = report.role_of
        scores = {s.name: s.score for s in report.scores}
        talk_share = next((m.talk_share for m in report.metrics.speakers if agent is not None and m.speaker == agent), None)

        def agent_events(kind: str) -> int:
            return sum(1 for e in report.events if e.kind == kind and agent is not None and e.speaker == agent)

        rubric = getattr(info, "rubric", None)
        asr_cfg = info.config.get("asr", {}) if isinstance(info.config, dict) else {}
        names = sorted(set(names) | ({info.source} if info.source else set()))
        row: dict[str, Any] = {
            "call_key": call_key,
            "call_id": info.call_id,
            "audio_sha256": sha,
            "source_path": info.source,
            "report_path": report_path,
            "agent": meta.get("agent"),
            "team": meta.get("team"),
            "started_at": meta.get("started_at"),
            "language": meta.get("language") or asr_cfg.get("language"),
            "agent_channel": meta.get("agent_channel"),
            "duration": info.duration,
            "layout": info.layout,
            "asr_model": info.asr_model,
            "rubric_name": rubric.name if rubric else None,
            "rubric_version": rubric.version if rubric else None,
            "rubric_sha256": rubric.sha256 if rubric else None,
            "tool_version": info.tool_version,
            "analysed_at": info.analysed_at,
            "status": "done",
            **{name: scores.get(name) for name in SCORE_NAMES},
            "agent_talk_share": talk_share,
            "interruptions": agent_events("interruption"),
            "raised_voice": agent_events("raised_voice"),
            "dead_air": report.metrics.call.dead_air,
            "holds": report.metrics.call.holds,
            "escalation_asked": int(any(c.kind == "manager_request" and role(c.speaker) != "agent" for c in report.cues)),
            "redacted": _redacted(report),
            "run_id": run_id,
            "indexed_at": utc_now(),
        }
        keep_if_null = {"agent", "team", "started_at", "agent_channel"}
        cols = list(row)
        updates = ", ".join(
            f"{c} = COALESCE(excluded.{c}, calls.{c})" if c in keep_if_null else f"{c} = excluded.{c}" for c in cols if c != "call_key"
        )
        sql = f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT(call_key) DO UPDATE SET {updates}"
        with self._write() as c:
            old = [r[0] for r in c.execute("SELECT call_key FROM calls WHERE audio_sha256=? AND call_key<>?", (sha, call_key))]
            for k in old:
                kept = c.execute("SELECT agent, team, started_at, agent_channel FROM calls WHERE call_key=?", (k,)).fetchone()
                for col in keep_if_null:
                    if row[col] is None and kept[col] is not None:
                        row[col] = kept[col]
                self._delete_call(c, k)
                for table in ("notes", "overrides"):
                    c.execute(f"UPDATE {table} SET call_key=? WHERE call_key=?", (call_key, k))
                c.execute("UPDATE OR IGNORE call_names SET call_key=? WHERE call_key=?", (call_key, k))
                c.execute("DELETE FROM call_names WHERE call_key=?", (k,))
            self._delete_children(c, call_key)
            try:
                c.execute(sql, [row[k] for k in cols])
            except sqlite3.IntegrityError as exc:
                raise CatalogError(
                    f"{self.path}: call id {info.call_id!r} is already used by another recording ({exc}); give this call another call_id"
                ) from None
            self._insert_children(c, report, call_key)
            c.executemany("INSERT OR IGNORE INTO call_names (call_key, path) VALUES (?, ?)", [(call_key, n) for n in names])
            self._resolve(c, names)
            if count_as == "done":
                self._bump(c, run_id, done=1, audio_seconds=info.duration)
            elif count_as == "skipped":
                self._bump(c, run_id, skipped=1)

    def add_names(self, call_key: str, names: Iterable[str], meta: Mapping[str, Any] | None = None) -> None:
        """Record more paths of an already catalogued recording and lay new metadata over the old."""
        names = list(names)
        meta = meta or {}
        with self._write() as c:
            c.executemany("INSERT OR IGNORE INTO call_names (call_key, path) VALUES (?, ?)", [(call_key, n) for n in names])
            fields = {k: meta.get(k) for k in ("agent", "team", "started_at", "agent_channel") if meta.get(k) is not None}
            if fields:
                c.execute(f"UPDATE calls SET {', '.join(f'{k}=?' for k in fields)} WHERE call_key=?", [*fields.values(), call_key])
            self._resolve(c, names)

    @staticmethod
    def _resolve(c: sqlite3.Connection, names: Sequence[str]) -> None:
        now = utc_now()
        c.executemany("UPDATE failures SET resolved_at=? WHERE path=? AND resolved_at IS NULL", [(now, n) for n in names])

    @staticmethod
    def _delete_children(c: sqlite3.Connection, call_key: str) -> None:
        for table in ("components", "evidence", "events", "turns"):
            c.execute(f"DELETE FROM {table} WHERE call_key=?", (call_key,))

    def _delete_call(self, c: sqlite3.Connection, call_key: str) -> None:
        self._delete_children(c, call_key)
        c.execute("DELETE FROM calls WHERE call_key=?", (call_key,))

    @staticmethod
    def _insert_children(c: sqlite3.Connection, report: CallReport, call_key: str) -> None:
        role = report.role_of
        comps, evidence = [], []
        for s in report.scores:
            for comp in s.components:
                comps.append((call_key, s.name, comp.name, comp.value, comp.unit, comp.score, comp.weight, comp.reason))
                for ev in comp.evidence:
                    evidence.append((call_key, s.name, comp.name, ev.start, ev.end, ev.speaker, role(ev.speaker), ev.quote, ev.why, ev.effect))
        c.executemany(
            "INSERT INTO components (call_key, score, component, value, unit, sub_score, weight, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", comps
        )
        c.executemany(
            'INSERT INTO evidence (call_key, score, component, start, "end", speaker, role, quote, why, effect) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            evidence,
        )
        c.executemany(
            'INSERT INTO events (call_key, kind, start, "end", speaker, role, target, detail, value, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [
                (call_key, e.kind, e.start, e.end, e.speaker, role(e.speaker), e.target, e.detail, getattr(e, "value", None), getattr(e, "unit", None))
                for e in report.events
            ],
        )
        c.executemany(
            'INSERT INTO turns (call_key, idx, speaker, role, start, "end", text, wpm, sentiment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [(call_key, i, t.speaker, role(t.speaker), t.start, t.end, t.text, t.wpm, t.sentiment) for i, t in enumerate(report.turns)],
        )

    def search(self, query: str, limit: int = 50) -> list[sqlite3.Row]:
        """Turns whose text matches an FTS5 query (e.g. ``refund``, ``"speak to a manager"``), best first.

        Raises
        ------
        CatalogError
            The query is not valid FTS5 syntax.
        """
        try:
            return list(
                self.conn.execute(
                    'SELECT c.call_id, t.call_key, t.idx, t.speaker, t.role, t.start, t."end", t.text '
                    "FROM turns_fts JOIN turns t ON t.turn_id = turns_fts.rowid JOIN calls c ON c.call_key = t.call_key "
                    "WHERE turns_fts MATCH ? ORDER BY turns_fts.rank LIMIT ?",
                    (query, limit),
                )
            )
        except sqlite3.OperationalError as exc:
            raise CatalogError(f"search {query!r}: {exc} (FTS5 syntax: words, \"exact phrase\", a OR b, prefix*)") from None

    # -- failures -----------------------------------------------------------------------

    def record_failure(
        self,
        path: str,
        reason: str,
        detail: str = "",
        *,
        run_id: str | None = None,
        audio_sha256: str | None = None,
        call_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record that a file could not be analysed (one row per failure; the run's failed count goes up)."""
        with self._write() as c:
            c.execute(
                "INSERT INTO failures (run_id, path, audio_sha256, reason, detail, at, call_id, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, path, audio_sha256, reason, detail, utc_now(), call_id, error),
            )
            self._bump(c, run_id, failed=1)

    def failures(self, include_resolved: bool = False) -> list[FailureRecord]:
        """The latest failure of each file that failed, oldest first; unresolved ones only unless asked."""
        where = "" if include_resolved else "AND f.resolved_at IS NULL"
        rows = self.conn.execute(
            "SELECT f.*, (SELECT COUNT(*) FROM failures g WHERE g.path = f.path) AS attempts FROM failures f "
            f"WHERE f.id = (SELECT MAX(id) FROM failures g WHERE g.path = f.path) {where} ORDER BY f.at, f.id"
        )
        return [
            FailureRecord(
                path=r["path"], reason=r["reason"], detail=r["detail"] or "", error=r["error"], call_id=r["call_id"],
                audio_sha256=r["audio_sha256"], run_id=r["run_id"], at=r["at"], attempts=r["attempts"], resolved_at=r["resolved_at"],
            )
            for r in rows
        ]

    # -- file hashes --------------------------------------------------------------------

    def cached_hash(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The SHA-256 remembered for ``path`` when its size and modification time are unchanged."""
        r = self.conn.execute("SELECT size, mtime_ns, audio_sha256 FROM file_hashes WHERE path=?", (path,)).fetchone()
        if r and r["size"] == size and r["mtime_ns"] == mtime_ns:
            return r["audio_sha256"]
        return None

    def remember_hash(self, path: str, size: int, mtime_ns: int, audio_sha256: str) -> None:
        """Remember a file's hash (written with the next transaction)."""
        self._hash_buffer.append((path, size, mtime_ns, audio_sha256, utc_now()))

    # -- reviewers (dashboard) ----------------------------------------------------------

    def _require_call(self, c: sqlite3.Connection, call_key: str) -> None:
        if c.execute("SELECT 1 FROM calls WHERE call_key=?", (call_key,)).fetchone() is None:
            raise CatalogError(f"{self.path}: no call with key {call_key!r}; reload the call list")

    def add_note(self, call_key: str, reviewer: str, text: str, start: float | None = None) -> int:
        """Add a reviewer's note to a call (optionally at a moment, seconds); returns its id."""
        with self._write() as c:
            self._require_call(c, call_key)
            cur = c.execute(
                "INSERT INTO notes (call_key, at, reviewer, text, start) VALUES (?, ?, ?, ?, ?)", (call_key, utc_now(), reviewer, text, start)
            )
            return int(cur.lastrowid)

    def add_override(self, call_key: str, score: str, value: float, reason: str, reviewer: str) -> int:
        """Record a reviewer's override of a score (the analysed score is kept); returns its id."""
        with self._write() as c:
            self._require_call(c, call_key)
            cur = c.execute(
                "INSERT INTO overrides (call_key, score, value, reason, reviewer, at) VALUES (?, ?, ?, ?, ?, ?)",
                (call_key, score, value, reason, reviewer, utc_now()),
            )
            return int(cur.lastrowid)

    def notes(self, call_key: str) -> list[sqlite3.Row]:
        return list(self.conn.execute("SELECT * FROM notes WHERE call_key=? ORDER BY at, id", (call_key,)))

    def overrides(self, call_key: str) -> list[sqlite3.Row]:
        return list(self.conn.execute("SELECT * FROM overrides WHERE call_key=? ORDER BY at, id", (call_key,)))
