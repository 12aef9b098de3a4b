"""Command line: ``python -m ecglib {download,train,evaluate,predict}``.

Each command prints a table and writes its results as JSON under ``--out`` (default ``results/``).

    python -m ecglib download                      # MIT-BIH from PhysioNet into the cache
    python -m ecglib train --protocol seed --model efficient
    python -m ecglib evaluate                      # the trained model on its test patients
    python -m ecglib predict recording.csv --fs 250
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _write_json(out_dir: Path, name: str, payload: dict) -> Path:
    from ecglib._io import atomic_path
    from ecglib.train import _json_default

    path = Path(out_dir) / name
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(payload, indent=1, default=_json_default))
    return path


def cmd_download(args: argparse.Namespace) -> int:
    """Download MIT-BIH from PhysioNet and verify it (``python -m ecglib download``).

    Parameters
    ----------
    args
        Parsed arguments: ``dest`` (folder, or None for ecglib's cache), ``records`` (names,
        or empty for all 48) and ``quiet`` (no progress bar).

    Returns
    -------
    int
        Exit status 0; a failed download or checksum raises.
    """
    from ecglib.data import download_mitdb

    dest = download_mitdb(args.dest, records=args.records or None, progress=not args.quiet)
    print(f"MIT-BIH records verified in {dest}; set ECGLIB_DATA_DIR={dest} or leave it unset to use this cache")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model on a protocol and score its test patients (``python -m ecglib train``).

    Parameters
    ----------
    args
        Parsed arguments: ``protocol`` (``seed``, ``ds1ds2`` or ``kfold``), ``model``
        (``seed`` or ``efficient``), ``quick``, ``seed``, ``epochs``, ``max_train_beats`` and
        ``ensemble_size`` (None: the model's settings), ``out`` (folder for ``train-<model name>-<protocol>.json``)
        and ``quiet``.

    Returns
    -------
    int
        Exit status 0; the model (not for ``kfold``) and the metrics JSON are written, and a
        table printed.
    """
    from ecglib.evaluate import metrics_table
    from ecglib.protocols import load_or_train, model_path, run_protocol, setup_for

    setup = setup_for(args.model)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("max_train_beats", args.max_train_beats),
                                   ("ensemble_size", args.ensemble_size)) if v is not None}  # fmt: skip
    tag = f"{setup.model_name}-{args.protocol}{'-quick' if args.quick else ''}"
    if args.protocol == "kfold":
        run = run_protocol("kfold", setup, seed=args.seed, quick=args.quick, progress=not args.quiet, **overrides)
        payload = {"protocol": "kfold", "model_name": setup.model_name, "folds": run["folds"], "summary": run["summary"]}
        summary, model_file = run["summary"], None
    else:
        _, meta = load_or_train(args.protocol, setup, seed=args.seed, quick=args.quick, retrain=True,
                                progress=not args.quiet, **overrides)  # fmt: skip
        payload = {k: meta[k] for k in ("protocol", "model_name", "splits", "metrics", "history")}
        payload["train_config"] = meta["metrics"]["train_config"]  # the setup's, with the overrides applied
        summary, model_file = meta["metrics"], str(model_path(setup, args.protocol, args.quick))
        payload["model_file"] = model_file
    path = _write_json(args.out, f"train-{tag}.json", payload)
    print(metrics_table({tag: summary}))
    if model_file:
        print(f"model saved to {model_file}")
    print(f"metrics written to {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score a saved model on the test patients in its metadata (``python -m ecglib evaluate``).

    Parameters
    ----------
    args
        Parsed arguments: ``model`` (``.keras`` path, or None for the default model), ``out``
        and ``quiet``.

    Returns
    -------
    int
        Exit status 0; writes ``evaluate-<model file stem>.json`` and prints a table.
    """
    from ecglib.beats import BeatConfig
    from ecglib.dataset import build_dataset
    from ecglib.evaluate import evaluate_predictions, metrics_table
    from ecglib.inference import default_model_path
    from ecglib.models import predict_proba
    from ecglib.spectrogram import SpectrogramConfig
    from ecglib.train import load_model

    path = Path(args.model) if args.model else default_model_path()
    model, meta = load_model(path)
    if "splits" not in meta or "model_name" not in meta:
        raise ValueError(f"{path}: metadata has no test split; train it with `python -m ecglib train`")
    test = meta["splits"]["test"]
    ds = build_dataset(
        test, BeatConfig.from_dict(meta["beat_config"]), SpectrogramConfig.from_dict(meta["spectrogram_config"]),
        progress=not args.quiet,
    )  # fmt: skip
    metrics = evaluate_predictions(ds.labels, predict_proba(model, meta["model_name"], ds))
    metrics["model_file"], metrics["test_records"] = str(path), test
    out = _write_json(args.out, f"evaluate-{path.stem}.json", metrics)
    print(metrics_table({f"{path.stem} on test records {', '.join(test)}": metrics}))
    print(f"metrics written to {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify the beats of one recording (``python -m ecglib predict FILE``).

    Parameters
    ----------
    args
        Parsed arguments: ``file`` (CSV or WFDB ``.hea``), ``fs`` (Hz, or None), ``model``
        (``.keras`` path, or None for the default model) and ``out``.

    Returns
    -------
    int
        Exit status 0; writes ``predict-<file stem>.json`` (summary and one row per beat) and
        prints the class counts.
    """
    from ecglib.inference import predict_arrhythmia

    pred = predict_arrhythmia(args.file, fs=args.fs, model=args.model)
    s = pred.summary
    print(f"{args.file}: {s['n_beats']} beats, {s['heart_rate_bpm']:.0f} bpm, "
          f"mostly {s['class']} (mean confidence {s['confidence']:.2f})")  # fmt: skip
    print("| class | beats |\n|---|---:|")
    for c, n in s["counts"].items():
        print(f"| {c} | {n} |")
    out = _write_json(args.out, f"predict-{Path(args.file).stem}.json", {"summary": s, "beats": pred.rows()})
    print(f"per-beat predictions written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m ecglib``: global ``--out`` and ``--quiet``, one sub-command each.

    Returns
    -------
    argparse.ArgumentParser
        Each sub-command sets ``func``, the ``cmd_*`` function that runs it.
    """
    parser = argparse.ArgumentParser(prog="python -m ecglib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for the JSON results (default results/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("download", help="download MIT-BIH from PhysioNet, verified by SHA-256")
    p.add_argument("--dest", type=Path, default=None, help="target folder (default: ecglib's cache)")
    p.add_argument("--records", nargs="*", help="record names (default: all 48)")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("train", help="train a model on a protocol and score its test patients")
    p.add_argument("--protocol", choices=("seed", "ds1ds2", "kfold"), default="seed")
    p.add_argument("--model", choices=("seed", "efficient"), default="efficient")
    p.add_argument("--quick", action="store_true", help="12 records, at most 2 epochs (a smoke run)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split and the training")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the model's setting)")
    p.add_argument("--max-train-beats", type=int, default=None, help="train on a stratified subsample (a budget)")
    p.add_argument("--ensemble-size", type=int, default=None,
                   help="networks trained (seeds) and averaged (default: the model's setting, 3 for efficient)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a trained model on the test patients stored with it")
    p.add_argument("--model", default=None, help=".keras file (default: the efficient model of `train --protocol seed`)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify the beats of a CSV file or WFDB record")
    p.add_argument("file", help="CSV (one column, or time and value) or WFDB record (.hea)")
    p.add_argument("--fs", type=float, default=None, help="sampling rate in Hz: needed for a one-column CSV; must agree with a file that states its rate")
    p.add_argument("--model", default=None, help=".keras file (default: the efficient model of `train --protocol seed`)")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a missing or bad input prints ``error: ...`` and returns 2.

    Parameters
    ----------
    argv
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        The command's exit status, or 2 after a ``FileNotFoundError``, ``ValueError`` or ``OSError``.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
