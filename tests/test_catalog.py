"""The catalog: schema and migrations, indexing a real report, failures, readers during writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from analysis.catalog import CATALOG_FILE, MIGRATIONS, SCHEMA_VERSION, Catalog, migrate, split_statements
from analysis.errors import CatalogError
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def report(analyzed):
    return analyzed(shared_file("real/faster_whisper/stereo_diarization.wav"))


def key(report, suffix: str = "a" * 16) -> str:
    return f"{report.call.source_sha256[:16]}-{suffix}"


def test_new_catalog_is_wal_at_the_latest_schema(tmp_path: Path) -> None:
    with Catalog.open(tmp_path) as cat:
        assert cat.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        assert cat.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in cat.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"calls", "call_names", "components", "evidence", "events", "turns", "turns_fts", "failures", "runs", "notes", "overrides", "file_hashes"} <= tables
    with Catalog.open(tmp_path) as cat:  # opening again changes nothing
        assert cat.schema_version == SCHEMA_VERSION


def test_version_1_catalog_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / CATALOG_FILE, isolation_level=None)
    for stmt in split_statements(MIGRATIONS[0]):
        conn.execute(stmt)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO calls (call_key, call_id, audio_sha256) VALUES ('k1', 'c1', 'aa')")
    conn.execute("INSERT INTO turns (call_key, idx, speaker, start, \"end\", text) VALUES ('k1', 0, 'left', 0, 1, 'my refund please')")
    conn.close()
    with Catalog.open(tmp_path) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        assert [r["text"] for r in cat.search("refund")] == ["my refund please"]
        assert cat.conn.execute("SELECT turn_id FROM turns").fetchone()[0] == 1


def test_newer_or_foreign_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    conn = sqlite3.connect(tmp_path / "a" / CATALOG_FILE)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(CatalogError, match="newer than this callreview reads"):
        Catalog.open(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / CATALOG_FILE).write_text("not sqlite " * 100)
    with pytest.raises(CatalogError, match="not a callreview catalog"):
        Catalog.open(tmp_path / "b")
    with pytest.raises(CatalogError, match="no catalog.sqlite here; run `callreview batch"):
        Catalog.open(tmp_path / "c", readonly=True)


def test_a_failed_migration_leaves_the_catalog_as_it_was(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)
    broken = [MIGRATIONS[0], "CREATE TABLE extra (a);\nSELECT * FROM no_such_table;"]
    with pytest.raises(CatalogError, match="cannot upgrade the catalog to schema version 2"):
        migrate(conn, "x", broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='extra'").fetchone()[0] == 0


def test_upsert_indexes_a_real_report_idempotently(tmp_path: Path, report) -> None:
    with Catalog.open(tmp_path) as cat:
        run = cat.start_run(engine="local", workers=1, config={}, rubric=None, model="tiny.en", tool_version="t", inputs=["x"], total=1)
        for _ in range(2):
            cat.upsert_call(report, "r.json", {"agent": "ana", "team": "billing"}, key(report), ["/calls/a.wav"], run_id=run)
        row = cat.call(key(report))
        assert (row["call_id"], row["agent"], row["team"], row["duration"], row["layout"]) == (
            report.call.call_id, "ana", "billing", report.call.duration, "dual")
        for s in report.scores:
            if s.name in ("calm_tone", "active_listening", "empathy", "deescalation"):
                assert row[s.name] == s.score
        n = lambda t: cat.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: E731
        assert (n("calls"), n("turns"), n("events")) == (1, len(report.turns), len(report.events))
        assert n("components") == sum(len(s.components) for s in report.scores)
        assert sorted(cat.names(key(report))) == sorted(["/calls/a.wav", report.call.source])
        word = report.turns[0].text.split()[1].strip(".,")
        assert any(word in r["text"] for r in cat.search(word))
        assert cat.runs()[0]["done"] == 2
        # re-analysed with other settings: the old key's rows go, metadata and reviewers' notes stay
        note = cat.add_note(key(report), "qa", "greeting ok")
        cat.upsert_call(report, "r.json", {}, key(report, "b" * 16), [])
        assert cat.call(key(report)) is None and cat.call(key(report, "b" * 16))["agent"] == "ana"
        assert [r["id"] for r in cat.notes(key(report, "b" * 16))] == [note]
        assert n("turns") == len(report.turns) and n("calls") == 1
        # a call id is one recording's
        other = report.model_copy(deep=True)
        other.call.source_sha256 = "f" * 64
        with pytest.raises(CatalogError, match="already used by another recording"):
            cat.upsert_call(other, "o.json", {}, key(other), [])
        assert n("calls") == 1 and n("turns") == len(report.turns)  # the failed upsert changed nothing


def test_failures_are_listed_until_a_later_run_resolves_them(tmp_path: Path, report) -> None:
    with Catalog.open(tmp_path) as cat:
        cat.record_failure("/calls/a.wav", "/calls/a.wav: empty file", "trace", error="AudioError")
        cat.record_failure("/calls/a.wav", "/calls/a.wav: empty file", "trace", error="AudioError")
        cat.record_failure("/calls/b.wav", "/calls/b.wav: file not found")
        assert [(f.path, f.attempts) for f in cat.failures()] == [("/calls/a.wav", 2), ("/calls/b.wav", 1)]
        cat.upsert_call(report, "r.json", {}, key(report), ["/calls/a.wav"])
        assert [f.path for f in cat.failures()] == ["/calls/b.wav"]
        resolved = [f for f in cat.failures(include_resolved=True) if f.resolved_at]
        assert [f.path for f in resolved] == ["/calls/a.wav"]


def test_readers_see_whole_calls_while_a_writer_indexes(tmp_path: Path, report) -> None:
    with Catalog.open(tmp_path) as writer:
        writer.upsert_call(report, "r.json", {}, key(report), [])
    counts: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            with Catalog.open(tmp_path, readonly=True) as reader:
                while not stop.is_set():
                    reader.conn.execute("BEGIN")
                    calls = reader.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
                    turns = reader.conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
                    reader.conn.execute("COMMIT")
                    counts.append((calls, turns))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=read)
    t.start()
    try:
        with Catalog.open(tmp_path) as writer:
            for i in range(30):
                other = report.model_copy(deep=True)
                other.call.source_sha256 = f"{i:02d}" + "0" * 62
                other.call.call_id = f"copy-{i}"
                writer.upsert_call(other, f"copy-{i}.json", {}, key(other), [])
    finally:
        stop.set()
        t.join(timeout=30)
    assert not errors, errors
    assert len(counts) > 5
    per_call = len(report.turns)
    assert all(turns == calls * per_call for calls, turns in counts)  # never half a call
    assert [c for c, _ in counts] == sorted(c for c, _ in counts)
    with Catalog.open(tmp_path, readonly=True) as reader:
        assert reader.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 31
