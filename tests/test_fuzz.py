"""Fuzzing of the decoding and analysis entry points with mutated real recordings.

(Reliability issue.) Seeds are the sample calls cut to 2.5 s and written in the
containers calls arrive in: WAV PCM16 (stereo), mu-law WAV (stereo), float
WAV, FLAC, MP3, OGG/Vorbis and M4A/AAC (the FFmpeg path). Hypothesis mutates their bytes -
bit flips, overwritten runs, truncation, insertions, a duplicated header chunk,
header fields (channel count, sample rate, sizes, ...) set to edge values - and
the mutants go to ``load_audio`` (many examples) and ``Analyzer.analyze`` (a
few). Nothing may escape but :class:`analysis.errors.CallReviewError`; what is
returned must be valid (finite numbers, ordered turns, a report that survives
``dump_report``/``load_report``).

Deterministic (``derandomize=True``, no example database); runs in well under a
minute.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.audio import MAX_CHANNELS, Audio, load_audio
from analysis.errors import CallReviewError
from analysis.records import CallReport, dump_report, load_report
from tests.conftest import SAMPLES

SEED_SECONDS = 2.5
EDGE_VALUES = [0, 1, 2, 3, 7, 8, 16, 255, 256, 1000, 8000, 44100, 65535, 65536, 2**24, 2**31 - 1, 2**31, 2**32 - 1]


def _cut(name: str, start: float = 1.0) -> tuple[np.ndarray, int]:
    x, sr = sf.read(SAMPLES / name, dtype="float32", always_2d=True)
    a = int(start * sr)
    return x[a : a + int(SEED_SECONDS * sr)], sr


def _write_m4a(path: Path, x: np.ndarray, sr: int) -> None:
    import av

    pcm = (np.clip(x[:, 0], -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=sr, layout="mono")
        for i in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 1024], format="s16", layout="mono")
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _wav_fields(data: bytes) -> dict[str, tuple[int, int, str]]:
    fields = {
        "riff_size": (4, 4, "little"),
        "format_tag": (20, 2, "little"),
        "channels": (22, 2, "little"),
        "sample_rate": (24, 4, "little"),
        "byte_rate": (28, 4, "little"),
        "block_align": (32, 2, "little"),
        "bits": (34, 2, "little"),
        "fmt_size": (16, 4, "little"),
    }
    pos = data.find(b"data", 12)
    if pos > 0:
        fields["data_size"] = (pos + 4, 4, "little")
    return fields


# header fields of each container: name -> (offset, width in bytes, byte order)
HEADER_FIELDS = {
    ".flac": {
        "meta_length": (5, 3, "big"),
        "min_block": (8, 2, "big"),
        "max_block": (10, 2, "big"),
        "rate_channels_bits": (18, 4, "big"),
        "total_samples": (22, 4, "big"),
    },
    ".ogg": {"granule": (6, 4, "little"), "segments": (26, 1, "little"), "channels": (39, 1, "little"), "sample_rate": (40, 4, "little")},
    ".mp3": {"frame_header": (0, 4, "big"), "bitrate_rate": (2, 1, "big")},
    ".m4a": {"box_size": (0, 4, "big"), "box2_size": (24, 4, "big"), "box2_type": (28, 4, "big")},
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """Where the mutants are written (one file per container, overwritten by each example)."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    """The seed files' bytes, by name (the suffix tells the container)."""
    d = tmp_path_factory.mktemp("seeds")
    calm, sr16 = _cut("calm_agent.flac")
    rude, _ = _cut("rude_agent.flac")
    billing, sr8 = _cut("tel_billing_8k.wav")
    support, _ = _cut("tel_support_8k.wav")
    mono, _ = _cut("mono_call.flac")
    sf.write(d / "pcm16.wav", soxr.resample(calm, sr16, 8000), 8000, subtype="PCM_16")
    sf.write(d / "float.wav", rude[:, 1], sr16, subtype="FLOAT")  # bit flips here make NaN, Inf and absurd values
    sf.write(d / "ulaw.wav", billing, sr8, subtype="ULAW")
    sf.write(d / "call.flac", support, sr8, subtype="PCM_16")
    sf.write(d / "call.mp3", rude, sr16, format="MP3")
    sf.write(d / "call.ogg", mono, sr16, format="OGG", subtype="VORBIS")
    _write_m4a(d / "call.m4a", mono, sr16)
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


