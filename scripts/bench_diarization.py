#!/usr/bin/env python
"""Diarisation benchmark: DER (and its parts), JER and speed per recording and backend.

Recordings: the mono and mono-mixed recordings of ``../shared/data/real/`` that have a
reference RTTM (pyannote ``sample.wav``, the AMI excerpts ``dev00``/``dev01``, the AWS
call's mono mix), and the mono sample calls (``sample_audio/mono_call``,
``tel_support_8k``; reference: their ground-truth turns).

Backends: ``cluster`` (the offline default), ``baseline`` (a quick Silero VAD + GE2E +
spectral-clustering baseline, measured in the same run), ``pyannote`` (when its
pipeline can be loaded: ``HF_TOKEN`` / a cached or local pipeline), and ``channels``
on the AWS call's stereo original for comparison.

Scoring: pyannote.metrics ``DiarizationErrorRate(collar=0.25, skip_overlap=False)``
(0.125 s either side of each reference boundary is not scored; overlapping speech is
scored) and ``JaccardErrorRate(collar=0.25)``, over the UEM when the data has one,
else the whole file. Speed: seconds of audio per second of decode + diarisation
(models loaded beforehand; ASR not included), wall clock, and CPU time.

Usage::

    .venv/bin/python scripts/bench_diarization.py [--backends cluster,baseline,pyannote] [--only sample,dev00]
        [--speakers auto|N] [--set window_step=0.75 ...] [--json figures.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("CALLREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLES = ROOT / "sample_audio"

# name: (audio, reference, uri in the RTTM, kind, uem)
RECORDINGS = {
    "sample": (SHARED / "real/pyannote/sample.wav", SHARED / "real/pyannote/sample.rttm", "sample", "phone", None),
    "aws_mono": (
        SHARED / "real/aws_lca/Auto_Repairs_40_UTC_mono.wav",
        SHARED / "real/aws_lca/Auto_Repairs_40_UTC.derived.rttm",
        "Auto_Repairs_40_UTC",
        "phone",
        None,
    ),
    "dev00": (SHARED / "real/pyannote/dev00.wav", SHARED / "real/pyannote/debug.development.rttm", "dev00", "ami", SHARED / "real/pyannote/debug.development.uem"),
    "dev01": (SHARED / "real/pyannote/dev01.wav", SHARED / "real/pyannote/debug.development.rttm", "dev01", "ami", SHARED / "real/pyannote/debug.development.uem"),
    "mono_call": (SAMPLES / "mono_call.flac", SAMPLES / "mono_call.truth.json", None, "sample", None),
    "tel_support_8k": (SAMPLES / "tel_support_8k.wav", SAMPLES / "tel_support_8k.truth.json", None, "sample", None),
}
STEREO = {"aws_stereo": (SHARED / "real/aws_lca/Auto_Repairs_40_UTC_stereo.wav", SHARED / "real/aws_lca/Auto_Repairs_40_UTC.derived.rttm", "Auto_Repairs_40_UTC")}

FLOORS = {"phone": (0.10, 0.03), "ami": (0.40, None)}  # kind: (DER max, confusion max) for the cluster backend
MIN_SPEED = 30.0


def reference(path: Path, uri: str | None) -> list[tuple[float, float, str]]:
    from analysis.diarization import read_rttm

    if path.suffix == ".json":
        truth = json.loads(path.read_text())
        return [(float(t["start"]), float(t["end"]), t["speaker"]) for t in truth["turns"]]
    return read_rttm(path, uri)


def uem_of(path: Path | None, uri: str | None, duration: float):
    from pyannote.core import Segment, Timeline

    if path is not None and path.exists():
        for line in path.read_text().splitlines():
            p = line.split()
            if len(p) >= 4 and p[0] == uri:
                return Timeline([Segment(float(p[2]), float(p[3]))])
    return Timeline([Segment(0.0, duration)])


def annotation(segments, uri: str = "x"):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, (s, e, lab) in enumerate(segments):
        if e > s:
            ann[Segment(s, e), i] = lab
    return ann


def score(ref, hyp, uem) -> dict:
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    r, h = annotation(ref), annotation(hyp)
    d = DiarizationErrorRate(collar=0.25, skip_overlap=False)(r, h, uem=uem, detailed=True)
    total = d["total"] or 1.0
    jer = JaccardErrorRate(collar=0.25)(r, h, uem=uem)
    return {
        "der": d["diarization error rate"],
        "confusion": d["confusion"] / total,
        "missed": d["missed detection"] / total,
        "false_alarm": d["false alarm"] / total,
        "jer": float(jer),
        "scored": total,
    }


def decode(path: Path):
    from analysis.audio import load_audio
    from analysis.channels import detect_layout, mono_signal

    audio = load_audio(path)
    layout = detect_layout(audio.samples, audio.sample_rate)
    return audio, layout, mono_signal(audio.samples, layout) if layout.kind != "dual" else audio.samples


def baseline(signal: np.ndarray) -> list[tuple[float, float, str]]:
    """Quick baseline: Silero speech timestamps, GE2E on 1.6 s windows every 0.8 s (no level
    normalisation), spectral clustering into 2, each window's label on its central 0.8 s."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from analysis.diarization.cluster import sliding_windows, spectral_labels
    from analysis.diarization.embedding import load_encoder, mel_power, torch_threads

    ts = get_speech_timestamps(signal, VadOptions(min_silence_duration_ms=300, speech_pad_ms=100))
    regions = [(t["start"] / 16000, t["end"] / 16000) for t in ts]
    wins = sliding_windows(regions, 1.6, 0.8)
    if not wins:
        return []
    enc = load_encoder("cpu")
    mel = mel_power(signal)
    seqs = [mel[int(round(s * 100)) : max(int(round(s * 100)) + 1, int(round(e * 100)))] for s, e in wins]
    with torch_threads(1):  # as the cluster backend (its default diarization.threads)
        labels = spectral_labels(enc.embed_mels(seqs), 2)
    out = []
    for (s, e), lab in zip(wins, labels):
        mid = (s + e) / 2
        out.append((max(s, mid - 0.4) if e - s > 0.8 else s, min(e, mid + 0.4) if e - s > 0.8 else e, f"S{lab}"))
    # contiguous windows of a region: extend to the region edges
    fixed = []
    for s, e in regions:
        inside = [o for o in out if o[0] >= s - 1e-6 and o[1] <= e + 1e-6]
        for i, (a, b, lab) in enumerate(inside):
            a = s if i == 0 else a
            b = e if i == len(inside) - 1 else inside[i + 1][0]
            fixed.append((a, b, lab))
    return fixed


