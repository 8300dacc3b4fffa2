"""Pitch, loudness, pace and voice events: unit tests on synthetic signals, and end to end on the sample calls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.config import Config, ProsodyConfig
from analysis.frames import fill_short_gaps, intervals_to_mask, mask_to_intervals, running_median
from analysis.loudness import frame_levels, speech_activity, summarise_loudness
from analysis.pace import fast_speech_events, speech_seconds, syllables, turn_wpm
from analysis.pitch import pyin_observations, semitones, summarise_pitch, track_pitch
from analysis.prosody import SpeakerSignal, elevated_stretches, running_baseline, track_voice, voice_events, window_level
from analysis.records import Turn, Word

from tests.conftest import SAMPLES, sample_truth, shared_file

SR = 16000


def voice_like(f0, sr=SR, dur=1.0, harmonics=10, amp=0.3, seed=0):
    """A harmonic complex (falling spectrum) following ``f0`` (Hz, scalar or per-sample), plus faint noise."""
    n = int(dur * sr)
    f = np.broadcast_to(np.asarray(f0, dtype=float), (n,))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
    x = amp * x / np.max(np.abs(x))
    return (x + 1e-3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def mulaw_8k(x, sr=SR):
    """Telephone path: resample to 8 kHz and mu-law encode/decode (G.711-like, 8 bits)."""
    import soxr

    y = soxr.resample(x, sr, 8000)
    mu = 255.0
    c = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    q = np.round(c * 127) / 127
    return (np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu).astype(np.float32)


# --- pitch -------------------------------------------------------------------------------


@pytest.mark.parametrize("f0", [75.0, 120.0, 220.0, 400.0])
def test_pitch_of_a_steady_voice(f0):
    tr = track_pitch(voice_like(f0), SR)
    v = tr.f0[5:-5]
    assert np.mean(np.isfinite(v)) > 0.9
    err = np.abs(semitones(v[np.isfinite(v)], f0))
    assert np.median(err) < 0.1
    assert np.mean(err > 12 * math.log2(1.2)) < 0.02  # gross errors (> 20 % off)


def test_pitch_follows_a_glide_and_reports_semitone_spread():
    n = SR * 2
    f = 100.0 * 2 ** (np.linspace(0, 12, n) / 12)  # one octave up over 2 s
    tr = track_pitch(voice_like(f, dur=2.0), SR)
    t = tr.times
    truth = 100.0 * 2 ** (np.clip(t / 2.0, 0, 1) * 12 / 12)
    ok = np.isfinite(tr.f0)
    assert ok[5:-5].mean() > 0.9
    assert np.median(np.abs(semitones(tr.f0[ok], 1.0) - semitones(truth[ok], 1.0))) < 0.2
    s = summarise_pitch(tr.f0, tr.hop)
    assert s.range_semitones == pytest.approx(12 * 0.9, abs=1.0)  # 5th..95th percentile of a linear glide
    assert 2.5 < s.sd_semitones < 4.5  # RMS around the median of a uniform 12-st spread is 12/sqrt(12)


def test_pitch_on_8k_mu_law_telephone_audio():
    x = mulaw_8k(voice_like(150.0, dur=1.5))
    tr = track_pitch(x, 8000)
    v = tr.f0[np.isfinite(tr.f0)]
    assert len(v) > 0.8 * len(tr.f0)
    assert abs(np.median(semitones(v, 150.0))) < 0.2


def test_noise_is_unvoiced_and_untracked_frames_stay_empty():
    noise = (0.1 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32)
    assert np.mean(np.isfinite(track_pitch(noise, SR).f0)) < 0.1
    x = voice_like(200.0)
    frames = np.zeros(100, dtype=bool)
    frames[20:60] = True
    tr = track_pitch(x, SR, frames)
    assert not np.isfinite(tr.f0[~frames]).any()
    assert np.isfinite(tr.f0[25:55]).all()


def test_octave_pass_keeps_a_strong_second_harmonic_voice_at_its_f0():
    n = SR
    ph = 2 * np.pi * 110.0 * np.arange(n) / SR
    x = (0.3 * np.sin(ph) + 0.9 * np.sin(2 * ph) + 0.3 * np.sin(3 * ph)).astype(np.float32)
    tr = track_pitch(x, SR)
    v = tr.f0[np.isfinite(tr.f0)]
    assert np.mean(np.abs(semitones(v, 110.0)) < 1.0) > 0.95


def test_pyin_observation_weights():
    inf = np.inf
    # one deep dip: its probability is the Beta(2, 18) mass of thresholds above it (+ nothing else)
    p = pyin_observations(np.array([[40.0, inf, inf, inf]]), np.array([[0.05, inf, inf, inf]]))
    assert p[0, 0] == pytest.approx(0.755, abs=0.01) and p[0, 1:].sum() == 0
    # a shallow dip only: pyin's no-trough probability, 1 %
    p = pyin_observations(np.array([[40.0, inf, inf, inf]]), np.array([[0.9, inf, inf, inf]]))
    assert p[0, 0] == pytest.approx(0.01, abs=0.002)
    # two equally deep dips: the shorter period (smaller lag) is favoured, as in pyin
    p = pyin_observations(np.array([[80.0, 40.0, inf, inf]]), np.array([[0.05, 0.05, inf, inf]]))
    assert p[0, 1] > 3 * p[0, 0] and p[0].sum() == pytest.approx(0.755 + 0.0, abs=0.02)


def test_hmm_voicing_holds_through_a_voice_and_drops_in_noise():
    rng = np.random.default_rng(3)
    x = np.concatenate([voice_like(160.0), (0.05 * rng.standard_normal(SR)).astype(np.float32), voice_like(160.0, seed=1)])
    tr = track_pitch(x, SR)
    v = np.isfinite(tr.f0)
    assert v[15:85].mean() > 0.97 and v[215:285].mean() > 0.97
    assert v[125:175].mean() < 0.1
    thr = track_pitch(x, SR, voicing="threshold", max_gap=0.15)
    assert np.isfinite(thr.f0[15:85]).mean() > 0.9  # the old decision still works when asked for


def test_voicing_agrees_with_pyin_on_a_real_recording():
    """On real speech our voicing decision and pitch agree with librosa.pyin (issue 4 floors: 85 %, 0.5 st)."""
    import librosa

    from analysis.audio import load_audio

    a = load_audio(shared_file("real/pyannote/sample.wav"), SR)
    x = a.samples.mean(axis=0)[: 15 * SR].astype(np.float32)
    tr = track_pitch(x, SR)
    pf0, pv, _ = librosa.pyin(x, sr=SR, fmin=60, fmax=500)
    t = librosa.times_like(pf0, sr=SR, hop_length=512)
    ours = tr.f0[np.clip(np.round(t / tr.hop).astype(int), 0, len(tr.f0) - 1)]
    ov = np.isfinite(ours)
    assert np.mean(ov == pv) >= 0.85
    both = ov & pv
    assert np.median(np.abs(semitones(ours[both], 1.0) - semitones(pf0[both], 1.0))) <= 0.5


# --- loudness and activity --------------------------------------------------------------


def test_frame_level_of_a_sine_is_its_dbfs():
    x = 0.5 * np.sin(2 * np.pi * 200 * np.arange(SR) / SR)
    lv = frame_levels(x, SR)
    assert len(lv) == 100
    assert np.median(lv[5:95]) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.05)


def test_activity_rejects_bleed_from_the_other_channel():
    x = np.zeros(3 * SR, dtype=np.float32)
    other = np.zeros(3 * SR, dtype=np.float32)
    x[: SR] = voice_like(150.0)  # own speech, first second
    other[SR : 2 * SR] = voice_like(220.0)
    x[SR : 2 * SR] = other[SR : 2 * SR] * 10 ** (-35 / 20)  # bleed, 35 dB down
    x += 1e-4 * np.random.default_rng(2).standard_normal(len(x)).astype(np.float32)
    lv, lo = frame_levels(x, SR), frame_levels(other, SR)
    act = speech_activity(lv, None, lo)
    assert act[5:95].all()
    assert not act[105:195].any()
    spans = mask_to_intervals(act, 0.01)
    assert spans[0][0] == pytest.approx(0.0, abs=0.03) and spans[-1][1] == pytest.approx(1.0, abs=0.03)


def test_loudness_is_relative_to_the_speaker_gain_does_not_change_events():
    """A channel recorded 20 dB quieter has levels 20 dB lower but the same raised-voice events."""
    cfg = ProsodyConfig()
    rng = np.random.default_rng(3)
    parts = []
    for k in range(16):
        seg = voice_like(120.0 + 5 * (k % 3), dur=1.2, seed=k)
        if k in (10, 11):
            seg = seg * 10 ** (9 / 20)  # raised by 9 dB
        parts += [seg, np.zeros(int(0.3 * SR), np.float32)]
    x = np.concatenate(parts) + (1e-4 * rng.standard_normal(sum(map(len, parts)))).astype(np.float32)
    out = []
    for gain in (1.0, 0.1):
        v = track_voice(SpeakerSignal("a", x * gain, SR, True), cfg)
        v.speech = v.activity
        s = summarise_loudness(v.levels, v.speech, v.hop)
        ev = [e for e in voice_events(v, cfg) if e.kind == "raised_voice"]
        out.append((s.median_dbfs, [(e.start, e.end) for e in ev]))
    assert out[0][0] - out[1][0] == pytest.approx(20.0, abs=0.1)
    assert out[0][1] == out[1][1]
    assert len(out[0][1]) == 1
    start = 10 * 1.5  # the 11th segment starts at 10 * (1.2 + 0.3) s
    assert out[0][1][0][0] == pytest.approx(start, abs=0.1)
    assert out[0][1][0][1] == pytest.approx(start + 1.5 + 1.2, abs=0.5)


# --- elevated stretches (pitch rise / raised voice logic) --------------------------------


def test_elevated_stretch_needs_the_threshold_and_the_duration():
    hop = 0.01
    v = np.zeros(3000)
    v[2000:2150] = 8.0  # 1.5 s at +8
    v[2500:2560] = 8.0  # 0.6 s at +8: too short
    st = elevated_stretches(v, hop, threshold=6.0, min_duration=1.0)
    assert len(st) == 1
    assert st[0].start == pytest.approx(20.0, abs=0.06)
    assert st[0].end == pytest.approx(21.5, abs=0.06)
    assert st[0].excess == pytest.approx(8.0, abs=0.5)
    assert elevated_stretches(v, hop, threshold=9.0, min_duration=1.0) == []


def test_running_baseline_uses_the_past_and_falls_back_to_the_whole_call():
    hop = 0.01
    v = np.full(2000, 10.0)
    v[1000:] = 20.0
    b = running_baseline(v, hop, window=5.0, min_seconds=2.0)
    assert b[50] == pytest.approx(np.median(v))  # < 2 s of history: whole-call median
    assert b[900] == 10.0
    assert b[1900] == 20.0  # the last 5 s are all at 20


def test_window_level_is_an_energy_average():
    v = np.array([np.nan, -20.0, -40.0, np.nan, np.nan])
    w = window_level(v, half=1, min_count=1)
    assert w[1] == pytest.approx(10 * math.log10((1e-2 + 1e-4) / 2))
    assert math.isnan(window_level(v, half=0, min_count=1)[0])


def test_frame_helpers():
    m = intervals_to_mask([(0.1, 0.3)], 50, 0.01)
    assert m.sum() == 20 and m[10] and not m[30]
    assert mask_to_intervals(m, 0.01) == [(0.1, 0.3)]
    assert fill_short_gaps(np.array([1, 0, 0, 1, 0, 0, 0, 1], bool), 2).tolist() == [1, 1, 1, 1, 0, 0, 0, 1]
    r = running_median(np.array([1.0, np.nan, 3.0, 100.0, 5.0]), 1)
    assert r.tolist() == [1.0, 2.0, 51.5, 5.0, 52.5]


# --- pace ------------------------------------------------------------------------------


def _turn(speaker, start, words, dur_per_word=0.3, gap=0.0):
    ws, t = [], start
    for w in words.split():
        ws.append(Word(start=t, end=t + dur_per_word, text=w, probability=0.9))
        t += dur_per_word + gap
    return Turn(speaker=speaker, start=start, end=ws[-1].end, text=words, words=ws)


def test_turn_pace_excludes_pauses():
    t = _turn("a", 0.0, "one two three four", dur_per_word=0.25)
    assert turn_wpm(t) == pytest.approx(240.0)
    paused = _turn("a", 0.0, "one two three four", dur_per_word=0.25, gap=1.0)  # long pauses between words
    assert turn_wpm(paused) == pytest.approx(240.0)
    speech = np.zeros(300, dtype=bool)
    speech[0:50] = True
    speech[70:120] = True  # 0.2 s pause: bridged
    speech[200:250] = True  # 0.8 s pause: excluded
    assert speech_seconds(speech, 0.0, 3.0, 0.01) == pytest.approx(1.7)


def test_syllable_estimate():
    assert [syllables(w) for w in ["cat", "table", "make", "available", "5", "Okay,"]] == [1, 2, 1, 4, 1, 2]


def test_fast_speech_is_relative_to_the_speaker():
    text = "we can sort this out for you today"
    turns = [_turn("a", 10.0 * k, text, dur_per_word=0.3) for k in range(5)]
    turns.append(_turn("a", 60.0, text, dur_per_word=0.18))  # 1.67x faster
    turns.append(_turn("b", 70.0, text, dur_per_word=0.18))  # another speaker: no usual pace to exceed, and < 270 wpm
    for t in turns:
        t.wpm = turn_wpm(t)
    ev = fast_speech_events(turns, ratio=1.4, absolute_wpm=400, min_words=6)
    assert [(e.speaker, e.start) for e in ev] == [("a", 60.0)]
    assert ev[0].value == pytest.approx(333.3, abs=0.5) and ev[0].unit == "wpm"


# --- end to end on the sample calls -----------------------------------------------------


def _report(analyzed, name):
    truth = sample_truth(name)
    return analyzed(SAMPLES / truth["audio"]), truth


@pytest.mark.slow
@pytest.mark.parametrize("name", ["calm_agent", "rude_agent", "tel_billing_8k"])
def test_voice_figures_in_the_report(analyzed, name):
    rep, truth = _report(analyzed, name)
    roles = {s.label: s.role for s in rep.speakers}
    pitch = {}
    for sm in rep.metrics.speakers:
        assert sm.pitch is not None and sm.pitch.median_hz is not None
        assert 60 <= sm.pitch.median_hz <= 500
        assert 0.5 < sm.pitch.sd_semitones < 6 and 2 < sm.pitch.range_semitones < 20
        assert sm.pitch.voiced_seconds > 5
        assert sm.loudness is not None and -60 < sm.loudness.median_dbfs < 0 and sm.loudness.sd_db > 0
        pitch[roles[sm.speaker]] = sm.pitch.median_hz
    # espeak voices: "+f" variants are female (higher F0) and "+m" male
    voice = {r: truth["speakers"][r]["voice"] for r in ("agent", "customer")}
    if "+m" in voice["agent"] and "+f" in voice["customer"]:
        assert pitch["agent"] < pitch["customer"]
    assert all(t.wpm is None or 60 < t.wpm < 500 for t in rep.turns)
    assert len(rep.contours) == len(rep.speakers)
    for c in rep.contours:
        assert c.rate_hz == 10.0
        assert len(c.pitch_st) == len(c.loudness_db) == math.ceil(rep.call.duration * 10 - 1e-9)
        voiced = [p for p in c.pitch_st if p is not None]
        assert len(voiced) > 50 and abs(float(np.median(voiced))) < 1.0  # semitones around the speaker's median
    cfg = rep.call.config["prosody"]
    assert cfg["raised_voice_db"] == Config().prosody.raised_voice_db  # the report records the values used


@pytest.mark.slow
def test_raised_voice_and_fast_speech_of_the_rude_agent(analyzed):
    rep, truth = _report(analyzed, "rude_agent")
    roles = {s.label: s.role for s in rep.speakers}
    for kind in ("raised_voice", "fast_speech"):
        want = sorted(e["start"] for e in truth["events"] if e["kind"] == kind)
        got = sorted(e.start for e in rep.events if e.kind == kind)
        assert len(got) == len(want), kind
        assert all(abs(a - b) <= 0.25 for a, b in zip(got, want)), (kind, got, want)
        assert all(roles[e.speaker] == "agent" and e.value is not None for e in rep.events if e.kind == kind)
    raised = [e for e in rep.events if e.kind == "raised_voice"]
    assert all(e.value >= Config().prosody.raised_voice_db and e.unit == "dB" and "over their baseline" in e.detail for e in raised)


def test_pitch_rise_event_on_a_synthetic_voice():
    """12 s at 120 Hz (with phrase pauses), then 2 s at 165 Hz (+5.5 st): one pitch rise where it starts."""
    cfg = ProsodyConfig()
    parts = []
    for k in range(8):
        parts += [voice_like(120.0 + 3 * (k % 2), dur=1.5, seed=k), np.zeros(int(0.2 * SR), np.float32)]
    parts += [voice_like(165.0, dur=2.0, seed=99), np.zeros(int(0.5 * SR), np.float32)]
    x = np.concatenate(parts)
    v = track_voice(SpeakerSignal("a", x, SR, True), cfg)
    v.speech = v.activity
    rises = [e for e in voice_events(v, cfg) if e.kind == "pitch_rise"]
    assert len(rises) == 1
    assert rises[0].start == pytest.approx(8 * 1.7, abs=0.15)
    assert rises[0].value == pytest.approx(12 * math.log2(165 / 121.5), abs=0.7) and rises[0].unit == "st"
    assert not [e for e in voice_events(v, cfg) if e.kind == "raised_voice"]  # same level throughout


def test_hmm_pieces_cut_long_runs_at_their_longest_pause():
    from analysis.pitch import hmm_pieces

    idx = np.array([0, 1, 2, 10, 11, 12, 13, 30, 31, 32])
    assert hmm_pieces(idx, 4) == [(0, 3), (3, 6), (6, 10)]
    assert hmm_pieces(idx, 100) == [(0, 10)]
    assert hmm_pieces(np.arange(5), 2) == [(0, 1), (1, 2), (2, 3), (3, 5)]  # no pause: cut at the start of the last tenth


def test_long_pitch_tracks_decoded_in_pieces_agree_with_one_pass(monkeypatch):
    """Long calls decode the voicing HMM a piece at a time (bounded memory): the same voicing and pitch almost everywhere."""
    import soundfile as sf

    from analysis import pitch as P

    x, sr = sf.read(str(SAMPLES / "calm_agent.flac"), dtype="float32", always_2d=True)
    x = x[:, 0]
    whole = P.track_pitch(x, sr)
    monkeypatch.setattr(P, "HMM_FRAMES", 1500)
    pieces = P.track_pitch(x, sr)
    va, vb = np.isfinite(whole.f0), np.isfinite(pieces.f0)
    assert va.sum() > 1000 and (va == vb).mean() >= 0.995
    both = va & vb
    assert np.median(np.abs(12 * np.log2(whole.f0[both] / pieces.f0[both]))) < 0.01
