#!/usr/bin/env python3
"""Precision and recall of the PII detector on the labelled utterance set.

The set is ``tests/data/pii_labelled.jsonl``: one utterance a line, written as
an ASR writes it (digits, spoken numbers, mixtures, punctuation), with the
spans a reviewer expects masked (kind + the exact substring), an optional
``prompt`` (the other speaker's turn just before, where the context often is)
and its split. `` || `` in a text marks a turn break of the same speaker with
the other speaker's "mm-hmm" in between. The set was written before the
detector was tuned; tuning looked only at the ``dev`` split; the ``heldout``
split (every third utterance) was not inspected while tuning. Its first run
found one mistake (a Luhn-valid card number not masked because the agent's
question said "ending in", then a "not a card" context); that rule was fixed,
so the first batch is no longer clean, and a second held-out batch
(``"batch": 2``, 48 utterances) was written after the fix and run once. Its
four mistakes (context words with a clitic: "CVV's", "Expiry's", "Social's";
a domain said as two words) were then fixed too: no split is clean now, and
the first-run figures of both held-out batches are the ones to quote (see the
README's Privacy section). A third set, ``tests/data/pii_heldout_blind.jsonl``
(split ``blind``, 135 utterances), was written by someone who had not seen the
detector or the other sets and run once (card 1.00 / 0.97, CVV 1.00 / 1.00,
expiry 1.00 / 0.83, SSN 1.00 / 1.00, phone 0.93 / 0.93, e-mail 0.73 / 0.67,
DOB 1.00 / 0.92: precision / recall); its mistakes were then fixed. A fourth,
``tests/data/pii_heldout_blind2.jsonl`` (split ``blind2``, 134 utterances, same
protocol), first run after those fixes: card 1.00 / 1.00, CVV 1.00 / 0.83, expiry
1.00 / 0.85, SSN 1.00 / 0.91, phone 1.00 / 0.94, e-mail 0.92 / 0.92, DOB 1.00 / 0.85;
one mistake fixed since (a bare "case" taken as "case number"). A fifth,
``tests/data/pii_heldout_blind3.jsonl`` (split ``blind3``, 137 utterances,
same protocol), first run: card 1.00 / 0.93, CVV 1.00 / 0.93, expiry 1.00 /
0.81, SSN 1.00 / 0.81, phone 1.00 / 0.93, e-mail 0.93 / 0.93, DOB 0.91 / 0.71;
its mistakes were then fixed in general form (see the README). A sixth set,
``tests/data/pii_dev5.jsonl`` (split ``dev5``, 316 utterances written by
someone who had not seen the detector, aimed at hard cases: self-corrections,
extensions, numbers said in groups with tens, context after the number,
look-alike numbers), first run before any fix: card 0.968 / 0.938, CVV 1.000 /
0.784, expiry 0.735 / 0.658, SSN 1.000 / 0.676, phone 0.872 / 0.829, e-mail
0.829 / 0.744, DOB 0.903 / 0.737. It is a development set: its mistakes were
then fixed in general form, so its later figures are not held-out figures.
Its labels cover the whole value said, corrections and phone extensions
included; two older labels leave a phone extension out (``pii-139``,
``blind2-063``) and two dev5 CVV labels leave out a first try the speaker
took back (``dev5-005``, ``dev5-208``): the detector masks those whole.
A seventh set, ``tests/data/pii_heldout_blind4.jsonl`` (split ``blind4``, 246
utterances, blind protocol), first run (precision / recall): card 0.947 / 1.000
(3 false positives: two Luhn-valid IMEIs given in answer to "What's the
IMEI?", one "the visa ending four five two three" -- the last four said
alone), CVV 1.000 / 0.969, expiry 1.000 / 0.935, SSN 1.000 / 1.000, phone
1.000 / 1.000, e-mail 1.000 / 0.967, DOB 1.000 / 0.970; its mistakes were then
fixed in general form. An eighth, ``tests/data/pii_heldout_blind5.jsonl``
(split ``blind5``, 265 utterances, blind protocol), first run after those
fixes (precision / recall): card 1.000 / 1.000, CVV 0.909 / 0.938, expiry
1.000 / 0.906, SSN 1.000 / 0.969, phone 1.000 / 0.941, e-mail 0.970 / 0.970,
DOB 1.000 / 1.000 -- every floor met on a blind set's first run; its mistakes
were then fixed in general form.

Matching: a predicted span is correct when its kind is the expected kind, it
covers every digit of the expected substring and at least 90% of its
characters, and at least 60% of the predicted characters are inside the
expected substring. Precision = correct predictions / predictions; recall =
expected spans found / expected spans. Floors (issue 8): card precision 0.95
and recall 0.98; every other kind 0.9 and 0.9.

Usage::

    python scripts/bench_redaction.py                # table for every split and all
    python scripts/bench_redaction.py --errors dev   # also list the dev-set mistakes
    python scripts/bench_redaction.py --json out.json

Exit status: 0 when every kind meets its floors on the split named by
``--gate`` (default: all), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.records import Word  # noqa: E402
from analysis.redact import PII_KINDS, find_pii  # noqa: E402

DATA = ROOT / "tests" / "data" / "pii_labelled.jsonl"
BLIND = ROOT / "tests" / "data" / "pii_heldout_blind.jsonl"
BLIND2 = ROOT / "tests" / "data" / "pii_heldout_blind2.jsonl"
BLIND3 = ROOT / "tests" / "data" / "pii_heldout_blind3.jsonl"
BLIND4 = ROOT / "tests" / "data" / "pii_heldout_blind4.jsonl"
BLIND5 = ROOT / "tests" / "data" / "pii_heldout_blind5.jsonl"
DEV5 = ROOT / "tests" / "data" / "pii_dev5.jsonl"
FLOORS = {k: (0.9, 0.9) for k in PII_KINDS}
FLOORS["card"] = (0.95, 0.98)
BREAK = "||"


def load_set(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def utterance_words(row: dict) -> tuple[list[Word], list[str], list[tuple[int, int] | None]]:
    """Words of the prompt (agent) and the utterance (customer), and each word's char range in ``row['text']``.

    A ``||`` in the text is a pause with the agent's "mm-hmm" in it.
    """
    words: list[Word] = []
    speakers: list[str] = []
    where: list[tuple[int, int] | None] = []
    t = 0.0

    def add(text: str, speaker: str, span: tuple[int, int] | None, pause: float = 0.05) -> None:
        nonlocal t
        words.append(Word(start=round(t, 3), end=round(t + 0.3, 3), text=text, probability=0.9))
        speakers.append(speaker)
        where.append(span)
        t += 0.3 + pause

    for tok in (row.get("prompt") or "").split():
        add(tok, "agent", None)
    t += 0.6
    pos = 0
    text = row["text"]
    for tok in text.split():
        a = text.index(tok, pos)
        pos = a + len(tok)
        if tok == BREAK:
            t += 1.2
            add("mm-hmm", "agent", None)
            t += 0.6
            continue
        add(tok, "customer", (a, a + len(tok)))
    return words, speakers, where


def predict(row: dict) -> list[tuple[str, int, int]]:
    """Predicted spans of the customer's words: (kind, char start, char end) in ``row['text']``."""
    words, speakers, where = utterance_words(row)
    out = []
    for s in find_pii(words, speakers):
        if s.speaker != "customer":
            continue
        own = [i for i in range(s.start_word, s.end_word) if speakers[i] == "customer"]
        a = where[own[0]][0] + s.head
        last = where[own[-1]]
        b = last[1] if s.tail is None else last[0] + s.tail
        out.append((s.kind, a, b))
    return out


