"""Checks of the synthetic sample calls in ``sample_audio/`` and their ground truth.

The samples are written by ``scripts/make_samples.py``; see its docstring for the
event definitions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.rubric import CUE_KINDS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
SCRIPT = ROOT / "scripts" / "make_samples.py"
MANIFEST = SAMPLES / "MANIFEST.txt"

# call -> (layout, sample rate, container, subtype, shortest, longest duration in s)

CALLS = {
    "calm_agent": ("stereo", 16000, "FLAC", "PCM_16", 75.0, 100.0),
    "rude_agent": ("stereo", 16000, "FLAC", "PCM_16", 75.0, 100.0),
    "mono_call": ("mono", 16000, "FLAC", "PCM_16", 60.0, 80.0),
    "tel_billing_8k": ("stereo", 8000, "WAV", "ULAW", 60.0, 80.0),
    "tel_support_8k": ("mono", 8000, "WAV", "PCM_16", 60.0, 80.0),
}
EVENT_KINDS = {"overlap", "interruption", "backchannel", "silence", "dead_air", "hold", "raised_voice", "fast_speech"}
CUES = set(CUE_KINDS)  # the cue kinds the rubric defines
ROLES = {"agent", "customer"}
MAX_TOTAL_BYTES = 5_000_000


def _load(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.truth.json").read_text(encoding="utf-8"))


@pytest.fixture(params=sorted(CALLS), scope="module")
def call(request) -> tuple[str, dict]:
    return request.param, _load(request.param)


@pytest.fixture(scope="module")
def audio_cache() -> dict:
    return {}


def _audio(truth: dict, cache: dict) -> np.ndarray:
    """Samples as float64, shape (n, channels)."""
    name = truth["audio"]
    if name not in cache:
        x, _ = sf.read(SAMPLES / name, dtype="float64", always_2d=True)
        cache[name] = x
    return cache[name]


def _db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x**2) + 1e-20)


def _solo_spans(truth: dict, k: int) -> list[tuple[float, float]]:
    """Parts of turn ``k`` in which the other speaker is silent."""
    turn = truth["turns"][k]
    spans = [(turn["start"], turn["end"])]
    for other in truth["turns"]:
        if other["speaker"] == turn["speaker"]:
            continue
        cut = []
        for s, e in spans:
            if other["end"] <= s or other["start"] >= e:
                cut.append((s, e))
                continue
            if other["start"] > s:
                cut.append((s, other["start"]))
            if other["end"] < e:
                cut.append((other["end"], e))
        spans = cut
    return spans


def test_every_call_present_and_small():
    truths = sorted(p.name.removesuffix(".truth.json") for p in SAMPLES.glob("*.truth.json"))
    assert truths == sorted(CALLS)
    total = sum(p.stat().st_size for p in SAMPLES.iterdir() if p.is_file())
    assert total < MAX_TOTAL_BYTES, f"sample_audio holds {total} bytes"


def test_truth_is_valid(call):
    name, t = call
    layout, rate, container, _, _, _ = CALLS[name]
    assert t["truth_version"] == 1
    assert t["call_id"] == name
    assert t["audio"] == f"{name}.{'flac' if container == 'FLAC' else 'wav'}"
    assert t["layout"] == layout
    assert t["sample_rate"] == rate
    assert t["agent_channel"] in (("left", "right") if layout == "stereo" else (None,))
    assert set(t["speakers"]) == ROLES
    for spec in t["speakers"].values():
        assert set(spec) == {"voice", "pitch", "speed"}
    assert t["speakers"]["agent"]["voice"] != t["speakers"]["customer"]["voice"]

    dur = t["duration"]
    turns = t["turns"]
    assert turns and turns[0]["speaker"] == "agent", "the agent answers first"
    starts = [u["start"] for u in turns]
    assert starts == sorted(starts), "turns sorted by start"
    for u in turns:
        assert set(u) == {"speaker", "start", "end", "text"}
        assert u["speaker"] in ROLES
        assert 0 <= u["start"] < u["end"] <= dur
        assert u["text"].strip()
        assert not any(ch.isdigit() for ch in u["text"]), "numbers must be spelt out"

    for e in t["events"]:
        assert set(e) == {"kind", "start", "end", "speaker", "target", "detail"}
        assert e["kind"] in EVENT_KINDS
        assert 0 <= e["start"] < e["end"] <= dur
        assert e["speaker"] in ROLES | {None}
        assert e["target"] in ROLES | {None}
        if e["kind"] in ("interruption", "backchannel"):
            assert e["speaker"] in ROLES and e["target"] in ROLES and e["speaker"] != e["target"]
        if e["kind"] in ("overlap", "silence", "dead_air"):
            assert e["speaker"] is None
        if e["kind"] == "hold":
            assert e["speaker"] == "agent"
        if e["kind"] in ("raised_voice", "fast_speech"):
            assert e["speaker"] in ROLES
            assert any(
                u["start"] == e["start"] and u["end"] == e["end"] and u["speaker"] == e["speaker"] for u in turns
            ), f"{e['kind']} must span one turn"

    for b in t["behaviours"]:
        assert set(b) == {"cue", "speaker", "turn", "quote"}
        assert b["cue"] in CUES
        assert isinstance(b["turn"], int) and 0 <= b["turn"] < len(turns)
        assert b["speaker"] == turns[b["turn"]]["speaker"]
        assert b["quote"] and b["quote"] in turns[b["turn"]]["text"]


def test_events_follow_from_turns(call):
    """Overlap and silence events are exactly what the turn times give."""
    _, t = call
    turns = t["turns"]
    spans = []
    for i, a in enumerate(turns):
        for b in turns[i + 1 :]:
            if a["speaker"] != b["speaker"] and max(a["start"], b["start"]) < min(a["end"], b["end"]):
                spans.append((max(a["start"], b["start"]), min(a["end"], b["end"])))
    merged: list[list[float]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    overlaps = [(e["start"], e["end"]) for e in t["events"] if e["kind"] == "overlap"]
    np.testing.assert_allclose(np.reshape(overlaps, (-1, 2)), np.reshape(merged, (-1, 2)), atol=0.002)

    union: list[list[float]] = []
    for u in sorted(turns, key=lambda u: u["start"]):
        if union and u["start"] <= union[-1][1]:
            union[-1][1] = max(union[-1][1], u["end"])
        else:
            union.append([u["start"], u["end"]])
    gaps = [[a[1], b[0]] for a, b in pairwise(union) if b[0] - a[1] >= 2.0 - 1e-6]
    quiet = [e for e in t["events"] if e["kind"] in ("silence", "dead_air", "hold")]
    np.testing.assert_allclose(
        np.reshape([(e["start"], e["end"]) for e in quiet], (-1, 2)), np.reshape(gaps, (-1, 2)), atol=0.002
    )
    for e in quiet:
        length = e["end"] - e["start"]
        if e["kind"] == "silence":
            assert length < 5.0
        if e["kind"] == "dead_air":
            assert length >= 5.0


def test_audio_matches_truth(call):
    name, t = call
    layout, rate, container, subtype, shortest, longest = CALLS[name]
    path = SAMPLES / t["audio"]
    assert path.is_file()
    info = sf.info(path)
    assert info.format == container
    assert info.subtype == subtype
    assert info.samplerate == t["sample_rate"] == rate
    assert info.channels == (2 if layout == "stereo" else 1)
    assert abs(info.frames / info.samplerate - t["duration"]) <= 0.05
    assert shortest <= t["duration"] <= longest


def test_stereo_channels_separate_speakers(call, audio_cache):
    _, t = call
    if t["layout"] != "stereo":
        pytest.skip("mono call")
    x = _audio(t, audio_cache)
    sr = t["sample_rate"]
    agent_ch = 0 if t["agent_channel"] == "left" else 1
    own_ch = {"agent": agent_ch, "customer": 1 - agent_ch}
    assert not np.array_equal(x[:, 0], x[:, 1])
    checked = 0
    for k, turn in enumerate(t["turns"]):
        idx = np.concatenate([np.arange(int(s * sr), int(e * sr)) for s, e in _solo_spans(t, k)] or [[]]).astype(int)
        if len(idx) < 0.2 * sr:
            continue
        own = _db(x[idx, own_ch[turn["speaker"]]])
        other = _db(x[idx, 1 - own_ch[turn["speaker"]]])
        assert own - other >= 20.0, f"turn {k} ({turn['speaker']}): own channel only {own - other:.1f} dB louder"
        checked += 1
    assert checked >= 10


def test_raised_voice_is_louder(call, audio_cache):
    _, t = call
    raised = [e for e in t["events"] if e["kind"] == "raised_voice"]
    if not raised:
        pytest.skip("no raised voice in this call")
    x = _audio(t, audio_cache)
    sr = t["sample_rate"]

    def channel(speaker: str) -> np.ndarray:
        if t["layout"] == "mono":
            return x[:, 0]
        agent_ch = 0 if t["agent_channel"] == "left" else 1
        return x[:, agent_ch if speaker == "agent" else 1 - agent_ch]

    for e in raised:
        ch = channel(e["speaker"])
        levels = [
            _db(ch[int(u["start"] * sr) : int(u["end"] * sr)]) for u in t["turns"] if u["speaker"] == e["speaker"]
        ]
        level = _db(ch[int(e["start"] * sr) : int(e["end"] * sr)])
        assert level - float(np.median(levels)) >= 6.0, (
            f"raised turn at {e['start']} s only {level - np.median(levels):.1f} dB up"
        )


def test_make_samples_check_passes(tmp_path):
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): cannot regenerate the samples")
    made_with = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(": ")
        if key in ("espeak-ng", "libsndfile"):
            made_with[key] = value
    here = {
        "espeak-ng": subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        .stdout.split("Data at")[0]
        .strip(),
        "libsndfile": sf.__libsndfile_version__,
    }
    for tool, version in made_with.items():
        if here[tool] != version:
            pytest.skip(
                f"samples were made with {tool} {version!r}, this machine has {here[tool]!r}: "
                "byte-identical regeneration is not expected"
            )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(SAMPLES), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
