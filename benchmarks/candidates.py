"""Every variant measured on one machine, side by side, read from the results files (nothing is trained).

``benchmarks/variants.py`` writes one JSON file per run of it, and the comparisons the team has to
weigh are spread over many of them. This script reads every ``results/variants*-<machine>.json``,
merges each variant's protocols across files, and sets it against ``base`` run by run (same split
seed, training seed and fold). The first table keeps split seed 0 (the book's splits; for (c), its
five folds):

* ``val mF1``: mean validation macro-F1 of the best epoch, what a variant may be chosen on;
* ``higher / lower``: in how many of the runs it shares with ``base`` that score is higher, and
  lower, by more than :data:`MARGIN` (closer counts as neither);
* the mean test scores the targets name ((a) S F1, V recall, V F1; (b) and (c) S F1, V F1); a
  mean that meets its target is marked ``*``.

The second table is for the variants also run on other splits (``benchmarks/variants.py
--split-seeds``): over every run they share with ``base``, whatever its split seed, the same
counts, and the mean test scores of the variant next to ``base``'s on those same runs. The third
pools every run each variant shares with ``base`` (all protocols and split seeds) and names the
variant :func:`best_pooled` ranks first, the rule by which ``irreg`` became ``EFFICIENT``.

Runs of the same variant, protocol, split seed, training seed and fold found in two files must
agree (the same run written twice); otherwise the script stops and names both files. A variant
without (c) runs has empty (c) cells.

Writes ``results/<name>.json`` and ``results/<name>.md`` (``--name``, default
``candidates-<machine>``, with ``-vs-<base>`` for another ``--base``) and prints the table.

    python benchmarks/candidates.py [--machine zen5] [--results results] [--base base] [--name NAME]
                                    [--out results]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _report import MARGIN, higher_lower, write_report  # (benchmarks/ is on sys.path when run as a script)

#: Targets of issue 3 for ``efficient_cnn``: (protocol, score) → lowest mean that meets it.
TARGETS: dict[tuple[str, str], float] = {
    ("a", "S_f1"): 0.60, ("a", "V_recall"): 0.93, ("a", "V_f1"): 0.90,
    ("b", "S_f1"): 0.60, ("b", "V_f1"): 0.90,
}  # fmt: skip

#: Columns per protocol, in table order.
COLUMNS: dict[str, tuple[str, ...]] = {"a": ("S_f1", "V_recall", "V_f1"), "b": ("S_f1", "V_f1"), "c": ("S_f1", "V_f1")}
HEADERS = {"S_f1": "S F1", "V_recall": "V R", "V_f1": "V F1"}
#: The scores :func:`run_scores` returns, in this order.
SCORES = ("val_macro_f1", "S_f1", "V_recall", "V_f1")


def run_scores(run: dict) -> dict[str, float]:
    """The scores this table reads from one run of ``benchmarks/variants.py``'s JSON, named by :data:`SCORES`."""
    pc = run["per_class"]
    return dict(zip(SCORES, (run["val_macro_f1"], pc["S"]["f1"], pc["V"]["recall"], pc["V"]["f1"])))


def paired_val_diffs(by_run: dict, ref: dict) -> tuple[list, np.ndarray]:
    """The runs ``by_run`` shares with ``ref`` (sorted keys), and the validation macro-F1 differences on them."""
    shared = sorted(set(by_run) & set(ref))
    return shared, np.array([by_run[r]["val_macro_f1"] - ref[r]["val_macro_f1"] for r in shared])


def load_runs(paths) -> dict[str, dict[str, dict[tuple[int, int, int], dict[str, float]]]]:
    """Runs of every variant and protocol in ``paths``.

    Parameters
    ----------
    paths
        JSON files written by ``benchmarks/variants.py``.

    Returns
    -------
    dict
        ``{variant: {protocol: {(split seed, training seed, fold): scores}}}``, scores as
        :func:`run_scores`; a run that records no split seed (older files) is on split seed 0.

    Raises
    ------
    ValueError
        If a file is not a variants result, or two files hold the same run with other scores.
    """
    runs: dict = {}
    origin: dict = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        if "variants" not in data:
            raise ValueError(f"{path}: not a benchmarks/variants.py result (no 'variants' key)")
        for variant, protocols in data["variants"].items():
            for protocol, block in protocols.items():
                for run in block["runs"]:
                    key = (variant, protocol, run.get("split_seed", 0), run["seed"], run["fold"])
                    scores = run_scores(run)
                    if key in origin and runs[variant][protocol][key[2:]] != scores:
                        raise ValueError(f"{origin[key]} and {path} hold different scores for {variant}, protocol "
                                         f"({protocol}), split seed {key[2]}, training seed {run['seed']}, "
                                         f"fold {run['fold']}")  # fmt: skip
                    origin.setdefault(key, path)
                    runs.setdefault(variant, {}).setdefault(protocol, {})[key[2:]] = scores
    return runs