def expected(row: dict) -> list[tuple[str, int, int]]:
    out, pos = [], 0
    for sp in row["spans"]:
        a = row["text"].index(sp["text"], pos)
        out.append((sp["kind"], a, a + len(sp["text"])))
        pos = a + len(sp["text"])
    return out


def matches(text: str, gold: tuple[str, int, int], pred: tuple[str, int, int]) -> bool:
    if gold[0] != pred[0]:
        return False
    ga, gb, pa, pb = gold[1], gold[2], pred[1], pred[2]
    inter = max(0, min(gb, pb) - max(ga, pa))
    digits_covered = all(pa <= i < pb for i in range(ga, gb) if text[i].isdigit())
    return digits_covered and inter >= 0.9 * (gb - ga) and inter >= 0.6 * (pb - pa)


def evaluate(rows: list[dict]) -> tuple[dict[str, dict], list[str]]:
    """Per-kind counts, precision and recall, and a line per mistake."""
    c: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "n": 0})
    errors = []
    for row in rows:
        gold = expected(row)
        pred = predict(row)
        used: set[int] = set()
        hit_gold: set[int] = set()
        for pi, p in enumerate(pred):
            g = next((gi for gi, g in enumerate(gold) if gi not in hit_gold and matches(row["text"], g, p)), None)
            if g is None:
                c[p[0]]["fp"] += 1
                errors.append(f"{row['id']} FP {p[0]}: {row['text'][p[1]:p[2]]!r}  | {row['text']}")
            else:
                c[p[0]]["tp"] += 1
                hit_gold.add(g)
                used.add(pi)
        for gi, g in enumerate(gold):
            c[g[0]]["n"] += 1
            if gi not in hit_gold:
                c[g[0]]["fn"] += 1
                errors.append(f"{row['id']} FN {g[0]}: {row['text'][g[1]:g[2]]!r}  | {row['text']}")
    table: dict[str, dict] = {}
    for k in PII_KINDS:
        x = c[k]
        npred = x["tp"] + x["fp"]
        table[k] = {
            **x,
            "precision": x["tp"] / npred if npred else None,
            "recall": (x["n"] - x["fn"]) / x["n"] if x["n"] else None,
        }
    return table, errors


