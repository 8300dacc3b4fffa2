#!/usr/bin/env python3
"""Event detection against the planted ground truth of the sample calls.

For every sample call in ``sample_audio/`` (``<name>.truth.json`` beside the
audio), runs the full analysis (ASR, turns, roles, prosody + conversation) and
matches the detected events with the planted ones, kind by kind:

* a detected event matches a planted one of the same kind when its start is
  within ``--tolerance`` seconds (0.25) of the planted start and, for kinds with
  a speaker (interruption, backchannel, hold, raised_voice, fast_speech), the
  detected speaker has the planted role (and, for interruption and backchannel,
  the detected target too); each planted event matches at most one detection
  (nearest onset first);
* precision = matched / detected, recall = matched / planted, onset error =
  mean |detected start - planted start| over the matches.

Prints one table per call and one over all calls, and the misses and false
alarms. Calls whose roles (agent/customer) could not be told apart (e.g. mono
calls before diarisation) still count: their events then carry no role and do
not match speaker-bound kinds.

Usage::

    python scripts/bench_events.py [--samples sample_audio] [--tolerance 0.25] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KINDS = ("overlap", "interruption", "backchannel", "silence", "dead_air", "hold", "raised_voice", "fast_speech")


def match_events(detected, planted, roles, tolerance=0.25):
    """Per kind: (matched, detected, planted, onset errors, misses, false alarms)."""
    out = {}
    for kind in KINDS:
        det = [e for e in detected if e.kind == kind]
        tru = [e for e in planted if e["kind"] == kind]
        pairs = []
        for ti, t in enumerate(tru):
            for di, d in enumerate(det):
                if t.get("speaker") and roles.get(d.speaker) != t["speaker"]:
                    continue
                if t.get("target") and roles.get(d.target) != t["target"]:
                    continue
                err = abs(d.start - t["start"])
                if err <= tolerance:
                    pairs.append((err, ti, di))
        pairs.sort()
        used_t, used_d, errs = set(), set(), []
        for err, ti, di in pairs:
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            errs.append(err)
        misses = [t for ti, t in enumerate(tru) if ti not in used_t]
        fas = [d for di, d in enumerate(det) if di not in used_d]
        out[kind] = (len(errs), len(det), len(tru), errs, misses, fas)
    return out


def fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def table(rows):
    lines = [f"  {'kind':13s} {'planted':>7s} {'found':>6s} {'match':>6s} {'prec':>6s} {'recall':>6s} {'onset':>7s}"]
    for kind in KINDS:
        m, d, t, errs = rows[kind][:4]
        if not (d or t):
            continue
        p = m / d if d else None
        r = m / t if t else None
        on = sum(errs) / len(errs) if errs else None
        lines.append(f"  {kind:13s} {t:7d} {d:6d} {m:6d} {fmt(p):>6s} {fmt(r):>6s} {fmt(on, 3):>7s}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=Path, default=ROOT / "sample_audio")
    ap.add_argument("--tolerance", type=float, default=0.25, help="onset tolerance, seconds (default 0.25)")
    ap.add_argument("--only", nargs="*", help="call names to run (default: all with a truth file)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--mono-mixes", action="store_true",
                    help="also analyse each dual-channel sample mixed down to mono (diarised, overlaps from the overlap "
                    "detector), against the same planted truth; reported apart")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from analysis import Analyzer, Config

    truths = sorted(args.samples.glob("*.truth.json"))
    if args.only:
        truths = [p for p in truths if p.name.split(".")[0] in args.only]
    if not truths:
        print(f"no sample calls in {args.samples} (run scripts/make_samples.py)")
        return 1
    analyzer = Analyzer(Config())
    total = {k: [0, 0, 0, []] for k in KINDS}
    mixes = {k: [0, 0, 0, []] for k in KINDS}
    report = {}
    jobs = [(tp, None) for tp in truths]
    tmp = None
    if args.mono_mixes:
        import tempfile

        import soundfile as sf

        tmp = tempfile.TemporaryDirectory(prefix="callreview-mixes-")
        for tp in truths:
            truth = json.loads(tp.read_text())
            if truth["layout"] != "stereo":
                continue
            x, sr = sf.read(args.samples / truth["audio"], dtype="float32", always_2d=True)
            mixed = Path(tmp.name) / (truth["call_id"] + "_mono.wav")
            sf.write(mixed, x.mean(axis=1), sr, subtype="PCM_16")
            jobs.append((tp, mixed))
    for tp, mixed in jobs:
        truth = json.loads(tp.read_text())
        audio = mixed if mixed is not None else args.samples / truth["audio"]
        t0 = time.perf_counter()
        rep = analyzer.analyze(audio)
        dt = time.perf_counter() - t0
        roles = {s.label: s.role for s in rep.speakers}
        res = match_events(rep.events, truth["events"], roles, args.tolerance)
        label = truth["call_id"] + (" mixed to mono" if mixed is not None else "")
        layout = "mono mix" if mixed is not None else truth["layout"]
        print(f"\n{label}  ({layout}, {truth['sample_rate']} Hz, {rep.call.duration:.0f} s, "
              f"diarisation {rep.call.diarization}, {len(rep.speakers)} speakers; analysed in {dt:.1f} s)")
        print(table(res))
        for kind, (m, d, t, errs, misses, fas) in res.items():
            for x in misses:
                print(f"    miss  {kind:12s} {x['start']:7.2f} {x.get('speaker') or '':9s} {x['detail'][:70]}")
            for x in fas:
                print(f"    extra {kind:12s} {x.start:7.2f} {roles.get(x.speaker, '') if x.speaker else '':9s} {x.detail[:70]}")
            acc = mixes if mixed is not None else total
            for i in range(3):
                acc[kind][i] += (m, d, t)[i]
            acc[kind][3] += errs
        report[label] = {k: {"matched": v[0], "detected": v[1], "planted": v[2]} for k, v in res.items()}
    print("\nall calls")
    print(table({k: tuple(v) for k, v in total.items()}))
    if tmp is not None:
        print("\ndual-channel calls mixed to mono")
        print(table({k: tuple(v) for k, v in mixes.items()}))
        tmp.cleanup()
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
