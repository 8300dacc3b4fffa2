"""Overlapped-speech detection for mono calls (analysis.diarization.overlap)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.config import DiarizationConfig
from analysis.diarization.overlap import hysteresis_regions
from analysis.errors import ModelUnavailableError
from tests.conftest import SAMPLES, sample_truth


def test_hysteresis_starts_at_onset_and_ends_below_offset():
    scores = np.array([0.1, 0.45, 0.6, 0.45, 0.35, 0.2, 0.1], dtype=np.float32)
    # frames centred at 0.0, 0.1, ...; onset 0.5 at frame 2, stays >= 0.4 until frame 3
    assert hysteresis_regions(scores, 0.0, 0.1, onset=0.5, offset=0.4) == [(0.15, 0.35)]
    assert hysteresis_regions(scores, 0.0, 0.1, onset=0.7, offset=0.4) == []


def test_hysteresis_fills_short_gaps_and_drops_short_regions():
    s = np.zeros(100, dtype=np.float32)
    s[10:20] = 0.9
    s[22:30] = 0.9  # a 0.02 s gap: filled with min_duration 0.05
    s[60:62] = 0.9  # 0.02 s long: dropped
    out = hysteresis_regions(s, 0.0, 0.01, 0.5, 0.5, min_duration=0.05, end=1.0)
    assert out == [(0.095, 0.295)]


def test_missing_named_model_is_a_clear_error(tmp_path):
    from analysis.diarization.overlap import detect_overlaps

    cfg = DiarizationConfig(overlap=str(tmp_path / "nope.bin"))
    with pytest.raises(ModelUnavailableError, match="overlap detection: cannot load segmentation model"):
        detect_overlaps(np.zeros(16000 * 6, dtype=np.float32), cfg)


def test_off_detects_nothing():
    from analysis.diarization.overlap import detect_overlaps

    assert detect_overlaps(np.zeros(16000 * 6, dtype=np.float32), DiarizationConfig(overlap="off")) == []


@pytest.mark.slow
def test_bundled_model_finds_the_planted_overlaps_of_a_mono_call():
    """The shipped model (pyannote/segmentation from the whisperx package) on tel_support_8k: all four planted overlaps."""
    from analysis.audio import load_audio
    from analysis.diarization.overlap import detect_overlaps

    truth = sample_truth("tel_support_8k")
    audio = load_audio(SAMPLES / "tel_support_8k.wav", 16000)
    regions = detect_overlaps(audio.samples[0], DiarizationConfig())
    planted = [(e["start"], e["end"]) for e in truth["events"] if e["kind"] == "overlap"]
    for s, e in planted:
        assert any(abs(a - s) <= 0.25 and b > e - 0.25 for a, b in regions), (s, e, regions)
    assert len(regions) == len(planted)  # and nothing else in a one-minute call


@pytest.mark.slow
def test_overlaps_on_real_telephone_speech():
    """pyannote's sample.wav (a real phone call, human reference with 1.9 s of overlap): most of it found, little else."""
    from pyannote.core import Annotation, Segment

    from analysis.audio import load_audio
    from analysis.diarization import read_rttm
    from analysis.diarization.overlap import detect_overlaps
    from tests.conftest import shared_file

    wav = shared_file("real/pyannote/sample.wav")
    ref = Annotation()
    for i, (s, e, lab) in enumerate(read_rttm(shared_file("real/pyannote/sample.rttm"), "sample")):
        ref[Segment(s, e), i] = lab
    overlap = ref.get_overlap()
    regions = detect_overlaps(load_audio(wav, 16000).samples[0], DiarizationConfig())
    found = sum((Segment(a, b) & seg).duration for a, b in regions for seg in overlap)
    detected = sum(b - a for a, b in regions)
    assert found >= 0.8 * overlap.duration()  # measured 0.91 (scripts/bench_overlap.py)
    assert found >= 0.7 * detected  # measured precision 0.80


@pytest.mark.slow
def test_long_signals_are_scored_in_blocks_with_the_scores_of_one_pass():
    """Bounded memory on long calls: block-wise scores equal one pass (blocks aligned on window step and frame grid)."""
    from analysis.audio import load_audio
    from analysis.diarization.overlap import load_segmentation, overlap_scores

    x = load_audio(SAMPLES / "tel_support_8k.wav", 16000).samples[0][: 16000 * 50 + 321]
    model = load_segmentation("auto", None, "cpu")
    for step in (1.0, 0.5):
        whole = overlap_scores(x, model, step, 1, block=1e9)
        blocks = overlap_scores(x, model, step, 1, block=10.0)  # 27 s blocks (step 1 s), 13.5 s (0.5 s)
        assert blocks[1:] == whole[1:] and blocks[0].shape == whole[0].shape
        np.testing.assert_allclose(blocks[0], whole[0], atol=1e-5)
