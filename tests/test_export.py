"""`callreview export`: the catalog's tables as CSV and Parquet."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analysis.catalog import Catalog
from analysis.export import EXPORT_TABLES, export_catalog
from tests.conftest import shared_file
from tests.test_batch import run_cli


@pytest.fixture(scope="module")
def folder(tmp_path_factory, analyzed) -> Path:
    out = tmp_path_factory.mktemp("catalog")
    with Catalog.open(out) as cat:
        for rel in ("real/faster_whisper/stereo_diarization.wav", "real/google/two_channel_16k.wav"):
            report = analyzed(shared_file(rel))
            cat.upsert_call(report, f"{report.call.call_id}.json", {"agent": "ana"}, report.call.source_sha256[:16] + "-k", [])
    return out


def sql_count(folder: Path, table: str) -> int:
    with Catalog.open(folder, readonly=True) as cat:
        return cat.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_csv_export_has_every_row_and_joins_on_call_id(folder: Path, tmp_path: Path) -> None:
    written = export_catalog(folder, "csv", tmp_path)
    assert [t.name for t in written] == list(EXPORT_TABLES) == ["calls", "components", "events", "turns"]
    for t in written:
        with open(t.path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == t.rows == sql_count(folder, t.name)
        assert "call_id" in rows[0]
    calls = {r["call_id"] for r in csv.DictReader(open(tmp_path / "calls.csv", encoding="utf-8"))}
    turns = list(csv.DictReader(open(tmp_path / "turns.csv", encoding="utf-8")))
    assert calls == {"stereo_diarization", "two_channel_16k"} and {r["call_id"] for r in turns} <= calls
    assert any("horizon" in r["text"].lower() for r in turns)
    assert not list(tmp_path.glob(".*.tmp"))


def test_parquet_export_is_typed(folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = run_cli("export", str(folder), "--format", "parquet")
    assert p.returncode == 0, p.stderr
    calls = pq.read_table(folder / "export" / "calls.parquet")
    assert calls.num_rows == 2
    assert calls.schema.field("duration").type == pa.float64() and calls.schema.field("dead_air").type == pa.int64()
    assert calls.schema.field("agent").type == pa.string() and set(calls.column("agent").to_pylist()) == {"ana"}
    turns = pq.read_table(folder / "export" / "turns.parquet")
    assert turns.num_rows == sql_count(folder, "turns") and turns.schema.field("start").type == pa.float64()
    assert "calls.parquet  (2 rows)" in p.stdout


def test_export_without_a_catalog_says_what_to_do(tmp_path: Path) -> None:
    p = run_cli("export", str(tmp_path), "--format", "csv")
    assert p.returncode == 1
    assert "no catalog.sqlite here; run `callreview batch" in p.stderr
