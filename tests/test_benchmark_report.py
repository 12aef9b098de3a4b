"""The machine description the model benchmarks write next to their timings."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _report import cpu_model  # noqa: E402

# The start of /proc/cpuinfo on the machine of results/models-zen5.md (flags shortened), and a
# made-up AVX2-only CPU that a virtual machine names the same.
ZEN = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw

processor\t: 1
model name\t: something else
"""
OLD_AMD = "processor\t: 0\ncpu family\t: 23\nmodel\t\t: 49\nmodel name\t: AMD EPYC\nflags\t\t: sse2 avx avx2\n"


def test_cpu_model_tells_apart_machines_with_the_same_name():
    assert cpu_model(ZEN) == "AMD EPYC (family 26, model 2, AVX-512)"
    assert cpu_model(OLD_AMD) == "AMD EPYC (family 23, model 49, AVX2)"


def test_cpu_model_without_details_is_the_name_alone():
    assert cpu_model("processor\t: 0\nmodel name\t: Some CPU\n") == "Some CPU"


def test_models_notes_tell_a_seed_budget_from_a_full_run():
    """The seed CNN's note says 'extrapolated' for a subsample and 'measured' for a run on every beat."""
    import json

    from models import notes_text

    results = Path(__file__).resolve().parents[1] / "results"
    budget = notes_text(json.loads((results / "models-zen5.json").read_text()))
    full = notes_text(json.loads((results / "models-seedcnn-zen5.json").read_text()))
    assert "seed_cnn budget: 5000 train beats, 1 epoch" in budget and "(extrapolated per beat)" in budget
    assert "seed_cnn on all 68823 training beats, at most 10 epochs: ran 10, best 10" in full
    assert "extrapolated" not in full


def test_variants_table_says_which_splits_it_averages_over():
    """One split (seed 0) is 'the same split'; several are named, so a reader knows what the sd spans."""
    import json

    import numpy as np
    from variants import table

    results = Path(__file__).resolve().parents[1] / "results"
    data = json.loads((results / "variants-splits-zen5.json").read_text())
    summary = data["variants"]["base"]["a"]["summary"]
    rows = [("(a)", "base", "EFFICIENT unchanged", np.array([0.8, 0.9]), summary)]
    one = table(rows, 3)
    several = table(rows, 3, data["split_seeds"])
    assert "(the same split;" in one and "split seeds" not in one
    assert "on each of the splits of split seeds 0, 1, 2, 3, 4;" in several
    assert "| (a) | base | EFFICIENT unchanged | 0.850 ± 0.071 | 0.953 ± 0.023 |" in several
    assert [r["split_seed"] for r in data["variants"]["base"]["a"]["runs"]] == [s for s in range(5) for _ in range(3)]


def test_every_variant_is_a_valid_training_config_and_model():
    """A typo in a VARIANTS entry fails here, not after an hour of benchmark runs."""
    import dataclasses

    import keras
    from variants import VARIANTS, overrides_for, setup_for

    from ecglib.beats import RR_FEATURES
    from ecglib.data import FS
    from ecglib.models import build_model
    from ecglib.protocols import EFFICIENT
    from ecglib.spectrogram import frame_times, frequencies

    window = int(EFFICIENT.beat_config.window_s * FS)
    shapes = set()
    for name in VARIANTS:
        setup = setup_for(name)
        config = dataclasses.replace(setup.train, **overrides_for(name))  # TrainConfig validates its fields
        shape = (len(frequencies(FS, setup.spec_config)), len(frame_times(window, FS, setup.spec_config)))
        shapes.add(shape)
        model = build_model("efficient_cnn", image_shape=shape, n_rr=len(RR_FEATURES), **config.model_kwargs)
        assert model.output_shape == (None, 3), name
        keras.backend.clear_session()
    assert shapes == {(16, 46), (16, 91), (8, 46)}  # hop 16, hop 8 and the 64-sample window (fft64)


def test_variants_base_is_the_earlier_efficient_and_irreg_todays():
    """The committed variants files compare against BASE; their ``irreg`` rows are runs of one of EFFICIENT's networks."""
    import dataclasses

    from variants import BASE, overrides_for, setup_for

    from ecglib.protocols import EFFICIENT

    assert BASE.train.model_kwargs["rr_features"] == ["pre_rr_norm", "post_rr_norm", "local_rr_norm"]
    irreg = setup_for("irreg")
    assert dataclasses.replace(irreg, train=dataclasses.replace(irreg.train, **overrides_for("irreg"))) == EFFICIENT.member()
    assert EFFICIENT.member() != EFFICIENT and EFFICIENT.member().member() == EFFICIENT.member()
    base = dataclasses.replace(BASE, train=dataclasses.replace(BASE.train, **overrides_for("base")))
    assert base == BASE != EFFICIENT


