#!/usr/bin/env python
"""Overlapped-speech detection on mono recordings: precision, recall and speed.

The detector (:mod:`analysis.diarization.overlap`, pyannote/segmentation from
the whisperx package, pyannote's defaults: onset = offset = 0.5) is run on

* the real recordings of ``../shared/data/real/`` with a reference RTTM: pyannote
  ``sample.wav`` (telephone, human reference), the AMI excerpts ``dev00`` /
  ``dev01`` (far-field meeting, human reference), the AWS call's mono mix
  (reference derived from its two channels);
* the mono sample calls (``mono_call``, ``tel_support_8k``) and the dual-channel
  sample calls mixed to mono (``calm_agent``, ``rude_agent``, ``tel_billing_8k``),
  against their planted ground truth.

Reference overlap = where two or more reference speakers are active. Scores
(pyannote.metrics, no collar): detection precision and recall of overlapped
time, and, per planted overlap event, whether a detected region starts within
0.25 s of it (event recall) and how many detected regions match no planted
overlap (event precision). Speed: seconds of audio per second of detection
(model loaded beforehand), one thread.

Nothing here was tuned: the thresholds are pyannote's defaults.

Usage::

    .venv/bin/python scripts/bench_overlap.py [--step 1.0] [--only sample,mono_call] [--json out.json]
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
sys.path.insert(0, str(ROOT / "scripts"))

from bench_diarization import uem_of  # noqa: E402  (the same UEM reading as the DER benchmark)

SHARED = Path(os.environ.get("CALLREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLES = ROOT / "sample_audio"

# name: (audio, reference, uri in the RTTM, uem)
REAL = {
    "sample": (SHARED / "real/pyannote/sample.wav", SHARED / "real/pyannote/sample.rttm", "sample", None),
    "dev00": (SHARED / "real/pyannote/dev00.wav", SHARED / "real/pyannote/debug.development.rttm", "dev00", SHARED / "real/pyannote/debug.development.uem"),
    "dev01": (SHARED / "real/pyannote/dev01.wav", SHARED / "real/pyannote/debug.development.rttm", "dev01", SHARED / "real/pyannote/debug.development.uem"),
    "aws_mono": (SHARED / "real/aws_lca/Auto_Repairs_40_UTC_mono.wav", SHARED / "real/aws_lca/Auto_Repairs_40_UTC.derived.rttm", "Auto_Repairs_40_UTC", None),
}
PLANTED = {
    "mono_call": SAMPLES / "mono_call.flac",
    "tel_support_8k": SAMPLES / "tel_support_8k.wav",
    "calm_agent (mixed)": SAMPLES / "calm_agent.flac",
    "rude_agent (mixed)": SAMPLES / "rude_agent.flac",
    "tel_billing_8k (mixed)": SAMPLES / "tel_billing_8k.wav",
}
TOLERANCE = 0.25


def load_mono16k(path: Path) -> np.ndarray:
    from analysis.audio import load_audio

    audio = load_audio(path, 16000)
    return np.asarray(audio.samples, dtype=np.float32).mean(axis=0)


def overlap_of(turns: list[tuple[float, float, str]]):
    """Timeline of the time where two or more speakers of ``turns`` are active."""
    from pyannote.core import Annotation, Segment

    ann = Annotation()
    for i, (s, e, lab) in enumerate(turns):
        ann[Segment(s, e), i] = lab
    return ann.get_overlap()


def score(ref_overlap, hyp_regions, uem) -> tuple[float, float, float, float]:
    """(precision, recall, reference seconds, detected seconds) of overlapped time."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.detection import DetectionPrecision, DetectionRecall

    ref = Annotation()
    for seg in ref_overlap:
        ref[seg] = "overlap"
    hyp = Annotation()
    for s, e in hyp_regions:
        hyp[Segment(s, e)] = "overlap"
    p = DetectionPrecision()(ref, hyp, uem=uem)
    r = DetectionRecall()(ref, hyp, uem=uem)
    return float(p), float(r), float(ref.get_timeline().crop(uem).duration()), float(hyp.get_timeline().crop(uem).duration())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step", type=float, default=None, help="seconds between the model's windows (default: the configuration's)")
    ap.add_argument("--only", default="", help="comma-separated names")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from analysis.config import DiarizationConfig
    from analysis.diarization import read_rttm
    from analysis.diarization.overlap import detect_overlaps, load_segmentation

    cfg = DiarizationConfig()
    if args.step is not None:
        cfg = cfg.model_copy(update={"overlap_step": args.step})
    load_segmentation(cfg.overlap, None, cfg.device)
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    rows = []
    total_audio = total_time = 0.0
    events_planted = events_found = regions_all = regions_matched = 0
    print(f"overlap detector: {cfg.overlap}, onset {cfg.overlap_onset}, offset {cfg.overlap_offset}, "
          f"min duration {cfg.overlap_min_duration} s, step {cfg.overlap_step} s")
    print(f"{'recording':24} {'ref s':>6} {'det s':>6} {'prec':>5} {'recall':>6}  {'events':>7}  {'x RT':>6}")
    items: list[tuple[str, Path, list, object, list | None]] = []
    for name, (audio, rttm, uri, uem_path) in REAL.items():
        if (only and name not in only) or not audio.exists():
            if not audio.exists():
                print(f"{name:24} skipped: {audio} not found (the shared data folder is absent)")
            continue
        items.append((name, audio, read_rttm(rttm, uri), uem_path, None))
    for name, audio in PLANTED.items():
        if only and name.split(" ")[0] not in only:
            continue
        truth = json.loads(audio.with_name(audio.name.split(".")[0] + ".truth.json").read_text())
        turns = [(float(t["start"]), float(t["end"]), t["speaker"]) for t in truth["turns"]]
        planted = [(float(e["start"]), float(e["end"])) for e in truth["events"] if e["kind"] == "overlap"]
        items.append((name, audio, turns, None, planted))
    for name, audio, turns, uem_path, planted in items:
        x = load_mono16k(audio)
        duration = len(x) / 16000
        t0 = time.perf_counter()
        regions = detect_overlaps(x, cfg)
        dt = time.perf_counter() - t0
        total_audio += duration
        total_time += dt
        uri = REAL[name][2] if name in REAL else name
        p, r, ref_s, det_s = score(overlap_of(turns), regions, uem_of(uem_path, uri, duration))
        ev = ""
        if planted is not None:
            found = sum(1 for s, _ in planted if any(abs(a - s) <= TOLERANCE for a, _ in regions))
            matched = sum(1 for a, b in regions if any(a < e2 and s2 < b for s2, e2 in planted))
            events_planted += len(planted)
            events_found += found
            regions_all += len(regions)
            regions_matched += matched
            ev = f"{found}/{len(planted)}"
            if matched < len(regions):
                ev += f" +{len(regions) - matched}"
        rows.append({"recording": name, "reference_s": ref_s, "detected_s": det_s, "precision": p, "recall": r,
                     "speed_x_rt": duration / dt, "planted_found": ev})
        print(f"{name:24} {ref_s:6.1f} {det_s:6.1f} {p:5.2f} {r:6.2f}  {ev:>7}  {duration / dt:6.1f}")
    if events_planted:
        print(f"\nplanted overlap events: onset found within {TOLERANCE} s for {events_found}/{events_planted} "
              f"(recall {events_found / events_planted:.2f}); detected regions matching a planted overlap "
              f"{regions_matched}/{regions_all} (precision {regions_matched / max(1, regions_all):.2f})")
    if total_time:
        print(f"speed: {total_audio / total_time:.1f}x real time over {total_audio:.0f} s of audio")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
