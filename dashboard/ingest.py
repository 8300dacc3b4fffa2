"""Analysing an uploaded recording from the dashboard: checks, storage, analysis, indexing.

The page (``views/analyse.py``) only lays out widgets; everything that can go
wrong with an upload is decided here, so it is testable without a browser.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.config import Config
from analysis.output import write_report
from analysis.records import CallReport

from .errors import UploadError

log = logging.getLogger(__name__)

UPLOAD_TYPES = ("wav", "flac", "mp3", "ogg", "opus", "m4a")
"""File types the upload accepts."""

MAX_UPLOAD_MB = int(os.environ.get("CALLREVIEW_MAX_UPLOAD_MB", "200"))
"""Largest upload, megabytes (``CALLREVIEW_MAX_UPLOAD_MB`` changes it)."""

UPLOAD_DIR = "uploads"
"""Uploaded recordings are kept in DIR/uploads so the review page can play them."""

STAGES: dict[str, str] = {
    "load": "Loading the speech models",
    "decode": "Reading the audio",
    "transcribe": "Transcribing speech",
    "turns": "Finding who spoke when",
    "metrics": "Measuring talk time and silences",
    "prosody": "Measuring pitch, loudness, pace, interruptions",
    "scores": "Finding language cues and scoring",
    "redaction": "Masking personal data",
    "index": "Saving the report and adding it to the catalog",
}
"""Stages of an analysis in order, with what the page shows for each."""

_MAGIC: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("wav", lambda h: h[:4] in (b"RIFF", b"RF64") and h[8:12] == b"WAVE"),
    ("flac", lambda h: h[:4] == b"fLaC"),
    ("ogg", lambda h: h[:4] == b"OggS"),
    ("mp3", lambda h: h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0)),
    ("m4a", lambda h: h[4:8] == b"ftyp"),
)


def sniff(head: bytes) -> str | None:
    """The audio container a file's first bytes show ('wav', 'flac', 'ogg', 'mp3', 'm4a'), or None."""
    for kind, test in _MAGIC:
        if test(head):
            return kind
    return None


def check_upload(name: str, size: int, head: bytes, max_mb: int = MAX_UPLOAD_MB) -> str:
    """Refuse uploads that are too big, empty, of another type, or not audio inside.

    Parameters
    ----------
    name : str
        File name as uploaded.
    size : int
        Bytes.
    head : bytes
        The first bytes of the file (16 are enough).
    max_mb : int
        Size limit, megabytes.

    Returns
    -------
    str
        The container found ('wav', 'flac', ...).

    Raises
    ------
    UploadError
        With a message saying what to do.
    """
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise UploadError(f"{name}: .{suffix or '?'} files are not accepted; upload one of {', '.join(UPLOAD_TYPES)}")
    if size <= 0:
        raise UploadError(f"{name}: the file is empty")
    if size > max_mb * 1024 * 1024:
        raise UploadError(f"{name}: {size / 1024 / 1024:.0f} MB is over the {max_mb} MB limit; cut the recording or use `callreview batch`")
    kind = sniff(head)
    if kind is None:
        raise UploadError(f"{name}: this is not an audio recording (its content is not WAV, FLAC, Ogg, MP3 or M4A)")
    return kind


def safe_name(name: str) -> str:
    """A file name with unsafe characters replaced (no folders)."""
    base = Path(name).name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(base).stem).strip("._") or "call"
    return stem + Path(base).suffix.lower()


def save_upload(folder: str | Path, name: str, content: bytes) -> Path:
    """Keep an uploaded recording in ``folder/uploads`` (same content: same file; a clash: a hashed name).

    The file is readable by its owner only (mode 0600); its name is reduced to
    safe characters with no folder part (:func:`safe_name`).
    """
    out = Path(folder) / UPLOAD_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / safe_name(name)
    if path.exists():
        if path.read_bytes() == content:
            return path
        digest = hashlib.sha256(content).hexdigest()[:8]
        path = out / f"{path.stem}-{digest}{path.suffix}"
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a recording of a call: owner only
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.chmod(tmp, 0o600)  # also when an old .part was there
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class AnalysisOptions:
    """What the reviewer chose on the page.

    Attributes
    ----------
    agent_channel : str
        'auto', 'left' or 'right'.
    diarization : str
        How speakers of single-channel recordings are told apart (a ``diarization.backend`` value).
    model : str
        faster-whisper model name or folder.
    rubric : str or None
        Rubric file; None for the shipped rubric.
    agent, team, started_at : str or None
        Catalog metadata.
    """

    agent_channel: str = "auto"
    diarization: str = "auto"
    model: str | None = None
    rubric: str | None = None
    agent: str | None = None
    team: str | None = None
    started_at: str | None = None

    def config(self, base: Config | None = None) -> Config:
        """The analysis configuration: ``base`` with these options laid over it."""
        base = base or Config()
        overrides: dict[str, Any] = {"roles.agent_channel": self.agent_channel, "asr.model": self.model or None}
        if "backend" in type(base.diarization).model_fields:
            overrides["diarization.backend"] = self.diarization
        if self.rubric and "rubric" in type(base.scoring).model_fields:
            overrides["scoring.rubric"] = self.rubric
        return base.with_overrides(overrides)


def _call_key(report: CallReport) -> str:
    try:
        from analysis.batch import make_call_key, report_result_key

        return make_call_key(report.call.source_sha256, report_result_key(report))
    except ImportError:  # pragma: no cover - batch is part of the package
        import json

        cfg = hashlib.sha256(json.dumps(report.call.config, sort_keys=True).encode()).hexdigest()
        return f"{report.call.source_sha256[:16]}-{cfg[:16]}"


def analyse_and_index(
    folder: str | Path,
    recording: str | Path,
    options: AnalysisOptions,
    analyzer: Any,
    progress: Callable[[str], None] | None = None,
) -> CallReport:
    """Analyse a recording, write its JSON report into ``folder`` and index it in the catalog.

    Parameters
    ----------
    folder : str or Path
        The batch output folder (the catalog is created there if missing).
    recording : str or Path
        The audio file (kept where it is; the catalog points at it).
    options : AnalysisOptions
        Metadata for the catalog.
    analyzer : analysis.Analyzer
        Built with ``options.config()``.
    progress : callable, optional
        Called with each stage name (see :data:`STAGES`).

    Returns
    -------
    CallReport

    Raises
    ------
    CallReviewError
        AudioError for an unusable file, ModelUnavailableError, OutputError or CatalogError.
    """
    from analysis.catalog import Catalog

    step = progress or (lambda _s: None)
    folder = Path(folder)
    recording = Path(recording).resolve()
    with Catalog.open(folder) as cat:
        stem_id = recording.stem
        report = analyzer.analyze(recording, progress=step)
        owner = cat.call_id_owner(report.call.call_id)
        if owner is not None and owner != report.call.source_sha256:
            new_id = f"{report.call.call_id}-{report.call.source_sha256[:8]}"
            log.info("call id %s is taken by another recording; using %s", stem_id, new_id)
            report = report.model_copy(update={"call": report.call.model_copy(update={"call_id": new_id})})
        step("index")
        path = write_report(report, folder)
        meta = {"agent": options.agent or None, "team": options.team or None, "started_at": options.started_at or None}
        cat.upsert_call(report, path.name, meta, _call_key(report), [str(recording)], count_as=None)
    return report