_pos = st.one_of(st.integers(0, 63), st.integers(0, 1 << 20))
_value = st.one_of(st.sampled_from(EDGE_VALUES), st.integers(0, 2**32 - 1))
MUTATION = st.one_of(
    st.tuples(st.just("flip"), _pos, st.integers(0, 7)),
    st.tuples(st.just("overwrite"), _pos, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20)),
    st.tuples(st.just("insert"), _pos, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("duplicate_header"), st.integers(4, 64), st.integers(8, 64)),
    st.tuples(st.just("field"), st.integers(0, 15), _value),
)
# what a file damaged in transit or by a careless tool looks like: audio bytes changed, or one header field
_payload = st.integers(64, 1 << 20)
GENTLE = st.one_of(
    st.tuples(st.just("flip"), _payload, st.integers(0, 7)),
    st.tuples(st.just("overwrite"), _payload, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("field"), st.integers(0, 15), _value),
)


def mutate(name: str, data: bytes, ops: list[tuple]) -> bytes:
    """Apply the mutations to ``data`` in order (positions taken modulo the current length)."""
    b = bytearray(data)
    for op in ops:
        kind = op[0]
        if not b:
            break
        if kind == "flip":
            b[op[1] % len(b)] ^= 1 << op[2]
        elif kind == "overwrite":
            p = op[1] % len(b)
            b[p : p + len(op[2])] = op[2]
        elif kind == "truncate":
            del b[max(1, op[1] % len(b)) :]
        elif kind == "insert":
            p = op[1] % len(b)
            b[p:p] = op[2]
        elif kind == "duplicate_header":  # a header chunk repeated right after itself
            a, n = op[1] % len(b), op[2]
            b[a + n : a + n] = b[a : a + n]
        elif kind == "field":
            suffix = name[name.rfind(".") :]
            fields = _wav_fields(bytes(b)) if suffix == ".wav" else HEADER_FIELDS[suffix]
            off, width, order = list(fields.values())[op[1] % len(fields)]
            if off + width <= len(b):
                b[off : off + width] = (op[2] % (1 << (8 * width))).to_bytes(width, order)
    return bytes(b)


def check_audio(audio: Audio) -> None:
    x = audio.samples
    assert x.ndim == 2 and 1 <= x.shape[0] <= MAX_CHANNELS and x.shape[1] > 0
    assert x.dtype in (np.float32, np.float16)
    assert audio.sample_rate == 16000 and audio.source_rate > 0
    assert math.isfinite(audio.duration) and audio.duration > 0
    for c in range(x.shape[0]):
        assert np.isfinite(x[c]).all()


def _floats(value, where: str = "report"):
    if isinstance(value, float):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _floats(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _floats(v, f"{where}[{i}]")


def check_report(report: CallReport) -> None:
    assert math.isfinite(report.call.duration) and report.call.duration > 0
    bad = [(w, v) for w, v in _floats(report.model_dump()) if not math.isfinite(v)]
    assert not bad, f"non-finite numbers in the report: {bad[:5]}"
    starts = [t.start for t in report.turns]
    assert starts == sorted(starts)
    for t in report.turns:
        assert 0 <= t.start <= t.end <= report.call.duration + 1.0
        assert [w.start for w in t.words] == sorted(w.start for w in t.words)
    labels = {s.label for s in report.speakers}
    assert {t.speaker for t in report.turns} <= labels
    again = load_report(dump_report(report))
    assert again == report


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(which=st.integers(0, 6), ops=st.one_of(st.lists(MUTATION, min_size=1, max_size=4), st.lists(GENTLE, min_size=1, max_size=2)))
def test_load_audio_raises_only_project_errors(seeds, scratch, which: int, ops: list[tuple]) -> None:
    name = sorted(seeds)[which]
    path = scratch / name
    path.write_bytes(mutate(name, seeds[name], ops))
    try:
        audio = load_audio(path)
    except CallReviewError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)  # one line, naming the file
        return
    check_audio(audio)


@settings(max_examples=10, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 6), ops=st.lists(GENTLE, min_size=1, max_size=2))
def test_analyze_raises_only_project_errors(analyzer, seeds, scratch, which: int, ops: list[tuple]) -> None:
    name = sorted(seeds)[which]
    path = scratch / f"analyze_{name}"
    path.write_bytes(mutate(name, seeds[name], ops))
    try:
        report = analyzer.analyze(path)
    except CallReviewError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    check_report(report)


