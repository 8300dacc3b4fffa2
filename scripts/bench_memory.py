"""Peak memory (RSS), wall time and speed of `callreview analyze` on long calls.

    .venv/bin/python scripts/bench_memory.py                 # 10-minute and 3-hour calls
    .venv/bin/python scripts/bench_memory.py --minutes 10    # only the 10-minute call
    .venv/bin/python scripts/bench_memory.py --minutes 10 180 --stages
    .venv/bin/python scripts/bench_memory.py --mono          # the same calls mixed to one channel

The calls are built at run time in a temporary folder (deleted afterwards): an
8 kHz stereo PCM16 WAV, written block by block, made of the dual-channel
recordings at hand - the sample calls ``sample_audio/calm_agent.flac``,
``rude_agent.flac``, ``tel_billing_8k.wav`` and, when present, the real call
``../shared/data/real/aws_lca/Auto_Repairs_40_UTC_stereo.wav`` - each resampled
to 8 kHz, one after the other with 1 to 6 s of digital silence between them,
repeated until the call is long enough (the last piece is cut). With ``--mono``
the pieces are mixed down to one channel, so the call goes through mono
diarisation (clustering and overlap detection) instead. Each call is
analysed by ``callreview analyze`` in a fresh subprocess; its peak RSS is the
``ru_maxrss`` that ``os.wait4`` returns for that child alone.

``--stages`` also runs each call through ``Analyzer.analyze`` in a child that
resets its peak RSS (``/proc/self/clear_refs``) at every stage and prints the
peak reached inside each stage (Linux only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CALLREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
RATE = 8000
SOURCES = [
    ROOT / "sample_audio" / "calm_agent.flac",
    ROOT / "sample_audio" / "rude_agent.flac",
    ROOT / "sample_audio" / "tel_billing_8k.wav",
    SHARED / "real" / "aws_lca" / "Auto_Repairs_40_UTC_stereo.wav",
]
GAPS = (2.0, 1.0, 4.0, 6.0, 3.0)  # seconds of silence after each piece, in turn
BLOCK = 60 * RATE  # frames written per block

STAGE_DRIVER = r"""
import json, resource, sys, time
from analysis import Analyzer, Config

def status_mb(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) * 1024 / 1e6
    return float('nan')

def hwm_mb():
    return status_mb('VmHWM')

def reset():
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')

analyzer = Analyzer(Config())
analyzer.transcriber.model
peaks, order = {}, []
state = {'stage': 'load model', 't': time.perf_counter(), 'rss': 0.0}
peaks['load model'] = (hwm_mb(), 0.0, status_mb('VmRSS'))
order.append('load model')

def step(name):
    now = time.perf_counter()
    if state['stage'] != 'load model':
        peaks[state['stage']] = (hwm_mb(), now - state['t'], state['rss'])
    reset()
    state['rss'] = status_mb('VmRSS')
    state.update(stage=name, t=now)
    order.append(name)

