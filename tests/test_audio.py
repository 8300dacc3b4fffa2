"""Decoding of every supported container/encoding, rates and channel counts, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.audio import load_audio
from analysis.errors import AudioError
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    """Real telephone speech (pyannote sample.wav, 16 kHz mono), first 6 s."""
    data, sr = sf.read(shared_file("real/pyannote/sample.wav"), dtype="float32")
    x = data[: 6 * sr]
    return (0.9 * x / np.abs(x).max()).astype(np.float32), sr


def _reference(x: np.ndarray, sr: int) -> np.ndarray:
    import soxr

    return soxr.resample(x, sr, 16000)


def _corr(a: np.ndarray, b: np.ndarray, max_lag: int = 2000) -> float:
    """Best normalised correlation of b against a over lags up to max_lag samples (codec delay)."""
    n = min(len(a), len(b)) - max_lag
    best = 0.0
    a0 = a[max_lag : max_lag + n]
    for lag in range(0, 2 * max_lag, 8):
        b0 = b[lag : lag + n]
        if len(b0) < n:
            break
        c = float(np.dot(a0, b0) / (np.linalg.norm(a0) * np.linalg.norm(b0) + 1e-9))
        best = max(best, c)
    return best


@pytest.mark.parametrize(
    "fmt,subtype,ext",
    [
        ("WAV", "PCM_U8", "wav"),
        ("WAV", "PCM_16", "wav"),
        ("WAV", "PCM_24", "wav"),
        ("WAV", "PCM_32", "wav"),
        ("WAV", "FLOAT", "wav"),
        ("WAV", "ULAW", "wav"),
        ("WAV", "ALAW", "wav"),
        ("FLAC", "PCM_16", "flac"),
        ("OGG", "VORBIS", "ogg"),
        ("OGG", "OPUS", "opus"),
        ("MP3", "MPEG_LAYER_III", "mp3"),
    ],
)
def test_decodes_each_encoding(tmp_path: Path, speech, fmt: str, subtype: str, ext: str) -> None:
    x, sr = speech
    rate = 48000 if subtype == "OPUS" else (8000 if subtype in ("ULAW", "ALAW", "PCM_U8") else sr)
    import soxr

    y = soxr.resample(x, sr, rate) if rate != sr else x
    path = tmp_path / f"call.{ext}"
    sf.write(path, y, rate, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert audio.source_rate == rate
    assert audio.channels == 1
    assert audio.samples.dtype == np.float32
    assert abs(audio.duration - 6.0) < 0.1
    ref = _reference(y, rate)
    assert _corr(ref, audio.samples[0]) > (0.8 if subtype in ("OPUS", "VORBIS", "MPEG_LAYER_III") else 0.95)


def test_decodes_m4a_through_ffmpeg(tmp_path: Path, speech) -> None:
    import av

    x, sr = speech
    path = tmp_path / "call.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=sr, layout="mono")
        frame_len = 1024
        pcm = (x * 32767).astype(np.int16)
        for i in range(0, len(pcm), frame_len):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + frame_len], format="s16", layout="mono")
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    audio = load_audio(path)
    assert audio.channels == 1 and audio.source_rate == sr
    assert abs(audio.duration - 6.0) < 0.2
    assert "aac" in audio.codec
    assert _corr(_reference(x, sr), audio.samples[0]) > 0.8


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_rates_resampled_once_to_16k(tmp_path: Path, speech, rate: int) -> None:
    import soxr

    x, sr = speech
    y = soxr.resample(x, sr, rate)
    path = tmp_path / "call.wav"
    sf.write(path, y, rate)
    audio = load_audio(path)
    assert audio.sample_rate == 16000 and audio.source_rate == rate
    assert abs(audio.samples.shape[1] - 6 * 16000) <= 2


def test_channels_kept_separate(tmp_path: Path, speech) -> None:
    x, sr = speech
    stereo = np.stack([x, np.zeros_like(x) + 0.001 * np.sin(np.arange(len(x)))], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, sr, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.channels == 2
    assert np.abs(audio.samples[0]).max() > 0.1
    assert np.abs(audio.samples[1]).max() < 0.01


def test_missing_file_error_names_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nope\.wav: file not found"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: empty file \(0 bytes\)"):
        load_audio(p)


def test_header_only_wav(tmp_path: Path) -> None:
    p = tmp_path / "header.wav"
    sf.write(p, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"header\.wav: .*(no audio samples|too short)"):
        load_audio(p)


def test_truncated_wav(tmp_path: Path, speech) -> None:
    x, sr = speech
    p = tmp_path / "cut.wav"
    sf.write(p, x, sr, subtype="PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated WAV"):
        load_audio(p)


def test_random_bytes_named_wav(tmp_path: Path) -> None:
    p = tmp_path / "noise.wav"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match=r"noise\.wav: not a readable audio file"):
        load_audio(p)


def test_text_named_mp3(tmp_path: Path) -> None:
    p = tmp_path / "notes.mp3"
    p.write_text("these are meeting notes, not audio\n" * 200)
    with pytest.raises(AudioError, match=r"notes\.mp3: not a readable audio file"):
        load_audio(p)


def test_too_short(tmp_path: Path) -> None:
    p = tmp_path / "blip.wav"
    sf.write(p, np.zeros(1600, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"blip\.wav: too short"):
        load_audio(p)


def test_non_finite_samples_repaired(tmp_path: Path, speech) -> None:
    x, sr = speech
    y = x.copy()
    y[100:200] = np.nan
    y[300] = np.inf
    p = tmp_path / "nan.wav"
    sf.write(p, y, sr, subtype="FLOAT")
    audio = load_audio(p)
    assert np.isfinite(audio.samples).all()
    assert any("non-finite" in w for w in audio.warnings)


def test_dc_offset_removed_and_reported(tmp_path: Path, speech) -> None:
    x, sr = speech
    p = tmp_path / "dc.wav"
    sf.write(p, 0.5 * x + 0.3, sr, subtype="FLOAT")
    audio = load_audio(p)
    assert abs(float(audio.samples.mean())) < 0.005
    assert any("DC offset" in w for w in audio.warnings)


def test_clipping_reported(tmp_path: Path, speech) -> None:
    x, sr = speech
    p = tmp_path / "clip.wav"
    sf.write(p, np.clip(8 * x, -1, 1), sr, subtype="PCM_16")
    assert any("clipped" in w for w in load_audio(p).warnings)


def test_very_quiet_reported(tmp_path: Path, speech) -> None:
    x, sr = speech
    p = tmp_path / "quiet.wav"
    sf.write(p, x * 10 ** (-50 / 20), sr, subtype="PCM_24")
    audio = load_audio(p)
    assert any("very quiet" in w for w in audio.warnings)
    assert np.abs(audio.samples).max() > 0


def test_96k_24bit_six_channels(tmp_path: Path, speech) -> None:
    import soxr

    x, sr = speech
    y = soxr.resample(x, sr, 96000)
    p = tmp_path / "six.wav"
    sf.write(p, np.stack([y] * 6, axis=1), 96000, subtype="PCM_24")
    audio = load_audio(p)
    assert audio.channels == 6 and audio.source_rate == 96000 and audio.sample_rate == 16000
