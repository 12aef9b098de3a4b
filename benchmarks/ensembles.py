"""Seed ensembles of ``EFFICIENT``: does averaging a few training seeds steady the S scores?

One training run's S F1 moves a lot with its training seed, and even with a change of one grey level
in a few pixels (results/README.md, "The S scores are fragile"). This benchmark trains ``EFFICIENT`` with each
of ``--seeds`` on the same split of protocols (a) and (b), keeps each model's validation and test
probabilities, and scores

* every single model (mean ± sd over seeds), and
* every ensemble of ``--size`` of those models (the mean of their probabilities), over all
  combinations of seeds. Combinations share members, so their sd understates the spread of
  independent ensembles; the disjoint ones (seeds 0-2, 3-5, ...) are listed in the JSON too.

Validation macro-F1 (computed here from the predictions, the same way for both) is what a change
may be chosen on; the rest are test scores. An ensemble of k costs k trainings.

Writes ``results/<name>.json`` and ``results/<name>.md`` (``--name``, default ``ensembles``) and
prints the table.

    python benchmarks/ensembles.py [--quick] [--seeds 0,1,2,3,4,5] [--size 3] [--protocols a,b]
                                   [--name ensembles] [--out results]
"""

from __future__ import annotations

import argparse
import itertools
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
from ecglib.evaluate import evaluate_predictions  # noqa: E402
from ecglib.protocols import EFFICIENT, QUICK_RECORDS, summarise_folds  # noqa: E402

PROTOCOLS = {k: PROTOCOL_KEYS[k] for k in ("a", "b")}  # one split each: no 5-fold (c)
KEEP = ("accuracy", "macro_f1", "macro_roc_auc", "macro_pr_auc", "per_class")


def score(parts, val_proba: np.ndarray, test_proba: np.ndarray) -> dict:
    """Test metrics of one set of probabilities, plus the validation macro-F1."""
    m = evaluate_predictions(parts["test"].labels, test_proba, CLASSES)
    val_f1 = evaluate_predictions(parts["val"].labels, val_proba, CLASSES)["macro_f1"]
    return {"val_macro_f1": val_f1, **{k: m[k] for k in KEEP}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 records, 2 epochs: a smoke test")
    ap.add_argument("--seeds", default="0,1,2,3,4,5", help="training seeds (comma-separated); the splits use seed 0")
    ap.add_argument("--size", type=int, default=3, help="models per ensemble")
    ap.add_argument("--protocols", default="a,b", help="comma-separated subset of a,b")
    ap.add_argument("--name", default="ensembles", help="file stem of the outputs (NAME.json, NAME.md)")
    ap.add_argument("--out", default="results", help="output directory")
    args = ap.parse_args(argv)
    keys = name_list(ap, args.protocols, PROTOCOLS, "--protocols")
    seeds = int_list(ap, args.seeds, "--seeds")
    if len(set(seeds)) != len(seeds):
        ap.error(f"--seeds must not repeat a seed, got {args.seeds!r}")
    if not 2 <= args.size <= len(seeds):
        ap.error(f"--size must be between 2 and the number of seeds ({len(seeds)}), got {args.size}")

    records = list(QUICK_RECORDS if args.quick else RECORDS)
    data = build_dataset(records, EFFICIENT.beat_config, EFFICIENT.spec_config, progress=False)
    results: dict = {"seeds": seeds, "size": args.size, "quick": args.quick, "protocols": {}}
    rows = []
    for key in keys:
        label = PROTOCOLS[key][1]
        split, parts = one_split(data, key, args.quick)
        probas, singles = {}, []
        for seed, m, val_proba, test_proba in train_seeds(parts, label, seeds, args.quick):
            probas[seed] = (val_proba, test_proba)
            singles.append({"seeds": [seed], "seconds": m["seconds"], "best_epoch": m["best_epoch"],
                            **score(parts, *probas[seed])})  # fmt: skip
            log(f"  val mF1 {singles[-1]['val_macro_f1']:.3f}, test S F1 {singles[-1]['per_class']['S']['f1']:.3f}")
        ensembles = []
        for members in itertools.combinations(seeds, args.size):
            val = np.mean([probas[s][0] for s in members], axis=0)
            test = np.mean([probas[s][1] for s in members], axis=0)
            seconds = sum(r["seconds"] for r in singles if r["seeds"][0] in members)  # k trainings
            ensembles.append({"seeds": list(members), "seconds": seconds, **score(parts, val, test)})
        disjoint = [list(seeds[i : i + args.size]) for i in range(0, len(seeds) - args.size + 1, args.size)]
        results["protocols"][key] = {"split": split, "singles": singles, "ensembles": ensembles,
                                     "disjoint": [e for e in ensembles if e["seeds"] in disjoint]}  # fmt: skip
        rows.append((label, "1 model", singles))
        rows.append((label, f"mean of {args.size}", ensembles))

    md = "# Seed ensembles of efficient_cnn\n\n" + table(rows, seeds, args.size) + "\n"
    if args.quick:
        md += "\nQUICK smoke run (12 records, 2 epochs), not a result.\n"
    write_report(args.out, args.name, results, md)
    return 0


def table(rows, seeds, size: int) -> str:
    """Markdown table: per protocol, single models and ensembles, mean ± sd of val macro-F1 and test scores."""

    def ms(v):
        v = np.asarray(v, dtype=float)
        return f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.3f}"

    lines = [
        f"Training seeds {seeds} on one split per protocol. `1 model`: mean ± sd over the seeds; `mean of {size}`: "
        f"over every combination of {size} of them (they share members, so the sd understates the spread of "
        "independent ensembles). `val mF1`: validation macro-F1; the rest are test-set scores.\n",
        "| protocol | models | n | val mF1 | acc | S P | S R | S F1 | S PR-AUC | V R | V F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, kind, runs in rows:
        summary = summarise_folds(runs)
        pc, sd = summary["per_class"], summary["per_class_sd"]
        cells = [label, kind, str(len(runs)), ms([r["val_macro_f1"] for r in runs]),
                 f"{summary['accuracy']:.3f} ± {summary['accuracy_sd']:.3f}"]  # fmt: skip
        cells += [f"{pc[c][k]:.3f} ± {sd[c][k]:.3f}" for c, k in
                  (("S", "precision"), ("S", "recall"), ("S", "f1"), ("S", "pr_auc"), ("V", "recall"), ("V", "f1"))]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
