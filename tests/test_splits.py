import pytest

from ecglib.data import PACED_RECORDS, RECORDS
from ecglib.splits import LeakageError, assert_no_leakage, ds1_ds2, holdout_val, patient_split, subject_kfold


@pytest.mark.parametrize("seed", range(10))
def test_patient_split_no_leakage_and_all_classes(counts, seed):
    split = patient_split(counts, seed=seed)
    assert_no_leakage(split)
    assert sorted(r for v in split.values() for r in v) == sorted(RECORDS)
    for recs in split.values():
        totals = [sum(counts[r][c] for r in recs) for c in range(3)]
        assert min(totals) >= 100  # patient_split's default min_per_class
    assert ("201" in split["train"]) == ("202" in split["train"])
    n_subjects = {k: len({"201" if r == "202" else r for r in v}) for k, v in split.items()}
    assert n_subjects == {"train": 33, "val": 7, "test": 7}


def test_patient_split_is_deterministic(counts):
    assert patient_split(counts, seed=3) == patient_split(counts, seed=3)
    assert patient_split(counts, seed=3) != patient_split(counts, seed=4)


def test_patient_split_bad_fractions(counts):
    with pytest.raises(ValueError, match="fractions"):
        patient_split(counts, fractions=(0.5, 0.5, 0.5))


def test_holdout_val_is_patient_wise_and_names_missing_counts(counts):
    train, val = holdout_val(ds1_ds2()["train"], counts, seed=0)
    assert_no_leakage({"train": train, "val": val})
    assert sorted(train + val) == sorted(ds1_ds2()["train"])
    with pytest.raises(ValueError, match=r"records \['999'\] have no class counts"):
        holdout_val([*ds1_ds2()["train"], "999"], counts)


def test_ds1_ds2():
    split = ds1_ds2()
    assert_no_leakage(split)
    assert len(split["train"]) == 22 and len(split["test"]) == 21 and "202" not in split["test"]
    assert not set(PACED_RECORDS) & set(split["train"] + split["test"])
    with pytest.raises(LeakageError, match="202"):
        assert_no_leakage(ds1_ds2(strict=False))


def test_kfold_each_record_tested_once():
    folds = subject_kfold(RECORDS, k=5, seed=0)
    tested = [r for f in folds for r in f["test"]]
    assert sorted(tested) == sorted(RECORDS)
    for f in folds:
        assert_no_leakage(f)
        assert ("201" in f["test"]) == ("202" in f["test"])


def test_assert_no_leakage_catches_both_kinds():
    with pytest.raises(LeakageError, match="record 100"):
        assert_no_leakage({"train": ["100", "101"], "test": ["100"]})
    with pytest.raises(LeakageError, match="subject 201"):
        assert_no_leakage({"train": ["201"], "test": ["202"]})
    assert_no_leakage({"train": ["201", "202"], "test": ["100"]})
