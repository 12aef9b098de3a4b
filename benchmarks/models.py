"""Benchmark the seed CNN against our efficient CNN on MIT-BIH, patient-wise.

Protocols (``--protocols``, comma-separated, default all):

* ``a``    — the seed's protocol: patient-wise 70/15/15 train/val/test split (``patient_split``, seed 0).
             The efficient model's run here is timed end to end from the raw records (beats and
             spectrograms rebuilt without cache, training, evaluation). The seed CNN is trained on
             the same split on a stated budget (``--seed-beats`` stratified training beats,
             ``--seed-epochs`` epochs) and its one-epoch time is measured on that subsample and
             extrapolated per beat to the full training set.
* ``b``    — de Chazal DS1 → DS2 (202 removed from DS2, as it shares a subject with 201); the
             validation subjects for early stopping are held out of DS1, patient-wise.
* ``c``    — 5-fold subject-grouped cross-validation (mean ± sd over folds); validation subjects
             held out of each training fold.
* ``leak`` — the same model on a beat-level random 70/15/15 split versus the patient-wise split
             of (a): how much a leaky split inflates the scores.
* ``seeds`` — (a) and (b) retrained with other training seeds (``--train-seeds``, same splits):
             mean ± sd over the training seeds, including the main run's. A single network's S F1
             can move by 0.3 from seed to seed; this says by how much. ``EFFICIENT`` averages three
             networks, and an ensemble's seed ``s`` trains the networks of seeds ``3s`` to ``3s + 2``,
             so the ensembles of different seeds share none.

Every run of ``EFFICIENT`` trains its three networks; its ``train s`` is their sum.

Writes ``results/models.json`` and ``results/models.md`` and prints the table. Every number comes
from the run. ``--quick`` uses 12 records and few epochs (a smoke test, not a result).

    python benchmarks/models.py [--quick] [--protocols a,b,c,leak,seeds] [--out results]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _report import cpu_model, int_list, log, name_list, write_report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from ecglib.data import CLASSES, RECORDS  # noqa: E402
from ecglib.dataset import build_dataset  # noqa: E402
from ecglib.protocols import (  # noqa: E402
    EFFICIENT,
    QUICK_RECORDS,
    SEED,
    beat_level_split,
    fit_evaluate,
    protocol_splits,
    run_protocol,
    summarise_folds,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 records, 2 epochs: a smoke test")
    ap.add_argument("--protocols", default="a,b,c,leak,seeds", help="comma-separated subset of a,b,c,leak,seeds")
    ap.add_argument("--out", default="results", help="output directory (models.json, models.md)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-seeds", default="1,2", help="extra training seeds for 'seeds' (comma-separated)")
    ap.add_argument("--no-seed-cnn", action="store_true", help="skip the seed CNN (protocol a)")
    ap.add_argument("--seed-beats", type=int, default=5000, help="training beats for the seed CNN budget run")
    ap.add_argument("--seed-epochs", type=int, default=1, help="epochs for the seed CNN budget run")
    ap.add_argument("--seed-val-beats", type=int, default=2000, help="validation beats scored per seed epoch")
    args = ap.parse_args(argv)
    protocols = name_list(ap, args.protocols, ("a", "b", "c", "leak", "seeds"), "--protocols")
    train_seeds = int_list(ap, args.train_seeds, "--train-seeds")
    if "seeds" in protocols and (not train_seeds or args.seed in train_seeds):
        ap.error(f"--train-seeds must name seeds other than --seed {args.seed}, got {args.train_seeds!r}")

    import keras
    import tensorflow as tf

    import ecglib
    from ecglib.evaluate import metrics_table

    records = list(RECORDS)
    if args.quick:
        records = list(QUICK_RECORDS)
    results: dict = {
        "meta": {
            "ecglib_version": ecglib.__version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "cpu": cpu_model(),
            "quick": args.quick,
            "records": records,
            "efficient": EFFICIENT.metadata(),
            "seed": SEED.metadata(),
        },
        "protocols": {},
    }
    table_rows: dict = {}

    # ---- protocol (a), efficient model, end to end from raw records (no cache) -----------------
    t_e2e = time.perf_counter()
    log(f"building the efficient model's dataset from raw records ({len(records)} records, no cache)")
    t0 = time.perf_counter()
    ds = build_dataset(records, EFFICIENT.beat_config, EFFICIENT.spec_config, cache=False, progress=False)
    build_s = time.perf_counter() - t0
    log(f"{len(ds)} beats, images {ds.images.shape[1:]}, classes {np.bincount(ds.labels, minlength=3)}, {build_s:.1f} s")
    counts = ds.class_counts()
    (split_a,) = protocol_splits("seed", counts, seed=args.seed, quick=args.quick)
    if "a" in protocols or "leak" in protocols:
        log(f"protocol (a): patient-wise 70/15/15, test N/S/V beats {np.bincount(ds.subset(split_a['test']).labels, minlength=3)}")
        run = run_protocol("seed", EFFICIENT, ds, seed=args.seed, quick=args.quick)
        m = run["summary"]
        e2e = time.perf_counter() - t_e2e
        m["end_to_end_seconds"] = round(e2e, 1)
        m["build_seconds"] = round(build_s, 1)
        results["protocols"].setdefault("a", {})["efficient_cnn"] = m
        table_rows["(a) patient 70/15/15 — efficient_cnn"] = m
        log(f"end to end (raw records → metrics): {e2e:.1f} s")

        if not args.no_seed_cnn and "a" in protocols:
            results["protocols"]["a"]["seed_cnn"] = run_seed(args, records, split_a)
            sm = results["protocols"]["a"]["seed_cnn"]
            table_rows[f"(a) patient 70/15/15 — seed_cnn ({sm['budget']})"] = sm

    # ---- protocol (b): DS1 → DS2 ------------------------------------------------------------------
    if "b" in protocols:
        run = run_protocol("ds1ds2", EFFICIENT, ds, seed=args.seed, quick=args.quick)
        log(f"protocol (b): DS1 → DS2, validation subjects {run['splits'][0]['val']}")
        results["protocols"]["b"] = {"efficient_cnn": run["summary"]}
        table_rows["(b) DS1 → DS2 — efficient_cnn"] = run["summary"]

    # ---- protocol (c): 5-fold subject-grouped CV ------------------------------------------------
    if "c" in protocols:
        log("protocol (c): 5-fold subject-grouped cross-validation")
        run = run_protocol("kfold", EFFICIENT, ds, seed=args.seed, quick=args.quick)
        results["protocols"]["c"] = {"efficient_cnn": {"folds": run["folds"], "summary": run["summary"]}}
        table_rows["(c) 5-fold subject CV, mean ± sd — efficient_cnn"] = run["summary"]

    # ---- leakage demo: beat-level random split vs patient-wise ------------------------------------
    if "leak" in protocols:
        idx = beat_level_split(len(ds), seed=args.seed)
        log("leakage demo: beat-level random 70/15/15 split (every patient on both sides)")
        m, _ = fit_evaluate(EFFICIENT, ds.take(idx["train"]), ds.take(idx["val"]), ds.take(idx["test"]),
                            quick=args.quick, seed=args.seed)  # fmt: skip
        results["protocols"]["leak"] = {"efficient_cnn_beat_level": m}
        table_rows["leak: beat-level random split — efficient_cnn"] = m
        if "a" in results["protocols"]:
            results["protocols"]["leak"]["efficient_cnn_patient_wise"] = "see protocols.a.efficient_cnn"
            table_rows["leak: patient-wise split (= a) — efficient_cnn"] = results["protocols"]["a"]["efficient_cnn"]

    # ---- training-seed spread of (a) and (b), same splits --------------------------------------------
    if "seeds" in protocols:
        results["protocols"]["seeds"] = {}
        for key, label in (("a", "(a) patient 70/15/15"), ("b", "(b) DS1 → DS2")):
            main_run = results["protocols"].get(key, {}).get("efficient_cnn")
            if main_run is None:
                continue
            parts = {k: ds.subset(v) for k, v in main_run["splits"].items()}  # the main run's split
            runs = [main_run]
            for s in train_seeds:
                log(f"protocol {key}: efficient_cnn retrained with training seed {s}")
                m, _ = fit_evaluate(EFFICIENT, parts["train"], parts["val"], parts["test"], quick=args.quick, seed=s)
                runs.append(m)
            summary = summarise_folds(runs)
            summary["training_seeds"] = [args.seed, *train_seeds]
            summary["seconds"] = float(np.mean([r["seconds"] for r in runs]))  # per run, not summed
            summary["runs"] = [{k: r[k] for k in ("accuracy", "macro_f1", "per_class", "seconds", "best_epoch")} for r in runs]
            results["protocols"]["seeds"][key] = summary
            table_rows[f"{label}, {len(runs)} training seeds, mean ± sd — efficient_cnn"] = summary

    # ---- report ------------------------------------------------------------------------------------
    out = Path(args.out)
    table = metrics_table(table_rows)
    notes = notes_text(results)
    md = "# Models benchmark\n\n" + table + "\n\n" + notes + "\n"
    write_report(out, "models", results, md)
    return 0


def run_seed(args, records, split_a) -> dict:
    """The seed CNN on protocol (a) within a budget; times one epoch and extrapolates to all beats."""
    from ecglib.train import stratified_subsample

    log("seed_cnn: loading 128 × 128 images (cached)")
    ds = build_dataset(records, SEED.beat_config, SEED.spec_config, progress=False)
    sub = {k: ds.subset(v) for k, v in split_a.items()}
    del ds
    n_full = len(sub["train"])
    beats = args.seed_beats if not args.quick else min(args.seed_beats, 1000)
    val = sub["val"]
    if len(val) > args.seed_val_beats:
        val = val.take(stratified_subsample(val.labels, args.seed_val_beats, args.seed))
    epochs = args.seed_epochs if not args.quick else 1
    budget = f"{min(beats, n_full)} train beats, {epochs} epoch{'s' if epochs > 1 else ''}"
    log(f"seed_cnn: budget {budget} (full training set: {n_full} beats)")
    m, res = fit_evaluate(SEED, sub["train"], val, sub["test"], seed=args.seed, epochs=epochs, max_train_beats=beats)
    per_epoch = res.history["epoch_train_s"]
    n_used = min(beats, n_full)
    m["budget"] = budget
    m["epoch_seconds_measured"] = [round(s, 1) for s in per_epoch]
    m["epoch_beats_measured"] = n_used
    m["full_epoch_seconds_extrapolated"] = round(float(np.mean(per_epoch)) * n_full / n_used, 1)
    m["full_train_beats"] = n_full
    log(
        f"seed_cnn: one epoch of {n_used} beats took {per_epoch[0]:.1f} s → a full epoch of {n_full} beats "
        f"≈ {m['full_epoch_seconds_extrapolated']:.0f} s"
    )
    return m


def per_network(value) -> str:
    """An epoch count: an int for one network, ``9/7/12`` for an ensemble's (a list, one per network)."""
    return "/".join(str(v) for v in value) if isinstance(value, list) else str(value)


