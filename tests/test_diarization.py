"""Diarisation of mono calls: voice activity, GE2E embeddings, the cluster and pyannote backends, routing, pipeline.

Accuracy on real recordings (DER with pyannote.metrics, collar 0.25, overlap scored)
is checked against the floors of the issue on the shared recordings; the pyannote
backend runs a real pyannote.audio pipeline built from local checkpoints created here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.config import Config, DiarizationConfig
from analysis.diarization import Diarization, diarize, read_rttm
from analysis.diarization import cluster as C
from analysis.diarization import vad as V
from analysis.errors import ModelUnavailableError

from conftest import ROOT, SAMPLES, sample_truth, shared_file


def load16k(path: Path, seconds: float | None = None) -> np.ndarray:
    from analysis.audio import load_audio
    from analysis.channels import detect_layout, mono_signal

    audio = load_audio(path)
    x = mono_signal(audio.samples, detect_layout(audio.samples, audio.sample_rate))
    return x[: int(seconds * 16000)] if seconds else x


def der(ref, hyp, start: float = 0.0, end: float | None = None) -> dict:
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def ann(items):
        a = Annotation()
        for i, (s, e, lab) in enumerate(items):
            a[Segment(s, e), i] = lab
        return a

    end = end if end is not None else max(e for _, e, _ in ref) + 1.0
    d = DiarizationErrorRate(collar=0.25, skip_overlap=False)(ann(ref), ann(hyp), uem=Timeline([Segment(start, end)]), detailed=True)
    return {"der": d["diarization error rate"], "confusion": d["confusion"] / d["total"]}


# --- voice activity -------------------------------------------------------------------------


def test_hysteresis_needs_onset_and_holds_until_offset():
    p = np.array([0.1, 0.3, 0.6, 0.4, 0.3, 0.1, 0.4, 0.45, 0.2])
    assert V.hysteresis(p, 0.5, 0.25).tolist() == [False, True, True, True, True, False, False, False, False]


def test_regions_bridge_short_pauses_pad_and_drop_short_bursts():
    f = 0.032
    mask = np.zeros(200, dtype=bool)
    mask[10:40] = True  # 0.32-1.28 s
    mask[45:80] = True  # pause of 0.16 s
    mask[150:151] = True  # a 32 ms click
    regions = V.mask_to_regions(mask, f, 200 * f, bridge=0.2, pad=0.1, min_duration=0.1)
    assert len(regions) == 1
    assert regions[0] == pytest.approx((10 * f - 0.1, 80 * f + 0.1))
    assert len(V.mask_to_regions(mask, f, 200 * f, bridge=0.1)) == 3


def test_soft_speech_next_to_detected_speech_is_added_but_isolated_noise_is_not():
    levels = np.full(100, -80.0, dtype=np.float32)
    levels[20:30] = -40  # loud syllables Silero hears
    levels[30:40] = -62  # soft tail: 18 dB over the floor
    levels[70:75] = -60  # a bump far from any speech
    speech = np.zeros(100, dtype=bool)
    speech[20:30] = True
    grown = V.grow_over_soft_speech(speech, levels, 10.0)
    assert grown[20:40].all()
    assert not grown[70:75].any()
    assert not grown[:20].any()
    assert V.grow_over_soft_speech(speech, levels, 0.0) is speech


def test_silero_finds_the_speech_of_a_real_recording():
    x = load16k(shared_file("real/pyannote/sample.wav"))
    frames = V.detect_speech(x, grow_db=0.0)
    regions = frames.regions(bridge=0.6)
    ref = read_rttm(shared_file("real/pyannote/sample.rttm"), "sample")
    assert regions[0][0] == pytest.approx(min(s for s, _, _ in ref), abs=0.3)  # first words at 6.69 s; nothing before
    assert V.detect_speech(np.zeros(16000 * 3, dtype=np.float32)).regions(0.6) == []


def test_silero_block_by_block_matches_faster_whispers_one_call(monkeypatch):
    """Long calls are run through Silero a block at a time (bounded memory), with the same probabilities."""
    from faster_whisper.vad import get_vad_model

    x = load16k(SAMPLES / "mono_call.flac")[: 16000 * 20 + 100]
    whole = np.asarray(get_vad_model()(np.pad(x, (0, (-x.size) % V.VAD_FRAME))), dtype=np.float32).reshape(-1)
    monkeypatch.setattr(V, "BLOCK_FRAMES", 97)  # many blocks, the last one short
    blocks = V.speech_probabilities(x)
    assert blocks.shape == whole.shape
    np.testing.assert_allclose(blocks[:-1], whole[:-1], atol=1e-4)  # faster-whisper zeroes the last frame's tail


def test_frame_levels_block_by_block(monkeypatch):
    x = np.random.default_rng(1).standard_normal(16000 * 3 + 5).astype(np.float32) * 0.1
    whole = V.frame_levels(x)
    monkeypatch.setattr(V, "BLOCK_FRAMES", 7)
    np.testing.assert_array_equal(V.frame_levels(x), whole)
    assert whole.size == -(-x.size // V.VAD_FRAME) and abs(float(np.median(whole)) - 10 * np.log10(0.01)) < 0.5


def test_mel_power_block_by_block_matches_librosa_centred_frames(monkeypatch):
    import librosa

    from analysis.diarization import embedding as E

    x = load16k(SAMPLES / "mono_call.flac")[: 16000 * 4 + 37]
    ref = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=E.N_FFT, hop_length=E.HOP, n_mels=E.N_MELS).T
    monkeypatch.setattr(E, "MEL_BLOCK", 33)
    got = E.mel_power(x)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-7 * float(ref.max()))


def test_a_long_call_held_as_float16_is_diarised_without_a_float32_copy(monkeypatch):
    """Long calls are held as float16 (audio.COMPACT_BYTES); every diarisation step converts a block at a
    time and finds the same speakers, turns and overlaps as on float32."""
    import analysis.audio as audio_mod
    from analysis.audio import load_audio
    from analysis.channels import detect_layout, mono_signal
    from analysis.diarization import embedding as E
    from analysis.diarization import overlap as O

    full = load_audio(SAMPLES / "mono_call.flac")
    monkeypatch.setattr(audio_mod, "COMPACT_BYTES", full.samples.nbytes // 4)
    half = load_audio(SAMPLES / "mono_call.flac")
    x16 = mono_signal(half.samples, detect_layout(half.samples, 16000))
    assert x16.dtype == np.float16  # no float32 copy of the call is made to hand it on
    x32 = mono_signal(full.samples, detect_layout(full.samples, 16000))
    monkeypatch.setattr(V, "BLOCK_FRAMES", 211)
    monkeypatch.setattr(E, "MEL_BLOCK", 997)
    monkeypatch.setattr(O, "BLOCK_SECONDS", 20.0)

    def no_whole_copy(x, *args, **kwargs):  # a float32 array as long as the call must never be made from it
        out = real_asarray(x, *args, **kwargs)
        if x is x16 and out.dtype == np.float32:
            raise AssertionError("whole-signal float32 copy of a float16 call")
        return out

    real_asarray = np.asarray
    monkeypatch.setattr(np, "asarray", no_whole_copy)
    cfg = DiarizationConfig(backend="cluster")
    got16 = diarize(x16, 16000, cfg)
    monkeypatch.setattr(np, "asarray", real_asarray)
    got32 = diarize(x32, 16000, cfg)
    assert {s.speaker for s in got16.segments} == {s.speaker for s in got32.segments}
    d = der(got32.tuples(), got16.tuples())
    assert d["der"] < 0.02, d
    assert len(got16.overlaps) == len(got32.overlaps)
    for (a, b), (c, e) in zip(got16.overlaps, got32.overlaps):
        assert abs(a - c) < 0.05 and abs(b - e) < 0.05


# --- clustering and smoothing ------------------------------------------------------------------


def test_sliding_windows_cover_each_region():
    w = C.sliding_windows([(0.0, 4.0), (10.0, 10.8)], 1.5, 0.5)
    assert w[0] == (0.0, 1.5) and w[-2][1] == pytest.approx(4.0) and w[-1] == (10.0, 10.8)
    steps = np.diff([s for s, _ in w[:-1]])
    assert (steps <= 0.5 + 1e-9).all()


def test_viterbi_removes_short_flips_but_keeps_long_changes():
    ll = np.zeros((60, 2))
    ll[:, 0] = 1.0
    ll[20:22] = [0.0, 1.0]  # a 2-frame flip
    ll[40:] = [0.0, 1.0]  # a real change
    path = C.viterbi(ll, 3.0)
    assert (path[:40] == 0).all() and (path[40:] == 1).all()
    assert C.viterbi(ll, 0.0)[20] == 1  # without smoothing the flip stays


def _blobs(centres: list[int], n: int = 30, dim: int = 16, noise: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = np.abs(rng.normal(size=(max(centres) + 1, dim)))
    x = np.concatenate([base[c] + noise * np.abs(rng.normal(size=(n, dim))) for c in centres])
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(centres, n)


def test_spectral_clustering_separates_and_counts_speakers():
    x, truth = _blobs([0, 1, 2])
    for speakers in (3, "auto"):
        got = C.spectral_labels(x, speakers, 1, 5)
        assert len(set(got)) == 3
        # each true group lands in one cluster
        assert all(len(set(got[truth == c])) == 1 for c in range(3))
    one, _ = _blobs([0], n=40)
    assert set(C.spectral_labels(one, "auto", 1, 4)) == {0}


def test_long_calls_cluster_a_subset_and_assign_the_rest(monkeypatch):
    monkeypatch.setattr(C, "MAX_CLUSTERED", 40)
    x, truth = _blobs([0, 1], n=100, seed=3)
    got = C._cluster(x, DiarizationConfig())
    assert all(len(set(got[truth == c])) == 1 for c in (0, 1)) and len(set(got)) == 2


# --- GE2E speaker encoder ------------------------------------------------------------------------


def test_encoder_loads_without_importing_resemblyzer_or_printing():
    code = (
        "import io, sys, contextlib\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    from analysis.diarization.embedding import load_encoder\n"
        "    load_encoder('cpu')\n"
        "assert buf.getvalue() == '', buf.getvalue()\n"
        "bad = [m for m in ('resemblyzer', 'webrtcvad', 'pkg_resources') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_windows_are_embedded_a_group_at_a_time_with_the_same_result(monkeypatch):
    from analysis.diarization import embedding as E

    x = load16k(SAMPLES / "mono_call.flac")[: 16000 * 12]
    windows = [(s, s + 1.5) for s in np.arange(0.0, 10.0, 0.75)]
    enc = E.load_encoder("cpu")
    whole = enc.embed_mels([E.mel_power(x)[int(s * 100) : int(e * 100)] * g for (s, e), g in zip(windows, E.window_gains(x, windows))], readout=100)
    monkeypatch.setattr(E, "WINDOW_GROUP", 4)
    long_e, short_e = enc.embed_windows(x, windows, readout=1.0)
    assert long_e.shape == (len(windows), E.EMBEDDING_SIZE)
    np.testing.assert_allclose(long_e, whole[0], atol=1e-5)
    np.testing.assert_allclose(short_e, whole[1], atol=1e-5)


def test_encoder_matches_resemblyzer_on_real_speech():
    import torch
    from resemblyzer import VoiceEncoder
    from resemblyzer.audio import wav_to_mel_spectrogram

    from analysis.diarization.embedding import load_encoder, mel_power

    x = load16k(shared_file("real/pyannote/sample.wav"))[16000 * 7 : 16000 * 12]
    mel = mel_power(x)
    assert np.allclose(mel, wav_to_mel_spectrogram(x), rtol=1e-4, atol=1e-7)
    chunks = [mel[i : i + 160] for i in (0, 100, 250)]
    ours = load_encoder("cpu").embed_mels(chunks)
    theirs = VoiceEncoder("cpu", verbose=False)(torch.from_numpy(np.stack(chunks))).detach().numpy()
    assert np.allclose(ours, theirs, atol=1e-5)
    # prefixes read from the same pass equal embedding the prefix on its own
    full, early = load_encoder("cpu").embed_mels(chunks, readout=75)
    alone = load_encoder("cpu").embed_mels([c[:75] for c in chunks])
    assert np.allclose(full, ours, atol=1e-5) and np.allclose(early, alone, atol=1e-5)


# --- the cluster backend on real recordings (floors of the issue) -----------------------------------


@pytest.fixture(scope="module")
def cluster_cfg() -> DiarizationConfig:
    return DiarizationConfig(backend="cluster")


@pytest.fixture(scope="module")
def phone_call(cluster_cfg) -> tuple[np.ndarray, Diarization]:
    """pyannote's sample.wav (a real 2-speaker telephone conversation) and its cluster diarisation."""
    x = load16k(shared_file("real/pyannote/sample.wav"))
    return x, diarize(x, 16000, cluster_cfg)


