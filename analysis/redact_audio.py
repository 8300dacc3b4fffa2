"""A copy of a call recording with its PII spans silenced (``callreview analyze --redact-audio``).

The copy keeps the file's sample rate and channels. A span said by a speaker
with a channel of their own (dual-channel calls) is silenced on that channel
(or on every channel with ``privacy.audio_channels = "all"``, which also
removes cross-talk of the digits on the other party's channel); a span in a
mono or mixed recording is silenced on every channel. Word timings are
approximate, so each span is widened by ``privacy.audio_pad`` seconds at both
ends, and 5 ms fades outside it avoid clicks.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from .config import PrivacyConfig
from .errors import AudioError, OutputError
from .records import CallReport
from .redact import find_report_pii, masked_spans

log = logging.getLogger(__name__)

Spans = dict[int | None, list[tuple[float, float]]]

FADE = 0.005  # seconds


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def spans_by_channel(report: CallReport, cfg: PrivacyConfig | None = None) -> Spans:
    """Where to silence the recording of ``report``: channel (None: every channel) -> merged (start, end) seconds.

    The spans are the masks in a redacted report's turns; for an unredacted
    report (``--no-redact``) the PII is found again in its turns.
    """
    cfg = cfg or PrivacyConfig()
    found = masked_spans(report)
    if report.call.redaction is None or report.call.redaction.mode != "redacted":
        for s, where in find_report_pii(report, cfg):
            by_turn: dict[int, list[int]] = {}
            for ti, wi in where:
                by_turn.setdefault(ti, []).append(wi)
            for ti, wis in by_turn.items():  # one span per turn, like the masks of a redacted report
                words = report.turns[ti].words
                found.append((s.speaker or "", s.kind, words[min(wis)].start, max(words[i].end for i in wis)))
    channel = {s.label: s.channel for s in report.speakers}
    out: Spans = {}
    for speaker, _kind, start, end in found:
        ch = None if cfg.audio_channels == "all" else channel.get(speaker)
        out.setdefault(ch, []).append((max(0.0, start - cfg.audio_pad), end + cfg.audio_pad))
    return {ch: _merge(sp) for ch, sp in out.items()}


def _envelope(n0: int, n: int, rate: int, spans: list[tuple[float, float]]) -> np.ndarray:
    """Gain of frames [n0, n0 + n): 0 inside the spans, raised-cosine fades over 5 ms just outside them, else 1."""
    gain = np.ones(n, dtype=np.float32)
    fade = max(1, int(round(FADE * rate)))
    for start, end in spans:
        a = max(0, int(np.floor(start * rate)))
        b = int(np.ceil(end * rate))
        lo, hi = max(n0, a - fade), min(n0 + n, b + fade)
        if hi <= lo or b <= a:
            continue
        idx = np.arange(lo, hi)
        outside = np.maximum(a - idx, idx - (b - 1))  # frames outside the span; <= 0 inside it
        g = 0.5 - 0.5 * np.cos(np.pi * np.clip(outside / (fade + 1), 0.0, 1.0))
        gain[lo - n0:hi - n0] = np.minimum(gain[lo - n0:hi - n0], g.astype(np.float32))
    return gain


def _apply(block: np.ndarray, n0: int, rate: int, spans: Spans) -> np.ndarray:
    """Silence ``spans`` in ``block`` (frames, channels), whose first frame is frame ``n0`` of the file; in place."""
    n, channels = block.shape
    for ch, sp in spans.items():
        gain = _envelope(n0, n, rate, sp)
        if ch is None or ch >= channels:
            block *= gain[:, None]
        else:
            block[:, ch] *= gain
    return block


def silence(samples: np.ndarray, rate: int, spans: Spans) -> np.ndarray:
    """A copy of ``samples`` (frames, channels) with ``spans`` set to zero, faded in and out over 5 ms outside them."""
    return _apply(np.array(samples, dtype=np.float32, copy=True), 0, rate, spans)


def _subtype(fmt: str, source: str | None) -> str:
    if fmt == "WAV":
        return source if source in ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "PCM_16"
    return "PCM_24" if source in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "PCM_16"


def _copy_silenced(src: Path, tmp: str, fmt: str, spans: Spans, block: int = 1 << 20) -> None:
    """Write the silenced copy block by block (libsndfile formats) or all at once (what only FFmpeg decodes)."""
    import soundfile as sf

    try:
        f = sf.SoundFile(str(src))
    except Exception:  # noqa: BLE001 - anything libsndfile cannot open goes through FFmpeg
        f = None
    if f is None:
        try:
            from .audio import _decode_av

            data, rate, _codec = _decode_av(src)
        except Exception as exc:  # noqa: BLE001
            raise AudioError(str(src), f"cannot read the recording to write its redacted copy ({exc})") from None
        out = _apply(np.ascontiguousarray(data.T, dtype=np.float32), 0, rate, spans)
        sf.write(tmp, np.clip(out, -1.0, 1.0), rate, subtype=_subtype(fmt, None), format=fmt)
        return
    with f, sf.SoundFile(tmp, "w", samplerate=f.samplerate, channels=f.channels, subtype=_subtype(fmt, f.subtype), format=fmt) as out_f:
        n0 = 0
        for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):
            data = _apply(np.array(data, dtype=np.float32, copy=True), n0, f.samplerate, spans)
            out_f.write(np.clip(data, -1.0, 1.0))
            n0 += len(data)


def write_redacted_audio(audio_path: str | Path, spans: Spans, out_path: str | Path, block: int = 1 << 20) -> Path:
    """Write a copy of ``audio_path`` with ``spans`` silenced to ``out_path`` (WAV or FLAC, by its suffix).

    The copy has the recording's sample rate and channels; files libsndfile
    reads are copied block by block, so long calls need little memory.

    Parameters
    ----------
    audio_path : str or Path
        The original recording.
    spans : dict
        Channel index (None: every channel) -> (start, end) seconds to silence.
    out_path : str or Path
        ``.wav`` or ``.flac``; written atomically (a temporary file renamed into place).
    block : int
        Frames read and written at a time.

    Returns
    -------
    Path

    Raises
    ------
    AudioError
        The recording cannot be read.
    OutputError
        The copy cannot be written.
    """
    import soundfile as sf

    src, dst = Path(audio_path), Path(out_path)
    if not src.is_file():
        raise AudioError(str(src), "file not found", "the redacted copy is made from the original recording")
    fmt = "FLAC" if dst.suffix.lower() == ".flac" else "WAV"
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{dst.parent}: cannot write the redacted audio there ({exc.strerror or exc})") from None
    try:
        _copy_silenced(src, tmp, fmt, spans, block)
        os.replace(tmp, dst)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise OutputError(f"{dst}: cannot write the redacted audio ({exc})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    seconds = sum(e - s for sp in spans.values() for s, e in sp)
    log.info("%s: redacted copy written to %s (%.1f s silenced)", src, dst, seconds)
    return dst


def write_report_audio(report: CallReport, audio_path: str | Path, out_dir: str | Path, cfg: PrivacyConfig | None = None) -> Path:
    """Write ``<out_dir>/<call_id>.redacted.wav``: the recording of ``report`` with its PII silenced."""
    cfg = cfg or PrivacyConfig()
    return write_redacted_audio(audio_path, spans_by_channel(report, cfg), Path(out_dir) / f"{report.call.call_id}.redacted.wav")
