#!/usr/bin/env python3
"""Precision and recall of the language-cue detectors on the labelled utterance sets.

The sets are in ``tests/data/``: one utterance a line with its speaker role, the
cues a reviewer expects in it (an empty list: none), the customer's
previous/earlier turns where a cue depends on them (paraphrase, customer
repetition), and its split. ``cues_labelled.jsonl`` (splits ``dev`` and
``heldout``) was written before the rubric's patterns were tuned;
``cues_heldout_fresh.jsonl``, ``_final``, ``_final2``, ``_final3``, ``_final4``,
``_final5`` to ``_final12`` and ``_final13`` were each written blind (by someone who had seen neither the rubric
nor the other sets) and measured once before anything was tuned on them;
``cues_train_a.jsonl`` and ``cues_train_b.jsonl`` were written as training data
for the cue classifier. The shipped classifier is trained on every set up to
``final12`` (not ``final13``); the repetition model
(``scripts/train_repetition.py``) on every set up to ``final12``. The README's table says which sets were tuned on.

For each cue: TP = utterances labelled with the cue in which it was detected,
FP = utterances where it was detected but not labelled, FN = labelled but not
detected. Floors (issue 5): precision >= 0.9 and recall >= 0.8 on each cue.

``--cross-validate DIR`` measures each older set with a classifier trained
without it (``DIR/holdout_<fold>.npz``, made by ``scripts/train_cue_model.py
--holdout ...``): how the classifier does on wording it has not seen.

Usage::

    python scripts/bench_cues.py                      # every split, per-cue table for the blind set
    python scripts/bench_cues.py --errors final13     # also list that split's mistakes
    python scripts/bench_cues.py --no-semantic        # phrase patterns only
    python scripts/bench_cues.py --classifier none    # patterns and example phrases, no classifier
    python scripts/bench_cues.py --cross-validate /tmp/folds
    python scripts/bench_cues.py --rubric my_rubric.toml --json out.json

Exit status: 0 when every cue meets both floors on the split named by
``--gate`` (default: the blind set), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.cues import CueDetector  # noqa: E402
from analysis.rubric import CUE_KINDS, load_rubric  # noqa: E402

DATA = ROOT / "tests" / "data" / "cues_labelled.jsonl"
FRESH = ROOT / "tests" / "data" / "cues_heldout_fresh.jsonl"
FINAL = ROOT / "tests" / "data" / "cues_heldout_final.jsonl"
FINAL2 = ROOT / "tests" / "data" / "cues_heldout_final2.jsonl"
FINAL3 = ROOT / "tests" / "data" / "cues_heldout_final3.jsonl"
TRAIN_A = ROOT / "tests" / "data" / "cues_train_a.jsonl"
TRAIN_B = ROOT / "tests" / "data" / "cues_train_b.jsonl"
FINAL4 = ROOT / "tests" / "data" / "cues_heldout_final4.jsonl"
FINAL5 = ROOT / "tests" / "data" / "cues_heldout_final5.jsonl"
FINAL6 = ROOT / "tests" / "data" / "cues_heldout_final6.jsonl"
FINAL7 = ROOT / "tests" / "data" / "cues_heldout_final7.jsonl"
FINAL8 = ROOT / "tests" / "data" / "cues_heldout_final8.jsonl"
FINAL9 = ROOT / "tests" / "data" / "cues_heldout_final9.jsonl"
FINAL10 = ROOT / "tests" / "data" / "cues_heldout_final10.jsonl"
FINAL11 = ROOT / "tests" / "data" / "cues_heldout_final11.jsonl"
FINAL12 = ROOT / "tests" / "data" / "cues_heldout_final12.jsonl"
FINAL13 = ROOT / "tests" / "data" / "cues_heldout_final13.jsonl"
SETS = (DATA, FRESH, FINAL, FINAL2, FINAL3, TRAIN_A, TRAIN_B, FINAL4, FINAL5, FINAL6, FINAL7, FINAL8, FINAL9, FINAL10, FINAL11, FINAL12, FINAL13)
SPLITS = ("dev", "heldout", "fresh", "final", "final2", "final3", "train_a", "train_b", "final4", "final5", "final6", "final7", "final8", "final9", "final10", "final11", "final12", "final13", "all")
BLIND = "final13"  # never trained or tuned on
#: cross-validation folds: the classifier file DIR/holdout_<tag>.npz was trained without these splits
FOLDS = {"final3": ("final3",), "final": ("final",), "fresh": ("fresh",), "final2": ("final2",), "dev_heldout": ("dev", "heldout"),
         "final4": ("final4",), "final5": ("final5",), "final6": ("final6",), "final7": ("final7",)}
PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.8


def load_set(path: Path = DATA) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def evaluate(rows: list[dict], predictions: list[set[str]]) -> dict[str, dict[str, float | int | None]]:
    """Per-cue TP/FP/FN, precision and recall (None when undefined)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "n": 0})
    for row, pred in zip(rows, predictions):
        gold = set(row["cues"])
        for kind in CUE_KINDS:
            c = counts[kind]
            c["n"] += kind in gold
            if kind in pred and kind in gold:
                c["tp"] += 1
            elif kind in pred:
                c["fp"] += 1
            elif kind in gold:
                c["fn"] += 1
    out: dict[str, dict[str, float | int | None]] = {}
    for kind in CUE_KINDS:
        c = counts[kind]
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
        out[kind] = {**c, "precision": p, "recall": r}
    return out


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def meets_floors(result: dict) -> list[str]:
    """Cues below a floor ("kind: precision 0.80"), empty when all meet them."""
    bad = []
    for kind, r in result.items():
        if r["n"] == 0:
            continue
        p = r["precision"] if r["precision"] is not None else 0.0
        if p < PRECISION_FLOOR:
            bad.append(f"{kind}: precision {p:.2f}")
        if (r["recall"] or 0.0) < RECALL_FLOOR:
            bad.append(f"{kind}: recall {r['recall'] or 0.0:.2f}")
    return bad


