"""Decision weights tuned on validation patients, and where the S scores move, record by record.

One training run's S F1 moves by up to 0.3 with its training seed (results/README.md, "The S
scores are fragile"). This benchmark trains ``EFFICIENT`` with each of ``--seeds`` on the same split of
protocols (a) and (b) and asks two questions. Since 2026-11-30 ``EFFICIENT`` averages three networks,
so each seed ``s`` trains three (seeds ``3s`` to ``3s + 2``); files written before hold single networks.

* Does a decision rule tuned after training help? :func:`ecglib.evaluate.tune_class_weights`
  picks class weights on the validation patients (the arg-max of ``proba * w`` with the best
  validation macro-F1); the test set is then scored with and without them. The weights tuned on
  the test set itself are shown too, as an upper bound that no honest run can reach (``oracle``).
* Which test records carry the spread? For every test record with at least ``--min-beats`` S (or
  V) beats, or as many beats of other classes called S (or V) by one of the models: the S (V)
  beats each seed's model finds, and the beats of other classes it calls S (V).

Writes ``results/<name>.json`` and ``results/<name>.md`` (``--name``, default ``thresholds``) and
prints the tables.

    python benchmarks/thresholds.py [--quick] [--seeds 0,1,2] [--protocols a,b] [--min-beats 20]
                                    [--name thresholds] [--out results]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _report import (  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
    PROTOCOL_KEYS,
    int_list,
    log,
    name_list,
    one_split,
    train_seeds,
    write_report,
)

from ecglib.data import CLASSES, RECORDS  # noqa: E402
from ecglib.dataset import build_dataset  # noqa: E402
from ecglib.evaluate import evaluate_predictions, tune_class_weights  # noqa: E402
from ecglib.protocols import EFFICIENT, QUICK_RECORDS  # noqa: E402

PROTOCOLS = {k: PROTOCOL_KEYS[k] for k in ("a", "b")}  # one split each: no 5-fold (c)


def headline(labels: np.ndarray, scores: np.ndarray) -> dict:
    """Accuracy, macro-F1, S F1, V F1 and V recall of the arg-max of ``scores``."""
    m = evaluate_predictions(labels, scores, CLASSES)
    pc = m["per_class"]
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "S_f1": pc["S"]["f1"], "V_f1": pc["V"]["f1"],
            "V_recall": pc["V"]["recall"]}  # fmt: skip


def by_record(test, proba: np.ndarray, cls: int) -> dict:
    """``{record: {"n": beats of class cls, "found": those called cls, "false": other beats called cls}}``.

    Every test record, with the arg-max rule: where that class's recall and precision are made.
    """
    pred = proba.argmax(axis=1)
    out = {}
    for rec in np.unique(test.records):
        m = test.records == rec
        out[str(rec)] = {"n": int(np.sum(m & (test.labels == cls))),
                         "found": int(np.sum(m & (test.labels == cls) & (pred == cls))),
                         "false": int(np.sum(m & (test.labels != cls) & (pred == cls)))}  # fmt: skip
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 records, 2 epochs: a smoke test")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (comma-separated); the splits use seed 0")
    ap.add_argument("--protocols", default="a,b", help="comma-separated subset of a,b")
    ap.add_argument("--min-beats", type=int, default=20,
                    help="list test records with at least this many S (V) beats, or beats called S (V) wrongly")
    ap.add_argument("--name", default="thresholds", help="file stem of the outputs (NAME.json, NAME.md)")
    ap.add_argument("--out", default="results", help="output directory")
    args = ap.parse_args(argv)
    keys = name_list(ap, args.protocols, PROTOCOLS, "--protocols")
    seeds = int_list(ap, args.seeds, "--seeds")
    if not seeds or len(set(seeds)) != len(seeds):
        ap.error(f"--seeds must name at least one seed, none twice, got {args.seeds!r}")
    if args.min_beats < 1:
        ap.error(f"--min-beats must be a positive number of beats, got {args.min_beats}")

    records = list(QUICK_RECORDS if args.quick else RECORDS)
    data = build_dataset(records, EFFICIENT.beat_config, EFFICIENT.spec_config, progress=False)
    results: dict = {"seeds": seeds, "quick": args.quick, "protocols": {}}
    md = ["# Decision weights tuned on validation, and S and V beats by record\n"]
    for key in keys:
        label = PROTOCOLS[key][1]
        split, parts = one_split(data, key, args.quick)
        runs = []
        for seed, m, val_proba, test_proba in train_seeds(parts, label, seeds, args.quick):
            w = tune_class_weights(parts["val"].labels, val_proba, CLASSES)
            w_oracle = tune_class_weights(parts["test"].labels, test_proba, CLASSES)
            runs.append({
                "seed": seed, "seconds": m["seconds"], "weights": w.tolist(), "oracle_weights": w_oracle.tolist(),
                "val_macro_f1": {"argmax": headline(parts["val"].labels, val_proba)["macro_f1"],
                                 "tuned": headline(parts["val"].labels, val_proba * w)["macro_f1"]},
                "test": {"argmax": headline(parts["test"].labels, test_proba),
                         "tuned": headline(parts["test"].labels, test_proba * w),
                         "oracle": headline(parts["test"].labels, test_proba * w_oracle)},
                "by_record": {c: by_record(parts["test"], test_proba, CLASSES.index(c)) for c in "SV"},
            })  # fmt: skip
            log(f"  weights {np.round(w, 2).tolist()}: test S F1 {runs[-1]['test']['argmax']['S_f1']:.3f} -> "
                f"{runs[-1]['test']['tuned']['S_f1']:.3f}")  # fmt: skip
        results["protocols"][key] = {"split": split, "runs": runs}
        md += [f"## {label}\n", weights_table(runs), ""]
        md += [records_table(runs, c, args.min_beats) + "\n" for c in "SV"]
    if args.quick:
        md.append("QUICK smoke run (12 records, 2 epochs), not a result.\n")
    write_report(args.out, args.name, results, "\n".join(md))
    return 0


def weights_table(runs: list[dict]) -> str:
    """Per seed: the tuned weights, validation macro-F1 and test scores with the arg-max, tuned and oracle rules."""
    lines = [
        "`argmax`: the model's own decision; `tuned`: weights tuned on the validation patients; `oracle`: tuned "
        "on the test patients (peeks at the test labels: an upper bound, not a result).\n",
        "| seed | rule | weights N/S/V | val mF1 | acc | S F1 | V F1 | V R |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        for rule, w in (("argmax", [1.0, 1.0, 1.0]), ("tuned", r["weights"]), ("oracle", r["oracle_weights"])):
            t = r["test"][rule]
            val = f"{r['val_macro_f1'][rule]:.3f}" if rule in r["val_macro_f1"] else ""
            lines.append(f"| {r['seed']} | {rule} | {'/'.join(f'{x:.2g}' for x in w)} | {val} | {t['accuracy']:.3f} | "
                         f"{t['S_f1']:.3f} | {t['V_f1']:.3f} | {t['V_recall']:.3f} |")  # fmt: skip
    for rule in ("argmax", "tuned"):
        v = {k: np.array([r["test"][rule][k] for r in runs]) for k in ("S_f1", "V_f1", "V_recall")}
        lines.append(f"| mean | {rule} | | | | {v['S_f1'].mean():.3f} ± {v['S_f1'].std(ddof=1) if len(runs) > 1 else 0:.3f} | "
                     f"{v['V_f1'].mean():.3f} | {v['V_recall'].mean():.3f} |")  # fmt: skip
    return "\n".join(lines)


def records_table(runs: list[dict], cls: str, min_n: int) -> str:
    """Per test record with at least ``min_n`` beats of ``cls``, or ``min_n`` others called ``cls`` by a seed's model."""
    tables = [r["by_record"][cls] for r in runs]
    recs = [rec for rec in sorted(tables[0])
            if tables[0][rec]["n"] >= min_n or any(t[rec]["false"] >= min_n for t in tables)]  # fmt: skip
    lines = [
        f"Test records with at least {min_n} {cls} beats, or with at least {min_n} beats of other classes called "
        f"{cls} by one of the models (arg-max rule): {cls} beats found by each seed's model, and (after the slash) "
        f"beats of other classes it called {cls}.\n",
        f"| record | {cls} beats | " + " | ".join(f"seed {r['seed']}" for r in runs) + " |",
        "|---|---:|" + "---:|" * len(runs),
    ]
    for rec in recs:
        cells = [f"{t[rec]['found']} / {t[rec]['false']}" for t in tables]
        lines.append(f"| {rec} | {tables[0][rec]['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
