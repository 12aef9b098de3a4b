"""Patient-wise splits: no subject's beats may sit on both sides of a split.

Beats of one patient look alike, so a random beat-level split lets a model recognise the patient
instead of the arrhythmia and reports inflated scores. Every split here is made over *subjects*
(:func:`ecglib.data.subject_id`: records 201 and 202 are one man), and :func:`assert_no_leakage`
checks it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ecglib.data import PACED_RECORDS, RECORDS, subject_id

#: de Chazal, O'Dwyer & Reilly (2004) training set (paced records excluded).
DS1: tuple[str, ...] = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
#: de Chazal et al. (2004) test set, as published. It contains 202, whose subject is also 201's in DS1.
DS2_PUBLISHED: tuple[str, ...] = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
    "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234",
)  # fmt: skip


class LeakageError(AssertionError):
    """A subject appears in more than one split."""


def assert_no_leakage(splits: Mapping[str, Sequence[str]]) -> None:
    """Raise :class:`LeakageError` if any subject's records appear in two splits.

    Parameters
    ----------
    splits
        ``{split name: record names}``, e.g. ``{"train": [...], "test": [...]}``.
    """
    owner: dict[str, str] = {}
    for name, records in splits.items():
        for rec in records:
            subj = subject_id(str(rec))
            if subj in owner and owner[subj] != name:
                raise LeakageError(
                    f"record {rec} (subject {subj}) is in split {name!r} but the same subject is also in "
                    f"split {owner[subj]!r}"
                )
            owner[subj] = name


def _check_fractions(fractions: Sequence[float]) -> None:
    """Train, validation and test shares: three, positive, summing to 1 (else ValueError)."""
    if len(fractions) != 3 or min(fractions) <= 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three positive shares summing to 1, got {fractions}")


def _group_by_subject(records: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for r in records:
        groups.setdefault(subject_id(r), []).append(r)
    return groups


def patient_split(
    class_counts: Mapping[str, Sequence[int]],
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    seed: int = 0,
    min_per_class: int = 100,
    max_tries: int = 1000,
) -> dict[str, list[str]]:
    """The seed's protocol: 70/15/15 train/val/test over subjects, seeded.

    Subjects are shuffled with ``seed`` and cut by subject count; the shuffle is redrawn (with the
    next sub-seed, deterministically) until every split holds at least ``min_per_class`` beats of
    each class: S beats sit in a few records (232 alone has half of them), and a test split with a
    handful of S beats cannot measure S recall or precision (seed 0 with no minimum gives 3).

    Parameters
    ----------
    class_counts
        ``{record: (n_N, n_S, n_V)}`` beats per class for every record to split (e.g. from
        :func:`ecglib.dataset.class_counts`). Only these records are split.
    fractions
        Train, validation and test shares of the subjects; must sum to 1.
    seed
        Random seed; the same seed gives the same split.
    min_per_class
        Minimum beats of every class in every split (default 100).
    max_tries
        Shuffles to try before giving up with a ValueError.

    Returns
    -------
    dict
        ``{"train": [...], "val": [...], "test": [...]}`` sorted record names.
    """
    _check_fractions(fractions)
    records = sorted(str(r) for r in class_counts)
    if not records:
        raise ValueError("class_counts is empty: no records to split")
    groups = _group_by_subject(records)
    subjects = sorted(groups)
    if len(subjects) < 3:
        raise ValueError(f"need at least 3 subjects for a 3-way split, got {len(subjects)}")
    n_val = max(1, int(round(fractions[1] * len(subjects))))
    n_test = max(1, int(round(fractions[2] * len(subjects))))
    counts = {r: np.asarray(class_counts[r]) for r in records}
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        order = [subjects[i] for i in rng.permutation(len(subjects))]
        parts = {
            "test": order[:n_test],
            "val": order[n_test : n_test + n_val],
            "train": order[n_test + n_val :],
        }
        split = {k: sorted(r for s in v for r in groups[s]) for k, v in parts.items()}
        totals = [sum((counts[r] for r in recs), np.zeros(3, int)) for recs in split.values()]
        if all(t.min() >= min_per_class for t in totals):
            out = {"train": split["train"], "val": split["val"], "test": split["test"]}
            assert_no_leakage(out)
            return out
    raise ValueError(
        f"no split with >= {min_per_class} beats of every class in every part after {max_tries} shuffles; "
        "use more records or a smaller min_per_class"
    )


def ds1_ds2(strict: bool = True) -> dict[str, list[str]]:
    """de Chazal et al. (2004) inter-patient protocol: train on DS1, test on DS2.

    The four paced records are in neither set. The published DS2 contains record 202, whose subject
    also gave 201 (in DS1): a subject in both sets.

    Parameters
    ----------
    strict
        True (default): 202 is removed from DS2, so the protocol is really inter-patient. False:
        the published sets, which :func:`assert_no_leakage` rejects.

    Returns
    -------
    dict
        ``{"train": DS1, "test": DS2}`` as new lists of record names: 22 training records, and 21
        test records (22 with ``strict=False``).
    """
    test = [r for r in DS2_PUBLISHED if not (strict and r == "202")]
    assert not set(PACED_RECORDS) & set(DS1 + DS2_PUBLISHED)
    return {"train": list(DS1), "test": test}


def subject_kfold(records: Sequence[str] = RECORDS, k: int = 5, seed: int = 0) -> list[dict[str, list[str]]]:
    """Subject-grouped k-fold: each subject's records are in exactly one test fold.

    Subjects are shuffled with ``seed`` and dealt round-robin into ``k`` folds.

    Parameters
    ----------
    records
        MIT-BIH record names to split (converted to ``str``; an unknown name raises ``ValueError``);
        default all 48, paced records included. A subject's records (201 and 202) stay together.
    k
        Number of folds, from 2 to the number of subjects (else ``ValueError``); default 5.
    seed
        Seed of the subject shuffle; the same seed gives the same folds.

    Returns
    -------
    list of dict
        ``k`` dicts ``{"train": [...], "test": [...]}``: fold ``i``'s records as test, those of the
        other folds as train, both sorted.
    """
    groups = _group_by_subject([str(r) for r in records])
    subjects = sorted(groups)
    if not 2 <= k <= len(subjects):
        raise ValueError(f"k must be between 2 and the number of subjects ({len(subjects)}), got {k}")
    order = [subjects[i] for i in np.random.default_rng(seed).permutation(len(subjects))]
    folds = [order[i::k] for i in range(k)]
    out = []
    for i in range(k):
        test = sorted(r for s in folds[i] for r in groups[s])
        train = sorted(r for j in range(k) if j != i for s in folds[j] for r in groups[s])
        split = {"train": train, "test": test}
        assert_no_leakage(split)
        out.append(split)
    return out


def holdout_val(
    records: Sequence[str],
    counts: Mapping[str, Sequence[int]],
    frac: float = 0.2,
    seed: int = 0,
    min_per_class: int = 20,
    max_tries: int = 1000,
) -> tuple[list[str], list[str]]:
    """Hold ``frac`` of the subjects of ``records`` out for validation (early stopping).

    Redrawn (deterministically from ``seed``) until the validation subjects hold at least
    ``min_per_class`` S and V beats and the training subjects hold some S beats.

    Parameters
    ----------
    records
        Record names to split; a subject's records (201 and 202) stay on one side.
    counts
        ``{record: (n_N, n_S, n_V)}`` beats per class (e.g. ``Dataset.class_counts()``); it must hold
        every record of ``records`` (else ``ValueError``).
    frac
        Share of the *subjects* held out, strictly between 0 and 1 (default 0.2), rounded to a
        whole number of subjects, at least one.
    seed
        Random seed; the same seed gives the same split.
    min_per_class
        Minimum S beats and V beats (each) of the validation records (default 20); N is not
        checked.
    max_tries
        Draws to try before giving up with a ``ValueError``.

    Returns
    -------
    train, val
        Sorted record lists, with no subject in both.
    """
    if not 0 < frac < 1:
        raise ValueError(f"frac must be between 0 and 1, got {frac}")
    missing = sorted(str(r) for r in records if r not in counts)
    if missing:
        raise ValueError(f"records {missing} have no class counts: counts must hold every record to split")
    groups = _group_by_subject([str(r) for r in records])
    subjects = sorted(groups)
    if len(subjects) < 2:
        raise ValueError(f"need at least 2 subjects to hold one out, got {len(subjects)}")
    n_val = max(1, int(round(frac * len(subjects))))
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        val_subjects = {subjects[i] for i in rng.permutation(len(subjects))[:n_val]}
        val = sorted(r for s in val_subjects for r in groups[s])
        train = sorted(r for s in subjects if s not in val_subjects for r in groups[s])
        total = np.sum([counts[r] for r in val], axis=0)
        if total[1] >= min_per_class and total[2] >= min_per_class and any(counts[r][1] for r in train):
            assert_no_leakage({"train": train, "val": val})
            return train, val
    raise ValueError(f"no validation hold-out with >= {min_per_class} S and V beats in {max_tries} draws")
