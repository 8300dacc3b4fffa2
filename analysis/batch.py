"""Batch analysis of call archives: inputs, result keys, the local engine and the driver.

``run_batch(inputs, out_dir, config)`` analyses every recording it finds and
leaves, in ``out_dir``:

* ``<call_id>.json`` per call, written atomically (temporary file renamed);
* ``catalog.sqlite`` (:mod:`analysis.catalog`), updated in one transaction per call;
* ``.callreview-batch.lock``, held while a batch writes the folder.

A call is done when its JSON is in place *and* the catalog has its row. A call
is identified by the SHA-256 of its audio plus the hash of everything that
shapes its result (configuration, rubric content, tool version): a re-run skips
calls already done with the same settings, re-analyses those whose settings
changed, and re-indexes (without analysing) a call whose JSON is there but whose
catalog row is not (the process was killed between the two).

Work runs in an *engine*: :class:`LocalEngine` (worker processes here, each
loading its models once) or :class:`analysis.ray_engine.RayEngine`. Engines
only turn :class:`WorkItem` into :class:`WorkResult`; this module's driver does
the planning, writing and bookkeeping, so failures and resumption behave the
same whichever engine ran the calls.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import logging
import multiprocessing as mp
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from . import __version__
from .audio import file_sha256
from .catalog import Catalog, utc_now
from .config import BatchConfig, Config
from .errors import (
    BatchInputError,
    BatchLockedError,
    CallReviewError,
    CatalogError,
    ConfigError,
    ModelUnavailableError,
    OutputError,
    SchemaError,
)
from .output import write_atomic, write_problem
from .records import SCHEMA_VERSION, CallReport, load_report
from .roots import absolute_roots, glob_root, within_any

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".mp4", ".wma", ".aif", ".aiff"})
"""File types a folder or glob input picks up (the same as ``callreview analyze``)."""

LOCK_FILE = ".callreview-batch.lock"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")

# --------------------------------------------------------------------------------------
# Inputs: folders, globs, manifest CSVs, file-name patterns
# --------------------------------------------------------------------------------------

MANIFEST_COLUMNS = ("path", "call_id", "agent", "team", "started_at", "agent_channel", "language")
PATTERN_FIELDS = ("call_id", "agent", "team", "date", "time", "started_at", "agent_channel", "language")
_FIELD_REGEX = {
    "date": r"\d{4}[-_.]?\d{2}[-_.]?\d{2}",
    "time": r"\d{2}[-_.:h]?\d{2}(?:[-_.:m]?\d{2})?",
    "agent_channel": r"left|right|auto",
}


@dataclass(frozen=True)
class CallMeta:
    """What is known about a call besides its audio (manifest columns, file-name fields).

    ``agent_channel`` and ``language`` shape the analysis; the others are labels.
    """

    call_id: str | None = None
    agent: str | None = None
    team: str | None = None
    started_at: str | None = None
    agent_channel: str | None = None
    language: str | None = None

    def over(self, base: "CallMeta") -> "CallMeta":
        """This metadata with ``base`` filling the fields this one lacks."""
        return CallMeta(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None else getattr(base, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    def config_overrides(self) -> dict[str, Any]:
        """Dotted configuration keys this call sets (``language = auto`` means: detect it)."""
        out: dict[str, Any] = {}
        if self.agent_channel:
            out["roles.agent_channel"] = self.agent_channel
        if self.language:
            out["asr.language"] = None if self.language.lower() == "auto" else self.language
        return out


@dataclass(frozen=True)
class CallInput:
    """One recording to analyse: its path (absolute) and metadata, and where it was listed.

    ``refused`` holds the reason when the path may not be read (it resolves
    outside the archive roots, see :mod:`analysis.roots`); the batch records
    such an input as failed without opening it.
    """

    path: str
    meta: CallMeta = field(default_factory=CallMeta)
    origin: str = ""
    refused: str | None = None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _started_at(date: str | None, time_: str | None) -> str | None:
    """``20240105`` + ``1432`` -> ``2024-01-05T14:32``; None when there is no date."""
    if not date:
        return None
    d = re.sub(r"\D", "", date)
    out = f"{d[:4]}-{d[4:6]}-{d[6:8]}"
    try:
        datetime.strptime(out, "%Y-%m-%d")
    except ValueError:
        log.warning("date %r in a file name is not a calendar date; kept as written", date)
        return date
    if time_:
        t = re.sub(r"\D", "", time_)
        out += f"T{t[:2]}:{t[2:4]}" + (f":{t[4:6]}" if len(t) >= 6 else "")
    return out


class NamePattern:
    """Metadata from file names, e.g. ``{agent}_{date}_{call_id}.wav``.

    Fields are ``{call_id}``, ``{agent}``, ``{team}``, ``{date}`` (``20240105``,
    ``2024-01-05``), ``{time}`` (``1432``, ``14-32-05``), ``{started_at}``,
    ``{agent_channel}`` (left/right/auto), ``{language}``; ``{*}`` matches
    anything and is not kept. A pattern with ``/`` matches that many trailing
    folders too (``{team}/{agent}/{*}.wav``). A pattern ending in a field
    (``{agent}_{call_id}``) also matches names with any extension.

    Parameters
    ----------
    pattern : str

    Raises
    ------
    BatchInputError
        Unknown or repeated field, or an unbalanced brace.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        regex = ""
        seen: set[str] = set()
        for part in re.split(r"(\{[^{}]*\})", pattern):
            if part.startswith("{") and part.endswith("}"):
                name = part[1:-1].strip()
                if name == "*":
                    regex += r"[^/]*?"
                    continue
                if name not in PATTERN_FIELDS:
                    raise BatchInputError(
                        f"name pattern {pattern!r}: unknown field {{{name}}}; use {', '.join('{' + f + '}' for f in PATTERN_FIELDS)} or {{*}}"
                    )
                if name in seen:
                    raise BatchInputError(f"name pattern {pattern!r}: field {{{name}}} appears twice; use it once")
                seen.add(name)
                regex += f"(?P<{name}>{_FIELD_REGEX.get(name, r'[^/]+?')})"
            else:
                if "{" in part or "}" in part:
                    raise BatchInputError(f"name pattern {pattern!r}: unbalanced brace; write fields as {{agent}}")
                regex += re.escape(part)
        if not seen:
            raise BatchInputError(f"name pattern {pattern!r} has no field; e.g. '{{agent}}_{{date}}_{{call_id}}.wav'")
        self.regex = re.compile(regex, re.IGNORECASE)
        self.depth = pattern.count("/") + 1
        self.strip_suffix = pattern.endswith("}")

    def match(self, path: str | Path) -> CallMeta | None:
        """The metadata in ``path``'s name, or None when the name does not fit the pattern."""
        parts = list(Path(path).parts[-self.depth :])
        m = self.regex.fullmatch("/".join(parts))
        if m is None and self.strip_suffix:
            parts[-1] = Path(parts[-1]).stem
            m = self.regex.fullmatch("/".join(parts))
        if m is None:
            return None
        g = {k: _clean(v) for k, v in m.groupdict().items()}
        started = g.get("started_at") or _started_at(g.get("date"), g.get("time"))
        return CallMeta(
            call_id=g.get("call_id"),
            agent=g.get("agent"),
            team=g.get("team"),
            started_at=started,
            agent_channel=(g.get("agent_channel") or "").lower() or None,
            language=g.get("language"),
        )