def _detector(rubric, encode, classifier: str | None):
    """The cue detector with the rubric's classifier, or the one named ("none": without)."""
    clf = None
    if encode is not None:
        from analysis.cue_model import get_classifier

        if classifier is None:
            path = rubric.classifier_path()
            clf = get_classifier(path) if path is not None else None
        elif classifier != "none":
            clf = get_classifier(classifier)
    return CueDetector(rubric, encode, clf)


def _predict(detector, rows: list[dict]) -> list[set[str]]:
    detector.prefetch([r["text"] for r in rows] + [c for r in rows for c in r.get("previous_customer") or []])
    return [{m.kind for m in detector.detect_text(r["text"], r["role"], r.get("previous_customer") or [])} for r in rows]


def _table(title: str, columns: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"{'cue':<22} " + "   ".join(f"{'n ' + c[:8]:>10} {'P':>5} {'R':>5}" for c in columns))
    for kind in CUE_KINDS:
        print(f"{kind:<22} " + "   ".join(
            f"{columns[c][kind]['n']:>10} {_fmt(columns[c][kind]['precision']):>5} {_fmt(columns[c][kind]['recall']):>5}" for c in columns))


def _micro(name: str, res: dict) -> str:
    tp = sum(r["tp"] for r in res.values())
    fp = sum(r["fp"] for r in res.values())
    fn = sum(r["fn"] for r in res.values())
    return f"micro {name:<14} precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f}  (tp {tp}, fp {fp}, fn {fn})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rubric", help="rubric file (default: the shipped rubric)")
    ap.add_argument("--no-semantic", action="store_true", help="phrase patterns only (no embedding model, no classifier)")
    ap.add_argument("--classifier", help="cue classifier file, or 'none' (default: the rubric's)")
    ap.add_argument("--cross-validate", metavar="DIR", type=Path,
                    help="measure each fold's splits with DIR/holdout_<fold>.npz, trained without them (scripts/train_cue_model.py --holdout)")
    ap.add_argument("--errors", choices=list(SPLITS), help="list false positives / negatives of this split")
    ap.add_argument("--gate", choices=list(SPLITS), default=BLIND, help=f"split whose floors decide the exit status (default {BLIND}, the blind set)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--only", choices=list(SPLITS), help="look at one split only")
    args = ap.parse_args(argv)

    rubric = load_rubric(args.rubric)
    t0 = time.perf_counter()
    encode = None
    if not args.no_semantic:
        from analysis.embeddings import get_encoder

        encode = get_encoder("cpu").encode
    detector = _detector(rubric, encode, args.classifier)
    t_load = time.perf_counter() - t0
    rows = [r for p in SETS if p.exists() for r in load_set(p)]
    if args.only and args.only != "all":
        rows = [r for r in rows if r["split"] == args.only]
    t1 = time.perf_counter()
    preds = _predict(detector, rows)
    t_detect = time.perf_counter() - t1

    clf = detector.classifier
    print(f"rubric {rubric.name} {rubric.version} ({rubric.sha256[:12]}), semantic {'on' if encode else 'off'}, "
          f"classifier {getattr(clf, 'name', None) or 'none'}")
    present = [sp for sp in SPLITS[:-1] if any(r["split"] == sp for r in rows)]
    counts = ", ".join(f"{sum(r['split'] == sp for r in rows)} {sp}" for sp in present)
    print(f"{len(rows)} utterances ({counts}); "
          f"models load {t_load:.1f} s, detection {t_detect:.1f} s ({1000 * t_detect / max(1, len(rows)):.1f} ms per utterance)")
    results = {}
    for split in present + ["all"]:
        idx = [i for i, r in enumerate(rows) if split == "all" or r["split"] == split]
        results[split] = evaluate([rows[i] for i in idx], [preds[i] for i in idx])
    print()
    for split in present + ["all"]:
        print(_micro(split, results[split]))
    shown = {sp: results[sp] for sp in (BLIND, "all") if sp in results}
    _table(f"per cue ({BLIND} was written blind; most other sets were trained or tuned on: figures on them are not a test)", shown)

    if args.cross_validate:
        cv_rows, cv_preds = [], []
        for tag, splits in FOLDS.items():
            path = args.cross_validate / f"holdout_{tag}.npz"
            part = [r for r in rows if r["split"] in splits]
            if not path.exists() or not part:
                print(f"cross-validation: {path} missing, fold {tag} skipped")
                continue
            fold_pred = _predict(_detector(rubric, encode, str(path)), part)
            res = evaluate(part, fold_pred)
            results[f"cv_{tag}"] = res
            print(_micro(f"cv {tag}", res))
            cv_rows += part
            cv_preds += fold_pred
        if cv_rows:
            results["cross_validated"] = evaluate(cv_rows, cv_preds)
            print(_micro("cross-validated", results["cross_validated"]))
            _table("per cue, each set measured with a classifier trained without it (cross-validated)", {"cross-validated": results["cross_validated"]})

    if args.errors:
        print(f"\nerrors ({args.errors}):")
        for r, pred in zip(rows, preds):
            if args.errors != "all" and r["split"] != args.errors:
                continue
            gold = set(r["cues"])
            if pred != gold:
                print(f"  {r['id']:<24} {r['role']:<8} gold {sorted(gold)} got {sorted(pred)}: {r['text']}")
    gate = args.only if args.only else args.gate
    if gate not in results:
        print(f"\nfloors: split {gate} not present")
        return 1
    failing = meets_floors(results[gate])
    print(f"\nfloors (precision >= {PRECISION_FLOOR}, recall >= {RECALL_FLOOR}) on {gate}: " + ("met" if not failing else "NOT met: " + "; ".join(failing)))
    if args.json:
        Path(args.json).write_text(json.dumps({"rubric": {"name": rubric.name, "version": rubric.version, "sha256": rubric.sha256},
                                               "semantic": bool(encode), "classifier": getattr(clf, "name", None),
                                               "results": results}, indent=1))
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
