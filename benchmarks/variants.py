"""Ablation: a few changes to ``BASE`` (``EFFICIENT`` until 2026-11-30), each trained with several seeds.

One run's S F1 can move by 0.3 from one training seed to the next (see the ``seeds``
section of ``benchmarks/models.py``), so a variant is compared on the mean ± sd over seeds, and
next to its test scores we report the validation macro-F1 of its best epoch: the only score a
variant may fairly be chosen on (the test patients are for reporting).

Variants (``--variants``, comma-separated, default all):

* ``base``      — ``BASE``: ``EFFICIENT`` until 2026-11-30, with three RR features;
* ``smooth01``  — label smoothing 0.1;
* ``noref``     — without the reference input;
* ``allref``    — the reference from all of a recording's beats, not only its long-RR fifth;
* ``balanced``  — full inverse-frequency class weights instead of their square root;
* ``localref``  — a second reference input, the typical beat of the ±150 s around each beat
  (``local_reference_s=150``, :func:`ecglib.models.local_reference`);
* ``irreg``     — a fourth RR feature, the RR irregularity around each beat (``rr_irregularity``:
  large in atrial fibrillation and flutter, where a short interval is no sign of an early beat);
* ``fft64``     — a shorter STFT window, 64 samples (0.18 s, 5.6 Hz bins: 8 rows below 45 Hz
  instead of 16), for sharper timing of the P wave against the QRS complex;
* ``hop8``      — twice as many STFT columns (a hop of 8 samples, 22 ms, instead of 16);
* ``hop8pool4`` — ``hop8`` with the time axis pooled by 4 after the first conv block, so only that
  block pays for the finer grid (``first_time_pool=4``);
* ``hop8f8``    — ``hop8`` with 8 instead of 16 channels in the first conv block, whose activations
  (16 × 91 × channels per beat) dominate the cost of a training step on a CPU;
* ``hop8s2``    — ``hop8`` read by a first conv of 3 × 5 with a time stride of 2
  (``first_time_stride=2``), so the first block's activations are on the hop-16 grid;
* ``vrrswap``   — half the V training beats, redrawn each epoch, shown with a random N beat's RR
  features (``TrainConfig.v_rr_swap=0.5``): a V beat is to be told by its shape, since escape
  beats come late and premature beats in runs are not early against their neighbours;
* ``cosine``    — the learning rate decayed on a cosine over the epochs, set at each epoch's start
  (``TrainConfig.lr_schedule="cosine"``), so the weights settle late in training;
* ``hop8mf015`` — ``hop8`` with 15 % of the N training beats drawn per epoch instead of 30 %, to
  bring an epoch's cost near ``BASE``'s;
* ``ep20``      — at most 20 epochs instead of ``BASE``'s 15 (its cap before 2026-11-29): what
  the cap costs where training would have gone on.
* ``recbal05``  — each training beat's loss weighted by ``n ** -0.5``, ``n`` the beats of its class
  in its recording (``TrainConfig.record_balance=0.5``), so that one recording cannot dominate a
  class: record 232 holds 61 % of (a)'s training S beats;
* ``recbal1``   — the same with exponent 1: every recording weighs the same within a class;
* ``recbal05irreg`` — ``recbal05`` and ``irreg`` together;
* ``recbalS05`` — ``recbal05`` for the S beats only (``record_balance_classes=(1,)``);
* ``irregvrr``  — ``irreg`` and ``vrrswap`` together: the swapped RR row includes the irregularity,
  so V is no longer tied to irregular rhythm (of DS1's beats in atrial fibrillation or flutter,
  9.6 % are V, almost all in record 203, against 7.5 % of its other beats);
* ``hop8irreg`` — ``hop8`` and ``irreg`` together;
* ``hop8irregvrr`` — ``hop8``, ``irreg`` and ``vrrswap`` together;
* ``wide``      — 64 instead of 32 channels in the second and third conv blocks (whether the small
  network lacks capacity; the first block, which sets the cost, is unchanged);
* ``deep``      — a fourth conv block (16, 32, 64, 64 channels).

A variant that changes the spectrogram gets its own dataset (built or read from the ecglib cache).

Every variant trains one network (not an ensemble) and changes ``BASE``, so its runs pair with the
committed ``base`` runs. One network of today's ``EFFICIENT`` (``EFFICIENT.member()``) is
``irreg``: a change to it is a variant that includes ``IRREG_RR_FEATURES`` (as ``hop8irreg``
does), compared with ``irreg``'s runs, and ``benchmarks/candidates.py`` pools every run a variant
shares with ``base``.

Protocols (``--protocols``, default ``a,b``): (a) and (b) train each seed on one split; ``c``, the
5-fold protocol, trains each seed on all five folds, so its validation score averages over five
different sets of validation patients (more S beats than (a)'s 126), at five times the cost.

Splits (``--split-seeds``, default ``0``): the seed of the random choice of patients. With several,
each training seed is run on each split ((a): other test patients than the book's; (b): other
validation patients from DS1, the same test set; (c): other folds), and the table's mean ± sd is over
all those runs; each run records its ``split_seed``.

Writes ``results/<name>.json`` and ``results/<name>.md`` (``--name``, default ``variants``) and
prints the table.

    python benchmarks/variants.py [--quick] [--variants base,smooth01] [--seeds 0,1,2] [--protocols a,b]
                                  [--split-seeds 0] [--name variants] [--out results]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _report import (  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
    PROTOCOL_KEYS,
    int_list,
    log,
    name_list,
    write_report,
)

from ecglib.data import RECORDS  # noqa: E402
from ecglib.dataset import build_dataset  # noqa: E402
from ecglib.protocols import (  # noqa: E402
    EFFICIENT,
    QUICK_RECORDS,
    ModelSetup,
    fit_evaluate,
    protocol_splits,
    summarise_folds,
)

#: What every variant changes: one network of ``EFFICIENT`` as it was until 2026-11-30, with three RR
#: features (the committed ``results/variants*.json`` were all measured against it). ``irreg`` is one
#: network of today's ``EFFICIENT`` (``EFFICIENT.member()``; ``EFFICIENT`` averages three).
BASE = dataclasses.replace(
    EFFICIENT.member(),
    train=dataclasses.replace(
        EFFICIENT.member().train,
        model_kwargs={**EFFICIENT.train.model_kwargs, "rr_features": ["pre_rr_norm", "post_rr_norm", "local_rr_norm"]},
    ),
)
#: BASE's RR features plus ``rr_irregularity`` (``irreg`` and every variant that combines it).
IRREG_RR_FEATURES = [*BASE.train.model_kwargs["rr_features"], "rr_irregularity"]

#: name → (what changes, overrides of ``BASE.train``; ``model_kwargs`` entries are merged, and a
#: ``spec`` entry overrides ``BASE.spec_config`` instead).
VARIANTS: dict[str, tuple[str, dict]] = {
    "base": ("EFFICIENT until 2026-11-30 (three RR features)", {}),
    "smooth01": ("label smoothing 0.1", {"model_kwargs": {"label_smoothing": 0.1}}),
    "noref": ("no reference input", {"model_kwargs": {"reference": False, "reference_rr_quantile": None}}),
    "allref": ("reference from all beats", {"model_kwargs": {"reference_rr_quantile": None}}),
    "balanced": ("class_weighting='balanced'", {"class_weighting": "balanced"}),
    "localref": ("+ local reference (±150 s)", {"model_kwargs": {"local_reference_s": 150.0}}),
    "irreg": ("+ RR irregularity feature", {"model_kwargs": {"rr_features": IRREG_RR_FEATURES}}),
    "fft64": ("STFT window 64 samples (8 rows)", {"spec": {"n_fft": 64}}),
    "hop8": ("STFT hop 8 samples (91 columns)", {"spec": {"hop_length": 8}}),
    "hop8pool4": ("hop 8, time pooled by 4 after block 1",
                  {"spec": {"hop_length": 8}, "model_kwargs": {"first_time_pool": 4}}),
    "hop8f8": ("hop 8, 8 channels in block 1", {"spec": {"hop_length": 8}, "model_kwargs": {"filters": [8, 32, 32]}}),
    "hop8s2": ("hop 8, first conv 3 × 5 with time stride 2",
               {"spec": {"hop_length": 8}, "model_kwargs": {"first_time_stride": 2}}),
    "vrrswap": ("half the V beats with an N beat's RR", {"v_rr_swap": 0.5}),
    "cosine": ("learning rate decayed per epoch on a cosine", {"lr_schedule": "cosine"}),
    "hop8mf015": ("hop 8, 15 % of the N beats per epoch (30 %)", {"spec": {"hop_length": 8}, "majority_fraction": 0.15}),
    "ep20": ("at most 20 epochs (15)", {"epochs": 20}),
    "recbal05": ("recordings evened out within each class, exponent 0.5", {"record_balance": 0.5}),
    "recbal1": ("every recording weighs the same within a class", {"record_balance": 1.0}),
    "recbal05irreg": ("recbal05 + RR irregularity feature",
                      {"record_balance": 0.5, "model_kwargs": {"rr_features": IRREG_RR_FEATURES}}),
    "recbalS05": ("S recordings evened out, exponent 0.5", {"record_balance": 0.5, "record_balance_classes": (1,)}),
    "irregvrr": ("irreg + vrrswap", {"model_kwargs": {"rr_features": IRREG_RR_FEATURES}, "v_rr_swap": 0.5}),
    "hop8irreg": ("hop8 + irreg", {"spec": {"hop_length": 8}, "model_kwargs": {"rr_features": IRREG_RR_FEATURES}}),
    "hop8irregvrr": ("hop8 + irreg + vrrswap",
                     {"spec": {"hop_length": 8}, "model_kwargs": {"rr_features": IRREG_RR_FEATURES}, "v_rr_swap": 0.5}),
    "wide": ("filters 16/64/64 (16/32/32)", {"model_kwargs": {"filters": [16, 64, 64]}}),
    "deep": ("filters 16/32/64/64 (16/32/32)", {"model_kwargs": {"filters": [16, 32, 64, 64]}}),
    "vlossmon": ("early stopping on val loss (val macro-F1)", {"monitor": "val_loss"}),
}
PROTOCOLS = PROTOCOL_KEYS


def overrides_for(name: str) -> dict:
    """``fit_evaluate`` keyword overrides of variant ``name`` (model kwargs merged onto BASE's)."""
    over = dict(VARIANTS[name][1])
    over.pop("spec", None)  # read by setup_for
    over["model_kwargs"] = {**BASE.train.model_kwargs, **over.get("model_kwargs", {})}
    return over


def setup_for(name: str) -> ModelSetup:
    """BASE with variant ``name``'s spectrogram settings (its training overrides: :func:`overrides_for`)."""
    spec = dataclasses.replace(BASE.spec_config, **VARIANTS[name][1].get("spec", {}))
    return dataclasses.replace(BASE, spec_config=spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 records, 2 epochs: a smoke test")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {','.join(VARIANTS)}")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (comma-separated)")
    ap.add_argument("--split-seeds", default="0", help="seeds of the choice of patients (comma-separated)")
    ap.add_argument("--protocols", default="a,b", help="comma-separated subset of a,b,c (c: all 5 folds per seed)")
    ap.add_argument("--name", default="variants", help="file stem of the outputs (NAME.json, NAME.md)")
    ap.add_argument("--out", default="results", help="output directory")
    args = ap.parse_args(argv)
    keys = name_list(ap, args.protocols, PROTOCOLS, "--protocols")
    names = name_list(ap, args.variants, VARIANTS, "--variants")
    seeds = int_list(ap, args.seeds, "--seeds")
    split_seeds = int_list(ap, args.split_seeds, "--split-seeds")
    if not seeds or not split_seeds:
        ap.error("--seeds and --split-seeds must each name at least one seed")

    records = list(QUICK_RECORDS if args.quick else RECORDS)
    setups = {name: setup_for(name) for name in names}
    datasets = {}  # one per distinct spectrogram config, built once
    for setup in setups.values():
        if setup.spec_config not in datasets:
            datasets[setup.spec_config] = build_dataset(records, setup.beat_config, setup.spec_config, progress=False)
    class_counts = next(iter(datasets.values())).class_counts()  # beats do not depend on the spectrogram
    results: dict = {"seeds": seeds, "split_seeds": split_seeds, "quick": args.quick, "protocols": keys, "variants": {}}
    rows = []
    keep = ("accuracy", "macro_f1", "macro_roc_auc", "macro_pr_auc", "per_class", "seconds", "best_epoch")
    for key in keys:
        protocol, label = PROTOCOLS[key]
        splits = {s: protocol_splits(protocol, class_counts, seed=s, quick=args.quick) for s in split_seeds}
        fold_parts = {  # once per dataset and split seed, not per training seed or variant
            (spec, s): [{k: ds.subset(v) for k, v in split.items()} for split in splits[s]]
            for spec, ds in datasets.items()
            for s in split_seeds
        }
        for name in names:
            setup = setups[name]
            runs = []
            for split_seed in split_seeds:
                for seed in seeds:
                    for fold, parts in enumerate(fold_parts[setup.spec_config, split_seed]):
                        log(f"{label}: {name}, training seed {seed}"
                            + (f", split seed {split_seed}" if len(split_seeds) > 1 else "")
                            + (f", fold {fold}" if len(splits[split_seed]) > 1 else ""))  # fmt: skip
                        m, _ = fit_evaluate(setup, parts["train"], parts["val"], parts["test"], quick=args.quick,
                                            seed=seed, verbose=False, **overrides_for(name))  # fmt: skip
                        best_val = max(m["history"]["val_macro_f1"])
                        runs.append({"seed": seed, "split_seed": split_seed, "fold": fold, "val_macro_f1": best_val,
                                     "test_records": splits[split_seed][fold]["test"], **{k: m[k] for k in keep}})  # fmt: skip
            summary = summarise_folds(runs)
            val = np.array([r["val_macro_f1"] for r in runs])
            results["variants"].setdefault(name, {})[key] = {"runs": runs, "summary": summary}
            rows.append((label, name, VARIANTS[name][0], val, summary))

    md = "# Variants of efficient_cnn\n\n" + table(rows, len(seeds), split_seeds) + "\n"
    if args.quick:
        md += "\nQUICK smoke run (12 records, 2 epochs), not a result.\n"
    write_report(args.out, args.name, results, md)
    return 0


def table(rows, n_seeds: int, split_seeds=(0,)) -> str:
    """Markdown table: per protocol and variant, mean ± sd over seeds of val macro-F1 and test scores."""

    def ms(mean, sd):
        return f"{mean:.3f} ± {sd:.3f}"

    over = (
        "the same split" if list(split_seeds) == [0]
        else f"on each of the splits of split seeds {', '.join(map(str, split_seeds))}"
    )
    lines = [
        f"Mean ± sd over {n_seeds} training seeds ({over}; for (c), over the 5 folds of each seed). "
        "`val mF1`: validation macro-F1 of the best epoch (what a variant may be chosen on); the rest are "
        "test-set scores.\n",
        "| protocol | variant | change | val mF1 | acc | S P | S R | S F1 | V R | V F1 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, name, change, val, s in rows:
        pc, sd = s["per_class"], s["per_class_sd"]
        cells = [label, name, change, ms(val.mean(), val.std(ddof=1) if len(val) > 1 else 0.0),
                 ms(s["accuracy"], s["accuracy_sd"])]  # fmt: skip
        cells += [ms(pc["S"][k], sd["S"][k]) for k in ("precision", "recall", "f1")]
        cells += [ms(pc["V"][k], sd["V"][k]) for k in ("recall", "f1")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
