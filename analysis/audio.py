"""Audio input: decode a call recording into channels at the analysis rate, in bounded memory.

WAV (PCM 8/16/24/32-bit, float, mu-law, A-law), FLAC, OGG/Vorbis/Opus and MP3
are read with libsndfile (``soundfile``); M4A/AAC and anything libsndfile
cannot open go through FFmpeg (``av``, which faster-whisper already needs).
Channels are kept separate; the signal is resampled once, with soxr.

Decoding works block by block (``BLOCK_FRAMES`` frames): each block is checked
(non-finite samples zeroed, absurd float values clipped), measured for
:func:`condition` at the source rate, and pushed through one soxr stream (the
same output as resampling the whole file at once) into one preallocated
(channels, n) array. Memory is the decoded signal plus a few blocks; a header
that declares more than ``max_duration`` is refused before anything is
allocated. A signal that would take more than ``COMPACT_BYTES`` as float32
(about 100 minutes of stereo at 16 kHz) is held as float16: half the memory,
each sample within 1/2048 of its value (quantisation noise 66 dB under the
signal, far below any telephone line's noise); the analysis converts it block
by block.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

from .errors import AudioError

log = logging.getLogger(__name__)

ANALYSIS_RATE = 16000
BLOCK_FRAMES = 1 << 17  # source frames decoded, checked and resampled at a time
COMPACT_BYTES = 256 * 2**20  # signals larger than this as float32 are held as float16 (70 min mono, 35 min stereo at 16 kHz)
MAX_CHANNELS = 32  # more is not a call recording (and a corrupt header's channel count)
MIN_SOURCE_RATE = 1000  # Hz
MAX_SOURCE_RATE = 768000  # Hz
SAMPLE_LIMIT = 64.0  # float samples beyond +-64 x full scale are corrupt data: clipped, counted
_HIST_SCALE = 32768  # level histogram for the clipping check: int16 resolution ...
_HIST_HALF = 2 * _HIST_SCALE  # ... over [-2, 2)


@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded recording.

    Attributes
    ----------
    samples : np.ndarray
        Array of shape (channels, n) at ``sample_rate``, C-contiguous: float32,
        or float16 when float32 would take more than ``COMPACT_BYTES`` (long
        recordings; convert blocks with ``.astype(np.float32)`` where precision
        matters).
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
            layout = ">4sI" if head[:4] == b"RIFX" else "<4sI"  # RIFX: big-endian sizes
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                cid, clen = struct.unpack(layout, f.read(8))
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


@dataclass
class _Source:
    """An open recording, read block by block.

    Attributes
    ----------
    rate, channels : int
        As the header declares them.
    codec : str
    frames : int or None
        Frames the header declares (None when it does not say).
    blocks : iterator of np.ndarray
        (n, channels) float32 blocks of the file, in order.
    """

    rate: int
    channels: int
    codec: str
    frames: int | None
    blocks: Iterator[np.ndarray]


@contextmanager
def _open_soundfile(path: Path) -> Iterator[_Source]:
    """Open ``path`` with libsndfile; raises whatever libsndfile raises for files it cannot read."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:

        def blocks() -> Iterator[np.ndarray]:
            while True:
                block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                if len(block) == 0:
                    return
                yield block

        frames = int(f.frames)
        yield _Source(int(f.samplerate), int(f.channels), f"{f.format}/{f.subtype}", frames if frames > 0 else None, blocks())