def test_cluster_phone_call_meets_the_floor(phone_call):
    result = phone_call[1]
    assert result.backend == "cluster" and result.speakers == ["S0", "S1"]
    m = der(read_rttm(shared_file("real/pyannote/sample.rttm"), "sample"), result.tuples(), 0.0, 30.0)
    assert m["der"] <= 0.10 and m["confusion"] <= 0.03, m


@pytest.mark.parametrize("uri", ["dev00", "dev01"])
def test_cluster_far_field_meeting_meets_the_floor(cluster_cfg, uri):
    x = load16k(shared_file(f"real/pyannote/{uri}.wav"))
    result = diarize(x, 16000, cluster_cfg)
    m = der(read_rttm(shared_file("real/pyannote/debug.development.rttm"), uri), result.tuples(), 0.0, 30.0)
    assert m["der"] <= 0.40, m


def test_cluster_keeps_both_speakers_at_a_turn_exchange_inside_speech(cluster_cfg, phone_call):
    x, result = phone_call
    segs = result.tuples()
    overlaps = [
        (max(a[0], b[0]), min(a[1], b[1])) for a in segs for b in segs if a[2] < b[2] and min(a[1], b[1]) > max(a[0], b[0])
    ]
    assert overlaps, "no overlapping talk kept"
    assert all(e - s <= 2 * cluster_cfg.overlap_seam + 0.051 for s, e in overlaps)
    none = diarize(x, 16000, cluster_cfg.model_copy(update={"overlap_seam": 0.0})).tuples()
    assert not any(a[2] != b[2] and min(a[1], b[1]) > max(a[0], b[0]) for a in none for b in none)