analyzer.analyze(sys.argv[1], progress=step)
peaks[state['stage']] = (hwm_mb(), time.perf_counter() - state['t'], state['rss'])
print(json.dumps([(s, *peaks[s]) for s in order]))
"""


def sources(mono: bool = False) -> list[tuple[str, np.ndarray]]:
    """The dual-channel recordings available, as (name, int16 (n, 2) at 8 kHz), or (n, 1) mixed down when ``mono``."""
    out = []
    for p in SOURCES:
        if not p.exists():
            continue
        x, sr = sf.read(str(p), dtype="float32", always_2d=True)
        if x.shape[1] != 2:
            continue
        if sr != RATE:
            x = soxr.resample(x, sr, RATE, quality="HQ")
        if mono:
            x = x.mean(axis=1, keepdims=True)
        out.append((p.name, (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)))
    if not out:
        raise SystemExit("no dual-channel source recordings found")
    return out


def build_call(path: Path, seconds: float, pieces: list[tuple[str, np.ndarray]]) -> dict[str, int]:
    """Write a ``seconds``-long call to ``path``, block by block; returns how often each piece was used."""
    total = int(round(seconds * RATE))
    channels = pieces[0][1].shape[1]
    used = {name: 0 for name, _ in pieces}
    written = 0
    k = 0
    with sf.SoundFile(str(path), "w", samplerate=RATE, channels=channels, subtype="PCM_16", format="WAV") as f:
        while written < total:
            name, x = pieces[k % len(pieces)]
            gap = np.zeros((int(GAPS[k % len(GAPS)] * RATE), channels), dtype=np.int16)
            k += 1
            used[name] += 1
            for part in (x, gap):
                for b0 in range(0, len(part), BLOCK):
                    blk = part[b0 : b0 + BLOCK][: total - written]
                    if len(blk) == 0:
                        break
                    f.write(blk)
                    written += len(blk)
    return used


def callreview_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("callreview")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from analysis.cli import main; sys.exit(main())"]


def run_measured(cmd: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """Run ``cmd``; return (exit status, peak RSS MB, wall seconds, output)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return proc.returncode, usage.ru_maxrss * 1024 / 1e6, wall, text  # ru_maxrss is KiB on Linux; MB = 10^6 bytes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10.0, 180.0], help="call lengths (default 10 and 180)")
    ap.add_argument("--stages", action="store_true", help="also print the peak RSS of each pipeline stage")
    ap.add_argument("--limit-mb", type=float, default=2500.0, help="peak RSS a call must stay under (default 2500 MB)")
    ap.add_argument("--mono", action="store_true", help="mix the calls down to one channel (mono diarisation)")
    args = ap.parse_args()

    pieces = sources(args.mono)
    print(f"call audio: 8 kHz {'mono' if args.mono else 'stereo'} PCM16 WAV; pieces in turn, 1-6 s of silence between them:")
    for name, x in pieces:
        print(f"  {name:<34} {len(x) / RATE:6.1f} s")
    rows = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="callreview-bench-memory-") as tmp:
        tmpd = Path(tmp)
        for minutes in args.minutes:
            path = tmpd / f"long_call_{minutes:g}min.wav"
            t0 = time.perf_counter()
            used = build_call(path, minutes * 60.0, pieces)
            print(
                f"built {path.name}: {minutes:g} min, {path.stat().st_size / 1e6:.0f} MB, in {time.perf_counter() - t0:.1f} s; "
                + ", ".join(f"{n} x{c}" for n, c in used.items())
            )
            cmd = callreview_cmd() + ["analyze", str(path), "--out", str(tmpd / "out"), "--format", "table"]
            rc, peak, wall, text = run_measured(cmd, ROOT)
            if rc != 0:
                print(text[-3000:])
                failed = True
            rows.append((minutes, peak, wall, minutes * 60.0 / wall, rc))
            print(f"  callreview analyze: exit {rc}, peak RSS {peak:.0f} MB, wall {wall:.1f} s, {minutes * 60.0 / wall:.1f}x real time")
            if args.stages:
                rc, _peak, _wall, text = run_measured([sys.executable, "-c", STAGE_DRIVER, str(path)], ROOT)
                if rc != 0:
                    print(text[-3000:])
                else:
                    import json

                    stages = json.loads(text.strip().splitlines()[-1])
                    print("  per stage (RSS MB when the stage starts, peak RSS MB inside it, seconds):")
                    for name, mb, secs, start in stages:
                        print(f"    {name:<12} {start:8.0f} MB {mb:8.0f} MB {secs:8.1f} s")
            path.unlink()
    print()
    print(f"{'call':>10} {'peak RSS MB':>13} {'wall s':>9} {'x real time':>12}  {'exit':>4}")
    for minutes, peak, wall, speed, rc in rows:
        print(f"{minutes:>8g} m {peak:>13.0f} {wall:>9.1f} {speed:>12.1f}  {rc:>4}")
    over = [m for m, peak, *_ in rows if peak > args.limit_mb]
    if over:
        print(f"peak RSS over {args.limit_mb:.0f} MB for: " + ", ".join(f"{m:g} min" for m in over))
    return 1 if failed or over else 0


if __name__ == "__main__":
    sys.exit(main())
