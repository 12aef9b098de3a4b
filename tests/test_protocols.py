"""ecglib.protocols: the splits of protocols (a)-(c), the leaky demo split, fold summaries, fit_evaluate."""

import numpy as np
import pytest

from ecglib.data import CLASSES, RECORDS, subject_id
from ecglib.evaluate import evaluate_predictions
from ecglib.protocols import (
    EFFICIENT,
    PROTOCOLS,
    QUICK_RECORDS,
    beat_level_split,
    fit_evaluate,
    protocol_splits,
    summarise_folds,
)
from ecglib.splits import DS1, ds1_ds2


def subjects(records) -> set[str]:
    return {subject_id(r) for r in records}


@pytest.mark.parametrize("quick", [False, True])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_protocol_splits_keep_every_subject_in_one_part(counts, protocol, quick):
    if quick:
        counts = {r: counts[r] for r in QUICK_RECORDS}
    splits = protocol_splits(protocol, counts, quick=quick)
    assert len(splits) == (5 if protocol == "kfold" else 1)
    for split in splits:
        assert sorted(split) == ["test", "train", "val"]
        train, val, test = (subjects(split[k]) for k in ("train", "val", "test"))
        assert not (train & val or train & test or val & test), split
        # Early stopping on validation patients needs S and V beats among them.
        val_totals = np.sum([counts[r] for r in split["val"]], axis=0)
        assert min(val_totals[1:]) >= (1 if quick else 20)


def test_ds1ds2_tests_on_ds2_without_202(counts):
    (split,) = protocol_splits("ds1ds2", counts)
    assert split["test"] == ds1_ds2()["test"] and "202" not in split["test"]
    assert sorted(split["train"] + split["val"]) == sorted(DS1)


def test_kfold_tests_each_record_once(counts):
    tested = [r for split in protocol_splits("kfold", counts) for r in split["test"]]
    assert sorted(tested) == sorted(RECORDS)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_protocol_splits_are_seeded(counts, protocol):
    assert protocol_splits(protocol, counts, seed=3) == protocol_splits(protocol, counts, seed=3)
    if protocol != "ds1ds2":  # (b)'s test set is fixed; only its validation draw may change
        assert protocol_splits(protocol, counts, seed=3) != protocol_splits(protocol, counts, seed=4)


def test_protocol_splits_unknown_protocol(counts):
    with pytest.raises(ValueError, match="unknown protocol 'loso'"):
        protocol_splits("loso", counts)


def test_beat_level_split_partitions_the_beats():
    split = beat_level_split(1000, seed=1)
    assert {k: len(v) for k, v in split.items()} == {"train": 700, "val": 150, "test": 150}
    assert np.array_equal(np.sort(np.concatenate(list(split.values()))), np.arange(1000))
    assert all(np.array_equal(v, beat_level_split(1000, seed=1)[k]) for k, v in split.items())
    assert not np.array_equal(split["test"], beat_level_split(1000, seed=2)["test"])
    with pytest.raises(ValueError, match="three positive shares summing to 1"):
        beat_level_split(1000, fractions=(0.8, 0.15, 0.15))


def test_summarise_folds_mean_and_sd():
    rng = np.random.default_rng(0)
    folds = []
    for seconds in (10.0, 20.0, 40.0):
        y = rng.integers(0, 3, 200)
        folds.append({**evaluate_predictions(y, rng.dirichlet(np.ones(3), 200), CLASSES), "seconds": seconds})
    summary = summarise_folds(folds)
    acc = [f["accuracy"] for f in folds]
    s_f1 = [f["per_class"]["S"]["f1"] for f in folds]
    assert summary["n_folds"] == 3 and summary["seconds"] == 70.0
    assert summary["accuracy"] == pytest.approx(np.mean(acc)) and summary["accuracy_sd"] == pytest.approx(np.std(acc, ddof=1))
    assert summary["per_class"]["S"]["f1"] == pytest.approx(np.mean(s_f1))
    assert summary["per_class_sd"]["S"]["f1"] == pytest.approx(np.std(s_f1, ddof=1))


def test_fit_evaluate_returns_the_probabilities_it_scored():
    from ecglib.dataset import build_dataset

    data = build_dataset(["100", "208", "213", "119"], EFFICIENT.beat_config, EFFICIENT.spec_config, progress=False)
    train, val, test = data.subset(["100", "208"]), data.subset(["213"]), data.subset(["119"])
    metrics, result, proba = fit_evaluate(EFFICIENT, train, val, test, return_proba=True, epochs=1,
                                          max_train_beats=600, verbose=False)  # fmt: skip
    assert proba.shape == (len(test), len(CLASSES)) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    again = evaluate_predictions(test.labels, proba, CLASSES)
    assert again["confusion_matrix"] == metrics["confusion_matrix"] and again["accuracy"] == metrics["accuracy"]
    # EFFICIENT trains an ensemble: one epoch count per network.
    assert metrics["n_train"] == 600 and metrics["epochs_run"] == result.epochs_run == [1] * EFFICIENT.train.ensemble_size
    assert len(result.members) == EFFICIENT.train.ensemble_size > 1