def run_backend(name: str, path: Path, cfg) -> tuple[list, float, float, list[str], str]:
    from analysis.diarization import diarize

    w0, c0 = time.perf_counter(), time.process_time()
    audio, layout, signal = decode(path)
    if name == "baseline":
        segs, warns, used = baseline(signal), [], "baseline"
    else:
        result = diarize(signal, audio.sample_rate, cfg)
        segs, warns, used = result.tuples(), result.warnings, result.backend
    return segs, time.perf_counter() - w0, time.process_time() - c0, warns, used


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="cluster,baseline,pyannote", help="comma-separated: cluster, baseline, pyannote")
    ap.add_argument("--only", help="comma-separated recording names")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--speakers", default="2", help="speakers setting for cluster/pyannote (a number or auto)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="other [diarization] settings, e.g. --set window_step=0.75")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from analysis.config import DiarizationConfig
    from analysis.diarization.embedding import load_encoder
    from analysis.diarization.vad import speech_probabilities

    speakers = args.speakers if args.speakers == "auto" else int(args.speakers)
    extra = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            extra[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            extra[key.strip()] = value
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    names = [n for n in RECORDINGS if not args.only or n in args.only.split(",")]

    t = time.perf_counter()
    load_encoder("cpu")
    speech_probabilities(np.zeros(16000, dtype=np.float32))
    warm = next((RECORDINGS[n][0] for n in names if RECORDINGS[n][0].exists()), None)
    if warm is not None:  # first call imports librosa.feature, scikit-learn, scipy.linalg...: not counted
        from analysis.diarization import diarize

        _, _, sig = decode(warm)
        diarize(sig[: 16000 * 10], 16000, DiarizationConfig(backend="cluster"))
        baseline(sig[: 16000 * 10])
    print(
        f"models loaded and warmed up in {time.perf_counter() - t:.1f} s (GE2E, Silero); "
        f"torch threads {__import__('torch').get_num_threads()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )

    if "pyannote" in backends:
        from analysis.diarization.pyannote_backend import load_pipeline, unusable_reason
        from analysis.errors import ModelUnavailableError

        pcfg = DiarizationConfig(backend="pyannote", speakers=speakers)
        why = unusable_reason(pcfg)
        if why is None:
            try:
                load_pipeline(pcfg)
            except ModelUnavailableError as exc:
                why = str(exc)
        if why:
            print(f"pyannote backend skipped: {why}")
            backends.remove("pyannote")

    rows = []
    header = f"{'recording':16} {'backend':9} {'DER':>6} {'conf':>6} {'miss':>6} {'FA':>6} {'JER':>6} {'audio s':>8} {'x RT':>6} {'x RT cpu':>8}"
    print(header)
    print("-" * len(header))
    for name in names:
        path, ref_path, uri, kind, uem_path = RECORDINGS[name]
        if not path.exists() or not ref_path.exists():
            print(f"{name:16} skipped: {path} or its reference is missing")
            continue
        ref = reference(ref_path, uri)
        for backend in backends:
            cfg = DiarizationConfig(backend=backend if backend != "baseline" else "cluster", speakers=speakers, **extra)
            segs, wall, cpu, warns, used = run_backend(backend, path, cfg)
            import soundfile as sf

            duration = sf.info(str(path)).duration
            m = score(ref, segs, uem_of(uem_path, uri, duration))
            row = dict(recording=name, kind=kind, backend=backend, duration=duration, wall=wall, cpu=cpu, x_rt=duration / wall, x_rt_cpu=duration / max(cpu, 1e-9), **m)
            rows.append(row)
            print(
                f"{name:16} {backend:9} {m['der']:6.1%} {m['confusion']:6.1%} {m['missed']:6.1%} {m['false_alarm']:6.1%} "
                f"{m['jer']:6.1%} {duration:8.1f} {row['x_rt']:6.1f} {row['x_rt_cpu']:8.1f}"
            )
            for w in warns:
                logging.getLogger("bench").info("%s/%s: %s", name, backend, w)

    if "cluster" in backends:
        for name, (path, ref_path, uri) in STEREO.items():
            if not path.exists() or (args.only and name not in args.only.split(",")):
                continue
            segs, wall, cpu, _, used = run_backend("channels", path, DiarizationConfig(backend="channels"))
            import soundfile as sf

            duration = sf.info(str(path)).duration
            m = score(reference(ref_path, uri), segs, uem_of(None, uri, duration))
            rows.append(dict(recording=name, kind="stereo", backend=used, duration=duration, wall=wall, cpu=cpu, x_rt=duration / wall, x_rt_cpu=duration / max(cpu, 1e-9), **m))
            print(
                f"{name:16} {used:9} {m['der']:6.1%} {m['confusion']:6.1%} {m['missed']:6.1%} {m['false_alarm']:6.1%} "
                f"{m['jer']:6.1%} {duration:8.1f} {duration / wall:6.1f} {duration / max(cpu, 1e-9):8.1f}"
            )

    print("-" * len(header))
    for backend in backends:
        rs = [r for r in rows if r["backend"] == backend]
        if not rs:
            continue
        mean = {k: float(np.mean([r[k] for r in rs])) for k in ("der", "confusion", "missed", "false_alarm", "jer")}
        total_audio = sum(r["duration"] for r in rs)
        print(
            f"{'mean':16} {backend:9} {mean['der']:6.1%} {mean['confusion']:6.1%} {mean['missed']:6.1%} {mean['false_alarm']:6.1%} "
            f"{mean['jer']:6.1%} {total_audio:8.1f} {total_audio / sum(r['wall'] for r in rs):6.1f} "
            f"{total_audio / sum(r['cpu'] for r in rs):8.1f}"
        )

    walls = {b: sum(r["wall"] for r in rows if r["backend"] == b) for b in ("cluster", "baseline")}
    if all(walls.values()):
        print(f"{'':16} cluster takes {walls['cluster'] / walls['baseline']:.2f}x the baseline's wall time on the same recordings")

    failures = []
    if "cluster" in backends:
        print("\nfloors for the cluster backend:")
        base = {r["recording"]: r for r in rows if r["backend"] == "baseline"}
        for r in (r for r in rows if r["backend"] == "cluster"):
            checks = []
            floor = FLOORS.get(r["kind"])
            if floor:
                checks.append((f"DER {r['der']:.1%} <= {floor[0]:.0%}", r["der"] <= floor[0]))
                if floor[1] is not None:
                    checks.append((f"confusion {r['confusion']:.1%} <= {floor[1]:.0%}", r["confusion"] <= floor[1]))
            if r["recording"] in base:
                checks.append((f"beats baseline ({base[r['recording']]['der']:.1%})", r["der"] < base[r["recording"]]["der"]))
            for text, ok in checks:
                print(f"  {r['recording']:16} {text:36} {'ok' if ok else 'NOT MET'}")
                if not ok:
                    failures.append(f"{r['recording']}: {text}")
        cl = [r for r in rows if r["backend"] == "cluster"]
        if cl:
            speed = sum(r["duration"] for r in cl) / sum(r["wall"] for r in cl)
            ok = speed >= MIN_SPEED
            print(f"  {'all':16} {f'speed {speed:.1f}x real time >= {MIN_SPEED:.0f}x':36} {'ok' if ok else 'NOT MET'} (wall clock, decode included)")
            if not ok:
                failures.append(f"speed {speed:.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print("\nall floors met" if not failures else f"\nnot met: {'; '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