def _variants_file(path, runs_by_variant, split_seed=None):
    """A minimal ``benchmarks/variants.py`` result: ``{variant: {protocol: [(seed, fold, val, S F1, V R, V F1)]}}``."""
    import json

    def run(seed, fold, val, s_f1, v_r, v_f1):
        out = {"seed": seed, "fold": fold, "val_macro_f1": val,
               "per_class": {"S": {"f1": s_f1}, "V": {"recall": v_r, "f1": v_f1}}}  # fmt: skip
        if split_seed is not None:
            out["split_seed"] = split_seed
        return out

    variants = {v: {p: {"runs": [run(*r) for r in rs]} for p, rs in protocols.items()}
                for v, protocols in runs_by_variant.items()}  # fmt: skip
    path.write_text(json.dumps({"seeds": [0, 1], "variants": variants}))
    return path


def test_candidates_merge_files_and_count_runs_against_base(tmp_path):
    from candidates import compare, load_runs, on_split, splits_table, table

    a = _variants_file(tmp_path / "variants-x-m.json", {
        "base": {"a": [(0, 0, 0.80, 0.40, 0.90, 0.90), (1, 0, 0.82, 0.50, 0.94, 0.92)]},
        "new": {"a": [(0, 0, 0.85, 0.70, 0.95, 0.80), (1, 0, 0.821, 0.60, 0.93, 0.80)]},
    })  # fmt: skip
    # The same base run written again, and the new variant's (c) runs.
    b = _variants_file(tmp_path / "variants-y-m.json", {
        "base": {"a": [(0, 0, 0.80, 0.40, 0.90, 0.90)]}, "new": {"c": [(0, 3, 0.70, 0.30, 0.80, 0.85)]},
    })  # fmt: skip
    # Another split: left out of the first table, paired with base's run of that split in the second.
    other = _variants_file(tmp_path / "variants-z-m.json", {
        "new": {"a": [(0, 0, 0.60, 0.10, 0.50, 0.50)]}, "base": {"a": [(0, 0, 0.70, 0.20, 0.60, 0.60)]},
    }, split_seed=1)  # fmt: skip
    runs = load_runs([a, b, other])
    assert sorted(runs["new"]) == ["a", "c"] and sorted(runs["new"]["a"]) == [(0, 0, 0), (0, 1, 0), (1, 0, 0)]
    summary = compare(on_split(runs, 0))
    new_a = summary["new"]["a"]
    # 0.85 is above 0.80 by more than the margin; 0.821 against 0.82 is within it.
    assert (new_a["higher"], new_a["lower"], new_a["shared"]) == (1, 0, 2)
    assert abs(new_a["mean"]["S_f1"] - 0.65) < 1e-12
    assert summary["new"]["c"]["shared"] == 0  # base has no (c) runs
    rows = {line.split(" | ")[0]: line.split(" | ") for line in table(summary).splitlines()[2:]}
    assert rows["| `new`"][3] == "0.650*"  # (a) S F1 meets 0.60
    assert rows["| `base`"][3] == "0.450"
    assert rows["| `base`"][10] == ""  # no (c) runs: empty cells
    across = compare(runs)["new"]["a"]
    assert (across["higher"], across["lower"], across["shared"]) == (1, 1, 3)
    # S F1 over the three shared runs: (0.70 + 0.60 + 0.10) / 3 for new, (0.40 + 0.50 + 0.20) / 3 for base.
    assert "| `new` | (a) | 3 | 0.757 (0.773) | 1 / 1 | 0.467 (0.367) |" in splits_table(compare(runs))


def test_candidates_pool_every_run_and_rank_only_variants_positive_on_each_protocol(tmp_path):
    import pytest
    from candidates import best_pooled, load_runs, pooled, pooled_table

    base = {"a": [(0, 0, 0.80, 0, 0, 0), (1, 0, 0.80, 0, 0, 0)], "c": [(0, 0, 0.70, 0, 0, 0)]}
    path = _variants_file(tmp_path / "variants-p-m.json", {
        "base": base,
        # The largest mean gain (+0.0667), but lower on (c): not ranked.
        "big": {"a": [(0, 0, 0.95, 0, 0, 0), (1, 0, 0.90, 0, 0, 0)], "c": [(0, 0, 0.65, 0, 0, 0)]},
        # +0.0167, higher on (a) and (c): ranked first.
        "steady": {"a": [(0, 0, 0.82, 0, 0, 0), (1, 0, 0.801, 0, 0, 0)], "c": [(0, 0, 0.729, 0, 0, 0)]},
        # Higher still, but on (a) alone: fewer shared runs.
        "partial": {"a": [(0, 0, 0.99, 0, 0, 0)]},
    })  # fmt: skip
    summary = pooled(load_runs([path]))
    assert "base" not in summary and summary["steady"]["shared"] == 3 and summary["partial"]["shared"] == 1
    assert abs(summary["steady"]["gain"] - (0.02 + 0.001 + 0.029) / 3) < 1e-12
    assert (summary["steady"]["higher"], summary["steady"]["lower"]) == (2, 0)  # 0.001 is within the margin
    assert summary["big"]["by_protocol"]["c"] == (1, pytest.approx(-0.05))
    assert best_pooled(summary) == "steady"
    assert pooled_table(summary).splitlines()[2].startswith("| `partial` | 1 | +0.1900 | 1 / 0 | 1, +0.1900 |")
    assert best_pooled(pooled(load_runs([_variants_file(tmp_path / "variants-q-m.json", {
        "base": base, "worse": {"a": [(0, 0, 0.7, 0, 0, 0)]}})]))) is None  # fmt: skip


