"""Audio input: decode a call recording into float32 channels at the analysis rate.

WAV (PCM 8/16/24/32-bit, float, mu-law, A-law), FLAC, OGG/Vorbis/Opus and MP3
are read with libsndfile (``soundfile``); M4A/AAC and anything libsndfile
cannot open go through FFmpeg (``av``, which faster-whisper already needs).
Channels are kept separate; the signal is resampled once, with soxr.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

from .errors import AudioError

log = logging.getLogger(__name__)

ANALYSIS_RATE = 16000


@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded recording.

    Attributes
    ----------
    samples : np.ndarray
        float32 array of shape (channels, n) at ``sample_rate``.
    sample_rate : int
        Rate of ``samples`` (the analysis rate).
    source_rate : int
        Rate of the file.
    codec : str
        Container/encoding as reported by the decoder, e.g. ``WAV/ULAW``.
    path : str
        File the audio came from.
    warnings : list of str
        Repairs made while decoding (e.g. non-finite samples zeroed).
    """

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    codec: str
    path: str
    warnings: list[str] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / float(self.sample_rate)


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _wav_truncation(path: Path) -> str | None:
    """Return a problem description when a RIFF/WAVE file's data chunk is cut short."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return None
            size = path.stat().st_size
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                cid, clen = struct.unpack("<4sI", f.read(8))
                if cid == b"data":
                    if clen in (0, 0xFFFFFFFF):  # streaming writers leave 0 / -1
                        return None
                    have = size - pos - 8
                    if have < clen:
                        return f"truncated WAV: header declares {clen} bytes of audio, file holds {max(have, 0)}"
                    return None
                pos += 8 + clen + (clen & 1)
    except OSError:
        return None
    return None


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int, str]:
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        rate = int(f.samplerate)
        codec = f"{f.format}/{f.subtype}"
        data = f.read(dtype="float32", always_2d=True)
    return data.T, rate, codec


def _decode_av(path: Path) -> tuple[np.ndarray, int, str]:
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        codec = f"{container.format.name}/{stream.codec_context.name}"
        resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=rate)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    if not chunks:
        return np.zeros((1, 0), dtype=np.float32), rate, codec
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), rate, codec


def condition(data: np.ndarray) -> list[str]:
    """Repair what can be repaired in place (DC offset) and describe recording faults.

    Parameters
    ----------
    data : np.ndarray
        (channels, n) float32, modified in place.

    Returns
    -------
    list of str
        Warnings for the report: DC offset removed, clipping, very quiet channels.
    """
    notes: list[str] = []
    for c in range(data.shape[0]):
        x = data[c]
        mean = float(x.mean(dtype=np.float64))
        if abs(mean) > 0.01:
            x -= np.float32(mean)
            notes.append(f"channel {c}: DC offset of {mean:+.3f} removed")
        peak = float(np.abs(x).max()) if x.size else 0.0
        if peak > 0:
            clipped = float(np.mean(np.abs(x) >= 0.999 * peak)) if peak >= 0.98 else 0.0
            if clipped > 0.001:
                notes.append(f"channel {c}: {clipped * 100:.1f} % of samples clipped; loudness figures are unreliable")
            if 0 < peak < 10 ** (-40 / 20):
                notes.append(f"channel {c}: very quiet recording (peak {20 * np.log10(peak):.0f} dBFS)")
    return notes


def load_audio(
    path: str | Path,
    sample_rate: int = ANALYSIS_RATE,
    min_duration: float = 0.5,
    max_duration: float = 4 * 3600.0,
) -> Audio:
    """Decode a recording into separate float32 channels at ``sample_rate``.

    Parameters
    ----------
    path : str or Path
        The recording.
    sample_rate : int
        Rate to resample to (once, with soxr), Hz.
    min_duration, max_duration : float
        Accepted call length, seconds.

    Returns
    -------
    Audio

    Raises
    ------
    AudioError
        Missing, empty, truncated, non-audio, too short or too long files; the
        message names the file and the problem.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(str(path), "file not found", "check the path")
    if not p.is_file():
        raise AudioError(str(path), "not a file")
    size = p.stat().st_size
    if size == 0:
        raise AudioError(str(path), "empty file (0 bytes)", "the recording was not saved; re-export it")
    problem = _wav_truncation(p)
    if problem:
        raise AudioError(str(path), problem, "re-export or re-copy the recording")

    try:
        data, rate, codec = _decode_soundfile(p)
    except Exception as sf_exc:  # libsndfile cannot open it: try FFmpeg
        log.debug("soundfile could not read %s (%s); trying FFmpeg", p, sf_exc)
        try:
            data, rate, codec = _decode_av(p)
        except Exception as av_exc:
            log.debug("FFmpeg could not read %s: %s", p, av_exc)
            raise AudioError(
                str(path),
                "not a readable audio file (format not recognised or data corrupt)",
                "supported: WAV, FLAC, MP3, OGG/Opus, M4A",
            ) from None

    if data.ndim != 2 or data.shape[1] == 0:
        raise AudioError(str(path), "contains no audio samples", "the file holds only a header")
    if rate <= 0:
        raise AudioError(str(path), f"invalid sample rate {rate}")

    warnings: list[str] = []
    finite = np.isfinite(data)
    if not finite.all():
        bad = int((~finite).sum())
        data = np.where(finite, data, 0.0).astype(np.float32)
        warnings.append(f"{bad} non-finite samples (NaN/Inf) set to silence")

    warnings.extend(condition(data))
    duration = data.shape[1] / rate
    if duration < min_duration:
        raise AudioError(str(path), f"too short to analyse ({duration:.2f} s; at least {min_duration:g} s needed)")
    if duration > max_duration:
        raise AudioError(
            str(path),
            f"too long ({duration / 3600:.1f} h; limit {max_duration / 3600:.1f} h)",
            "raise audio.max_duration in the configuration",
        )

    if rate != sample_rate:
        data = soxr.resample(data.T, rate, sample_rate, quality="HQ").T
    data = np.ascontiguousarray(data, dtype=np.float32)
    log.debug("decoded %s: %s, %d ch, %d Hz -> %d Hz, %.2f s", p, codec, data.shape[0], rate, sample_rate, duration)
    return Audio(samples=data, sample_rate=sample_rate, source_rate=rate, codec=codec, path=str(path), warnings=warnings)
