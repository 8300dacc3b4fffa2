"""Catalog queries for the dashboard, cached.

The dashboard reads the catalog (``DIR/catalog.sqlite``, see :mod:`analysis.catalog`)
rather than every JSON report: lists, filters, search and aggregates are SQL. A
call's full report (turns, contours, scores) is loaded from its JSON only when
that call is opened.

Caching: every cached query takes the catalog's *data token* (modification times
and sizes of the database and its write-ahead log) as an argument, so a batch that
adds calls, or a note written from another browser tab, shows up on the next run
of a page without a manual refresh, while unchanged data is never queried twice.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analysis.records import CallReport, load_report

from .errors import AudioMissingError, AudioOutsideRootsError, CallNotFoundError, CatalogMissingError, ReviewInputError
from .paths import audio_roots, confine_audio, extra_roots
from .style import SCORES

log = logging.getLogger(__name__)

try:  # the batch engineer's module; the schema is the contract
    from analysis.catalog import CATALOG_FILE
except ImportError:  # pragma: no cover - the module is part of the package
    CATALOG_FILE = "catalog.sqlite"

ENV_DIR = "CALLREVIEW_DIR"
"""Environment variable naming the batch output folder (set by ``callreview dashboard``)."""

CALL_COLUMNS = (
    "c.call_key, c.call_id, COALESCE(c.started_at, c.analysed_at) AS started, c.agent, c.team, c.duration, c.layout, "
    "c.calm_tone, c.active_listening, c.empathy, c.deescalation, c.agent_talk_share, c.interruptions, c.raised_voice, "
    "c.dead_air, c.holds, c.escalation_asked, c.status"
)

SORTS: dict[str, str] = {
    "Newest first": "started DESC, c.call_id",
    "Oldest first": "started ASC, c.call_id",
    "Lowest calm tone first": "c.calm_tone IS NULL, c.calm_tone ASC, started DESC",
    "Lowest active listening first": "c.active_listening IS NULL, c.active_listening ASC, started DESC",
    "Lowest empathy first": "c.empathy IS NULL, c.empathy ASC, started DESC",
    "Lowest de-escalation first": "c.deescalation IS NULL, c.deescalation ASC, started DESC",
    "Highest calm tone first": "c.calm_tone IS NULL, c.calm_tone DESC, started DESC",
    "Most interruptions first": "c.interruptions IS NULL, c.interruptions DESC, started DESC",
    "Longest first": "c.duration DESC, c.call_id",
    "Agent A-Z": "c.agent IS NULL, c.agent ASC, started DESC",
    "Call id A-Z": "c.call_id ASC",
}

FLAG_COLUMNS = ("interruptions", "raised_voice", "dead_air", "escalation_asked")

AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp4": "audio/mp4",
}


# --------------------------------------------------------------------------------------
# Where the catalog is
# --------------------------------------------------------------------------------------


def catalog_dir() -> Path:
    """The batch output folder the dashboard shows.

    From, in order: ``st.session_state['catalog_dir']`` (tests), the environment
    variable ``CALLREVIEW_DIR`` (set by ``callreview dashboard DIR``), the first
    script argument (``streamlit run dashboard/app.py -- DIR``), else the current
    folder's ``callreview-results``.
    """
    try:
        chosen = st.session_state.get("catalog_dir")
    except Exception:  # no Streamlit session (scripts)
        chosen = None
    if not chosen:
        chosen = os.environ.get(ENV_DIR)
    if not chosen:
        args = [a for a in sys.argv[1:] if not a.startswith("-")]
        chosen = args[0] if args else "callreview-results"
    return Path(chosen).expanduser().resolve()


def catalog_file(folder: str | Path) -> Path:
    """Path of the catalog database in ``folder``."""
    return Path(folder) / CATALOG_FILE


def has_catalog(folder: str | Path) -> bool:
    """Whether ``folder`` holds a catalog with the expected tables."""
    path = catalog_file(folder)
    if not path.is_file():
        return False
    try:
        with connect(folder) as con:
            con.execute("SELECT 1 FROM calls LIMIT 1").fetchall()
    except (sqlite3.Error, CatalogMissingError):
        return False
    return True


def data_token(folder: str | Path) -> tuple[int, ...]:
    """A value that changes whenever the catalog's data may have changed (cache key)."""
    out: list[int] = []
    for suffix in ("", "-wal"):
        try:
            st_ = os.stat(str(catalog_file(folder)) + suffix)
            out += [st_.st_mtime_ns, st_.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


@contextmanager
def connect(folder: str | Path, write: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the catalog, closed on exit; read-only unless ``write``.

    Raises
    ------
    CatalogMissingError
        When the folder has no catalog.
    """
    path = catalog_file(folder)
    if not path.is_file():
        raise CatalogMissingError(str(folder))
    con = sqlite3.connect(str(path), timeout=10.0)
    con.row_factory = sqlite3.Row
    try:
        if not write:
            con.execute("PRAGMA query_only = 1")
        yield con
    finally:
        con.close()


def _df(con: sqlite3.Connection, sql: str, params: tuple | list = ()) -> pd.DataFrame:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return pd.DataFrame.from_records(cur.fetchall(), columns=cols)


# --------------------------------------------------------------------------------------
# Calls page
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallFilters:
    """What the Calls page filters on; the empty filter matches every call.

    Attributes
    ----------
    agents, teams : tuple of str
        Keep calls of these agents / teams (empty: all).
    date_from, date_to : str or None
        ISO dates (inclusive) on the call's start (its analysis time when the start is unknown).
    score_ranges : tuple of (score, low, high)
        Keep calls whose score lies in [low, high]; a range of 0-100 keeps unscored calls too.
    flags : tuple of str
        Keep calls with at least one of each: interruptions, raised_voice, dead_air, escalation_asked.
    search : str
        Words that must all occur in the transcript (full-text search).
    call_id : str
        Part of the call id (case-insensitive).
    reviewed_only : bool
        Keep calls with a reviewer note or override.
    """

    agents: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    score_ranges: tuple[tuple[str, float, float], ...] = ()
    flags: tuple[str, ...] = ()
    search: str = ""
    reviewed_only: bool = False
    call_id: str = ""


def fts_query(text: str) -> str | None:
    """A safe FTS5 query from what a user typed: every word must occur; the last may be a prefix.

    ``"..."`` keeps a phrase together. Returns None when nothing searchable was typed.
    """
    parts: list[str] = []
    last_is_word = False
    for phrase, word in re.findall(r'"([^"]*)"|([^\s"]+)', text or ""):
        words = re.findall(r"\w+", phrase or word)
        if not words:
            continue
        parts.append('"' + " ".join(words) + '"')
        last_is_word = bool(word) and len(words) == 1 and len(words[0]) >= 3
    if not parts:
        return None
    if last_is_word:
        parts[-1] += "*"
    return " ".join(parts)


def _where(filters: CallFilters) -> tuple[str, list[Any], str | None]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.agents:
        clauses.append(f"c.agent IN ({','.join('?' * len(filters.agents))})")
        params += list(filters.agents)
    if filters.teams:
        clauses.append(f"c.team IN ({','.join('?' * len(filters.teams))})")
        params += list(filters.teams)
    if filters.date_from:
        clauses.append("COALESCE(c.started_at, c.analysed_at) >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("COALESCE(c.started_at, c.analysed_at) < ?")
        params.append(filters.date_to + "\uffff")  # whole last day, any time suffix
    for score, low, high in filters.score_ranges:
        if score not in SCORES:
            continue
        if low <= 0 and high >= 100:
            continue
        clauses.append(f"c.{score} BETWEEN ? AND ?")
        params += [low, high]
    for flag in filters.flags:
        if flag in FLAG_COLUMNS:
            clauses.append(f"c.{flag} > 0")
    if filters.call_id.strip():
        clauses.append("c.call_id LIKE ? ESCAPE '\\'")
        text = filters.call_id.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{text}%")
    if filters.reviewed_only:
        clauses.append(
            "(EXISTS (SELECT 1 FROM notes n WHERE n.call_key = c.call_key)"
            " OR EXISTS (SELECT 1 FROM overrides o WHERE o.call_key = c.call_key))"
        )
    match = fts_query(filters.search)
    if match:
        clauses.append("hits.call_key IS NOT NULL")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params, match


@st.cache_data(show_spinner=False, max_entries=64)
def list_calls(
    folder: str, token: tuple, filters: CallFilters, sort: str = "Newest first", limit: int = 500, offset: int = 0
) -> tuple[pd.DataFrame, int]:
    """One page of calls matching ``filters``, and how many match in all.

    Parameters
    ----------
    folder : str
        Batch output folder.
    token : tuple
        :func:`data_token` of the folder (cache key only).
    filters : CallFilters
    sort : str
        A key of :data:`SORTS`.
    limit, offset : int
        The page.

    Returns
    -------
    (DataFrame, int)
        Columns of :data:`CALL_COLUMNS` plus ``notes``, ``overrides`` and, when searching,
        ``match`` (the first matching line).
    """
    where, params, match = _where(filters)
    hits = ""
    hit_params: list[Any] = []
    match_col = ", NULL AS match"
    if match:
        hits = (
            " LEFT JOIN (SELECT t.call_key AS call_key, MIN(t.rowid) AS rid FROM turns_fts f"
            " JOIN turns t ON t.rowid = f.rowid WHERE turns_fts MATCH ? GROUP BY t.call_key) hits"
            " ON hits.call_key = c.call_key"
        )
        hit_params = [match]
        match_col = ", (SELECT text FROM turns WHERE rowid = hits.rid) AS match"
    order = SORTS.get(sort, SORTS["Newest first"])
    cols = CALL_COLUMNS
    sql = (
        f"SELECT {cols}, COALESCE(nn.n, 0) AS notes, COALESCE(oo.n, 0) AS overrides{match_col}"
        f" FROM calls c{hits}"
        " LEFT JOIN (SELECT call_key, COUNT(*) AS n FROM notes GROUP BY call_key) nn ON nn.call_key = c.call_key"
        " LEFT JOIN (SELECT call_key, COUNT(*) AS n FROM overrides GROUP BY call_key) oo ON oo.call_key = c.call_key"
        f"{where} ORDER BY {order} LIMIT ? OFFSET ?"
    )
    count_sql = f"SELECT COUNT(*) FROM calls c{hits}{where}"
    with connect(folder) as con:
        try:
            total = con.execute(count_sql, hit_params + params).fetchone()[0]
            df = _df(con, sql, hit_params + params + [int(limit), int(offset)])
        except sqlite3.OperationalError as exc:
            if match and "fts5" in str(exc).lower():
                log.warning("full-text search failed for %r: %s", filters.search, exc)
                return _df(con, f"SELECT {cols} FROM calls c LIMIT 0"), 0
            raise
    return df, int(total)


@st.cache_data(show_spinner=False, max_entries=16)
def facets(folder: str, token: tuple) -> dict[str, Any]:
    """What the filters can offer: agents, teams, date span, number of calls and failures."""
    with connect(folder) as con:
        agents = [r[0] for r in con.execute("SELECT DISTINCT agent FROM calls WHERE agent IS NOT NULL ORDER BY agent")]
        teams = [r[0] for r in con.execute("SELECT DISTINCT team FROM calls WHERE team IS NOT NULL ORDER BY team")]
        lo, hi, n = con.execute(
            "SELECT MIN(COALESCE(started_at, analysed_at)), MAX(COALESCE(started_at, analysed_at)), COUNT(*) FROM calls"
        ).fetchone()
        failures = con.execute(f"SELECT COUNT(DISTINCT path) FROM failures{_unresolved(con)}").fetchone()[0]
    return {"agents": agents, "teams": teams, "first": lo, "last": hi, "calls": int(n), "failures": int(failures)}


@st.cache_data(show_spinner=False, max_entries=4)
def failures(folder: str, token: tuple, limit: int = 200) -> pd.DataFrame:
    """Recordings the batch could not analyse (latest failure per file, unresolved only), newest first."""
    with connect(folder) as con:
        return _df(
            con,
            f"SELECT path AS file, reason, at AS failed_at FROM failures f{_unresolved(con)}"
            f"{' AND' if _unresolved(con) else ' WHERE'} f.id = (SELECT MAX(id) FROM failures g WHERE g.path = f.path)"
            " ORDER BY at DESC LIMIT ?",
            (limit,),
        )


def _unresolved(con: sqlite3.Connection) -> str:
    """WHERE clause keeping failures no later run resolved (catalogs without that column: all)."""
    cols = {r[1] for r in con.execute("PRAGMA table_info(failures)")}
    return " WHERE resolved_at IS NULL" if "resolved_at" in cols else ""


# --------------------------------------------------------------------------------------
# One call
# --------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=256)
def call_row(folder: str, token: tuple, call: str) -> dict[str, Any]:
    """The catalog row of a call, by call id or call key.

    Raises
    ------
    CallNotFoundError
        When no call has that id or key.
    """
    with connect(folder) as con:
        row = con.execute("SELECT * FROM calls WHERE call_id = ? OR call_key = ? LIMIT 1", (call, call)).fetchone()
    if row is None:
        raise CallNotFoundError(f"call {call!r} is not in the catalog of {folder}")
    return dict(row)


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_report_cached(path: str, mtime_ns: int, size: int) -> CallReport:
    with open(path, "rb") as f:
        return load_report(f.read(), source=path)


def report_path(folder: str | Path, row: dict[str, Any]) -> Path:
    """Path of the JSON report of a catalogued call.

    Raises
    ------
    CallNotFoundError
        When the catalog row names no report or the file is gone.
    """
    rel = row.get("report_path") or f"{row['call_id']}.json"
    path = Path(rel) if Path(rel).is_absolute() else Path(folder) / rel
    if not os.path.realpath(path).startswith(os.path.join(os.path.realpath(folder), "")):
        raise CallNotFoundError(f"the report of call {row['call_id']} ({rel}) is outside {folder}; re-run `callreview batch` on its recording")
    if not path.is_file():
        raise CallNotFoundError(
            f"the report of call {row['call_id']} is missing ({path}); re-run `callreview batch` on its recording"
        )
    return path


def call_report(folder: str | Path, row: dict[str, Any]) -> CallReport:
    """The full report of a catalogued call (cached while its file is unchanged)."""
    path = report_path(folder, row)
    st_ = path.stat()
    return _load_report_cached(str(path), st_.st_mtime_ns, st_.st_size)


def audio_file(folder: str | Path, row: dict[str, Any]) -> Path:
    """The recording of a catalogued call, found from its catalog row only.

    Only paths the catalog holds for that call (``calls.source_path`` and
    ``call_names``) are considered, and only when they lie under the catalog's
    archive roots (:mod:`dashboard.paths`), so the dashboard never serves other files.

    Raises
    ------
    AudioOutsideRootsError
        When the recording lies outside the archive roots.
    AudioMissingError
        When none of those paths is a file any more.
    """
    candidates: list[str] = []
    if row.get("source_path"):
        candidates.append(row["source_path"])
    roots = [os.path.abspath(folder), *extra_roots()]
    try:
        with connect(folder) as con:
            candidates += [r[0] for r in con.execute("SELECT path FROM call_names WHERE call_key = ?", (row["call_key"],))]
            roots = audio_roots(folder, con)
    except sqlite3.Error:
        pass
    tried: list[str] = []
    refused: AudioOutsideRootsError | None = None
    for cand in candidates:
        p = Path(cand).expanduser()
        options = [p] if p.is_absolute() else [Path(folder) / p, Path.cwd() / p]
        for opt in options:
            tried.append(str(opt))
            if opt.is_file() and opt.suffix.lower() in AUDIO_TYPES:
                try:
                    return confine_audio(opt, roots, row["call_id"])
                except AudioOutsideRootsError as exc:
                    refused = refused or exc
    if refused is not None:
        raise refused
    raise AudioMissingError(
        f"the recording of call {row['call_id']} is not where the catalog says ({', '.join(tried) or 'no path recorded'})"
    )


def audio_mime(path: Path) -> str:
    """MIME type of a recording for the browser's audio player."""
    return AUDIO_TYPES.get(path.suffix.lower(), "audio/wav")


# --------------------------------------------------------------------------------------
# Reviewer notes and overrides
# --------------------------------------------------------------------------------------


def notes(folder: str | Path, call_key: str) -> list[dict[str, Any]]:
    """Reviewer notes of a call, oldest first."""
    with connect(folder) as con:
        rows = con.execute(
            "SELECT id, at, reviewer, text, start FROM notes WHERE call_key = ? ORDER BY at, id", (call_key,)
        ).fetchall()
    return [dict(r) for r in rows]


def overrides(folder: str | Path, call_key: str) -> list[dict[str, Any]]:
    """Score overrides of a call, oldest first (the last one per score is the reviewer's current score)."""
    with connect(folder) as con:
        rows = con.execute(
            "SELECT id, score, value, reason, reviewer, at FROM overrides WHERE call_key = ? ORDER BY at, id", (call_key,)
        ).fetchall()
    return [dict(r) for r in rows]


def latest_overrides(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The reviewer's current override per score, from :func:`overrides` rows."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out[r["score"]] = r
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _catalog_api(folder: str | Path, method: str):
    """The catalog object when :mod:`analysis.catalog` offers ``method``, else None."""
    try:
        from analysis.catalog import Catalog  # type: ignore[attr-defined]
    except ImportError:
        return None
    if not hasattr(Catalog, method):
        return None
    return Catalog.open(Path(folder))


def add_note(folder: str | Path, call_key: str, reviewer: str, text: str, start: float | None = None) -> None:
    """Store a reviewer note on a call.

    Raises
    ------
    ReviewInputError
        Without a reviewer name or text.
    """
    reviewer, text = (reviewer or "").strip(), (text or "").strip()
    if not reviewer:
        raise ReviewInputError("enter your name (sidebar, 'Reviewer') before adding a note")
    if not text:
        raise ReviewInputError("the note is empty")
    cat = _catalog_api(folder, "add_note")
    if cat is not None:
        try:
            cat.add_note(call_key, reviewer, text, start=start)
        finally:
            cat.close()
        return
    with connect(folder, write=True) as con, con:
        con.execute(
            "INSERT INTO notes(call_key, at, reviewer, text, start) VALUES (?, ?, ?, ?, ?)",
            (call_key, _now(), reviewer, text, start),
        )


def add_override(folder: str | Path, call_key: str, score: str, value: float, reason: str, reviewer: str) -> None:
    """Store a reviewer's override of a score; the computed score stays as it is.

    Raises
    ------
    ReviewInputError
        Without a reviewer name or reason, for an unknown score, or a value outside 0-100.
    """
    reviewer, reason = (reviewer or "").strip(), (reason or "").strip()
    if not reviewer:
        raise ReviewInputError("enter your name (sidebar, 'Reviewer') before overriding a score")
    if not reason:
        raise ReviewInputError("say why you override the score (the reason is stored with it)")
    if score not in SCORES:
        raise ReviewInputError(f"unknown score {score!r}")
    if not 0 <= float(value) <= 100:
        raise ReviewInputError("an override is a score from 0 to 100")
    cat = _catalog_api(folder, "add_override")
    if cat is not None:
        try:
            cat.add_override(call_key, score, float(value), reason, reviewer)
        finally:
            cat.close()
        return
    with connect(folder, write=True) as con, con:
        con.execute(
            "INSERT INTO overrides(call_key, score, value, reason, reviewer, at) VALUES (?, ?, ?, ?, ?, ?)",
            (call_key, score, float(value), reason, reviewer, _now()),
        )


# --------------------------------------------------------------------------------------
# Coaching and team views
# --------------------------------------------------------------------------------------


def _with_week(df: pd.DataFrame) -> pd.DataFrame:
    when = pd.to_datetime(df["started"], errors="coerce", utc=True)
    df["date"] = when.dt.tz_localize(None)
    df["week"] = (when.dt.tz_localize(None) - pd.to_timedelta(when.dt.day_of_week, unit="D")).dt.normalize()
    return df


@st.cache_data(show_spinner=False, max_entries=16)
def score_table(
    folder: str, token: tuple, teams: tuple[str, ...] = (), date_from: str | None = None, date_to: str | None = None
) -> pd.DataFrame:
    """Scores of every call (optionally of some teams / dates), with ``date`` and ``week`` columns."""
    filters = CallFilters(teams=teams, date_from=date_from, date_to=date_to)
    where, params, _ = _where(filters)
    sql = (
        "SELECT c.call_key, c.call_id, COALESCE(c.started_at, c.analysed_at) AS started, c.agent, c.team, c.duration, "
        "c.calm_tone, c.active_listening, c.empathy, c.deescalation, c.interruptions, c.raised_voice, c.dead_air, "
        f"c.escalation_asked FROM calls c{where}"
    )
    with connect(folder) as con:
        df = _df(con, sql, params)
    return _with_week(df)


@st.cache_data(show_spinner=False, max_entries=32)
def component_means(folder: str, token: tuple, agent: str | None, team: str | None, last_calls: int = 20) -> pd.DataFrame:
    """Mean sub-score per component: the agent's recent calls next to their team's (or everyone's).

    Returns
    -------
    DataFrame
        score, component, agent_mean, agent_n, team_mean, team_n.
    """
    with connect(folder) as con:
        agent_df = _df(
            con,
            "SELECT k.score, k.component, AVG(k.sub_score) AS agent_mean, COUNT(k.sub_score) AS agent_n FROM components k"
            " WHERE k.call_key IN (SELECT call_key FROM calls WHERE agent = ?"
            " ORDER BY COALESCE(started_at, analysed_at) DESC LIMIT ?) GROUP BY k.score, k.component",
            (agent, last_calls),
        )
        if team:
            team_df = _df(
                con,
                "SELECT k.score, k.component, AVG(k.sub_score) AS team_mean, COUNT(k.sub_score) AS team_n FROM components k"
                " JOIN calls c ON c.call_key = k.call_key WHERE c.team = ? GROUP BY k.score, k.component",
                (team,),
            )
        else:
            team_df = _df(
                con,
                "SELECT score, component, AVG(sub_score) AS team_mean, COUNT(sub_score) AS team_n FROM components"
                " GROUP BY score, component",
            )
    if agent_df.empty:
        return agent_df.assign(team_mean=[], team_n=[])
    return agent_df.merge(team_df, on=["score", "component"], how="left")


@st.cache_data(show_spinner=False, max_entries=32)
def agent_moments(folder: str, token: tuple, agent: str, last_calls: int = 20, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The agent's best and worst evidence moments across their recent calls.

    Only the agent's own moments count (what the customer said is not the agent's to coach).
    Best: moments that helped a score, from the components where the agent scored highest;
    worst: moments that hurt a score, from the components where they scored lowest.
    Ties go to the component's weight, then to the most recent call. At most one
    moment per call and component, so one bad call does not fill the list.

    Returns
    -------
    (best, worst) : DataFrames
        call_key, call_id, started, score, component, start, end, speaker, role, quote, why, effect, sub_score, weight.
    """
    base = (
        "SELECT e.call_key, c.call_id, COALESCE(c.started_at, c.analysed_at) AS started, e.score, e.component,"
        ' e.start, e."end" AS "end", e.speaker, e.role, e.quote, e.why, e.effect, k.sub_score, k.weight'
        " FROM evidence e JOIN calls c ON c.call_key = e.call_key"
        " LEFT JOIN components k ON k.call_key = e.call_key AND k.score = e.score AND k.component = e.component"
        " WHERE e.call_key IN (SELECT call_key FROM calls WHERE agent = ?"
        " ORDER BY COALESCE(started_at, analysed_at) DESC LIMIT ?) AND e.effect = ?"
        " AND COALESCE(e.role, 'agent') = 'agent'"
    )
    with connect(folder) as con:
        best = _df(con, base + " ORDER BY k.sub_score DESC, k.weight DESC, started DESC, e.start", (agent, last_calls, "positive"))
        worst = _df(con, base + " ORDER BY k.sub_score ASC, k.weight DESC, started DESC, e.start", (agent, last_calls, "negative"))
    best = best.drop_duplicates(["call_key", "score", "component"]).head(n).reset_index(drop=True)
    worst = worst.drop_duplicates(["call_key", "score", "component"]).head(n).reset_index(drop=True)
    return best, worst


def weekly_medians(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Median of each score per week (and per ``by`` column), long format: week, [by], score, median, calls."""
    keys = ["week"] + ([by] if by else [])
    long = df.melt(id_vars=keys, value_vars=list(SCORES), var_name="score", value_name="value").dropna(subset=["value"])
    if long.empty:
        return pd.DataFrame(columns=keys + ["score", "median", "calls"])
    out = long.groupby(keys + ["score"], as_index=False).agg(median=("value", "median"), calls=("value", "size"))
    return out
