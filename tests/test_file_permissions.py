"""What callreview writes about calls is readable by its owner only (mode 0600): reports, catalog, exports, uploads."""

from __future__ import annotations

import stat
from pathlib import Path

from analysis.catalog import Catalog
from analysis.export import export_catalog
from analysis.output import write_atomic
from dashboard.ingest import save_upload


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_reports_catalog_exports_and_uploads_are_owner_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = write_atomic(out / "call.json", "{}\n")
    assert mode(report) == 0o600
    write_atomic(report, "{}\n")  # replaced: still owner only
    assert mode(report) == 0o600

    with Catalog.open(out) as cat:
        cat.start_run(engine="local", workers=1, config={}, rubric=None, model="tiny.en", tool_version="t", inputs=[], total=0)
        assert mode(out / "catalog.sqlite") == 0o600
        assert mode(out / "catalog.sqlite-wal") == 0o600  # SQLite gives its journal the database's mode

    for table in export_catalog(out, "csv"):
        assert mode(Path(table.path)) == 0o600, table.path

    riff = b"RIFF\x24\x00\x00\x00WAVEfmt "
    upload = save_upload(out, "../../etc/agent call.wav", riff)
    assert upload == out / "uploads" / "agent_call.wav" and mode(upload) == 0o600
    assert not list((out / "uploads").glob(".*"))  # no partial file left
