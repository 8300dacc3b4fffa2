"""Word error rate, turn timing and speed of `callreview analyze` on the sample calls
and the shared real recordings.

    .venv/bin/python scripts/bench_asr.py [--model tiny.en]

Prints, per recording: duration, WER (per role for dual-channel calls, whole call
for mono), share of truth turns whose start and end are within 0.3 s, and speed as
x real time (decode + ASR + the rest of the pipeline). Ground truth: the sample
calls' truth JSON; the faster-whisper stereo test sentences per channel.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import Analyzer, Config  # noqa: E402
from tests.test_pipeline import norm_words, wer  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "real"


def turn_timing(report, truth) -> tuple[int, int, float, float]:
    role_of = {s.label: s.role for s in report.speakers}
    within = 0
    ds, de = [], []
    for tt in truth["turns"]:
        cands = [t for t in report.turns if role_of[t.speaker] == tt["speaker"] or (truth["layout"] == "mono" and role_of[t.speaker] == "unknown")]
        best = max(cands, key=lambda t: min(t.end, tt["end"]) - max(t.start, tt["start"]), default=None)
        if best is None or min(best.end, tt["end"]) <= max(best.start, tt["start"]):
            continue
        ds.append(abs(best.start - tt["start"]))
        de.append(abs(best.end - tt["end"]))
        if ds[-1] <= 0.3 and de[-1] <= 0.3:
            within += 1
    med = lambda v: sorted(v)[len(v) // 2] if v else float("nan")  # noqa: E731
    return within, len(truth["turns"]), med(ds), med(de)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny.en")
    args = ap.parse_args()
    analyzer = Analyzer(Config().with_overrides({"asr.model": args.model}))
    analyzer.transcriber.model  # load once, outside the timings
    rows = []
    total_audio = total_time = 0.0
    for truth_path in sorted((ROOT / "sample_audio").glob("*.truth.json")):
        truth = json.loads(truth_path.read_text())
        path = truth_path.parent / truth["audio"]
        t0 = time.perf_counter()
        r = analyzer.analyze(path)
        dt = time.perf_counter() - t0
        total_audio += r.call.duration
        total_time += dt
        if any(s.role == "agent" for s in r.speakers):
            parts = []
            for role in ("agent", "customer"):
                ref = " ".join(t["text"] for t in truth["turns"] if t["speaker"] == role)
                hyp = " ".join(t.text for t in r.turns if r.role_of(t.speaker) == role)
                parts.append(f"{role} {wer(ref, hyp) * 100:.1f}%")
            ref_all = " ".join(t["text"] for t in truth["turns"])
            n_ref = len(norm_words(ref_all))
            w = ", ".join(parts)
        else:
            w = f"call {wer(' '.join(t['text'] for t in truth['turns']), ' '.join(t.text for t in r.turns)) * 100:.1f}%"
        within, n, mds, mde = turn_timing(r, truth)
        rows.append((r.call.call_id, r.call.duration, w, f"{within}/{n}", f"{mds:.2f}/{mde:.2f}", r.call.duration / dt))
    fw = SHARED / "faster_whisper" / "stereo_diarization.wav"
    if fw.exists():
        t0 = time.perf_counter()
        r = analyzer.analyze(fw)
        dt = time.perf_counter() - t0
        left = " ".join(t.text for t in r.turns if t.speaker == "left")
        right = " ".join(t.text for t in r.turns if t.speaker == "right")
        wl = wer("He began a confused complaint against the wizard, who had vanished behind the curtain on the left.", left)
        wr = wer("The horizon seems extremely distant.", right)
        rows.append((r.call.call_id, r.call.duration, f"left {wl * 100:.1f}%, right {wr * 100:.1f}%", "-", "-", r.call.duration / dt))
    for rel in ("aws_lca/Auto_Repairs_40_UTC_stereo.wav", "google/two_channel_16k.wav"):
        p = SHARED / rel
        if p.exists():
            t0 = time.perf_counter()
            r = analyzer.analyze(p)
            dt = time.perf_counter() - t0
            total_audio += r.call.duration
            total_time += dt
            rows.append((r.call.call_id, r.call.duration, "(no transcript)", "-", "-", r.call.duration / dt))
    print(f"model {args.model}")
    print(f"{'recording':<30} {'dur s':>6}  {'WER':<34} {'turns<=0.3s':>11} {'med |dstart|/|dend|':>20} {'x RT':>6}")
    for name, dur, w, tw, md, speed in rows:
        print(f"{name:<30} {dur:>6.1f}  {w:<34} {tw:>11} {md:>20} {speed:>6.1f}")
    print(f"overall speed: {total_audio / total_time:.1f}x real time ({total_audio:.0f} s of audio in {total_time:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