def test_cluster_auto_speaker_count_on_real_audio():
    cfg = DiarizationConfig(backend="cluster", speakers="auto")
    x = load16k(shared_file("real/pyannote/sample.wav"))
    assert len(diarize(x, 16000, cfg).speakers) == 2
    from analysis.audio import load_audio

    caller_only = load_audio(shared_file("real/aws_lca/Auto_Repairs_40_UTC_stereo.wav")).samples[0][: 16000 * 40]
    one = diarize(caller_only, 16000, cfg)
    assert one.speakers == ["S0"] and "one speaker found in the call" in one.warnings


def test_cluster_accepts_other_sample_rates_and_silence(cluster_cfg):
    import soxr

    x = load16k(shared_file("real/pyannote/sample.wav"))
    x8 = soxr.resample(x, 16000, 8000).astype(np.float32)
    result = diarize(x8, 8000, cluster_cfg)
    assert len(result.speakers) == 2 and max(s.end for s in result.segments) <= 30.0 + 1e-6
    quiet = diarize(np.zeros(16000 * 5, dtype=np.float32), 16000, cluster_cfg)
    assert quiet.segments == [] and quiet.warnings == ["no speech found by voice activity detection"]


# --- routing between backends ------------------------------------------------------------------------


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """No HF token, HF_HUB_OFFLINE on, an empty Hugging Face cache, no remembered pipeline failures."""
    import huggingface_hub.constants as hc

    from analysis.diarization import pyannote_backend as pb

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(pb, "_FAILURES", {})
    monkeypatch.setattr(pb, "_PIPELINES", {})
    return pb


