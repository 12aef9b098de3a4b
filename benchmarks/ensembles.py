"""Seed ensembles of ``EFFICIENT``'s networks: does averaging a few training seeds steady the S scores?

One training run's S F1 moves a lot with its training seed, and even with a change of one grey level
in a few pixels (results/README.md, "The S scores are fragile"). This benchmark trains one network of
``EFFICIENT`` (``EFFICIENT.member()``: since 2026-11-30 ``EFFICIENT`` itself is an ensemble of three) with each
of ``--seeds`` on each split of ``--protocols`` ((a) and (b): one split per ``--split-seeds``; (c):
its five folds), keeps each model's validation and test probabilities, and scores

* every single model (mean ± sd over seeds and splits), and
* every ensemble of ``--size`` of those models (the mean of their probabilities), over all
  combinations of seeds on each split. Combinations share members, so their sd understates the
  spread of independent ensembles; the disjoint ones (seeds 0-2, 3-5, ...) are listed in the JSON
  too, and the second table sets each of them against its own members: its validation macro-F1
  minus theirs on average, and on how many splits it is higher or lower (by more than 0.002).

Validation macro-F1 (computed here from the predictions, the same way for both) is what a change
may be chosen on; the rest are test scores. An ensemble of k costs k trainings.

Writes ``results/<name>.json`` and ``results/<name>.md`` (``--name``, default ``ensembles``) and
prints the tables. The JSON holds one entry per split (``units``: protocol, split seed, fold).
Files written before 2026-11-30 (``ensembles.json``) hold one split per protocol under
``protocols`` instead.

    python benchmarks/ensembles.py [--quick] [--seeds 0,1,2,3,4,5] [--size 3] [--protocols a,b]
                                   [--split-seeds 0] [--name ensembles] [--out results]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _report import (  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
    MARGIN,
    PROTOCOL_KEYS,
    higher_lower,
    int_list,
    log,
    name_list,
    train_seeds,
    write_report,
)

from ecglib.data import CLASSES, RECORDS  # noqa: E402
from ecglib.dataset import build_dataset  # noqa: E402
from ecglib.evaluate import evaluate_predictions  # noqa: E402
from ecglib.protocols import EFFICIENT, QUICK_RECORDS, protocol_splits, summarise_folds  # noqa: E402

PROTOCOLS = PROTOCOL_KEYS
KEEP = ("accuracy", "macro_f1", "macro_roc_auc", "macro_pr_auc", "per_class")


def score(parts, val_proba: np.ndarray, test_proba: np.ndarray) -> dict:
    """Test metrics of one set of probabilities, plus the validation macro-F1."""
    m = evaluate_predictions(parts["test"].labels, test_proba, CLASSES)
    val_f1 = evaluate_predictions(parts["val"].labels, val_proba, CLASSES)["macro_f1"]
    return {"val_macro_f1": val_f1, **{k: m[k] for k in KEEP}}


def ensemble_unit(parts, probas: dict, singles: list[dict], seeds, size: int) -> dict:
    """Every ensemble of ``size`` of one split's models, and the disjoint ones against their members.

    Parameters
    ----------
    parts
        The split's ``"val"`` and ``"test"`` Datasets (their labels are scored).
    probas
        ``{seed: (val_proba, test_proba)}``, each ``(n, n_classes)``.
    singles
        Each seed's own scores (``{"seeds": [seed], "seconds": ..., "val_macro_f1": ...}``).
    seeds, size
        The training seeds in order, and the models per ensemble.

    Returns
    -------
    dict
        ``"ensembles"`` (every combination), ``"disjoint"`` (seeds ``0..size-1``, ``size..``, ...),
        each disjoint one with ``"members_val_macro_f1"``, its members' mean validation macro-F1.
    """
    ensembles = []
    for members in itertools.combinations(seeds, size):
        val = np.mean([probas[s][0] for s in members], axis=0)
        test = np.mean([probas[s][1] for s in members], axis=0)
        seconds = sum(r["seconds"] for r in singles if r["seeds"][0] in members)  # k trainings
        ensembles.append({"seeds": list(members), "seconds": seconds, **score(parts, val, test)})
    groups = [list(seeds[i : i + size]) for i in range(0, len(seeds) - size + 1, size)]
    own = {r["seeds"][0]: r["val_macro_f1"] for r in singles}
    disjoint = [{**e, "members_val_macro_f1": float(np.mean([own[s] for s in e["seeds"]]))}
                for e in ensembles if e["seeds"] in groups]  # fmt: skip
    return {"ensembles": ensembles, "disjoint": disjoint}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 records, 2 epochs: a smoke test")
    ap.add_argument("--seeds", default="0,1,2,3,4,5", help="training seeds (comma-separated)")
    ap.add_argument("--size", type=int, default=3, help="models per ensemble")
    ap.add_argument("--protocols", default="a,b", help="comma-separated subset of a,b,c (c: its five folds)")
    ap.add_argument("--split-seeds", default="0", help="seeds of the choice of patients (comma-separated)")
    ap.add_argument("--name", default="ensembles", help="file stem of the outputs (NAME.json, NAME.md)")
    ap.add_argument("--out", default="results", help="output directory")
    args = ap.parse_args(argv)
    keys = name_list(ap, args.protocols, PROTOCOLS, "--protocols")
    seeds = int_list(ap, args.seeds, "--seeds")
    split_seeds = int_list(ap, args.split_seeds, "--split-seeds")
    if len(set(seeds)) != len(seeds):
        ap.error(f"--seeds must not repeat a seed, got {args.seeds!r}")
    if not 2 <= args.size <= len(seeds):
        ap.error(f"--size must be between 2 and the number of seeds ({len(seeds)}), got {args.size}")
    if not split_seeds:
        ap.error("--split-seeds must name at least one seed")

    records = list(QUICK_RECORDS if args.quick else RECORDS)
    data = build_dataset(records, EFFICIENT.beat_config, EFFICIENT.spec_config, progress=False)
    results: dict = {"seeds": seeds, "size": args.size, "split_seeds": split_seeds, "quick": args.quick,
                     "protocols": keys, "units": []}  # fmt: skip
    rows, pairs = [], []
    for key in keys:
        protocol, label = PROTOCOLS[key]
        all_singles, all_ensembles, all_disjoint = [], [], []
        for split_seed in split_seeds:
            splits = protocol_splits(protocol, data.class_counts(), seed=split_seed, quick=args.quick)
            for fold, split in enumerate(splits):
                parts = {k: data.subset(v) for k, v in split.items()}
                where = label + (f", split seed {split_seed}" if len(split_seeds) > 1 else "")
                where += f", fold {fold}" if len(splits) > 1 else ""
                probas, singles = {}, []
                for seed, m, val_proba, test_proba in train_seeds(parts, where, seeds, args.quick, EFFICIENT.member()):
                    probas[seed] = (val_proba, test_proba)
                    singles.append({"seeds": [seed], "seconds": m["seconds"], "best_epoch": m["best_epoch"],
                                    **score(parts, *probas[seed])})  # fmt: skip
                    log(f"  val mF1 {singles[-1]['val_macro_f1']:.3f}, "
                        f"test S F1 {singles[-1]['per_class']['S']['f1']:.3f}")  # fmt: skip
                unit = ensemble_unit(parts, probas, singles, seeds, args.size)
                results["units"].append({"protocol": key, "split_seed": split_seed, "fold": fold, "split": split,
                                         "singles": singles, **unit})  # fmt: skip
                all_singles += singles
                all_ensembles += unit["ensembles"]
                all_disjoint += unit["disjoint"]
        rows.append((label, "1 model", all_singles))
        rows.append((label, f"mean of {args.size}", all_ensembles))
        pairs.append((label, all_disjoint))

    md = ("# Seed ensembles of efficient_cnn\n\n" + table(rows, seeds, args.size, split_seeds) + "\n\n"
          + pairs_table(pairs, args.size) + "\n")  # fmt: skip
    if args.quick:
        md += "\nQUICK smoke run (12 records, 2 epochs), not a result.\n"
    write_report(args.out, args.name, results, md)
    return 0


def pairs_table(pairs, size: int) -> str:
    """Markdown table: each disjoint ensemble's validation macro-F1 against its own members' mean."""
    lines = [
        f"Each disjoint ensemble of {size} against its own {size} members: mean validation macro-F1 of the "
        f"ensemble minus that of its members, and in how many cases it is higher / lower by more than {MARGIN}.\n",
        "| protocol | ensembles | val mF1 − members | higher / lower |",
        "|---|---:|---:|---:|",
    ]
    for label, disjoint in pairs:
        diff = np.array([e["val_macro_f1"] - e["members_val_macro_f1"] for e in disjoint])
        gain = f"{diff.mean():+.4f}" if len(diff) else ""
        higher, lower = higher_lower(diff)
        lines.append(f"| {label} | {len(diff)} | {gain} | {higher} / {lower} |")
    return "\n".join(lines)


def table(rows, seeds, size: int, split_seeds=(0,)) -> str:
    """Markdown table: per protocol, single models and ensembles, mean ± sd of val macro-F1 and test scores."""

    def ms(v):
        v = np.asarray(v, dtype=float)
        return f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.3f}"

    where = ("one split per protocol" if list(split_seeds) == [0] else
             f"the splits of split seeds {', '.join(map(str, split_seeds))}") + " ((c): its five folds)"
    lines = [
        f"Training seeds {seeds} on {where}. `1 model`: mean ± sd over the seeds (and splits); "
        f"`mean of {size}`: over every combination of {size} of them on each split (they share members, so the "
        "sd understates the spread of independent ensembles). `val mF1`: validation macro-F1; the rest are "
        "test-set scores.\n",
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