def meets_floors(table: dict[str, dict]) -> bool:
    ok = True
    for k, (pf, rf) in FLOORS.items():
        p, r = table[k]["precision"], table[k]["recall"]
        ok &= (p is None or p >= pf) and (r is not None and r >= rf)
    return ok


def _fmt(v: float | None) -> str:
    return "  -  " if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--errors", choices=["dev", "heldout", "heldout-batch2", "blind", "blind2", "blind3", "blind4", "blind5", "dev5", "all"], help="list the mistakes on this split")
    ap.add_argument("--gate", choices=["dev", "heldout", "blind", "blind2", "blind3", "blind4", "blind5", "dev5", "all"], default="all", help="split whose floors set the exit status")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    rows = load_set(args.data) + [r for p in (BLIND, BLIND2, BLIND3, BLIND4, BLIND5, DEV5) if args.data == DATA and p.exists() for r in load_set(p)]
    splits = {"dev": [r for r in rows if r["split"] == "dev"], "heldout": [r for r in rows if r["split"] == "heldout"]}
    for batch in sorted({r.get("batch", 1) for r in rows} - {1}):
        splits[f"heldout-batch{batch}"] = [r for r in rows if r["split"] == "heldout" and r.get("batch", 1) == batch]
    splits["blind"] = [r for r in rows if r["split"] == "blind"]
    splits["blind2"] = [r for r in rows if r["split"] == "blind2"]
    splits["blind3"] = [r for r in rows if r["split"] == "blind3"]
    splits["blind4"] = [r for r in rows if r["split"] == "blind4"]
    splits["blind5"] = [r for r in rows if r["split"] == "blind5"]
    splits["dev5"] = [r for r in rows if r["split"] == "dev5"]
    splits["all"] = rows
    results = {}
    for name, part in splits.items():
        table, errors = evaluate(part)
        results[name] = table
        n_neg = sum(1 for r in part if not r["spans"])
        print(f"\n{name}: {len(part)} utterances ({n_neg} with no PII)")
        print(f"  {'kind':8} {'n':>4} {'tp':>4} {'fp':>4} {'fn':>4}  precision  recall   floors")
        for k in PII_KINDS:
            x = table[k]
            pf, rf = FLOORS[k]
            print(f"  {k:8} {x['n']:4d} {x['tp']:4d} {x['fp']:4d} {x['fn']:4d}  {_fmt(x['precision']):>9}  {_fmt(x['recall']):>6}   {pf:.2f}/{rf:.2f}")
        if args.errors == name:
            print("  mistakes:" if errors else "  no mistakes")
            for e in errors:
                print("   ", e)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    ok = meets_floors(results[args.gate])
    print(f"\nfloors on {args.gate}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