def test_auto_falls_back_to_cluster_with_a_warning_when_pyannote_is_not_usable(offline_hub):
    x = load16k(shared_file("real/pyannote/sample.wav"), 15.0)
    result = diarize(x, 16000, DiarizationConfig())
    assert result.backend == "cluster"
    assert len(result.warnings) == 1
    assert "pyannote not usable" in result.warnings[0] and "community-1" in result.warnings[0]
    assert "used the offline 'cluster' backend" in result.warnings[0]


def test_channels_backend_on_a_dual_channel_recording():
    from analysis.audio import load_audio

    audio = load_audio(shared_file("real/faster_whisper/stereo_diarization.wav"))
    result = diarize(audio.samples, audio.sample_rate, DiarizationConfig())
    assert result.backend == "channels" and set(result.speakers) == {"left", "right"}
    ref = read_rttm(shared_file("real/faster_whisper/stereo_diarization.derived.rttm"))
    labels = sorted({lab for _, _, lab in ref})
    mapped = [(s, e, {"left": labels[0], "right": labels[1]}[lab]) for s, e, lab in result.tuples()]
    assert der(ref, mapped, 0.0, audio.duration)["der"] < 0.25


def test_channels_backend_on_mono_uses_cluster_and_says_so():
    x = load16k(shared_file("real/pyannote/sample.wav"), 15.0)
    result = diarize(x, 16000, DiarizationConfig(backend="channels"))
    assert result.backend == "cluster"
    assert any("needs a dual-channel recording" in w for w in result.warnings)