ARCHIVE_ROOT_HINT = "move the file under that folder, or allow its folder with --archive-root DIR ([batch] archive_roots)"


def read_manifest(path: str | Path, archive_roots: Sequence[str | Path] = ()) -> list[CallInput]:
    """Read a manifest CSV: a ``path`` column plus optional ``call_id, agent, team, started_at, agent_channel, language``.

    Comma, semicolon and tab separators are recognised; relative paths are taken
    from the manifest's folder; blank rows are skipped; other columns are ignored.

    A path must lead (after ``..`` and symbolic links are resolved) under the
    manifest's folder or one of ``archive_roots``; a row that leads elsewhere
    (``../../etc/passwd``, ``/home/someone/x.wav``) comes back with ``refused``
    set to a one-line reason, and is never opened.

    Parameters
    ----------
    path : str or Path
        The manifest.
    archive_roots : sequence of path
        Absolute folders rows may also name files under.

    Raises
    ------
    BatchInputError
        Unreadable file, no ``path`` column, or a bad value (the message names the line).
    """
    mpath = Path(path)
    try:
        text = mpath.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BatchInputError(f"{mpath}: cannot read the manifest ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise BatchInputError(f"{mpath}: the manifest is not UTF-8 text; save it as CSV UTF-8") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first.count) if first else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if "path" not in header:
        raise BatchInputError(
            f"{mpath}: the manifest has no 'path' column (columns: {', '.join(header) or 'none'}); "
            "its first row must name the columns, e.g. path,call_id,agent,team,started_at"
        )
    extra = [h for h in header if h not in MANIFEST_COLUMNS]
    if extra:
        log.info("%s: columns ignored: %s", mpath, ", ".join(extra))
    reader.fieldnames = header
    out: list[CallInput] = []
    for row in reader:
        line = reader.line_num
        values = {k: _clean(row.get(k)) for k in MANIFEST_COLUMNS}
        if not any(_clean(v) for v in row.values() if isinstance(v, str)):
            continue
        if values["path"] is None:
            raise BatchInputError(f"{mpath}: line {line}: the path is empty; give every row a file path")
        chan = (values["agent_channel"] or "").lower() or None
        if chan not in (None, "left", "right", "auto"):
            raise BatchInputError(f"{mpath}: line {line}: agent_channel {values['agent_channel']!r} must be left, right or auto")
        p = Path(values["path"]).expanduser()
        if not p.is_absolute():
            p = mpath.parent / p
        meta = CallMeta(
            call_id=values["call_id"], agent=values["agent"], team=values["team"], started_at=values["started_at"],
            agent_channel=chan, language=values["language"],
        )
        home = os.path.abspath(mpath.parent)
        refused = None
        if not within_any(p, [home, *archive_roots]):
            resolved = os.path.realpath(p)
            refused = (
                f"{mpath}: line {line}: path {values['path']!r} is outside the manifest's folder {home} "
                f"and the archive roots (it resolves to {resolved}); {ARCHIVE_ROOT_HINT}"
            )
        out.append(CallInput(os.path.abspath(p), meta, f"{mpath}:{line}", refused))
    return out


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES and not any(p.startswith(".") for p in f.relative_to(folder).parts)
    )


