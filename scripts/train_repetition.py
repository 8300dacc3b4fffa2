#!/usr/bin/env python3
"""Train the customer-repetition model (``analysis/models/repetition.json``).

The model (:mod:`analysis.repetition`) decides whether a customer turn says again,
in other words, what the customer said earlier in the call. It is trained on every
labelled customer utterance that comes with the customer's earlier turns: those of
the cue sets in ``tests/data/cues_*.jsonl`` (but the blind sets named by
``--exclude``, by default the blind set of ``scripts/bench_cues.py``) and ``tests/data/cues_repetition_pairs.jsonl``
(433 pairs written as training data: restatements in other words, marked ones,
and same-subject turns that add something new).

    .venv/bin/python scripts/train_repetition.py                    # write the shipped model
    .venv/bin/python scripts/train_repetition.py --cv               # also leave-one-set-out figures
    .venv/bin/python scripts/train_repetition.py --exclude final9 --out /tmp/rep.json

``--cv`` prints, for each held-out set, precision and recall of customer
repetition found by the detector without the model, and with it (the model
trained without that set): the figure that says how it does on unseen wording.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from analysis.cues import CueDetector  # noqa: E402
from analysis.repetition import BUILTIN, RepetitionModel  # noqa: E402
from analysis.rubric import load_rubric  # noqa: E402
from bench_cues import BLIND as BLIND_SPLIT  # noqa: E402  (the blind set is never trained on)

BLIND = (BLIND_SPLIT,)

KIND = "customer_repetition"


def rows_with_context(exclude: set[str]) -> list[dict]:
    out = []
    pair_count = itertools.count()
    for f in sorted(glob.glob(str(ROOT / "tests" / "data" / "cues_*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            split = r.get("split", Path(f).stem)
            if split in exclude or r.get("role") != "customer" or not r.get("previous_customer"):
                continue
            r["set"] = split if split.startswith("final") else Path(f).stem
            if split == "rep_train":  # one large set: held out a third at a time
                r["set"] = f"rep_train_{next(pair_count) % 3}"
            out.append(r)
    return out


def fit(X: np.ndarray, y: np.ndarray, c: float) -> RepetitionModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=5000).fit((X - mean) / scale, y)
    return RepetitionModel(mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(BUILTIN), help="model file to write (default: the shipped one)")
    ap.add_argument("--exclude", nargs="*", default=list(BLIND), help=f"splits kept out of training (default: the blind set, {', '.join(BLIND)})")
    ap.add_argument("--cv", action="store_true", help="print leave-one-set-out precision and recall")
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation of the logistic regression")
    ap.add_argument("--threshold", type=float, nargs="+", default=None, help="thresholds for --cv (default: the rubric's)")
    args = ap.parse_args()

    from analysis.cue_model import get_classifier
    from analysis.embeddings import get_encoder

    rubric = load_rubric(None)
    rubric = rubric.model_copy(update={"detection": rubric.detection.model_copy(update={
        "repetition": rubric.detection.repetition.model_copy(update={"model": "none"})})})
    encode = get_encoder("cpu").encode
    det = CueDetector(rubric, encode, get_classifier(rubric.classifier_path()))
    rows = rows_with_context(set(args.exclude))
    det.prefetch([r["text"] for r in rows] + [t for r in rows for t in r["previous_customer"]], ["customer"] * (len(rows) + sum(len(r["previous_customer"]) for r in rows)))
    feats, keep = [], []
    for r in rows:
        got = det.repetition_features(r["text"], r["previous_customer"])
        if got is not None:
            feats.append(got[0])
            keep.append(r)
    X = np.array(feats)
    y = np.array([KIND in r["cues"] for r in keep])
    sets = np.array([r["set"] for r in keep])
    print(f"{len(keep)} customer turns with earlier turns ({int(y.sum())} repetitions) from {len(set(sets))} sets; "
          f"{len(rows) - len(keep)} without a statement to compare left out")
    info: dict = {"trained_on": sorted(set(sets)), "turns": len(keep), "repetitions": int(y.sum()), "C": args.c}
    if args.cv:
        thresholds = args.threshold or [load_rubric(None).detection.repetition.model_threshold]
        found = np.array([any(m.kind == KIND for m in det.detect_text(r["text"], "customer", r["previous_customer"])) for r in keep])
        prob = np.zeros(len(keep))
        for s in sorted(set(sets)):
            m = sets == s
            prob[m] = [fit(X[~m], y[~m], args.c).probability(x) for x in X[m]]
        print("leave-one-set-out: set, turns, repetitions; P/R without the model -> with it at each threshold " + ", ".join(map(str, thresholds)))
        cv: dict = {}
        for s in sorted(set(sets)) + ["rep_train", "all"]:
            m = np.ones(len(keep), bool) if s == "all" else np.char.startswith(sets.astype(str), s) if s == "rep_train" else sets == s
            res = []
            for pred in [found] + [found | (prob >= t) for t in thresholds]:
                tp, fp, fn = int((pred & y & m).sum()), int((pred & ~y & m).sum()), int((~pred & y & m).sum())
                res.append((round(tp / max(1, tp + fp), 3), round(tp / max(1, tp + fn), 3)))
            cv[s] = {"without": res[0], **{f"with_{t}": r for t, r in zip(thresholds, res[1:])}}
            print(f"  {s:<22} {int(m.sum()):4d} {int((y & m).sum()):4d}   {res[0][0]:.2f}/{res[0][1]:.2f} -> "
                  + "  ".join(f"{p:.2f}/{r:.2f}" for p, r in res[1:]))
        info["cross_validation"] = cv
    model = fit(X, y, args.c)
    model.to_json(args.out, **info)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
