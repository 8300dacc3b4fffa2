"""Export a batch catalog's tables for BI tools (``callreview export DIR --format csv|parquet``).

Four tables, read from one consistent snapshot of ``DIR/catalog.sqlite`` (a
batch may be writing meanwhile): ``calls`` (one row per call: metadata,
duration, scores, counts), ``components`` (score components), ``events`` and
``turns`` (the transcript); every table but ``calls`` starts with ``call_id``
so it joins on it. Each file is written to a temporary name and renamed into
place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .catalog import Catalog
from .errors import ConfigError, OutputError

Format = Literal["csv", "parquet"]

EXPORT_TABLES: dict[str, str] = {
    "calls": "SELECT * FROM calls ORDER BY started_at, call_id",
    "components": "SELECT c.call_id, k.* FROM components k JOIN calls c USING (call_key) ORDER BY c.call_id, k.score, k.component",
    "events": 'SELECT c.call_id, e.* FROM events e JOIN calls c USING (call_key) ORDER BY c.call_id, e.start, e.kind',
    "turns": 'SELECT c.call_id, t.call_key, t.idx, t.speaker, t.role, t.start, t."end", t.text, t.wpm, t.sentiment '
    "FROM turns t JOIN calls c USING (call_key) ORDER BY c.call_id, t.idx",
}
"""The exported tables and the query each comes from."""

_SOURCE = {"calls": "calls", "components": "components", "events": "events", "turns": "turns"}
_CHUNK = 2000


@dataclass(frozen=True)
class ExportedTable:
    """One file written by :func:`export_catalog`."""

    name: str
    path: Path
    rows: int


def _column_types(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    types = {r["name"]: (r["type"] or "").upper() for r in conn.execute(f"PRAGMA table_info({table})")}
    types.setdefault("call_id", "TEXT")
    return types


def _arrow_type(decl: str):
    import pyarrow as pa

    if "INT" in decl:
        return pa.int64()
    if "REAL" in decl or "FLOA" in decl or "DOUB" in decl:
        return pa.float64()
    return pa.string()


def _tmp_beside(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _write_csv(cursor: sqlite3.Cursor, columns: list[str], path: Path) -> int:
    tmp = _tmp_beside(path)
    n = 0
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(columns)
            while rows := cursor.fetchmany(_CHUNK):
                w.writerows(tuple(r) for r in rows)
                n += len(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def _write_parquet(cursor: sqlite3.Cursor, columns: list[str], types: dict[str, str], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, _arrow_type(types.get(c, ""))) for c in columns])
    tmp = _tmp_beside(path)
    n = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            wrote = False
            while rows := cursor.fetchmany(_CHUNK):
                cols = list(zip(*rows))
                writer.write_table(pa.table([pa.array(list(col), type=schema.field(i).type) for i, col in enumerate(cols)], schema=schema))
                n += len(rows)
                wrote = True
            if not wrote:
                writer.write_table(schema.empty_table())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def export_catalog(folder: str | Path, fmt: Format = "csv", dest: str | Path | None = None) -> list[ExportedTable]:
    """Write the calls, components, events and turns tables of a batch folder's catalog.

    Parameters
    ----------
    folder : str or Path
        The batch output folder (with ``catalog.sqlite``).
    fmt : {"csv", "parquet"}
    dest : str or Path, optional
        Folder for ``calls.csv`` ... (default ``FOLDER/export``).

    Returns
    -------
    list of ExportedTable

    Raises
    ------
    CatalogError
        No catalog in ``folder``.
    ConfigError
        Unknown format, or parquet without pyarrow.
    OutputError
        ``dest`` cannot be written.
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"export format {fmt!r}: use csv or parquet")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("parquet export needs pyarrow: pip install pyarrow (or use --format csv)") from None
    out = Path(dest) if dest is not None else Path(folder) / "export"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the export there ({exc.strerror or exc}); choose another --to folder") from None
    written: list[ExportedTable] = []
    with Catalog.open(folder, readonly=True) as cat:
        conn = cat.conn
        conn.execute("BEGIN")  # one snapshot for all tables, while a batch may write
        try:
            for name, sql in EXPORT_TABLES.items():
                cursor = conn.execute(sql)
                columns = [d[0] for d in cursor.description]
                path = out / f"{name}.{fmt}"
                try:
                    if fmt == "csv":
                        n = _write_csv(cursor, columns, path)
                    else:
                        n = _write_parquet(cursor, columns, _column_types(conn, _SOURCE[name]), path)
                except OSError as exc:
                    raise OutputError(f"{path}: cannot write ({exc.strerror or exc}); earlier exports are untouched") from None
                written.append(ExportedTable(name, path, n))
        finally:
            conn.execute("COMMIT")
    return written