def on_split(runs: dict, split_seed: int = 0) -> dict:
    """The runs of :func:`load_runs` on one split seed only (same layout)."""
    out: dict = {}
    for variant, protocols in runs.items():
        for protocol, by_run in protocols.items():
            kept = {k: v for k, v in by_run.items() if k[0] == split_seed}
            if kept:
                out.setdefault(variant, {})[protocol] = kept
    return out


def compare(runs: dict, base: str = "base") -> dict[str, dict[str, dict]]:
    """Per variant and protocol: mean scores, and in how many runs shared with ``base`` it is higher or lower.

    Parameters
    ----------
    runs
        :func:`load_runs` output.
    base
        The variant compared against.

    Returns
    -------
    dict
        ``{variant: {protocol: {"n": runs, "mean": {score: mean}, "val_sd": sd of val macro-F1,
        "higher"/"lower": runs whose val macro-F1 is above/below base's by more than
        :data:`MARGIN`, "shared": runs shared with base, "shared_mean"/"base_shared_mean": the
        variant's and base's mean scores over those shared runs}}}``.

    Raises
    ------
    ValueError
        If ``base`` has no runs.
    """
    if base not in runs:
        raise ValueError(f"no runs of the base variant {base!r} among {sorted(runs)}")
    out: dict = {}
    for variant, protocols in runs.items():
        for protocol, by_run in protocols.items():
            ref = runs[base].get(protocol, {})
            shared, diff = paired_val_diffs(by_run, ref)
            val = np.array([s["val_macro_f1"] for s in by_run.values()])
            higher, lower = higher_lower(diff)
            out.setdefault(variant, {})[protocol] = {
                "n": len(by_run),
                "mean": {k: float(np.mean([s[k] for s in by_run.values()])) for k in SCORES},
                "shared_mean": {k: float(np.mean([by_run[r][k] for r in shared])) for k in SCORES} if shared else {},
                "base_shared_mean": {k: float(np.mean([ref[r][k] for r in shared])) for k in SCORES} if shared else {},
                "val_sd": float(val.std(ddof=1)) if len(val) > 1 else 0.0,
                "higher": higher,
                "lower": lower,
                "shared": len(shared),
            }
    return out


