"""Channel layout decisions on real and constructed recordings."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from analysis.audio import load_audio
from analysis.channels import detect_layout
from tests.conftest import shared_file


def test_real_dual_channel_call_is_dual() -> None:
    audio = load_audio(shared_file("real/aws_lca/Auto_Repairs_40_UTC_stereo.wav"))
    layout = detect_layout(audio.samples, audio.sample_rate)
    assert layout.kind == "dual"
    assert layout.channels == (0, 1)


def test_mono_saved_as_stereo_is_duplicate() -> None:
    x, sr = sf.read(shared_file("real/pyannote/sample.wav"), dtype="float32")
    both = np.stack([x, 0.7 * x])  # same signal, different gain
    layout = detect_layout(both, sr)
    assert layout.kind == "duplicate_mono"


def test_mixed_stereo_is_not_dual() -> None:
    x, sr = sf.read(shared_file("real/aws_lca/Auto_Repairs_40_UTC_mono.wav"), dtype="float32")
    rng = np.random.default_rng(1)
    # two different mixes of the same conversation (a room recorded by two microphones)
    a = x + 0.02 * rng.standard_normal(len(x)).astype(np.float32)
    b = 0.8 * np.roll(x, 40) + 0.02 * rng.standard_normal(len(x)).astype(np.float32)
    layout = detect_layout(np.stack([a, b]), sr)
    assert layout.kind in ("multi", "duplicate_mono")
    assert layout.kind != "dual"


def test_one_silent_channel_is_mono_of_the_other() -> None:
    x, sr = sf.read(shared_file("real/pyannote/sample.wav"), dtype="float32")
    layout = detect_layout(np.stack([np.zeros_like(x), x]), sr)
    assert layout.kind == "mono" and layout.channels == (1,)


def test_six_channels_mixed() -> None:
    x, sr = sf.read(shared_file("real/pyannote/sample.wav"), dtype="float32")
    layout = detect_layout(np.stack([x] * 6), sr)
    assert layout.kind == "multi" and layout.mix

