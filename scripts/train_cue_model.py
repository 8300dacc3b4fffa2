#!/usr/bin/env python3
"""Train the cue classifier shipped as ``analysis/models/cue_classifier.npz``.

The classifier (:mod:`analysis.cue_model`) is all-MiniLM-L6-v2 with low-rank
adapters and one output per cue, trained on labelled utterances and on the
rubric's example phrases and counter-examples. The shipped file is trained on
every labelled set in ``tests/data`` that is not kept blind:

* ``cues_labelled.jsonl``, ``cues_heldout_fresh.jsonl``, ``cues_heldout_final.jsonl``,
  ``cues_heldout_final2.jsonl``, ``cues_heldout_final3.jsonl`` (the sets the rubric was
  written and tuned on),
* ``cues_train_a.jsonl``, ``cues_train_b.jsonl`` (written as training data) and
* ``cues_heldout_final4.jsonl`` to ``_final12`` (each blind until its first run);

``cues_heldout_final13.jsonl`` is never trained on: it measures the detector on
wording it has not seen (``scripts/bench_cues.py``).

Usage::

    python scripts/train_cue_model.py                        # retrain the shipped file (about 16 min on 2 cores)
    python scripts/train_cue_model.py --holdout final3 --out /tmp/m.npz   # leave a split out, to measure on it

Training is seeded: the same data and settings give the same file on the same machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.cue_model import BUILTIN, build_training_set, train_classifier  # noqa: E402
from analysis.rubric import load_rubric  # noqa: E402

DATA = ROOT / "tests" / "data"
TRAINING_SETS = (
    "cues_labelled.jsonl",
    "cues_heldout_fresh.jsonl",
    "cues_heldout_final.jsonl",
    "cues_heldout_final2.jsonl",
    "cues_heldout_final3.jsonl",
    "cues_train_a.jsonl",
    "cues_train_b.jsonl",
    "cues_heldout_final4.jsonl",
    "cues_heldout_final5.jsonl",
    "cues_heldout_final6.jsonl",
    "cues_heldout_final7.jsonl",
    "cues_heldout_final8.jsonl",
    "cues_heldout_final9.jsonl",
    "cues_heldout_final10.jsonl",
    "cues_heldout_final11.jsonl",
    "cues_heldout_final12.jsonl",
)
BLIND = ("cues_heldout_final13.jsonl",)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", default=[DATA / n for n in TRAINING_SETS])
    ap.add_argument("--holdout", nargs="*", default=[], help="splits to leave out")
    ap.add_argument("--rubric", type=Path, default=None, help="rubric whose examples are trained on (default: the shipped one)")
    ap.add_argument("--out", type=Path, default=BUILTIN)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for p in args.data:
        if p.name in BLIND:
            ap.error(f"{p.name} is the blind test set: never train on it")
    rubric = load_rubric(args.rubric)
    examples, meta = build_training_set(args.data, rubric, args.holdout)
    kinds = list(rubric.cues)
    roles = [rubric.cues[k].speaker for k in kinds]
    sets = ", ".join(f"{d['file']} {d['utterances']}" for d in meta["data"])
    print(f"training on {len(examples)} examples ({sets}; {meta['rubric']['phrases']} rubric phrases); "
          f"holdout: {args.holdout or 'none'}", flush=True)
    t0 = time.perf_counter()
    weights = train_classifier(examples, kinds, roles, epochs=args.epochs, threads=args.threads, label_smoothing=args.label_smoothing,
                               progress=lambda line: print("  " + line, flush=True), meta=meta)
    weights.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