def test_candidates_cli_sets_the_variants_against_another_base(tmp_path, capsys):
    import pytest
    from candidates import main

    _variants_file(tmp_path / "variants-x-m.json", {
        "base": {"a": [(0, 0, 0.80, 0.4, 0.9, 0.9)]}, "new": {"a": [(0, 0, 0.85, 0.5, 0.9, 0.9)]},
    })  # fmt: skip
    assert main(["--machine", "m", "--results", str(tmp_path), "--base", "new", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "candidates-m-vs-new.md").read_text()
    assert md.startswith("# Variants set against `new` on the m machine")
    assert "| `base` | 1 | -0.0500 | 0 / 1 | 1, -0.0500 |" in md and "none qualifies" in md
    with pytest.raises(SystemExit):
        main(["--machine", "m", "--results", str(tmp_path), "--base", "old", "--out", str(tmp_path)])
    assert "--base 'old' has no runs in these files; variants: base, new" in capsys.readouterr().err


def test_candidates_refuse_two_files_that_disagree_on_one_run(tmp_path):
    import pytest
    from candidates import load_runs

    a = _variants_file(tmp_path / "variants-a-m.json", {"base": {"b": [(2, 0, 0.90, 0.5, 0.9, 0.9)]}})
    b = _variants_file(tmp_path / "variants-b-m.json", {"base": {"b": [(2, 0, 0.91, 0.5, 0.9, 0.9)]}})
    message = r"variants-a-m\.json and .*variants-b-m\.json .*base, protocol \(b\), split seed 0, training seed 2"
    with pytest.raises(ValueError, match=message):
        load_runs([a, b])


def test_candidates_committed_results_agree_with_each_other():
    """The Zen 5 results files hold each run once, or identical copies of it."""
    from candidates import compare, load_runs

    results = Path(__file__).resolve().parents[1] / "results"
    summary = compare(load_runs(sorted(results.glob("variants*-zen5.json"))))
    assert {"a", "b", "c"} <= set(summary["base"])


def test_ensembles_set_each_disjoint_ensemble_against_its_own_members():
    """The mean of several models' probabilities, scored like one model, and paired with its members."""
    import types

    import numpy as np
    from ensembles import ensemble_unit, pairs_table

    labels = np.array([0, 0, 0, 1, 1, 2])
    parts = {k: types.SimpleNamespace(labels=labels) for k in ("val", "test")}
    eye = np.eye(3)[labels]
    wrong = np.tile([0.6, 0.2, 0.2], (6, 1))  # calls everything N, without much confidence
    probas = {0: (eye, eye), 1: (wrong, wrong), 2: (0.6 * eye + 0.4 * wrong, eye), 3: (wrong, wrong)}
    # The members' own scores as benchmarks/ensembles.py records them (given here, not recomputed).
    own = {0: 1.0, 1: 0.3, 2: 1.0, 3: 0.3}
    singles = [{"seeds": [s], "seconds": 10.0 + s, "val_macro_f1": v} for s, v in own.items()]
    unit = ensemble_unit(parts, probas, singles, [0, 1, 2, 3], 2)
    assert [e["seeds"] for e in unit["ensembles"]] == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert [e["seeds"] for e in unit["disjoint"]] == [[0, 1], [2, 3]]
    first = unit["disjoint"][0]
    # Averaged, the confident right answers outweigh the unsure wrong ones: every beat is right.
    assert first["val_macro_f1"] == 1.0 and first["members_val_macro_f1"] == 0.65 and first["seconds"] == 21.0
    md = pairs_table([("(a)", unit["disjoint"])], 2)
    assert "| (a) | 2 | +0.3500 | 2 / 0 |" in md
