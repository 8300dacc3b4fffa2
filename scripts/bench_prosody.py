#!/usr/bin/env python3
"""Pitch stage speed and agreement with two reference trackers, and the cost of the whole stage.

Part 1 - pitch, per speaker of every recording in ``../shared/data/real/`` and
every sample call in ``sample_audio/``:

* the speaker's own signal (own channel of a stereo call; the mono signal where
  only they speak, per the reference RTTM / the sample's truth) at the analysis
  rate (16 kHz), exactly as the pipeline builds it;
* **our stage**: frame levels, voice activity inside the speaker's reference
  regions and the YIN tracker over the active frames (``analysis.prosody.track_voice``),
  timed on one core (the process's CPU time: other jobs on the machine do not count);
* **references**, computed in the same run on the same signal: ``librosa.pyin``
  (defaults, fmin 60, fmax 500) and Praat's autocorrelation tracker
  (``praat-parselmouth``, ``To Pitch (ac)``, time step 10 ms, floor 60 Hz,
  ceiling 500 Hz);
* compared on the reference's frames whose centre lies in the speaker's regions:
  median absolute difference in semitones and gross errors (> 20 % off) on the
  frames both call voiced, and voicing agreement (share of frames where both
  say voiced or both say unvoiced).

Part 2 - the whole prosody + conversation stage on a 10-minute dual-channel call
(built at run time by concatenating the stereo sample calls), against
transcribing the same call with tiny.en, both in this run, on one core, through
the real pipeline (``Analyzer.analyze`` with a progress callback timing each stage).

Floors (issue 4): pitch stage >= 100x real time on one core; against pyin median
difference <= 0.5 semitone, gross errors <= 5 %, voicing agreement >= 85 %;
the stage <= 15 % of transcription.

Usage::

    python scripts/bench_prosody.py [--no-real] [--no-samples] [--no-stage] [--skip-pyin]

Needs ``praat-parselmouth`` (``pip install -e .[bench]``).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_v] = "1"  # one core: set before numpy / torch load

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("CALLREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
SR = 16000
GROSS = 0.2


@dataclass
class Case:
    """One speaker of one recording."""

    name: str
    path: Path
    channel: int | None  # own channel; None: mono (mixed down)
    regions: list[tuple[float, float]]  # where the speaker speaks
    others: list[tuple[float, float]] = field(default_factory=list)  # where others speak (mono: excluded)
    other_channel: int | None = None


def read_rttm(path: Path, uri: str | None = None) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for line in path.read_text().splitlines():
        p = line.split()
        if len(p) < 8 or p[0] != "SPEAKER" or (uri and p[1] != uri):
            continue
        s, d = float(p[3]), float(p[4])
        out.setdefault(p[7], []).append((s, s + d))
    return out


def real_cases() -> list[Case]:
    real = SHARED / "real"
    cases: list[Case] = []
    if not real.exists():
        print(f"(no shared data at {real}: real recordings skipped)")
        return cases

    def mono(name, wav, rttm, uri=None):
        if not wav.exists():
            return
        ref = read_rttm(rttm, uri)
        for lab, reg in ref.items():
            others = [x for k, v in ref.items() if k != lab for x in v]
            cases.append(Case(f"{name}:{lab}", wav, None, reg, others))

    def stereo(name, wav, rttm, labels):
        if not wav.exists():
            return
        ref = read_rttm(rttm)
        for ch, lab in enumerate(labels):
            cases.append(Case(f"{name}:{lab}", wav, ch, ref.get(lab, []), other_channel=1 - ch))

    mono("pyannote/sample", real / "pyannote/sample.wav", real / "pyannote/sample.rttm")
    mono("pyannote/dev00", real / "pyannote/dev00.wav", real / "pyannote/debug.development.rttm", "dev00")
    mono("pyannote/dev01", real / "pyannote/dev01.wav", real / "pyannote/debug.development.rttm", "dev01")
    aws = real / "aws_lca"
    stereo("aws_lca/stereo", aws / "Auto_Repairs_40_UTC_stereo.wav", aws / "Auto_Repairs_40_UTC.derived.rttm", ["caller", "agent"])
    mono("aws_lca/mono", aws / "Auto_Repairs_40_UTC_mono.wav", aws / "Auto_Repairs_40_UTC.derived.rttm")
    fw = real / "faster_whisper"
    stereo("faster_whisper", fw / "stereo_diarization.wav", fw / "stereo_diarization.derived.rttm", ["left", "right"])
    gg = real / "google"
    stereo("google", gg / "two_channel_16k.wav", gg / "two_channel_16k.derived.rttm", ["ch0", "ch1"])
    return cases


def sample_cases() -> list[Case]:
    cases: list[Case] = []
    for tp in sorted((ROOT / "sample_audio").glob("*.truth.json")):
        truth = json.loads(tp.read_text())
        wav = tp.parent / truth["audio"]
        turns = truth["turns"]
        for role in ("agent", "customer"):
            reg = [(t["start"], t["end"]) for t in turns if t["speaker"] == role]
            oth = [(t["start"], t["end"]) for t in turns if t["speaker"] != role]
            if truth["layout"] == "stereo":
                ch = 0 if (truth["agent_channel"] == "left") == (role == "agent") else 1
                cases.append(Case(f"sample/{truth['call_id']}:{role}", wav, ch, reg, other_channel=1 - ch))
            else:
                cases.append(Case(f"sample/{truth['call_id']}:{role}", wav, None, reg, oth))
    return cases


_audio_cache: dict[Path, object] = {}


def load(path: Path):
    from analysis.audio import load_audio

    if path not in _audio_cache:
        _audio_cache.clear()
        _audio_cache[path] = load_audio(path, SR)
    return _audio_cache[path]


@dataclass
class Agreement:
    both: int = 0
    diffs: list = field(default_factory=list)
    gross: int = 0
    agree: int = 0
    frames: int = 0

    def add(self, ours_f0: np.ndarray, ref_f0: np.ndarray) -> None:
        ov = np.isfinite(ours_f0)
        rv = np.isfinite(ref_f0)
        b = ov & rv
        self.frames += len(ours_f0)
        self.agree += int(np.sum(ov == rv))
        self.both += int(b.sum())
        if b.any():
            self.diffs.append(np.abs(12 * np.log2(ours_f0[b] / ref_f0[b])))
            self.gross += int(np.sum(np.abs(ours_f0[b] / ref_f0[b] - 1) > GROSS))

    def figures(self) -> tuple[float | None, float | None, float | None]:
        med = float(np.median(np.concatenate(self.diffs))) if self.diffs else None
        gross = self.gross / self.both if self.both else None
        agree = self.agree / self.frames if self.frames else None
        return med, gross, agree


def ours_on(times: np.ndarray, f0: np.ndarray, hop: float) -> np.ndarray:
    j = np.clip(np.round(times / hop).astype(int), 0, len(f0) - 1)
    return f0[j]


def pitch_part(cases: list[Case], skip_pyin: bool) -> dict:
    import librosa
    import parselmouth

    from analysis.config import ProsodyConfig
    from analysis.frames import intervals_to_mask, n_frames
    from analysis.intervals import union
    from analysis.prosody import SpeakerSignal, track_voice

    cfg = ProsodyConfig()
    hop = cfg.hop
    # warm up (numba JIT of pyin, FFT plans) outside the timings
    warm = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    if not skip_pyin:
        librosa.pyin(warm, sr=SR, fmin=60, fmax=500)
    track_voice(SpeakerSignal("w", warm, SR, True), cfg)

    rows = []
    pool = {"pyin": Agreement(), "praat": Agreement()}
    per_call: dict[str, list[float]] = {}
    for c in cases:
        audio = load(c.path)
        if c.channel is not None:
            x = audio.samples[c.channel]
            other = audio.samples[c.other_channel] if c.other_channel is not None else None
        else:
            x = audio.samples.mean(axis=0).astype(np.float32)
            other = None
        dur = audio.duration
        n = n_frames(dur, hop)
        regions = union(c.regions)
        allowed = intervals_to_mask(regions, n, hop)
        if c.channel is None and c.others:
            allowed &= ~intervals_to_mask(union(c.others), n, hop)
        sig = SpeakerSignal(c.name, x, SR, c.channel is not None, other)
        t0 = time.process_time()  # CPU time of this single-threaded process: one core, robust to other load
        voice = track_voice(sig, cfg, allowed=allowed)
        t_ours = time.process_time() - t0
        call = c.name.split(":")[0]
        per_call.setdefault(call, [dur, 0.0])[1] += t_ours
        f0 = voice.pitch.f0
        row = {"case": c.name, "seconds": round(dur, 1), "speech_s": round(float(allowed.sum()) * hop, 1),
               "ours_x_rt": dur / t_ours if t_ours > 0 else None}
        # pyin (defaults, fmin 60, fmax 500)
        if not skip_pyin:
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pf0, pvf, _ = librosa.pyin(x, sr=SR, fmin=60, fmax=500)
            row["pyin_x_rt"] = dur / (time.process_time() - t0)
            pt = librosa.times_like(pf0, sr=SR, hop_length=512)
            sel = allowed[np.clip(np.round(pt / hop).astype(int), 0, n - 1)]
            ref = np.where(pvf, pf0, np.nan)[sel]
            a = Agreement()
            a.add(ours_on(pt[sel], f0, hop), ref)
            pool["pyin"].add(ours_on(pt[sel], f0, hop), ref)
            row["pyin"] = a.figures()
        # Praat autocorrelation
        snd = parselmouth.Sound(x.astype(np.float64), sampling_frequency=SR)
        p = snd.to_pitch_ac(time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0)
        pf = p.selected_array["frequency"]
        ptimes = np.asarray(p.xs())
        sel = allowed[np.clip(np.round(ptimes / hop).astype(int), 0, n - 1)]
        ref = np.where(pf > 0, pf, np.nan)[sel]
        a = Agreement()
        a.add(ours_on(ptimes[sel], f0, hop), ref)
        pool["praat"].add(ours_on(ptimes[sel], f0, hop), ref)
        row["praat"] = a.figures()
        rows.append(row)
        print(fmt_row(row), flush=True)
    return {"rows": rows, "pool": {k: v.figures() for k, v in pool.items()}, "per_call": per_call}


def pct(x):
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def st(x):
    return "  -  " if x is None else f"{x:5.2f}"


def fmt_row(r: dict) -> str:
    py = r.get("pyin", (None, None, None))
    pr = r.get("praat", (None, None, None))
    pyx = f"{r['pyin_x_rt']:5.1f}x" if r.get("pyin_x_rt") else "   -  "
    return (f"  {r['case']:36s} {r['seconds']:6.1f} {r['speech_s']:6.1f} {r['ours_x_rt']:7.0f}x {pyx} | "
            f"{st(py[0])} {pct(py[1])} {pct(py[2])} | {st(pr[0])} {pct(pr[1])} {pct(pr[2])}")


HEADER = (f"  {'speaker of recording':36s} {'dur s':>6s} {'reg s':>6s} {'ours':>8s} {'pyin':>6s} | "
          f"{'vs pyin: med st':>5s} {'gross':>6s} {'voicing':>6s} | {'vs Praat: med st':>5s} {'gross':>6s} {'voicing':>6s}")


def stage_part() -> dict:
    """Time transcription and the prosody + conversation stage on a 10-minute dual-channel call."""
    import soundfile as sf

    from analysis import Analyzer, Config
    from analysis.audio import load_audio

    parts = []
    for name in ("calm_agent", "rude_agent", "tel_billing_8k"):
        tp = ROOT / "sample_audio" / f"{name}.truth.json"
        if not tp.exists():
            continue
        a = load_audio(tp.parent / json.loads(tp.read_text())["audio"], SR)
        if a.channels == 2:
            parts.append(a.samples)
    if not parts:
        print("(no stereo sample calls: stage timing skipped)")
        return {}
    target = 600 * SR
    chunks, total = [], 0
    while total < target:
        for p in parts:
            chunks.append(p)
            total += p.shape[1]
            if total >= target:
                break
    x = np.concatenate(chunks, axis=1)[:, :target]
    cfg = Config.from_dict({"asr": {"cpu_threads": 1}})
    analyzer = Analyzer(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ten_minutes.flac"
        sf.write(path, x.T, SR, subtype="PCM_16")
        marks: list[tuple[str, float]] = []
        rep = analyzer.analyze(path, progress=lambda s: marks.append((s, time.perf_counter())))
        marks.append(("end", time.perf_counter()))
    spans = {a[0]: b[1] - a[1] for a, b in zip(marks, marks[1:])}
    return {"duration": x.shape[1] / SR, "stages": spans, "events": len(rep.events), "turns": len(rep.turns)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-real", action="store_true", help="skip the real recordings")
    ap.add_argument("--no-samples", action="store_true", help="skip the sample calls")
    ap.add_argument("--no-stage", action="store_true", help="skip the 10-minute stage timing")
    ap.add_argument("--skip-pyin", action="store_true", help="skip the pyin reference (slow)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out: dict = {}
    cases = ([] if args.no_real else real_cases()) + ([] if args.no_samples else sample_cases())
    if cases:
        print("Pitch stage (one core) and agreement with the references, per speaker, on the speaker's reference regions")
        print(HEADER)
        res = pitch_part(cases, args.skip_pyin)
        out["pitch"] = res
        tot_d = sum(v[0] for v in res["per_call"].values())
        tot_t = sum(v[1] for v in res["per_call"].values())
        worst = min(d / t for d, t in res["per_call"].values() if t > 0)
        rates = [r["pyin_x_rt"] for r in res["rows"] if r.get("pyin_x_rt")]
        py, pr = res["pool"]["pyin"], res["pool"]["praat"]
        print("\nPooled over all frames")
        print(f"  pitch stage speed: {tot_d / tot_t:.0f}x real time over {tot_d:.0f} s of calls (all speakers of a call "
              f"counted against its duration); slowest call {worst:.0f}x   [floor 100x: {'met' if worst >= 100 else 'NOT met'}]")
        if rates:
            print(f"  librosa.pyin speed, same signals: {np.median(rates):.1f}x real time (median per speaker)")
        if py[0] is not None:
            ok = py[0] <= 0.5 and py[1] <= 0.05 and py[2] >= 0.85
            print(f"  vs pyin : median |diff| {py[0]:.3f} st, gross errors {100 * py[1]:.2f} %, voicing agreement "
                  f"{100 * py[2]:.1f} %   [floors 0.5 st / 5 % / 85 %: {'met' if ok else 'NOT met'}]")
        if pr[0] is not None:
            print(f"  vs Praat: median |diff| {pr[0]:.3f} st, gross errors {100 * pr[1]:.2f} %, voicing agreement {100 * pr[2]:.1f} %")
    if not args.no_stage:
        print("\nWhole prosody + conversation stage on a 10-minute dual-channel call (one core, same run)")
        st_ = stage_part()
        out["stage"] = st_
        if st_:
            s = st_["stages"]
            tr, pro = s.get("transcribe", 0.0), s.get("prosody", 0.0)
            print(f"  call {st_['duration']:.0f} s, {st_['turns']} turns, {st_['events']} events")
            print(f"  transcription (tiny.en, both channels): {tr:.1f} s ({st_['duration'] / tr:.1f}x real time)")
            print(f"  prosody + conversation stage: {pro:.2f} s ({st_['duration'] / pro:.0f}x real time) = "
                  f"{100 * pro / tr:.1f} % of transcription   [floor 15 %: {'met' if pro <= 0.15 * tr else 'NOT met'}]")
            print("  all stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in s.items()))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