def test_seeds_are_readable(seeds, scratch) -> None:
    """Unmutated, every seed decodes (the mutants start from working files)."""
    for name, data in seeds.items():
        p = scratch / name
        p.write_bytes(data)
        audio = load_audio(p)
        check_audio(audio)
        assert abs(audio.duration - SEED_SECONDS) < 0.1


def test_mutations_change_the_bytes(seeds) -> None:
    wav = seeds["pcm16.wav"]
    assert mutate("pcm16.wav", wav, [("field", 2, 7)])[22:24] == (7).to_bytes(2, "little")  # channel count
    assert len(mutate("pcm16.wav", wav, [("truncate", 100)])) == 100
    assert len(mutate("pcm16.wav", wav, [("duplicate_header", 12, 24)])) == len(wav) + 24


# --- the guards the fuzzing exercises, and block-wise decoding, on purpose ---------------------------


def test_declared_length_over_the_limit_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    import analysis.audio as audio_mod

    x, sr = _cut("tel_support_8k.wav")
    p = tmp_path / "long.wav"
    sf.write(p, x, sr, subtype="PCM_16")
    monkeypatch.setattr(audio_mod._Collector, "add", lambda *_a: pytest.fail("decoded a file whose header is over the limit"))
    with pytest.raises(CallReviewError, match=r"long\.wav: too long \(declared 2\.5 s; limit 1\.0 s\)"):
        load_audio(p, max_duration=1.0)


def test_absurd_channel_count_and_rate_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "many.wav"
    sf.write(p, np.zeros((8000, MAX_CHANNELS + 1), np.float32), 8000, subtype="PCM_16")
    with pytest.raises(CallReviewError, match=rf"many\.wav: unsupported channel count {MAX_CHANNELS + 1}"):
        load_audio(p)
    p = tmp_path / "slow.wav"
    sf.write(p, np.zeros(8000, np.float32), 500, subtype="PCM_16")
    with pytest.raises(CallReviewError, match=r"slow\.wav: unsupported sample rate 500 Hz"):
        load_audio(p)


def test_absurd_float_samples_are_clipped_and_reported(tmp_path: Path) -> None:
    x, sr = _cut("mono_call.flac")
    y = x[:, 0].copy()
    y[1000:1010] = 3e38
    y[2000] = -1e30
    y[3000] = np.nan
    p = tmp_path / "corrupt.wav"
    sf.write(p, y, sr, subtype="FLOAT")
    audio = load_audio(p)
    check_audio(audio)
    assert np.abs(audio.samples).max() < 100
    assert any("11 samples beyond 64 x full scale clipped" in w for w in audio.warnings)
    assert any("1 non-finite samples" in w for w in audio.warnings)


@pytest.mark.parametrize("name", ["calm_agent.flac", "tel_billing_8k.wav"])
def test_blockwise_decoding_equals_whole_file_decoding(name: str) -> None:
    """The soxr stream over blocks gives exactly what resampling the whole file at once gives."""
    x, sr = sf.read(SAMPLES / name, dtype="float32", always_2d=True)
    whole = (soxr.resample(x, sr, 16000, quality="HQ") if sr != 16000 else x).T
    audio = load_audio(SAMPLES / name)
    assert audio.samples.dtype == np.float32 and audio.samples.flags.c_contiguous
    assert audio.samples.shape == whole.shape
    assert np.array_equal(audio.samples, whole)


def test_long_recordings_are_held_as_float16(monkeypatch) -> None:
    """Above COMPACT_BYTES the signal is float16: half the memory, same layout decision and levels."""
    import analysis.audio as audio_mod
    from analysis.channels import detect_layout, frame_db

    full = load_audio(SAMPLES / "calm_agent.flac")
    monkeypatch.setattr(audio_mod, "COMPACT_BYTES", full.samples.nbytes // 4)
    half = load_audio(SAMPLES / "calm_agent.flac")
    assert half.samples.dtype == np.float16 and half.samples.nbytes * 2 == full.samples.nbytes
    assert half.warnings == full.warnings
    assert np.abs(half.samples.astype(np.float32) - full.samples).max() <= 2.0**-11 * max(1.0, float(np.abs(full.samples).max()))
    assert detect_layout(half.samples, 16000) == detect_layout(full.samples, 16000)
    loud = frame_db(full.samples[0], 16000) > -60
    assert np.abs(frame_db(half.samples[0], 16000) - frame_db(full.samples[0], 16000))[loud].max() < 0.1
