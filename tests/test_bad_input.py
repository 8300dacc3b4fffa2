"""Every kind of bad or odd input gets a one-line error naming the file, or a correct degenerate report.

(Reliability issue: the inputs an archive may hold.) Files are made at test time from
real speech (the sample calls) or synthesised silence/noise/music.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.errors import AudioError
from tests.conftest import SAMPLES

SR = 16000


@pytest.fixture(scope="module")
def speech_stereo() -> tuple[np.ndarray, int]:
    """First 25 s of a real dual-channel sample call (agent left, customer right)."""
    x, sr = sf.read(SAMPLES / "calm_agent.flac", dtype="float32", always_2d=True)
    return x[: 25 * sr], sr


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad")


def _music(n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    out = np.zeros(n)
    for i, f in enumerate([220, 277, 330, 440, 392, 349] * 8):
        s = int(i * 0.8 * sr)
        if s >= n:
            break
        e = min(n, s + int(0.75 * sr))
        tt = t[s:e] - t[s]
        out[s:e] += sum(0.2 / k * np.sin(2 * np.pi * f * k * tt) for k in range(1, 6)) * np.exp(-2 * tt)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize(
    "name,make",
    [
        ("silence.wav", lambda: np.zeros(SR * 20, np.float32)),
        ("noise.wav", lambda: (0.1 * np.random.default_rng(0).standard_normal(SR * 20)).astype(np.float32)),
        ("music.wav", lambda: _music(SR * 20, SR)),
    ],
)
def test_no_speech_gives_degenerate_report(analyzer, bad_dir: Path, name: str, make) -> None:
    p = bad_dir / name
    sf.write(p, make(), SR)
    r = analyzer.analyze(p)
    assert r.turns == []
    assert any("no speech recognised" in w for w in r.warnings)
    assert r.call.roles.method == "none"
    for score in r.scores:
        assert score.score is None and score.reason, f"{score.name} must say why it is not scored"


def test_point_three_seconds_is_an_error(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    p = bad_dir / "short.wav"
    sf.write(p, x[: int(0.3 * sr)], sr)
    with pytest.raises(AudioError, match=r"short\.wav: too short"):
        analyzer.analyze(p)


def test_one_channel_silent_is_analysed_as_mono(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    y = x.copy()
    y[:, 1] = 0.0
    p = bad_dir / "one_silent.wav"
    sf.write(p, y, sr)
    r = analyzer.analyze(p)
    assert r.call.layout == "mono"
    assert any("right channel silent" in w for w in r.warnings)
    assert r.turns


def test_identical_channels_are_mono(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    mono = x.mean(axis=1)
    p = bad_dir / "same.wav"
    sf.write(p, np.stack([mono, mono], axis=1), sr)
    r = analyzer.analyze(p)
    assert r.call.layout == "duplicate_mono"
    assert r.turns


def test_one_speaker_only(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    p = bad_dir / "agent_only.wav"
    sf.write(p, x[: 13 * sr, 0], sr)  # the agent's opening lines, their channel only
    r = analyzer.analyze(p)
    assert r.turns
    assert r.call.roles.method == "none" or len({t.speaker for t in r.turns}) >= 1


def test_quiet_minus_50_dbfs_still_transcribed(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    y = x * (10 ** (-50 / 20) / np.abs(x).max())
    p = bad_dir / "quiet.wav"
    sf.write(p, y, sr, subtype="PCM_24")
    r = analyzer.analyze(p)
    assert r.call.layout == "dual"
    text = " ".join(t.text for t in r.turns).lower()
    assert "thank you for calling" in text
    assert any("very quiet" in w for w in r.warnings)


def test_clipped_dc_offset_nan_call_analysed_with_warnings(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    y = np.clip(6 * x, -1, 1) + 0.2
    y[1000:1100] = np.nan
    p = bad_dir / "messy.wav"
    sf.write(p, y.astype(np.float32), sr, subtype="FLOAT")
    r = analyzer.analyze(p)
    joined = " | ".join(r.warnings)
    assert "non-finite" in joined and "DC offset" in joined and "clipped" in joined
    assert "thank you for calling" in " ".join(t.text for t in r.turns).lower()


def test_six_channels_96k_24bit(analyzer, bad_dir: Path, speech_stereo) -> None:
    import soxr

    x, sr = speech_stereo
    y = soxr.resample(x, sr, 96000)
    six = np.concatenate([y, y, y * 0.5], axis=1)
    p = bad_dir / "six.wav"
    sf.write(p, six, 96000, subtype="PCM_24")
    r = analyzer.analyze(p)
    assert r.call.channels == 6 and r.call.sample_rate == 96000 and r.call.layout == "multi"
    assert r.turns


def test_truncated_mp3_is_analysed_or_rejected_cleanly(analyzer, bad_dir: Path, speech_stereo) -> None:
    x, sr = speech_stereo
    p = bad_dir / "cut.mp3"
    sf.write(p, x[:, 0], sr, format="MP3")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 3])
    try:
        r = analyzer.analyze(p)
    except AudioError as exc:
        assert "cut.mp3" in str(exc)
    else:
        assert 7.0 < r.call.duration < 10.0