@contextmanager
def _open_av(path: Path) -> Iterator[_Source]:
    """Open ``path`` with FFmpeg (first audio stream, converted to planar float at its own rate)."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        channels = int(stream.layout.nb_channels)
        codec = f"{container.format.name}/{stream.codec_context.name}"
        seconds = None
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration:
            seconds = container.duration / av.time_base
        frames = int(seconds * rate) if seconds and seconds > 0 and rate > 0 else None

        def blocks() -> Iterator[np.ndarray]:
            resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=rate)
            pending: list[np.ndarray] = []
            count = 0

            def converted():
                for frame in container.decode(stream):
                    yield from resampler.resample(frame)
                yield from resampler.resample(None)

            for out in converted():
                a = out.to_ndarray()
                pending.append(a)
                count += a.shape[1]
                if count >= BLOCK_FRAMES:
                    yield np.ascontiguousarray(np.concatenate(pending, axis=1).T, dtype=np.float32)
                    pending, count = [], 0
            if pending:
                yield np.ascontiguousarray(np.concatenate(pending, axis=1).T, dtype=np.float32)

        yield _Source(rate, channels, codec, frames, blocks())


def _decode_av(path: Path) -> tuple[np.ndarray, int, str]:
    """Decode a whole file with FFmpeg at its own rate: ((channels, n) float32, rate, codec)."""
    with _open_av(Path(path)) as src:
        chunks = [b.T for b in src.blocks]
        rate, codec, channels = src.rate, src.codec, src.channels
    if not chunks:
        return np.zeros((max(1, channels), 0), dtype=np.float32), rate, codec
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32), rate, codec


def _span(seconds: float) -> str:
    """A length for a message: hours from six minutes up, else seconds."""
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds:.1f} s"


def resampled_length(frames: int, rate: int, out_rate: int) -> int:
    """Frames soxr makes of ``frames`` frames at ``rate`` resampled to ``out_rate`` (rounded half up)."""
    return (2 * frames * out_rate + rate) // (2 * rate)


def storage_dtype(channels: int, frames: int) -> np.dtype:
    """float32, or float16 when the signal would take more than ``COMPACT_BYTES`` as float32."""
    return np.dtype(np.float16 if channels * frames * 4 > COMPACT_BYTES else np.float32)


class _Collector:
    """Takes the source-rate blocks of one recording; keeps the signal at the analysis rate and its statistics.

    Per block: non-finite samples are zeroed and absurd ones clipped (counted),
    the per-channel sum, extremes and a level histogram (int16 resolution) are
    updated - what :func:`condition` needs, at the source rate - and the block
    is resampled by one soxr stream into the preallocated output array.

    Raises
    ------
    AudioError
        For a header out of range (rate, channels) and as soon as the declared or
        decoded length goes over ``max_duration`` or the channel budget.
    """

    def __init__(self, path: str, src: _Source, out_rate: int, max_duration: float) -> None:
        self.path = path
        self.rate = src.rate
        self.channels = src.channels
        self.out_rate = out_rate
        self.max_duration = max_duration
        if self.rate <= 0:
            raise AudioError(path, f"invalid sample rate {self.rate}")
        if not MIN_SOURCE_RATE <= self.rate <= MAX_SOURCE_RATE:
            raise AudioError(path, f"unsupported sample rate {self.rate} Hz (supported: {MIN_SOURCE_RATE} to {MAX_SOURCE_RATE} Hz)")
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise AudioError(path, f"unsupported channel count {self.channels} (a call recording has 1 to {MAX_CHANNELS})")
        self.max_channel_frames = int(2 * max_duration * out_rate)  # the output of a max_duration stereo call
        expected = None
        if src.frames is not None:
            self._check_length(src.frames, declared=True)
            expected = resampled_length(src.frames, self.rate, out_rate)
        cap = expected if expected is not None else resampled_length(BLOCK_FRAMES, self.rate, out_rate) * 8
        self.out = np.empty((self.channels, max(1, cap)), dtype=storage_dtype(self.channels, cap))
        self.n_in = 0
        self.n_out = 0
        self.stream = soxr.ResampleStream(self.rate, out_rate, self.channels, dtype="float32", quality="HQ") if self.rate != out_rate else None
        self.sum = np.zeros(self.channels, dtype=np.float64)
        self.lo = np.full(self.channels, np.inf, dtype=np.float32)
        self.hi = np.full(self.channels, -np.inf, dtype=np.float32)
        self.hist = np.zeros((self.channels, 2 * _HIST_HALF), dtype=np.int64)
        self.non_finite = 0
        self.absurd = 0

    def _check_length(self, frames: int, declared: bool) -> None:
        seconds = frames / self.rate
        said = "declared " if declared else ""
        if seconds > self.max_duration:
            raise AudioError(
                self.path,
                f"too long ({said}{_span(seconds)}; limit {_span(self.max_duration)})"
                if declared
                else f"too long (over the {_span(self.max_duration)} limit)",
                "raise audio.max_duration in the configuration",
            )
        if resampled_length(frames, self.rate, self.out_rate) * self.channels > self.max_channel_frames:
            raise AudioError(
                self.path,
                f"too much audio ({said}{self.channels} channels x {_span(seconds)}; "
                f"limit {_span(2 * self.max_duration)} of channel time)",
                "raise audio.max_duration in the configuration",
            )

    def add(self, block: np.ndarray) -> None:
        """Take the next (n, channels) float32 block of the file."""
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"decoder gave a block of shape {block.shape} for {self.channels} channels")
        n = len(block)
        if n == 0:
            return
        self._check_length(self.n_in + n, declared=False)
        if not block.flags.writeable or not block.flags.c_contiguous:
            block = np.array(block, dtype=np.float32, order="C")
        rows = np.ascontiguousarray(block.T)  # (channels, n): per-channel reductions run on contiguous rows
        if not np.isfinite(rows.sum(dtype=np.float64)):  # a float64 sum of float32 samples is finite iff they all are
            bad = ~np.isfinite(rows)
            if bad.any():
                self.non_finite += int(bad.sum())
                rows[bad] = 0.0
        lo, hi = rows.min(axis=1), rows.max(axis=1)
        if lo.min() < -SAMPLE_LIMIT or hi.max() > SAMPLE_LIMIT:
            self.absurd += int(np.count_nonzero(np.abs(rows) > SAMPLE_LIMIT))
            np.clip(rows, -SAMPLE_LIMIT, SAMPLE_LIMIT, out=rows)
            lo, hi = rows.min(axis=1), rows.max(axis=1)
        if self.non_finite or self.absurd:
            block = np.ascontiguousarray(rows.T)
        self.n_in += n
        self.sum += rows.sum(axis=1, dtype=np.float64)
        np.minimum(self.lo, lo, out=self.lo)
        np.maximum(self.hi, hi, out=self.hi)
        idx = np.rint(rows * np.float32(_HIST_SCALE))
        np.clip(idx, -_HIST_HALF, _HIST_HALF - 1, out=idx)
        idx += (np.arange(self.channels, dtype=np.float32) * (2 * _HIST_HALF) + _HIST_HALF)[:, None]
        self.hist += np.bincount(idx.ravel().astype(np.intp), minlength=self.channels * 2 * _HIST_HALF).reshape(self.channels, -1)
        self._put(self.stream.resample_chunk(block, last=False) if self.stream is not None else block)

    def finish(self) -> None:
        """Flush the resampler."""
        if self.stream is not None:
            self._put(self.stream.resample_chunk(np.zeros((0, self.channels), dtype=np.float32), last=True))
            self.stream = None

    def _put(self, y: np.ndarray) -> None:
        m = len(y)
        if m == 0:
            return
        if self.n_out + m > self.out.shape[1]:
            cap = max(self.n_out + m, int(self.out.shape[1] * 1.5))
            grown = np.empty((self.channels, cap), dtype=storage_dtype(self.channels, cap))
            grown[:, : self.n_out] = self.out[:, : self.n_out]
            self.out = grown
        self.out[:, self.n_out : self.n_out + m] = y.T
        self.n_out += m

    def samples(self) -> np.ndarray:
        """The signal, (channels, n) C-contiguous (copied only when the header said more frames than there were)."""
        if self.n_out == self.out.shape[1]:
            return self.out
        return np.ascontiguousarray(self.out[:, : self.n_out])

    def conditioning(self, out: np.ndarray) -> list[str]:
        """What :func:`condition` does, from the source-rate statistics: DC offset removed from ``out`` (in place), notes."""
        notes: list[str] = []
        values = ((np.arange(2 * _HIST_HALF) - _HIST_HALF) / _HIST_SCALE).astype(np.float32)
        for c in range(self.channels):
            mean = float(self.sum[c] / self.n_in)
            m32 = np.float32(0.0)
            if abs(mean) > 0.01:
                m32 = np.float32(mean)
                for a in range(0, out.shape[1], BLOCK_FRAMES):
                    blk = out[c, a : a + BLOCK_FRAMES].astype(np.float32)
                    blk -= m32
                    out[c, a : a + BLOCK_FRAMES] = blk
                notes.append(f"channel {c}: DC offset of {mean:+.3f} removed")
            peak = float(max(self.hi[c] - m32, m32 - self.lo[c]))
            if peak > 0:
                clipped = 0.0
                if peak >= 0.98:
                    at_peak = np.abs(values - m32) >= np.float32(0.999 * peak)
                    clipped = float(self.hist[c][at_peak].sum()) / self.n_in
                if clipped > 0.001:
                    notes.append(f"channel {c}: {clipped * 100:.1f} % of samples clipped; loudness figures are unreliable")
                if 0 < peak < 10 ** (-40 / 20):
                    notes.append(f"channel {c}: very quiet recording (peak {20 * np.log10(peak):.0f} dBFS)")
        return notes


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
    """Decode a recording into separate channels at ``sample_rate``, block by block.

    Parameters
    ----------
    path : str or Path
        The recording.
    sample_rate : int
        Rate to resample to (once, with one soxr stream), Hz.
    min_duration, max_duration : float
        Accepted call length, seconds. Files whose header declares more than
        ``max_duration`` (or more than ``2 * max_duration`` channel-seconds) are
        refused before anything is allocated; decoding stops as soon as the
        decoded audio goes over either limit.

    Returns
    -------
    Audio
        float32 samples, or float16 for recordings longer than ``COMPACT_BYTES``
        allows (see :class:`Audio`).

    Raises
    ------
    AudioError
        Missing, empty, truncated, non-audio, too short or too long files, sample
        rates or channel counts out of range; the message names the file and the
        problem.
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

    got: _Collector | None = None
    codec = ""
    for opener in (_open_soundfile, _open_av):  # libsndfile first; what it cannot read goes to FFmpeg
        try:
            with opener(p) as src:
                got = _Collector(str(path), src, sample_rate, max_duration)
                codec = src.codec
                for block in src.blocks:
                    got.add(block)
                got.finish()
            break
        except AudioError:
            raise
        except MemoryError:
            raise AudioError(str(path), "not enough memory to decode it", "close other programs or lower audio.max_duration") from None
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "this decoder cannot read it"
            log.debug("%s could not read %s: %s: %s", opener.__name__[6:], p, type(exc).__name__, exc)
            got = None
    if got is None:
        raise AudioError(
            str(path),
            "not a readable audio file (format not recognised or data corrupt)",
            "supported: WAV, FLAC, MP3, OGG/Opus, M4A",
        )

    if got.n_in == 0:
        raise AudioError(str(path), "contains no audio samples", "the file holds only a header")
    warnings: list[str] = []
    if got.non_finite:
        warnings.append(f"{got.non_finite} non-finite samples (NaN/Inf) set to silence")
    if got.absurd:
        warnings.append(f"{got.absurd} samples beyond {SAMPLE_LIMIT:g} x full scale clipped (corrupt float data)")
    duration = got.n_in / got.rate
    if duration < min_duration:
        raise AudioError(str(path), f"too short to analyse ({duration:.2f} s; at least {min_duration:g} s needed)")
    if got.n_out == 0:
        raise AudioError(str(path), "contains no audio samples at the analysis rate")
    data = got.samples()
    warnings.extend(got.conditioning(data))
    log.debug(
        "decoded %s: %s, %d ch, %d Hz -> %d Hz (%s), %.2f s", p, codec, data.shape[0], got.rate, sample_rate, data.dtype, duration
    )
    return Audio(samples=data, sample_rate=sample_rate, source_rate=got.rate, codec=codec, path=str(path), warnings=warnings)
