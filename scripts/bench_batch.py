#!/usr/bin/env python
"""Benchmark of `callreview batch` against a plain loop and bare faster-whisper.

On one set of >= 20 real calls (the sample calls, and pieces of the shared real
recordings) it times, each as a fresh process, wall clock from start to exit:

1. plain loop   one process: ``Analyzer(config)``, then ``analyze`` + ``write_report`` per call;
2. batch 1      ``callreview batch --workers 1``;
3. batch 2      ``callreview batch --workers 2``;
4. ray          ``callreview batch --engine ray --workers 2`` (a local Ray instance, started in the run);
5. asr only     bare faster-whisper (same model, settings and threads), the same signals the
                pipeline transcribes: each channel of a two-channel file, else the mono file;

then, in one process with every model loaded, each call analysed and then transcribed by bare
faster-whisper back to back (paired, so other work on the machine weighs on both alike).

It prints audio hours per hour (= x real time) for each, the batch layer's
overhead against the plain loop (floor <= 5 %), and the end-to-end ratio of
analysis time to transcription-only time (floor <= 1.25).

Usage::

    .venv/bin/python scripts/bench_batch.py [--quick] [--no-ray] [--work DIR]

``--quick`` uses 4 calls (a smoke run, not the figures); ``--ratio-only`` prints only the paired
end-to-end / transcription-only ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CALLREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
PY = sys.executable


def build_calls(folder: Path, quick: bool) -> list[Path]:
    """The benchmark's calls: 5 sample calls, 10 pieces of the real car-repair call, 5 other real recordings."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    calls: list[Path] = []
    for p in sorted((ROOT / "sample_audio").glob("*")):
        if p.suffix in (".flac", ".wav"):
            calls.append(Path(shutil.copy(p, folder / p.name)))
    for kind in ("stereo", "mono"):
        src = SHARED / f"real/aws_lca/Auto_Repairs_40_UTC_{kind}.wav"
        if not src.exists():
            continue
        data, sr = sf.read(src, dtype="int16")
        for i, start in enumerate(range(0, len(data), 50 * sr)):
            piece = data[start : start + 50 * sr]
            if len(piece) < 10 * sr:
                continue
            p = folder / f"auto_repairs_{kind}_{i}.wav"
            sf.write(p, piece, sr, subtype="PCM_16")
            calls.append(p)
    for rel in ("pyannote/sample.wav", "pyannote/dev00.wav", "pyannote/dev01.wav", "faster_whisper/stereo_diarization.wav", "google/two_channel_16k.wav"):
        src = SHARED / "real" / rel
        if src.exists():
            calls.append(Path(shutil.copy(src, folder / f"{src.parent.name}_{src.name}")))
    return calls[:4] if quick else calls


def audio_seconds(calls: list[Path]) -> float:
    import soundfile as sf

    return sum(sf.info(p).duration for p in calls)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    if p.returncode not in (0,):
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd[:6])} ...")
    return wall, p


# -- the in-process parts, run as `bench_batch.py --plain-loop` / `--asr-only` in a fresh process --


def plain_loop(files: list[str], out: str) -> None:
    from analysis import Analyzer, Config
    from analysis.output import write_report

    analyzer = Analyzer(Config())
    busy = 0.0
    for f in files:
        t0 = time.perf_counter()
        write_report(analyzer.analyze(f), out)
        busy += time.perf_counter() - t0
    print(json.dumps({"analysis_seconds": busy}))


def asr_only(files: list[str]) -> None:
    import numpy as np
    import soundfile as sf
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    from analysis.asr import resolve_model
    from analysis.batch import cpu_count
    from analysis.config import Config

    cfg = Config().asr
    model = WhisperModel(resolve_model(cfg.model), device="cpu", compute_type="int8", cpu_threads=cpu_count())
    busy = 0.0
    for f in files:
        t0 = time.perf_counter()
        if sf.info(f).channels == 2:
            signals = decode_audio(f, split_stereo=True)
        else:
            signals = (decode_audio(f),)
        for sig in signals:
            if not np.any(sig):
                continue
            segments, _ = model.transcribe(sig, language=cfg.language, beam_size=cfg.beam_size, word_timestamps=True,
                                           vad_filter=cfg.vad_filter, condition_on_previous_text=False)
            for seg in segments:
                _ = seg.words
        busy += time.perf_counter() - t0
    print(json.dumps({"analysis_seconds": busy}))


def paired(files: list[str]) -> None:
    """Warm models, one process: per call, the whole analysis then bare faster-whisper on the same signals."""
    import numpy as np
    import soundfile as sf
    from faster_whisper.audio import decode_audio

    from analysis import Analyzer, Config
    from analysis.asr import load_model

    analyzer = Analyzer(Config())
    analyzer.analyze(files[0])  # load every model once, outside the timings
    model = load_model(analyzer.config.asr)
    cfg = analyzer.config.asr
    rows = []
    for f in files:
        t0 = time.perf_counter()
        report = analyzer.analyze(f)
        t1 = time.perf_counter()
        signals = decode_audio(f, split_stereo=True) if sf.info(f).channels == 2 else (decode_audio(f),)
        for sig in signals:
            if np.any(sig):
                segments, _ = model.transcribe(sig, language=cfg.language, beam_size=cfg.beam_size, word_timestamps=True,
                                               vad_filter=cfg.vad_filter, condition_on_previous_text=False)
                for seg in segments:
                    _ = seg.words
        t2 = time.perf_counter()
        rows.append({"layout": report.call.layout, "analysis": t1 - t0, "asr": t2 - t1})
    print(json.dumps(rows))