def notes_text(results: dict) -> str:
    lines = ["Test-set metrics; P/R/F1 per class, macro one-vs-rest ROC-AUC and PR-AUC; `train s` = training seconds."]
    p = results["protocols"]
    meta = results["meta"]
    lines.append(
        f"Machine: {meta['cpu_count']} CPU cores ({meta['cpu']}); "
        f"Keras {meta['keras']}, TensorFlow {meta['tensorflow']}"
        + (" — QUICK smoke run, not a result." if meta["quick"] else ".")
    )
    if "a" in p and "efficient_cnn" in p["a"]:
        a = p["a"]["efficient_cnn"]
        sup = {c: a["per_class"][c]["support"] for c in CLASSES}
        lines.append(
            f"\n- efficient_cnn end to end (raw records → dataset without cache → training → test metrics): "
            f"**{a['end_to_end_seconds']:.0f} s** (dataset {a['build_seconds']:.0f} s, training {a['seconds']:.0f} s, "
            f"{per_network(a['epochs_run'])} epochs, best {per_network(a['best_epoch'])}"
            f"{' (one number per network of the ensemble)' if isinstance(a['epochs_run'], list) else ''})."
        )
        few = " with so few S beats, S scores are very noisy." if sup["S"] < 50 else ""
        lines.append(f"- (a) test support N/S/V = {sup['N']}/{sup['S']}/{sup['V']} beats; test records {a['splits']['test']}.{few}")
    if "a" in p and "seed_cnn" in p["a"]:
        s = p["a"]["seed_cnn"]
        if s["epoch_beats_measured"] < s["full_train_beats"]:
            lines.append(
                f"- seed_cnn budget: {s['budget']} (stratified subsample of the {s['full_train_beats']} training beats). "
                f"One epoch of {s['epoch_beats_measured']} beats: {s['epoch_seconds_measured'][0]:.0f} s measured → "
                f"a full epoch ≈ **{s['full_epoch_seconds_extrapolated']:.0f} s** (extrapolated per beat)."
            )
        else:
            lines.append(
                f"- seed_cnn on all {s['full_train_beats']} training beats, at most {s['train_config']['epochs']} epochs: "
                f"ran {s['epochs_run']}, best {s['best_epoch']} (validation loss); a full epoch took "
                f"**{np.mean(s['epoch_seconds_measured']):.0f} s** on average (measured)."
            )
    if "b" in p:
        b = p["b"]["efficient_cnn"]
        lines.append(f"- (b) validation subjects held out of DS1: {b['splits']['val']}; DS2 without 202.")
    if "seeds" in p:
        for key, sm in p["seeds"].items():
            s_f1 = ", ".join(f"{r['per_class']['S']['f1']:.3f}" for r in sm["runs"])
            lines.append(f"- ({key}) S F1 by training seed {sm['training_seeds']}: {s_f1} (the split is the same).")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