def discover(
    items: Sequence[str],
    pattern: NamePattern | None = None,
    exclude: str | Path | None = None,
    archive_roots: Sequence[str | Path] = (),
) -> list[CallInput]:
    """Expand batch inputs into recordings, in order, each path once.

    Parameters
    ----------
    items : sequence of str
        Folders (searched recursively for audio files), globs (``calls/**/*.wav``),
        manifest CSVs (``*.csv``) or single files. A file that does not exist is kept
        (it is reported as failed, not silently dropped).
    pattern : NamePattern, optional
        Metadata from file names; manifest columns take precedence over it.
    exclude : str or Path, optional
        A folder whose files are never inputs (the batch's own output folder).
    archive_roots : sequence of path
        Absolute folders any input may name files under (see :mod:`analysis.roots`).
        A file found in a folder or by a glob that resolves (through a symbolic
        link) outside its input's folder and these roots, or a manifest row
        leading outside the manifest's folder and these roots, is returned with
        ``refused`` set; it is not opened.

    Returns
    -------
    list of CallInput

    Raises
    ------
    BatchInputError
        A manifest is invalid.
    """
    out: list[CallInput] = []
    seen: set[str] = set()
    skip_under = os.path.join(os.path.abspath(exclude), "") if exclude is not None else None

    def add(p: str | Path, meta: CallMeta, origin: str, root: str | None = None, refused: str | None = None) -> None:
        ap = os.path.abspath(p)
        if ap in seen or (skip_under and ap.startswith(skip_under) and origin != "argument"):
            return
        seen.add(ap)
        if refused is None and root is not None and not within_any(ap, [root, *archive_roots]):
            refused = (
                f"{ap}: a link to {os.path.realpath(ap)}, outside the input folder {root} and the archive roots; "
                "give that file's folder as an input, or allow it with --archive-root DIR"
            )
        if refused is not None:
            out.append(CallInput(ap, meta, origin, refused))
            return
        if pattern is not None:
            found = pattern.match(ap)
            if found is None:
                log.info("%s: name does not fit the pattern %r; no metadata from it", ap, pattern.pattern)
            else:
                meta = meta.over(found)
        out.append(CallInput(ap, meta, origin))

    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            files = _audio_files(p)
            if not files:
                log.warning("%s: no audio files in this folder", item)
            for f in files:
                add(f, CallMeta(), f"folder {item}", root=os.path.abspath(p))
        elif p.suffix.lower() == ".csv":
            if not p.is_file():
                raise BatchInputError(f"{item}: manifest not found; check the path")
            for ci in read_manifest(p, archive_roots):
                add(ci.path, ci.meta, ci.origin, refused=ci.refused)
        elif any(ch in item for ch in "*?[") and not p.exists():
            matches = sorted(glob.glob(str(p), recursive=True))
            files: list[Path] = []
            for m in matches:
                mp_ = Path(m)
                if mp_.is_dir():
                    files.extend(_audio_files(mp_))
                elif mp_.is_file() and mp_.suffix.lower() in AUDIO_SUFFIXES:
                    files.append(mp_)
            if not files:
                log.warning("%s: no audio files match this pattern", item)
            root = glob_root(str(p))
            for f in files:
                add(f, CallMeta(), f"glob {item}", root=root)
        else:
            add(p, CallMeta(), "argument")
    return out


# --------------------------------------------------------------------------------------
# Keys: what a call's result depends on
# --------------------------------------------------------------------------------------

def _normalised_config(data: dict[str, Any]) -> dict[str, Any]:
    """The settings that shape a result: batch settings, ASR thread count and the rubric *path* left out."""
    d = json.loads(json.dumps(data))
    d.pop("batch", None)
    if isinstance(d.get("asr"), dict):
        d["asr"].pop("cpu_threads", None)
    if isinstance(d.get("scoring"), dict):
        d["scoring"].pop("rubric", None)  # its content is keyed by the rubric's SHA-256
    return d


def result_key(
    config: dict[str, Any],
    rubric_sha256: str | None,
    tool_version: str,
    classifier_sha256: str | None = None,
    repetition_sha256: str | None = None,
) -> str:
    """SHA-256 (hex) of everything that shapes a call's result.

    Parameters
    ----------
    config : dict
        The configuration as a mapping (``Config.to_dict()``, or a report's ``call.config``).
    rubric_sha256 : str or None
        SHA-256 of the rubric file's bytes; None when scoring is off.
    tool_version : str
    classifier_sha256 : str or None
        SHA-256 of the cue classifier file the rubric uses; None when there is none.
    repetition_sha256 : str or None
        SHA-256 of the customer-repetition model file the rubric uses; None when there is none.
    """
    material = {
        "config": _normalised_config(config),
        "rubric_sha256": rubric_sha256,
        "tool_version": tool_version,
        "report_schema": SCHEMA_VERSION.split(".")[0],
    }
    if classifier_sha256:  # keys of results made without a classifier stay as they were
        material["classifier_sha256"] = classifier_sha256
    if repetition_sha256:
        material["repetition_sha256"] = repetition_sha256
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def report_result_key(report: CallReport) -> str:
    """The :func:`result_key` a report was made with (from its recorded config, rubric and version)."""
    rubric = getattr(report.call, "rubric", None)
    return result_key(report.call.config, rubric.sha256 if rubric else None, report.call.tool_version,
                      getattr(rubric, "classifier_sha256", None) if rubric else None,
                      getattr(rubric, "repetition_model_sha256", None) if rubric else None)


def make_call_key(audio_sha256: str, key: str) -> str:
    """The catalog's call key: ``sha256(audio)[:16]-result_key[:16]``."""
    return f"{audio_sha256[:16]}-{key[:16]}"


def rubric_identity(config: Config) -> dict[str, str] | None:
    """Name, version, SHA-256 and path of the rubric the configuration scores with; None when scoring is off.

    Raises
    ------
    RubricError
        The rubric file is missing or invalid.
    """
    scoring = config.scoring
    if not getattr(scoring, "enabled", True):
        return None
    from .rubric import load_rubric

    r = load_rubric(getattr(scoring, "rubric", None))
    out = {"name": r.name, "version": r.version, "sha256": r.sha256, "source": r.source}
    if getattr(scoring, "semantic", True):
        from .scoring import model_identities

        out.update({k: v for k, v in model_identities(r).items() if k.endswith("_sha256") and v})
    return out


def call_config(base: Config, meta: CallMeta) -> Config:
    """The configuration of one call: ``base`` with the call's ``agent_channel`` and ``language``."""
    overrides = meta.config_overrides()
    if not overrides:
        return base
    data = base.model_dump()
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        data[section][key] = value
    return Config.from_dict(data, source="call metadata")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_call_id(text: str) -> str:
    """A call id usable as a file name (unsafe characters replaced by ``_``)."""
    return _UNSAFE.sub("_", text).strip("._") or "call"


