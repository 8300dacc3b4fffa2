#!/usr/bin/env python3
"""Precision and recall of the language-cue detectors on the labelled utterance set.

The sets are in ``tests/data/``: one utterance a line with its speaker role, the
cues a reviewer expects in it (an empty list: none), the customer's
previous/earlier turns where a cue depends on them (paraphrase, customer
repetition), and its split. ``cues_labelled.jsonl`` (splits ``dev`` and
``heldout``) was written before the rubric's patterns were tuned;
``cues_heldout_fresh.jsonl``, ``cues_heldout_final.jsonl``,
``cues_heldout_final2.jsonl`` and ``cues_heldout_final3.jsonl`` were each written blind (by someone who had not
seen the rubric) and measured once before anything was tuned on them; the
README's table says which sets have since been tuned on.

For each cue: TP = utterances labelled with the cue in which it was detected,
FP = utterances where it was detected but not labelled, FN = labelled but not
detected. Floors (issue 5): precision >= 0.9 and recall >= 0.8 on each cue.

Usage::

    python scripts/bench_cues.py                 # table for every split and all
    python scripts/bench_cues.py --errors dev    # also list the dev-set mistakes
    python scripts/bench_cues.py --no-semantic   # phrase patterns only
    python scripts/bench_cues.py --rubric my_rubric.toml --json out.json

Exit status: 0 when every cue meets both floors on the split named by
``--gate`` (default: all), 1 otherwise.
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
SPLITS = ("dev", "heldout", "fresh", "final", "final2", "final3", "all")
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rubric", help="rubric file (default: the shipped rubric)")
    ap.add_argument("--no-semantic", action="store_true", help="phrase patterns only (no embedding model)")
    ap.add_argument("--errors", choices=list(SPLITS), help="list false positives / negatives of this split")
    ap.add_argument("--gate", choices=list(SPLITS), default="all", help="split whose floors decide the exit status")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--only", choices=list(SPLITS), help="look at one split only (tuning: --only dev)")
    args = ap.parse_args(argv)

    rubric = load_rubric(args.rubric)
    t0 = time.perf_counter()
    encode = None
    if not args.no_semantic:
        from analysis.embeddings import get_encoder

        encode = get_encoder("cpu").encode
    detector = CueDetector(rubric, encode)
    t_load = time.perf_counter() - t0
    rows = load_set() + [r for p in (FRESH, FINAL, FINAL2, FINAL3) if p.exists() for r in load_set(p)]
    if args.only and args.only != "all":
        rows = [r for r in rows if r["split"] == args.only]
    t1 = time.perf_counter()
    detector.prefetch([r["text"] for r in rows] + [c for r in rows for c in r.get("previous_customer") or []])
    preds = [{m.kind for m in detector.detect_text(r["text"], r["role"], r.get("previous_customer") or [])} for r in rows]
    t_detect = time.perf_counter() - t1

    print(f"rubric {rubric.name} {rubric.version} ({rubric.sha256[:12]}), semantic {'on' if encode else 'off'}")
    counts = ", ".join(f"{sum(r['split'] == sp for r in rows)} {sp}" for sp in SPLITS[:-1])
    print(f"{len(rows)} utterances ({counts}); "
          f"model load {t_load:.1f} s, detection {t_detect:.1f} s ({1000 * t_detect / len(rows):.1f} ms per utterance)")
    results = {}
    for split in SPLITS:
        idx = [i for i, r in enumerate(rows) if split == "all" or r["split"] == split]
        results[split] = evaluate([rows[i] for i in idx], [preds[i] for i in idx])
    print(f"\n{'cue':<22} " + "   ".join(f"{'n ' + sp[:6]:>8} {'P ' + sp[:6]:>8} {'R ' + sp[:6]:>8}" for sp in SPLITS))
    for kind in CUE_KINDS:
        cells = []
        for split in SPLITS:
            r = results[split][kind]
            cells.append(f"{r['n']:>8} {_fmt(r['precision']):>8} {_fmt(r['recall']):>8}")
        print(f"{kind:<22} " + "   ".join(cells))
    for split in SPLITS:
        res = results[split]
        tp = sum(r["tp"] for r in res.values())
        fp = sum(r["fp"] for r in res.values())
        fn = sum(r["fn"] for r in res.values())
        print(f"micro {split:<8} precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f}  (tp {tp}, fp {fp}, fn {fn})")
    if args.errors:
        print(f"\nerrors ({args.errors}):")
        for r, pred in zip(rows, preds):
            if args.errors != "all" and r["split"] != args.errors:
                continue
            gold = set(r["cues"])
            if pred != gold:
                print(f"  {r['id']:<24} {r['role']:<8} gold {sorted(gold)} got {sorted(pred)}: {r['text']}")
    gate = args.only if args.only else args.gate
    failing = meets_floors(results[gate])
    print(f"\nfloors (precision >= {PRECISION_FLOOR}, recall >= {RECALL_FLOOR}) on {gate}: " + ("met" if not failing else "NOT met: " + "; ".join(failing)))
    if args.json:
        Path(args.json).write_text(json.dumps({"rubric": {"name": rubric.name, "version": rubric.version, "sha256": rubric.sha256},
                                               "semantic": bool(encode), "results": results}, indent=1))
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
