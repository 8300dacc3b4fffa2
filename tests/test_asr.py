"""Speech recognition of long signals in windows (reliability issue: bounded memory).

``Transcriber.transcribe`` cuts signals longer than ``asr.WINDOW`` into windows at
pauses. Here a real 4-minute call channel is forced into 1-minute windows and
compared with one pass over the whole channel.

tiny.en is sensitive to where its 30-second decoding segments start: the same
channel delayed by 0.3 s of silence already reads differently in places (WER
0.20 against the undelayed pass; 1-minute windows: 0.19). The windowed
transcript is therefore held to that noise floor of the recogniser (plus a
small margin, at most 0.25), not to zero difference; what windowing itself could
break - words lost at cuts, timestamps off - is checked word by word.
"""

from __future__ import annotations

import difflib

import numpy as np
import pytest

from analysis.asr import Transcriber, window_bounds
from analysis.audio import load_audio
from analysis.config import Config
from tests.conftest import shared_file
from tests.test_pipeline import norm_words, wer

SR = 16000


def _tokens(words) -> list[tuple[str, float, float]]:
    """(normalised word, start, end) of each word the recogniser gave."""
    return [(t, w.start, w.end) for w in words for t in norm_words(w.text)]


@pytest.fixture(scope="module")
def channel() -> np.ndarray:
    """The left channel of the real 4-minute AWS contact-centre call (one speaker)."""
    return load_audio(shared_file("real/aws_lca/Auto_Repairs_40_UTC_stereo.wav")).samples[0]


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(Config().asr)


def test_window_bounds_cover_the_signal_and_cut_in_pauses(channel: np.ndarray) -> None:
    bounds = window_bounds(channel, SR, 60.0)
    assert len(bounds) == 5  # 245 s in windows of at most 60 s
    assert bounds[0][0] == 0 and bounds[-1][1] == len(channel)
    for (a0, b0), (a1, b1) in zip(bounds, bounds[1:]):
        assert b0 == a1  # consecutive, no gap and no overlap
    for a, b in bounds:
        assert 0 < b - a <= 60 * SR
    # each cut lies in a stretch at least 20 dB under the channel's speech level
    speech = np.percentile(np.abs(channel), 99)
    for _a, cut in bounds[:-1]:
        around = channel[cut - SR // 10 : cut + SR // 10].astype(np.float64)
        assert np.sqrt(np.mean(around**2)) < speech * 0.1


def test_window_bounds_short_signal_is_one_window() -> None:
    x = np.zeros(SR * 30, dtype=np.float32)
    assert window_bounds(x, SR, 60.0) == [(0, len(x))]
    assert window_bounds(x[:0], SR, 60.0) == [(0, 0)]


@pytest.mark.slow
def test_windowed_transcription_matches_one_pass(channel: np.ndarray, transcriber: Transcriber) -> None:
    import ctranslate2

    def run(x: np.ndarray, **kw) -> list:
        ctranslate2.set_random_seed(0)  # temperature fallback samples: same seed, same reading, run after run
        return transcriber.transcribe(x, **kw)

    one = run(channel)
    windowed = run(channel, window=60.0)
    delayed = run(np.concatenate([np.zeros(int(0.3 * SR), np.float32), channel]), offset=-0.3)
    text = lambda ws: " ".join(w.text for w in ws)  # noqa: E731
    noise = wer(text(one), text(delayed))  # how much tiny.en changes when its segments start elsewhere
    got = wer(text(one), text(windowed))
    assert len(one) > 200
    assert got <= min(0.25, noise + 0.05), f"windowed WER {got:.3f}; the recogniser's own noise floor is {noise:.3f}"
    # the longest calls are held as float16: that reads within the same noise floor
    half = wer(text(one), text(run(channel.astype(np.float16), window=60.0)))
    assert half <= min(0.25, noise + 0.05), f"float16 windowed WER {half:.3f}; noise floor {noise:.3f}"

    # timestamps are call times: words read alike in both runs are at the same place
    a, b = _tokens(one), _tokens(windowed)
    sm = difflib.SequenceMatcher(a=[t for t, _, _ in a], b=[t for t, _, _ in b], autojunk=False)
    shifts = [abs(a[i + k][1] - b[j + k][1]) for i, j, size in sm.get_matching_blocks() for k in range(size)]
    assert len(shifts) > 0.8 * len(a)
    assert float(np.median(shifts)) < 0.1 and float(np.percentile(shifts, 95)) < 0.5
    assert all(w.start >= 0 and w.end <= len(channel) / SR + 0.5 for w in windowed)
    assert [w.start for w in windowed] == sorted(w.start for w in windowed)

    # no word lost at a cut: every word one pass puts within 0.5 s of a cut is read in the windowed run too
    for _start, cut in window_bounds(channel, SR, 60.0)[:-1]:
        t = cut / SR
        for word, s, e in a:
            if e > t - 0.5 and s < t + 0.5:
                assert any(word == w and abs(s - ws) < 1.0 for w, ws, _ in b), f"'{word}' at {s:.2f} s lost at the cut at {t:.2f} s"


@pytest.mark.slow
def test_short_signal_transcribed_in_one_pass_as_before(transcriber: Transcriber, channel: np.ndarray) -> None:
    import ctranslate2

    x = channel[: 40 * SR]
    ctranslate2.set_random_seed(0)
    direct = transcriber._recognise(np.ascontiguousarray(x), 0.0)
    ctranslate2.set_random_seed(0)
    assert [(w.text, w.start, w.end) for w in transcriber.transcribe(x)] == [(w.text, w.start, w.end) for w in direct]
    assert len(direct) > 20