def paired_ratio(files: list[str], env: dict[str, str]) -> None:
    """Print analysis time / bare transcription time per layout and over all calls (warm models, paired)."""
    _, p = timed([PY, __file__, "--paired", *files], env)
    pairs = json.loads(p.stdout.strip().splitlines()[-1])
    by: dict[str, list[float]] = {}
    for r in pairs:
        a, t = by.setdefault(r["layout"], [0.0, 0.0]), by.setdefault("all calls", [0.0, 0.0])
        a[0] += r["analysis"]; a[1] += r["asr"]; t[0] += r["analysis"]; t[1] += r["asr"]
    print("end to end / transcription only, warm models, each call analysed then transcribed back to back (paired):")
    for layout, (an, asr_s) in sorted(by.items()):
        n = len(pairs) if layout == "all calls" else sum(r["layout"] == layout for r in pairs)
        print(f"  {layout} ({n}): analysis {an:.1f} s, faster-whisper {asr_s:.1f} s -> {an / asr_s:.2f}   (floor <= 1.25)")


def overhead_pairs(n: int, files: list[str], work: Path, env: dict[str, str]) -> None:
    """``n`` pairs of (plain loop, batch with 1 worker), alternating which goes first; prints each and the median."""
    ratios = []
    for i in range(n):
        got = {}
        order = ("plain", "batch") if i % 2 == 0 else ("batch", "plain")
        for what in order:
            if what == "plain":
                got[what], _ = timed([PY, __file__, "--plain-loop", str(work / f"plain-{i}"), *files], env)
            else:
                got[what], _ = timed([PY, "-m", "analysis.cli", "batch", *files, "--out", str(work / f"b1-{i}"), "--workers", "1"], env)
        ratios.append(got["batch"] / got["plain"] - 1)
        print(f"pair {i + 1} ({' then '.join(order)}): plain loop {got['plain']:.1f} s, batch 1 worker {got['batch']:.1f} s -> {100 * ratios[-1]:+.1f} %")
    ratios.sort()
    print(f"median overhead over {n} pairs: {100 * ratios[len(ratios) // 2] if n % 2 else 50 * (ratios[n // 2 - 1] + ratios[n // 2]):+.1f} % (floor <= 5 %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 calls: a smoke run")
    ap.add_argument("--no-ray", action="store_true", help="leave out the Ray run")
    ap.add_argument("--work", metavar="DIR", help="working folder (default: a temporary one, removed after)")
    ap.add_argument("--overhead-only", type=int, metavar="N", default=0,
                    help="only the overhead figure: N pairs of (plain loop, batch 1 worker) in alternating order (AB, BA, ...), "
                    "so that other work on the machine weighs on both alike")
    ap.add_argument("--ratio-only", action="store_true",
                    help="only the paired end-to-end / transcription-only ratio (warm models, one process)")
    ap.add_argument("--plain-loop", nargs="+", metavar="X", help=argparse.SUPPRESS)
    ap.add_argument("--asr-only", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--paired", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plain_loop:
        return plain_loop(args.plain_loop[1:], args.plain_loop[0])
    if args.asr_only:
        return asr_only(args.asr_only)
    if args.paired:
        return paired(args.paired)

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-batch-"))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    try:
        calls = build_calls(work / "calls", args.quick)
        total = audio_seconds(calls)
        files = [str(c) for c in calls]
        print(f"{len(calls)} calls, {total / 60:.1f} min of audio ({total / 3600:.3f} h); {os.cpu_count()} cores; callreview default configuration")
        rows: list[tuple[str, float, float | None]] = []
        if args.overhead_only:
            return overhead_pairs(args.overhead_only, files, work, env)
        if args.ratio_only:
            return paired_ratio(files, env)

        wall, p = timed([PY, __file__, "--plain-loop", str(work / "plain"), *files], env)
        rows.append(("plain loop (1 process)", wall, json.loads(p.stdout.strip().splitlines()[-1])["analysis_seconds"]))
        runs = [("batch, 1 worker", ["--workers", "1"]), ("batch, 2 workers", ["--workers", "2"])]
        if not args.no_ray:
            runs.append(("batch, Ray (local, 2 CPUs)", ["--engine", "ray", "--workers", "2"]))
        for i, (name, extra) in enumerate(runs):
            wall, p = timed([PY, "-m", "analysis.cli", "batch", *files, "--out", str(work / f"batch{i}"), "--json-progress", *extra], env)
            lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
            assert sum(x["status"] == "done" for x in lines) == len(calls), "not every call was analysed"
            rows.append((name, wall, sum(x["seconds"] or 0 for x in lines)))
        wall, p = timed([PY, __file__, "--asr-only", *files], env)
        rows.append(("bare faster-whisper (ASR only)", wall, json.loads(p.stdout.strip().splitlines()[-1])["analysis_seconds"]))

        print()
        print(f"| run | wall s | audio h per h (x real time) | per-call analysis s (sum) |")
        print("|---|---:|---:|---:|")
        for name, wall, busy in rows:
            print(f"| {name} | {wall:.1f} | {total / wall:.2f} | {busy:.1f} |")
        plain, b1, asr = rows[0], rows[1], rows[-1]
        print()
        print(f"batch layer overhead, 1 worker vs plain loop (wall): {100 * (b1[1] - plain[1]) / plain[1]:+.1f} % (floor <= 5 %)")
        own_b1 = b1[1] - b1[2]
        own_plain = plain[1] - plain[2]
        print(f"  time outside analyze() calls: batch {own_b1:.1f} s, plain loop {own_plain:.1f} s "
              f"-> layer's own cost {100 * (own_b1 - own_plain) / plain[1]:+.1f} % of the plain loop")
        print(f"end to end / transcription only, cold processes (wall, model loading included): "
              f"plain loop {plain[1] / asr[1]:.2f}, batch 1 worker {b1[1] / asr[1]:.2f} (floor <= 1.25)")

        paired_ratio(files, env)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