# --------------------------------------------------------------------------------------
# Work: what an engine runs (in worker processes or Ray tasks)
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkItem:
    """One call to analyse: the file, its call id, its audio hash and its whole configuration (JSON)."""

    path: str
    call_id: str
    audio_sha256: str
    config_json: str


@dataclass
class WorkResult:
    """What analysing one :class:`WorkItem` gave: the report's JSON, or why it failed.

    ``fatal`` marks errors that are not the file's fault (the model cannot be
    loaded): the batch stops instead of recording every call as failed.
    """

    path: str
    audio_sha256: str
    ok: bool
    report_json: str | None = None
    error: str | None = None
    reason: str = ""
    detail: str = ""
    fatal: bool = False
    seconds: float = 0.0
    duration: float = 0.0
    worker: str = ""


_ANALYZERS: dict[str, Any] = {}
_ANALYZER_LIMIT = 4
_THREADS_SET: int | None = None


def configure_threads(threads: int) -> None:
    """Limit this process's numeric libraries to ``threads`` threads (once per process)."""
    global _THREADS_SET
    if threads <= 0 or _THREADS_SET == threads:
        return
    for var in THREAD_VARS:  # read by torch, numpy's BLAS and onnxruntime when they start
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")  # not imported here: a pipeline that never needs torch should not pay for it
    if torch is not None:
        torch.set_num_threads(threads)
    _THREADS_SET = threads


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(3)  # the driver is gone (killed): stop instead of finishing work nobody will collect


def worker_init(threads: int, parent_pid: int | None = None) -> None:
    """Initializer of a local worker process: Ctrl-C is the driver's job, threads limited, exits with its driver."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_threads(threads)
    try:  # tqdm (model downloads, progress) would make a named multiprocessing lock a stopped worker leaks; threads suffice here
        from tqdm.std import TqdmDefaultWriteLock

        TqdmDefaultWriteLock.mp_lock = None
    except ImportError:  # pragma: no cover - tqdm comes with faster-whisper
        pass
    if parent_pid:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="callreview-parent-watch").start()


def _analyzer(config_json: str):
    from .pipeline import Analyzer

    a = _ANALYZERS.get(config_json)
    if a is None:
        if len(_ANALYZERS) >= _ANALYZER_LIMIT:
            _ANALYZERS.pop(next(iter(_ANALYZERS)))
        cfg = Config.model_validate_json(config_json)
        configure_threads(cfg.asr.cpu_threads)
        a = _ANALYZERS[config_json] = Analyzer(cfg)
    return a


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def analyse_item(item: WorkItem, audio: bytes | None = None) -> WorkResult:
    """Analyse one call in this process (models loaded on first use and kept).

    Parameters
    ----------
    item : WorkItem
    audio : bytes, optional
        The file's content, when the driver sends it (Ray without shared storage);
        it is analysed from a temporary copy and the report names ``item.path``.

    Returns
    -------
    WorkResult
        Never raises for a bad file: the error is in the result.
    """
    from .records import dump_report

    t0 = time.perf_counter()
    who = f"{socket.gethostname()}:{os.getpid()}"
    res = WorkResult(path=item.path, audio_sha256=item.audio_sha256, ok=False, worker=who)
    try:
        analyzer = _analyzer(item.config_json)
    except CallReviewError as exc:
        res.fatal, res.error, res.reason, res.detail = True, type(exc).__name__, str(exc), traceback.format_exc()
        return res
    tmpdir = None
    try:
        src: str | Path = item.path
        if audio is not None:
            tmpdir = tempfile.mkdtemp(prefix="callreview-")
            src = Path(tmpdir) / Path(item.path).name
            src.write_bytes(audio)
        report = analyzer.analyze(src, call_id=item.call_id)
        if audio is not None:
            report.call.source = item.path
        res.ok = True
        res.report_json = dump_report(report)
        res.duration = report.call.duration
    except ModelUnavailableError as exc:
        res.fatal, res.error, res.reason, res.detail = True, type(exc).__name__, str(exc), traceback.format_exc()
    except CallReviewError as exc:
        res.error, res.reason, res.detail = type(exc).__name__, str(exc), traceback.format_exc()
    except Exception as exc:  # noqa: BLE001 - a bug must fail one call, not the batch
        res.error = type(exc).__name__
        res.reason = f"{item.path}: unexpected {type(exc).__name__}: {_one_line(exc)} (a callreview bug: please report it with the detail from `callreview failures DIR --detail`)"
        res.detail = traceback.format_exc()
    finally:
        if tmpdir is not None:
            if not res.ok:
                res.reason = res.reason.replace(str(src), item.path)
            import shutil

            shutil.rmtree(tmpdir, ignore_errors=True)
    res.seconds = time.perf_counter() - t0
    return res


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_threads(workers: int) -> int:
    """ASR/numeric threads per local worker: the cores split between the workers."""
    return max(1, cpu_count() // max(1, workers))


class Engine(Protocol):
    """Runs :class:`WorkItem` s and hands back :class:`WorkResult` s as they finish."""

    name: str

    @property
    def in_flight(self) -> int: ...

    def has_room(self) -> bool: ...

    def submit(self, item: WorkItem) -> None: ...

    def wait(self) -> WorkResult: ...

    def close(self, kill: bool = False) -> None: ...


class LocalEngine:
    """Worker processes on this machine (``spawn``), each loading its models once.

    A worker that dies (killed, out of memory, a crash in a decoder) takes the
    calls it and its siblings were running with it; those are run again one at a
    time, and a call whose worker dies while it runs alone is failed.

    Parameters
    ----------
    workers : int
    threads : int
        Numeric threads per worker.
    """

    name = "local"

    def __init__(self, workers: int, threads: int) -> None:
        self.workers = max(1, workers)
        self.threads = threads
        self._ctx = mp.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future, tuple[WorkItem, int]] = {}
        self._retry: deque[tuple[WorkItem, int]] = deque()
        self._ready: deque[WorkResult] = deque()
        self._isolated = False

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=self._ctx, initializer=worker_init, initargs=(self.threads, os.getpid())
            )
        return self._pool

    @property
    def in_flight(self) -> int:
        return len(self._futures) + len(self._retry) + len(self._ready)

    def has_room(self) -> bool:
        return not self._retry and not self._isolated and not self._ready and len(self._futures) < self.workers + 1

    def submit(self, item: WorkItem) -> None:
        self._submit(item, 1)

    def _submit(self, item: WorkItem, attempt: int) -> None:
        try:
            fut = self._ensure_pool().submit(analyse_item, item)
        except BrokenProcessPool:
            self._restart()
            fut = self._ensure_pool().submit(analyse_item, item)
        self._futures[fut] = (item, attempt)

    def _restart(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def wait(self) -> WorkResult:
        while True:
            if self._ready:
                return self._ready.popleft()
            if not self._futures and self._retry:
                item, attempt = self._retry.popleft()
                self._isolated = True
                self._submit(item, attempt)
            if not self._futures:
                raise RuntimeError("LocalEngine.wait() with nothing in flight")
            done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
            fut = next(iter(done))
            item, attempt = self._futures.pop(fut)
            try:
                result = fut.result()
            except BrokenProcessPool:
                lost = [(item, attempt)] + [self._futures.pop(f) for f in list(self._futures)]
                self._restart()
                if len(lost) == 1 and attempt > 1:
                    self._isolated = False
                    self._ready.append(
                        WorkResult(
                            path=item.path, audio_sha256=item.audio_sha256, ok=False, error="WorkerDied",
                            reason=f"{item.path}: the worker process analysing it died (killed, out of memory, or a crash in a decoder), "
                            "also when it ran alone; check the file plays, or convert it to WAV",
                        )
                    )
                else:
                    log.warning("a worker process died; re-running its %d call(s) one at a time", len(lost))
                    self._retry.extend((it, att + 1) for it, att in lost)
                continue
            if attempt > 1:
                self._isolated = False
            return result

    def close(self, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            procs = list(getattr(pool, "_processes", {}).values())  # no public API to stop running workers (3.11)
            for p in procs:
                p.terminate()
            for p in procs:
                p.join(timeout=5)
            pool.shutdown(wait=True, cancel_futures=True)  # quick now: lets the executor release its queues
        else:
            pool.shutdown(wait=True)
        self._futures.clear()
        self._retry.clear()


# --------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------

Status = Literal["done", "skipped", "failed"]


@dataclass
class CallOutcome:
    """What happened to one input file in a batch run."""

    path: str
    status: Status
    call_id: str | None = None
    reason: str = ""
    duration: float | None = None
    seconds: float | None = None
    report: str | None = None
    audio_sha256: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``--json-progress`` line."""
        return {
            "call_id": self.call_id,
            "path": self.path,
            "status": self.status,
            "duration": self.duration,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "reason": self.reason,
            "report": self.report,
            "audio_sha256": self.audio_sha256,
        }


