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
"""

from __future__ import annotations

CATALOG_FILE = "catalog.sqlite"

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
]