def test_rttm_round_trip(tmp_path, phone_call):
    d = Diarization([], "cluster")
    assert d.to_rttm() == ""
    result = phone_call[1]
    path = tmp_path / "x.rttm"
    path.write_text(result.to_rttm("x"))
    back = read_rttm(path, "x")
    assert [(round(s, 3), lab) for s, _, lab in back] == [(round(s.start, 3), s.speaker) for s in result.segments]


# --- the pyannote backend: a real pipeline from local files, and its failure modes ---------------------


def _save(model, path: Path) -> None:
    import lightning.pytorch as pl

    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(path)


@pytest.fixture(scope="module")
def local_pipeline(tmp_path_factory) -> Path:
    """A pyannote SpeakerDiarization pipeline folder like community-1's, with small randomly initialised models.

    segmentation/: a PyanNet powerset segmentation model (its no-speech output biased down so
    that it hears speech); embedding/: an x-vector (SincNet) model; plda/: an identity-like PLDA
    for VBx clustering; config.yaml referencing them with ``$model/`` paths.
    """
    import os

    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    import torch
    import yaml
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorSincNet
    from pyannote.audio.models.segmentation import PyanNet

    root = tmp_path_factory.mktemp("pyannote-pipeline")
    torch.manual_seed(0)
    seg = PyanNet(sincnet={"stride": 10}, lstm={"hidden_size": 16, "num_layers": 1}, linear={"hidden_size": 16, "num_layers": 1})
    seg.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        classes=["speaker#1", "speaker#2"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    seg.setup()
    with torch.no_grad():
        seg.classifier.bias[0] = -4.0  # powerset class 0 = nobody speaks
    _save(seg, root / "segmentation" / "pytorch_model.bin")
    emb = XVectorSincNet(dimension=32)
    emb.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=3.0)
    emb.setup()
    _save(emb, root / "embedding" / "pytorch_model.bin")
    rng = np.random.default_rng(0)
    (root / "plda").mkdir()
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(32), mean2=np.zeros(16), lda=rng.standard_normal((32, 16)))
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(16), tr=np.eye(16), psi=np.linspace(2.0, 0.5, 16))
    config = {
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": "$model/segmentation",
                "embedding": "$model/embedding",
                "plda": "$model/plda",
                "clustering": "VBxClustering",
                "segmentation_step": 0.5,
                "segmentation_batch_size": 16,
                "embedding_batch_size": 16,
            },
        },
        "params": {"segmentation": {"min_duration_off": 0.0}, "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def test_pyannote_pipeline_from_local_files_runs_through_the_adapter(local_pipeline, analyzer):
    from analysis.diarization.attribution import attribute_words
    from analysis.diarization.pyannote_backend import annotation_segments, load_pipeline, pyannote_diarize
    from analysis.turns import build_turns

    import torch

    x = load16k(shared_file("real/pyannote/sample.wav"))[16000 * 6 : 16000 * 18]
    cfg = DiarizationConfig(backend="pyannote", pyannote_pipeline=str(local_pipeline), device="cpu")
    pipeline = load_pipeline(cfg)
    assert type(pipeline).__name__ == "SpeakerDiarization"
    assert load_pipeline(cfg) is pipeline  # loaded once

    result = diarize(x, 16000, cfg)
    assert result.backend == "pyannote" and result.warnings == []
    assert result.segments, "the pipeline found no speech"
    assert all(0.0 <= s.start < s.end <= 12.0 + 1e-6 for s in result.segments)
    assert set(result.speakers) <= {"S0", "S1"} and result.speakers[0] == "S0"

    # the adapter passes the audio in memory and keeps the overlap-aware diarisation, relabelled
    direct = pipeline({"waveform": torch.from_numpy(x).reshape(1, -1), "sample_rate": 16000}, num_speakers=2)
    tracks = sorted(
        (round(max(0.0, seg.start), 3), round(min(12.0, seg.end), 3), lab)
        for seg, _, lab in direct.speaker_diarization.itertracks(yield_label=True)
        if seg.start < 12.0
    )
    assert [(s, e) for s, e, _ in tracks] == [(s.start, s.end) for s in result.segments]
    names = {}
    for (_, _, theirs), ours in zip(tracks, result.segments):
        assert names.setdefault(theirs, ours.speaker) == ours.speaker
    assert annotation_segments(direct.speaker_diarization, 12.0) == pyannote_diarize(x, 16000, cfg, pipeline)

    # words of the real recording -> the pipeline's speakers -> turns
    words = analyzer.transcriber.transcribe(x)
    assert words
    by_speaker = attribute_words(words, result.tuples())
    turns = build_turns(by_speaker)
    assert {t.speaker for t in turns} <= set(result.speakers)
    assert sum(len(t.words) for t in turns) == len(words)


def test_auto_uses_a_usable_pyannote_pipeline(local_pipeline):
    x = load16k(shared_file("real/pyannote/sample.wav"))[16000 * 6 : 16000 * 12]
    result = diarize(x, 16000, DiarizationConfig(pyannote_pipeline=str(local_pipeline / "config.yaml"), device="cpu"))
    assert result.backend == "pyannote" and result.warnings == []


def test_pyannote_gated_hub_pipeline_offline_without_token_says_what_to_do(offline_hub):
    cfg = DiarizationConfig(backend="pyannote")
    assert "HF_TOKEN" in offline_hub.unusable_reason(cfg) or "HF_HUB_OFFLINE" in offline_hub.unusable_reason(cfg)
    with pytest.raises(ModelUnavailableError) as err:
        offline_hub.load_pipeline(cfg)
    msg = str(err.value)
    assert "pyannote/speaker-diarization-community-1" in msg
    assert "not in the local Hugging Face cache" in msg and "offline" in msg
    assert "gated" in msg and "HF_TOKEN" in msg and "https://hf.co/settings/tokens" in msg
    assert "--diarization cluster" in msg
    with pytest.raises(ModelUnavailableError) as again:  # remembered: no second attempt
        offline_hub.load_pipeline(cfg)
    assert str(again.value) == msg


def test_pyannote_offline_with_a_token_does_not_ask_for_one(offline_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    with pytest.raises(ModelUnavailableError) as err:
        offline_hub.load_pipeline(DiarizationConfig(backend="pyannote"))
    assert "offline" in str(err.value) and "gated" not in str(err.value)


def test_pyannote_wrong_local_path(tmp_path):
    from analysis.diarization.pyannote_backend import load_pipeline, unusable_reason

    missing = tmp_path / "no-such-pipeline" / "config.yaml"
    cfg = DiarizationConfig(backend="pyannote", pyannote_pipeline=str(missing))
    assert "does not exist" in unusable_reason(cfg)
    with pytest.raises(ModelUnavailableError, match=r"no-such-pipeline.* does not exist.*pyannote_pipeline"):
        load_pipeline(cfg)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match=r"has no config.yaml"):
        load_pipeline(DiarizationConfig(pyannote_pipeline=str(empty)))


def test_pyannote_malformed_config(tmp_path, local_pipeline):
    from analysis.diarization.pyannote_backend import load_pipeline

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("pipeline: [unclosed\n")
    with pytest.raises(ModelUnavailableError, match=r"bad.yaml is not valid YAML"):
        load_pipeline(DiarizationConfig(pyannote_pipeline=str(bad_yaml)))
    no_name = tmp_path / "noname.yaml"
    no_name.write_text("params:\n  clustering: {threshold: 0.5}\n")
    with pytest.raises(ModelUnavailableError, match=r"malformed: it needs a 'pipeline:' section with a 'name:'"):
        load_pipeline(DiarizationConfig(pyannote_pipeline=str(no_name)))
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    text = (local_pipeline / "config.yaml").read_text()
    (dangling / "config.yaml").write_text(text)  # its $model/segmentation etc. are not in this folder
    with pytest.raises(ModelUnavailableError, match=r"cannot be loaded .*missing or its parameters are wrong"):
        load_pipeline(DiarizationConfig(pyannote_pipeline=str(dangling)))


def test_token_comes_from_config_or_environment_and_never_into_reports(monkeypatch):
    from analysis.diarization.pyannote_backend import resolve_token

    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert resolve_token(DiarizationConfig()) == "hf_from_env"
    cfg = Config.from_dict({"diarization": {"hf_token": "hf_from_config"}})
    assert resolve_token(cfg.diarization) == "hf_from_config"
    assert "hf_from_config" not in str(cfg.to_dict())
    masked = Config.model_validate_json(cfg.model_dump_json())  # e.g. a copy sent to a batch worker
    assert resolve_token(masked.diarization) == "hf_from_env"
    monkeypatch.delenv("HF_TOKEN")
    assert resolve_token(DiarizationConfig()) is None


def test_pyannote_telemetry_is_off_by_default():
    code = "import os; os.environ.pop('PYANNOTE_METRICS_ENABLED', None); import analysis.diarization.pyannote_backend; print(os.environ['PYANNOTE_METRICS_ENABLED'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "false", out.stderr[-1000:]


# --- configuration and command line -----------------------------------------------------------------------


def test_speakers_setting_is_validated():
    from analysis.errors import ConfigError

    assert Config.from_dict({"diarization": {"speakers": "auto"}}).diarization.speakers == "auto"
    with pytest.raises(ConfigError, match="diarization.speakers"):
        Config.from_dict({"diarization": {"speakers": 0}})
    with pytest.raises(ConfigError, match="min_speakers"):
        Config.from_dict({"diarization": {"min_speakers": 3, "max_speakers": 2}})


def test_cli_options_map_to_the_configuration():
    from analysis.cli import build_parser, config_from_args

    args = build_parser().parse_args(["analyze", "x.wav", "--speakers", "auto", "--diarization", "cluster"])
    cfg = config_from_args(args)
    assert cfg.diarization.speakers == "auto" and cfg.diarization.backend == "cluster"
    assert config_from_args(build_parser().parse_args(["analyze", "x.wav", "--speakers", "3"])).diarization.speakers == 3
    assert config_from_args(build_parser().parse_args(["analyze", "x.wav"])).diarization.speakers == 2
    with pytest.raises(SystemExit):
        build_parser().parse_args(["analyze", "x.wav", "--speakers", "two"])


# --- end to end: a mono call gets two speakers with roles ----------------------------------------------------


@pytest.mark.parametrize("name", ["mono_call", "tel_support_8k"])
def test_mono_call_turns_are_attributed_to_two_speakers_with_roles(analyzed, name):
    truth = sample_truth(name)
    audio = SAMPLES / truth["audio"]
    report = analyzed(audio)
    assert report.call.diarization == "cluster"
    assert any("pyannote not usable" in w for w in report.warnings)
    assert sorted(s.role for s in report.speakers) == ["agent", "customer"]
    role = {s.label: s.role for s in report.speakers}

    def truth_role(t: float) -> str | None:
        # the longer truth turn covering t (a backchannel inside another turn is not what words are judged by)
        covering = [x for x in truth["turns"] if x["start"] - 0.3 <= t <= x["end"] + 0.3]
        return max(covering, key=lambda x: x["end"] - x["start"])["speaker"] if covering else None

    judged = [(role[t.speaker], truth_role((w.start + w.end) / 2)) for t in report.turns for w in t.words]
    judged = [(got, want) for got, want in judged if want is not None]
    right = sum(got == want for got, want in judged)
    assert len(judged) >= 50
    assert right / len(judged) >= 0.9, f"{right}/{len(judged)} words attributed to the right party"
    agent = next(s.label for s in report.speakers if s.role == "agent")
    assert report.turns[0].speaker == agent  # the agent answers the call