@dataclass
class BatchSummary:
    """Counts and failures of one batch run."""

    run_id: str
    out_dir: Path
    engine: str
    workers: int
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    status: str = "running"
    failures: list[CallOutcome] = field(default_factory=list)
    removed_partial: int = 0

    @property
    def processed(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def not_started(self) -> int:
        return max(0, self.total - self.processed)


class BatchObserver(Protocol):
    """Told about a batch as it runs (progress bars, log lines)."""

    def start(self, summary: BatchSummary) -> None: ...

    def outcome(self, outcome: CallOutcome, summary: BatchSummary) -> None: ...


class _Quiet:
    def start(self, summary: BatchSummary) -> None:
        pass

    def outcome(self, outcome: CallOutcome, summary: BatchSummary) -> None:
        pass


class FolderLock:
    """An exclusive ``flock`` on ``DIR/.callreview-batch.lock`` while a batch writes DIR.

    Raises
    ------
    BatchLockedError
        Another process holds it (the message says which).
    OutputError
        The folder cannot be created.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        import fcntl

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot write results there ({write_problem(exc)}); choose another --out folder") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown process"
            finally:
                os.close(fd)
            raise BatchLockedError(
                f"{self.folder}: another callreview batch is writing this folder ({holder}); wait for it to finish or use another --out folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {utc_now()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


_PARTIAL = re.compile(r"^\..+\.tmp$")


def remove_partial_files(folder: Path) -> int:
    """Delete temporary files a killed run left in ``folder`` (``.NAME.xxxx.tmp``); returns how many."""
    n = 0
    for p in folder.iterdir() if folder.is_dir() else ():
        if p.is_file() and _PARTIAL.match(p.name):
            try:
                p.unlink()
                n += 1
            except OSError as exc:
                log.warning("%s: cannot remove a partial file (%s)", p, exc)
    return n


@dataclass
class _Group:
    """A call in flight and the other names its audio was found under."""

    primary: CallInput
    call_id: str
    call_key: str
    aliases: list[CallInput] = field(default_factory=list)


class _Driver:
    def __init__(self, inputs: list[CallInput], out: Path, config: Config, catalog: Catalog, summary: BatchSummary,
                 rubric: dict[str, str] | None, force: bool, limit: int | None, fail_fast: bool, observer: BatchObserver,
                 engine_factory) -> None:
        self.inputs = inputs
        self.out = out
        self.config = config
        self.cat = catalog
        self.s = summary
        self.rubric_sha = rubric["sha256"] if rubric else None
        self.classifier_sha = rubric.get("classifier_sha256") if rubric else None
        self.repetition_sha = rubric.get("repetition_model_sha256") if rubric else None
        self.force = force
        self.limit = limit
        self.fail_fast = fail_fast
        self.observer = observer
        self.engine_factory = engine_factory
        self.engine: Engine | None = None
        self.threads = 1
        self.groups: dict[str, _Group] = {}
        self.handled: dict[str, tuple[str, str, str]] = {}  # sha -> (status, call_key or reason, primary path)
        self.claimed: dict[str, str] = {}  # call_id -> sha, this run
        self.stop = False

    # -- outcomes --

    def _emit(self, o: CallOutcome) -> None:
        if o.status == "done":
            self.s.done += 1
            self.s.audio_seconds += o.duration or 0.0
        elif o.status == "skipped":
            self.s.skipped += 1
        else:
            self.s.failed += 1
            self.s.failures.append(o)
        self.observer.outcome(o, self.s)

    def _fail(self, inp: CallInput, reason: str, detail: str = "", error: str | None = None, sha: str | None = None,
              call_id: str | None = None, seconds: float | None = None) -> None:
        self.cat.record_failure(inp.path, reason, detail, run_id=self.s.run_id, audio_sha256=sha, call_id=call_id, error=error)
        self._emit(CallOutcome(inp.path, "failed", call_id, reason, seconds=seconds, audio_sha256=sha))
        if self.fail_fast:
            self.stop = True

    # -- planning --

    def _hash(self, inp: CallInput) -> str | None:
        path = inp.path
        try:
            st = os.stat(path)
            if not os.path.isfile(path):
                self._fail(inp, f"{path}: not a file (a folder or device); give audio files or folders of them", error="AudioError")
                return None
            sha = None if self.force else self.cat.cached_hash(path, st.st_size, st.st_mtime_ns)
            if sha is None:
                sha = file_sha256(path)
                self.cat.remember_hash(path, st.st_size, st.st_mtime_ns, sha)
            return sha
        except FileNotFoundError:
            self._fail(inp, f"{path}: file not found (moved or deleted? listed by {inp.origin})", error="AudioError")
        except PermissionError:
            self._fail(inp, f"{path}: permission denied; make the file readable for this user", error="AudioError")
        except OSError as exc:
            self._fail(inp, f"{path}: cannot read ({exc.strerror or exc})", error="AudioError")
        return None

    def _new_call_id(self, inp: CallInput, sha: str) -> str:
        from .pipeline import call_id_for

        wanted = safe_call_id(inp.meta.call_id) if inp.meta.call_id else call_id_for(inp.path)
        owner = self.claimed.get(wanted) or self.cat.call_id_owner(wanted) or self._json_owner(wanted)
        if owner is None or owner == sha:
            return wanted
        log.warning("%s: call id %r is taken by another recording; using %r", inp.path, wanted, f"{wanted}-{sha[:8]}")
        return f"{wanted}-{sha[:8]}"

    def _json_owner(self, call_id: str) -> str | None:
        """The audio hash named by an existing ``<call_id>.json`` the catalog does not know."""
        p = self.out / f"{call_id}.json"
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_bytes())["call"]["source_sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _try_reindex(self, inp: CallInput, sha: str, key: str, ck: str, call_id: str, report_rel: str | None) -> bool:
        for rel in dict.fromkeys(r for r in (report_rel, f"{call_id}.json") if r):
            p = self.out / rel
            if not p.is_file():
                continue
            try:
                report = load_report(p.read_bytes(), source=str(p))
            except (OSError, SchemaError) as exc:
                log.info("%s: existing report not usable (%s); analysing again", p, exc)
                continue
            if report.call.source_sha256 != sha or report_result_key(report) != key:
                continue
            self.cat.upsert_call(report, rel, inp.meta.as_dict(), ck, [inp.path], run_id=self.s.run_id, count_as=None)
            self.handled[sha] = ("skipped", ck, inp.path)
            self._emit(CallOutcome(inp.path, "skipped", report.call.call_id, "report already in the folder; catalog updated from it",
                                   duration=report.call.duration, report=str(p), audio_sha256=sha))
            return True
        return False

    def _alias(self, inp: CallInput, sha: str) -> None:
        status, ref, primary = self.handled[sha]
        if status == "failed":
            self._fail(inp, f"{inp.path}: same audio as {primary}, which failed: {ref}", sha=sha, error="SameAudio")
            return
        self.cat.add_names(ref, [inp.path])
        row = self.cat.call(ref)
        self._emit(CallOutcome(inp.path, "skipped", row["call_id"] if row else None, f"same audio as {primary}",
                               duration=row["duration"] if row else None, report=str(self.out / row["report_path"]) if row else None,
                               audio_sha256=sha))

    def _plan(self, inp: CallInput) -> WorkItem | None:
        if inp.refused:
            self._fail(inp, inp.refused, error="PathOutsideRootsError")
            return None
        sha = self._hash(inp)
        if sha is None:
            return None
        if sha in self.groups:
            self.groups[sha].aliases.append(inp)
            return None
        if sha in self.handled:
            self._alias(inp, sha)
            return None
        cfg = call_config(self.config, inp.meta)
        key = result_key(cfg.to_dict(), self.rubric_sha, __version__, self.classifier_sha, self.repetition_sha)
        ck = make_call_key(sha, key)
        existing = self.cat.call_for_audio(sha)
        call_id = existing.call_id if existing else self._new_call_id(inp, sha)
        if not self.force:
            if existing and existing.call_key == ck and existing.report_path and (self.out / existing.report_path).is_file():
                meta = {k: v for k, v in inp.meta.as_dict().items() if v is not None and k != "call_id"}
                if inp.path not in self.cat.names(ck) or meta:
                    self.cat.add_names(ck, [inp.path], meta)
                self.handled[sha] = ("skipped", ck, inp.path)
                row = self.cat.call(ck)
                self._emit(CallOutcome(inp.path, "skipped", call_id, "already analysed with these settings",
                                       duration=row["duration"] if row else None, report=str(self.out / existing.report_path), audio_sha256=sha))
                return None
            if self._try_reindex(inp, sha, key, ck, call_id, existing.report_path if existing else None):
                return None
        self.groups[sha] = _Group(inp, call_id, ck)
        self.claimed[call_id] = sha
        if cfg.asr.cpu_threads == 0:
            cfg = cfg.with_overrides({"asr.cpu_threads": self.threads})
        return WorkItem(inp.path, call_id, sha, cfg.model_dump_json())

    # -- results --

    def _handle(self, r: WorkResult) -> None:
        g = self.groups.pop(r.audio_sha256)
        if r.fatal:
            self.stop = True
            if r.error == "ModelUnavailableError":
                raise ModelUnavailableError(r.reason)
            raise ConfigError(r.reason)
        if not r.ok:
            self.handled[r.audio_sha256] = ("failed", r.reason, g.primary.path)
            self._fail(g.primary, r.reason, r.detail, error=r.error, sha=r.audio_sha256, call_id=g.call_id, seconds=r.seconds)
            for a in g.aliases:
                self._alias(a, r.audio_sha256)
            return
        rel = f"{g.call_id}.json"
        assert r.report_json is not None
        report = load_report(r.report_json, source=rel)
        if getattr(getattr(self.config, "privacy", None), "audio", False):
            try:  # before the JSON: a call is done only when everything asked for is written
                from .redact_audio import write_report_audio

                write_report_audio(report, g.primary.path, self.out, self.config.privacy)
            except CallReviewError as exc:
                self.handled[r.audio_sha256] = ("failed", str(exc), g.primary.path)
                self._fail(g.primary, str(exc), traceback.format_exc(), error=type(exc).__name__, sha=r.audio_sha256, call_id=g.call_id)
                for a in g.aliases:
                    self._alias(a, r.audio_sha256)
                return
        write_atomic(self.out / rel, r.report_json + "\n")
        names = [g.primary.path] + [a.path for a in g.aliases]
        self.cat.upsert_call(report, rel, g.primary.meta.as_dict(), g.call_key, names, run_id=self.s.run_id, count_as="done")
        self.handled[r.audio_sha256] = ("done", g.call_key, g.primary.path)
        self._emit(CallOutcome(g.primary.path, "done", g.call_id, "", duration=report.call.duration, seconds=r.seconds,
                               report=str(self.out / rel), audio_sha256=r.audio_sha256))
        for a in g.aliases:
            self._alias(a, r.audio_sha256)

    # -- the loop --

    def run(self) -> None:
        self.threads = self.engine_factory.threads
        submitted = 0
        for inp in self.inputs:
            if self.stop:
                break
            if self.limit is not None and submitted >= self.limit:
                log.info("--limit %d reached; the other calls are left for the next run", self.limit)
                break
            item = self._plan(inp)
            if item is None:
                continue
            if self.engine is None:
                self.engine = self.engine_factory.create()
            while not self.engine.has_room():
                self._handle(self.engine.wait())
            self.engine.submit(item)
            submitted += 1
        while self.engine is not None and self.engine.in_flight:
            self._handle(self.engine.wait())


class EngineFactory:
    """Makes the engine a batch runs on, when the first call needs analysing (not for a run that only skips).

    Parameters
    ----------
    batch : BatchConfig
    """

    def __init__(self, batch: BatchConfig) -> None:
        self.batch = batch
        self.name = batch.engine
        self.workers = batch.workers
        self.threads = local_threads(batch.workers) if batch.engine == "local" else max(1, int(batch.ray_cpus_per_call))

    def create(self) -> Engine:
        if self.name == "ray":
            from .ray_engine import RayEngine

            return RayEngine(self.batch)
        return LocalEngine(self.workers, self.threads)


def run_batch(
    items: Sequence[str],
    out_dir: str | Path,
    config: Config | None = None,
    *,
    force: bool = False,
    limit: int | None = None,
    fail_fast: bool = False,
    observer: BatchObserver | None = None,
) -> BatchSummary:
    """Analyse a call archive into ``out_dir`` (reports + catalog), skipping what is already done.

    Parameters
    ----------
    items : sequence of str
        Folders, globs, manifest CSVs or files (see :func:`discover`).
    out_dir : str or Path
        Output folder: ``<call_id>.json`` per call and ``catalog.sqlite``.
    config : Config, optional
        The analysis configuration; its ``batch`` section picks the engine, workers and name pattern.
    force : bool
        Analyse every call again, even when done with the same settings.
    limit : int, optional
        Analyse at most this many calls in this run (already-done calls are not counted).
    fail_fast : bool
        Stop starting calls after the first failure (calls in progress finish).
    observer : BatchObserver, optional
        Progress display.

    Returns
    -------
    BatchSummary
        ``status`` is ``finished`` or ``aborted`` (fail-fast). Failures are in the summary and the catalog.

    Raises
    ------
    BatchInputError
        No audio files, or a bad manifest or name pattern (nothing analysed).
    BatchLockedError
        Another batch is writing ``out_dir``.
    RubricError, ConfigError
        The rubric or configuration is invalid.
    ModelUnavailableError
        The ASR model cannot be loaded (the batch stops; no call is marked failed for it).
    OutputError, CatalogError
        ``out_dir`` cannot be written.
    KeyboardInterrupt
        Ctrl-C or SIGTERM: workers are stopped, finished calls are kept, the run is marked interrupted.
    """
    config = config or Config()
    roots = absolute_roots(config.batch.archive_roots)
    for r in roots:
        if not os.path.isdir(r):
            raise BatchInputError(f"archive root {r}: no such folder; give --archive-root an existing folder of recordings")
    if roots != list(config.batch.archive_roots):
        config = config.with_overrides({"batch.archive_roots": roots})  # recorded absolute: the dashboard reads them back
    bcfg = config.batch
    pattern = NamePattern(bcfg.name_pattern) if bcfg.name_pattern else None
    inputs = discover(items, pattern, exclude=out_dir, archive_roots=roots)
    if not inputs:
        raise BatchInputError(f"no audio files found in {' '.join(items)}; give folders, globs, files or a manifest CSV")
    rubric = rubric_identity(config)
    out = Path(out_dir)
    observer = observer or _Quiet()
    factory = EngineFactory(bcfg)
    t0 = time.perf_counter()
    with FolderLock(out):
        removed = remove_partial_files(out)
        if removed:
            log.warning("%s: removed %d partial file(s) left by an interrupted run", out, removed)
        with Catalog.open(out) as cat:
            stale = cat.close_stale_runs()
            if stale:
                log.warning("%s: earlier run(s) %s did not finish (killed); continuing from what they completed", out, ", ".join(stale))
            run_id = cat.start_run(
                engine=bcfg.engine, workers=bcfg.workers, config=config.to_dict(), rubric=rubric, model=config.asr.model,
                tool_version=__version__, inputs=[os.path.abspath(os.path.expanduser(i)) for i in items], total=len(inputs),
            )
            summary = BatchSummary(run_id=run_id, out_dir=out, engine=bcfg.engine, workers=bcfg.workers, total=len(inputs), removed_partial=removed)
            observer.start(summary)
            driver = _Driver(inputs, out, config, cat, summary, rubric, force, limit, fail_fast, observer, factory)
            status = "aborted"
            unwritable = False
            try:
                driver.run()
                status = "aborted" if driver.stop else "finished"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            except (OutputError, CatalogError):
                unwritable = True  # the folder or its disk refused a result: stop the calls in progress too
                raise
            finally:
                if driver.engine is not None:
                    driver.engine.close(kill=status == "interrupted" or unwritable)
                summary.status = status
                summary.wall_seconds = time.perf_counter() - t0
                try:
                    cat.finish_run(run_id, status, skipped=summary.skipped)
                except CallReviewError as exc:  # never hide the original error
                    (log.info if unwritable else log.error)("cannot record the end of run %s: %s", run_id, exc)
    return summary


def format_summary(s: BatchSummary, max_failures: int = 20) -> str:
    """The end-of-batch summary a user reads."""
    speed = f", {s.audio_seconds / s.wall_seconds:.1f}x real time" if s.wall_seconds > 0 and s.audio_seconds else ""
    lines = [
        f"{s.total} input(s): {s.done} analysed, {s.skipped} skipped, {s.failed} failed"
        + (f", {s.not_started} not started" if s.not_started else "")
        + f" ({_audio(s.audio_seconds)} of audio in {s.wall_seconds / 60:.1f} min{speed}; {s.engine} engine, {s.workers} worker(s))"
    ]
    if s.status == "aborted":
        lines.append("stopped early (--fail-fast); run the same command again to continue")
    if s.failures:
        lines.append("failed:")
        for o in s.failures[:max_failures]:
            lines.append(f"  {o.reason}" if o.reason.startswith(o.path) else f"  {o.path}: {o.reason}")
        if len(s.failures) > max_failures:
            lines.append(f"  ... and {len(s.failures) - max_failures} more")
        lines.append(f"details: callreview failures {s.out_dir} --detail")
    lines.append(f"reports and catalog: {s.out_dir.resolve()} (catalog.sqlite, run {s.run_id})")
    return "\n".join(lines)


class BatchProgress:
    """Progress of a batch for a person (tqdm bar on stderr) and for log pipelines (JSON lines).

    Parameters
    ----------
    bar : bool
        Show the bar (the CLI shows it when stderr is a terminal, or when asked).
    json_stream : text stream, optional
        Where to write one JSON object per call (``--json-progress``: stdout).
    bar_stream : text stream
    """

    def __init__(self, bar: bool, json_stream: TextIO | None = None, bar_stream: TextIO | None = None) -> None:
        self.bar_enabled = bar
        self.json_stream = json_stream
        self.bar_stream = bar_stream or sys.stderr
        self._bar = None
        self._t0 = time.perf_counter()
        self._analysed = 0

    def start(self, summary: BatchSummary) -> None:
        from tqdm import tqdm

        self._t0 = time.perf_counter()
        self._bar = tqdm(
            total=summary.total, unit="call", file=self.bar_stream, disable=not self.bar_enabled, dynamic_ncols=True,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )

    def postfix(self, s: BatchSummary) -> str:
        """``done 3 failed 1 skipped 2 | 0.12 h audio | 7.5x | ETA 4:10``."""
        elapsed = time.perf_counter() - self._t0
        speed = s.audio_seconds / elapsed if elapsed > 0 else 0.0
        worked = s.done + s.failed
        eta = _clock((s.total - s.processed) * elapsed / worked) if worked else "?"
        return f"done {s.done} failed {s.failed} skipped {s.skipped} | {_audio(s.audio_seconds)} audio | {speed:.1f}x | ETA {eta}"

    def outcome(self, o: CallOutcome, s: BatchSummary) -> None:
        if self.json_stream is not None:
            self.json_stream.write(json.dumps(o.as_json()) + "\n")
            self.json_stream.flush()
        if self._bar is not None:
            self._bar.set_postfix_str(self.postfix(s), refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _audio(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds / 60:.1f} min"


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def reindex_reports(out_dir: str | Path) -> int:
    """Rebuild the catalog rows of every ``<call_id>.json`` in ``out_dir`` (the reports are the source of truth).

    Takes the folder lock; returns how many reports were indexed. Reports that
    cannot be read are logged and left out.
    """
    out = Path(out_dir)
    n = 0
    with FolderLock(out), Catalog.open(out) as cat:
        for p in sorted(out.glob("*.json")):
            try:
                report = load_report(p.read_bytes(), source=str(p))
            except (OSError, SchemaError) as exc:
                log.warning("%s: not indexed (%s)", p, exc)
                continue
            ck = make_call_key(report.call.source_sha256, report_result_key(report))
            cat.upsert_call(report, p.name, {}, ck, [report.call.source], count_as=None)
            n += 1
    return n