def table(summary: dict, base: str = "base") -> str:
    """Markdown table of :func:`compare`'s output, ``base`` first, then the variants by name."""
    head = ["variant"]
    for p, cols in COLUMNS.items():
        head += [f"({p}) val mF1", f"({p}) higher / lower"] + [f"({p}) {HEADERS[c]}" for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for variant in [base] + sorted(v for v in summary if v != base):
        cells = [f"`{variant}`"]
        for p, cols in COLUMNS.items():
            s = summary[variant].get(p)
            if s is None:
                cells += [""] * (2 + len(cols))
                continue
            cells.append(f"{s['mean']['val_macro_f1']:.3f} ± {s['val_sd']:.3f}")
            cells.append("" if variant == base else f"{s['higher']} / {s['lower']} of {s['shared']}")
            for c in cols:
                met = (p, c) in TARGETS and s["mean"][c] >= TARGETS[(p, c)]
                cells.append(f"{s['mean'][c]:.3f}{'*' if met else ''}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def splits_table(summary: dict, base: str = "base") -> str:
    """Markdown table of :func:`compare` over all split seeds, for the variants run on several.

    Only protocols (a) and (b), whose ``--split-seeds`` draw other patients; each cell is the
    variant's mean over the runs it shares with ``base``, then ``base``'s over the same runs.
    """
    head = ["variant", "protocol", "runs", f"val mF1 ({base})", "higher / lower", f"S F1 ({base})", f"V R ({base})",
            f"V F1 ({base})"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for variant in sorted(v for v in summary if v != base):
        for p in ("a", "b"):
            s = summary[variant].get(p)
            if s is None or not s["shared"]:
                continue
            cells = [f"`{variant}`", f"({p})", str(s["shared"])]
            pair = [f"{s['shared_mean'][k]:.3f} ({s['base_shared_mean'][k]:.3f})" for k in SCORES]
            lines.append("| " + " | ".join(cells + pair[:1] + [f"{s['higher']} / {s['lower']}"] + pair[1:]) + " |")
    return "\n".join(lines)


def pooled(runs: dict, base: str = "base") -> dict[str, dict]:
    """Per variant, the validation macro-F1 against ``base`` over every run they share, on every protocol and split.

    Parameters
    ----------
    runs
        :func:`load_runs` output (all split seeds).
    base
        The variant compared against.

    Returns
    -------
    dict
        ``{variant: {"shared": runs, "gain": mean of (variant − base), "higher"/"lower": runs above/below
        base's by more than :data:`MARGIN`, "by_protocol": {protocol: (runs, mean gain)}}}``, without
        ``base`` itself or variants that share no run with it.
    """
    if base not in runs:
        raise ValueError(f"no runs of the base variant {base!r} among {sorted(runs)}")
    out: dict = {}
    for variant, protocols in runs.items():
        diffs: dict[str, np.ndarray] = {}
        for protocol, by_run in protocols.items():
            shared, diff = paired_val_diffs(by_run, runs[base].get(protocol, {}))
            if shared and variant != base:
                diffs[protocol] = diff
        if diffs:
            every = np.concatenate(list(diffs.values()))
            higher, lower = higher_lower(every)
            out[variant] = {
                "shared": len(every), "gain": float(every.mean()), "higher": higher, "lower": lower,
                "by_protocol": {p: (len(d), float(d.mean())) for p, d in sorted(diffs.items())},
            }  # fmt: skip
    return out


def best_pooled(summary: dict) -> str | None:
    """The variant :func:`pooled` ranks first: the largest mean gain among those with the most shared runs
    (every protocol, every split) whose mean gain is positive on each protocol; ``None`` if there is none."""
    if not summary:
        return None
    most = max(s["shared"] for s in summary.values())
    ok = {v: s["gain"] for v, s in summary.items()
          if s["shared"] == most and all(g > 0 for _, g in s["by_protocol"].values())}  # fmt: skip
    return max(ok, key=ok.get) if ok else None


def pooled_table(summary: dict, base: str = "base") -> str:
    """Markdown table of :func:`pooled`'s output against ``base``, the largest mean gain first."""
    head = ["variant", "runs", f"val mF1 − {base}", "higher / lower"] + [f"({p}) runs, gain" for p in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for variant in sorted(summary, key=lambda v: -summary[v]["gain"]):
        s = summary[variant]
        cells = [f"`{variant}`", str(s["shared"]), f"{s['gain']:+.4f}", f"{s['higher']} / {s['lower']}"]
        cells += [f"{s['by_protocol'][p][0]}, {s['by_protocol'][p][1]:+.4f}" if p in s["by_protocol"] else ""
                  for p in COLUMNS]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--machine", default="zen5", help="suffix of the results files to read (variants*-MACHINE.json)")
    ap.add_argument("--results", default="results", help="folder of the results files")
    ap.add_argument("--name", default=None, help="file stem of the outputs (default candidates-MACHINE)")
    ap.add_argument("--out", default="results", help="output directory")
    ap.add_argument("--base", default="base",
                    help="the variant the others are set against (default base; irreg is today's EFFICIENT)")
    args = ap.parse_args(argv)
    paths = sorted(Path(args.results).glob(f"variants*-{args.machine}.json"))
    if not paths:
        ap.error(f"no variants*-{args.machine}.json in {args.results}/")
    runs = load_runs(paths)
    base = args.base
    if base not in runs:
        ap.error(f"--base {base!r} has no runs in these files; variants: {', '.join(sorted(runs))}")
    summary = compare(on_split(runs, 0), base)
    several = {v for v, protocols in runs.items() if v != base
               and any(k[0] != 0 for by_run in protocols.values() for k in by_run)}  # fmt: skip
    across = compare({v: p for v, p in runs.items() if v in several or v == base}, base)
    every = pooled(runs, base)
    first = best_pooled(every)
    title = "`base` (`EFFICIENT` until 2026-11-30)" if base == "base" else f"`{base}`"
    md = [
        f"# Variants set against {title} on the {args.machine} machine, from the results files\n",
        f"Read from {', '.join(f'`{p.name}`' for p in paths)}; split seed 0 only. `val mF1`: mean ± sd of the "
        "validation macro-F1 (what a variant may be chosen on); `higher / lower`: runs (same training seed and "
        f"fold) where it is above / below `{base}`'s by more than {MARGIN}; the rest are mean test scores, `*` "
        "where the mean meets its target.\n",
        table(summary, base),
        "",
        "## On other splits too\n",
        "The variants also run with other split seeds (other patients; for (b), other validation patients drawn "
        f"from DS1, the same test set), over every run they share with `{base}`: the variant's mean, and in "
        f"brackets `{base}`'s over the same runs.\n",
        splits_table(across, base),
        "",
        "## Every run at once\n",
        f"Each variant's validation macro-F1 minus `{base}`'s, over every run they share (all protocols, all split "
        "seeds), and per protocol. The rule `EFFICIENT` changed by on 2026-11-30: among the variants with the most "
        "shared runs whose gain is positive on each protocol, the largest mean gain"
        + (f": `{first}`.\n" if first else ": none qualifies.\n"),
        pooled_table(every, base),
        "",
        "Probes run outside `benchmarks/variants.py` (focal loss, per-recording BatchNorm statistics, a second lead, "
        "a waveform branch, per-recording class priors) are not in these files: see `results/README.md`.\n",
    ]
    default_name = f"candidates-{args.machine}" + ("" if base == "base" else f"-vs-{base}")
    write_report(args.out, args.name or default_name,
                 {"files": [p.name for p in paths], "base": base, "summary": summary, "across_splits": across,
                  "pooled": every, "best_pooled": first},
                 "\n".join(md))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
