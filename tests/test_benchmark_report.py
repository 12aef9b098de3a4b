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
