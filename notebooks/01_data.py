# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The MIT-BIH data
#
# This chapter introduces the data the whole book works on: the MIT-BIH Arrhythmia Database
# {cite}`moody2001impact`, freely available from PhysioNet {cite}`goldberger2000physiobank`. You
# will read a record, look at its signal and its annotations, group the annotated beats into the
# AAMI classes {cite}`aami2012ec57` and count them.

# %% tags=["hide-cell"]
# On Colab: install ecglib from the book's repository and download MIT-BIH. Elsewhere: nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    try:
        import ecglib
    except ImportError:
        repo = "https://github.com/ecg-spectrogram-book/ecg-arrhythmia-book"
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-deps", f"git+{repo}"])
    from ecglib.book import colab_setup

    colab_setup()

# %%
from collections import Counter

import matplotlib.pyplot as plt
import pandas as pd

from ecglib.book import aami_table, beat_classes, chapter_records, class_table, plot_strip, quick_mode
from ecglib.data import FS, PACED_RECORDS, RECORDS, class_summary, load_record, subject_id

records = chapter_records()
print(f"{'quick' if quick_mode() else 'full'} mode: {len(records)} of the {len(RECORDS)} records")

# %% [markdown]
# ## Records
#
# The database holds 48 half-hour excerpts of two-channel ambulatory ECG recordings, digitised at
# 360 samples per second with 11-bit resolution over a 10 mV range. They come from 47 subjects
# studied at Boston's Beth Israel Hospital between 1975 and 1979: records 201 and 202 are two
# recordings of the same man, which will matter when we split patients into training and test
# sets in chapter 2. `ecglib.data.RECORDS` lists the record names, and
# `ecglib.data.subject_id` maps each record to its subject.

# %%
print(len(RECORDS), "records from", len({subject_id(r) for r in RECORDS}), "subjects")
print("records 201 and 202 are subject", subject_id("201"), "and", subject_id("202"))

# %% [markdown]
# Each record is three files: a header (`.hea`) describing the signals, the samples (`.dat`) and
# the reference annotations (`.atr`), one label per beat written by two cardiologists
# independently and reconciled. `ecglib.data.load_record` reads one lead of a record in millivolts,
# with all of its annotations, through the `wfdb` package {cite}`wfdbpython`.

# %%
rec = load_record("208")
print(f"record {rec.name}: lead {rec.lead}, {rec.fs:g} Hz, {rec.duration_s / 60:.1f} min, "
      f"{len(rec.signal):,} samples, {len(rec.ann_samples):,} annotations")

# %% tags=["remove-cell"]
assert rec.fs == FS == 360 and rec.lead == "MLII"
assert abs(rec.duration_s - 30 * 60) < 10  # half an hour (650,000 samples)

# %% [markdown]
# ## Leads
#
# Each record has two leads. The upper one is a modified limb lead II (MLII) in all records but
# 102 and 104, where surgical dressings forced the use of a chest lead (V5); the lower one is
# usually V1. The book uses one lead per record, MLII where there is one, in which the QRS complex
# of normal beats is tall and upright. Here is which lead that gives for this chapter's records:

# %%
leads = {r: load_record(r).lead for r in records}
Counter(leads.values())

# %% tags=["remove-cell"]
assert all(lead == "MLII" for r, lead in leads.items() if r not in ("102", "104"))
if not quick_mode():
    assert Counter(leads.values()) == {"MLII": 46, "V5": 2}

# %% [markdown]
# ## Annotations
#
# An annotation is a sample position and a symbol. Most symbols label a beat (`N` normal, `V`
# premature ventricular contraction, `A` atrial premature beat, ...); others mark rhythm changes
# (`+`), noise (`~`) or comments. `Record.beats()` keeps the beat annotations only. Record 208
# has many ventricular beats and fusions of ventricular and normal beats (`F`):

# %%
beat_samples, beat_symbols = rec.beats()
print(f"{len(beat_symbols):,} beat annotations in record {rec.name}")
pd.Series(Counter(rec.ann_symbols)).sort_values(ascending=False).to_frame("annotations").T

# %% [markdown]
# ## The AAMI classes
#
# Fifteen beat symbols are too many classes for the amount of data, and some are very rare. The
# ANSI/AAMI EC57 standard {cite}`aami2012ec57` groups them into five classes, and most work on
# beat classification since {cite:t}`dechazal2004automatic` follows it. `ecglib.data.AAMI_MAP`
# holds the grouping:

# %%
aami_table()

# %% [markdown]
# The task in this book is to tell **N**, **S** and **V** apart. **F** beats are too few to learn
# from and **Q** beats are almost all paced beats: the four records of patients with pacemakers
# (102, 104, 107 and 217, listed in `ecglib.data.PACED_RECORDS`) hold nearly all of them, and AAMI
# recommends leaving those records out. Both classes are excluded from training and evaluation.

# %% tags=["remove-cell"]
assert PACED_RECORDS == ("102", "104", "107", "217")

# %% [markdown]
# ## How many beats of each class?
#
# `ecglib.data.class_summary` counts the annotations of every record by AAMI class (plus the
# non-beat annotations):

# %%
summary = class_summary(records)
table = class_table(summary)
table

# %% tags=["remove-cell"]
from ecglib.book import PHYSIONET_CLASS_TOTALS, QUICK_RECORDS

totals = table.loc["total"]
assert (table.drop(index="total").sum() == totals).all()
if quick_mode():
    # PhysioNet's per-record tables summed over the quick records
    expected = {"N": 8387, "S": 1800, "V": 1438, "F": 373, "Q": 2}
    assert list(records) == list(QUICK_RECORDS)
else:
    expected = PHYSIONET_CLASS_TOTALS
    assert len(table) == 49
for cls, n in expected.items():
    assert totals[cls] == n, (cls, totals[cls], n)

# %% [markdown]
# The classes are very unbalanced: ventricular beats are a few percent of the total and
# supraventricular beats even fewer. The share of each class in the task (N, S and V only):

# %%
task = totals[["N", "S", "V"]]
(100 * task / task.sum()).round(2).to_frame("% of N+S+V beats").T

# %% [markdown]
# The abnormal beats are also concentrated in a few patients. Each bar below is one record:

# %%
fig, ax = plt.subplots(figsize=(12, 3))
per_record = table.drop(index="total")[["S", "V"]]
per_record.plot.bar(ax=ax, color=["tab:orange", "tab:red"], width=0.8)
ax.set(xlabel="record", ylabel="beats", title="S and V beats per record")
plt.show()

# %% [markdown]
# This matters twice. A classifier that answers "N" for every beat is right for most beats, so
# accuracy is a useless score here: chapter 5 reports sensitivity and positive predictive value per
# class instead. And with so few patients contributing most S beats, which patients land in the
# test set changes the results a lot, a point we come back to with patient-wise splits in
# chapter 2.

# %% [markdown]
# ## A strip of ECG
#
# Ten seconds of record 208, with each beat's symbol above it, coloured by AAMI class (N blue,
# S orange, V red, F purple):

# %%
strip_start_s = 1070
ax = plot_strip(rec, start_s=strip_start_s, duration_s=10)
plt.show()

# %% tags=["remove-cell"]
in_strip = (beat_samples >= strip_start_s * FS) & (beat_samples < (strip_start_s + 10) * FS)
assert {"N", "S", "V", "F"} <= set(beat_classes(beat_symbols[in_strip]))

# %% [markdown]
# The ventricular beats (`V`) are wide and bizarre: they start in the ventricles and spread slowly
# through the muscle instead of the fast conduction system. The supraventricular premature beats
# (`S`) have a normal-looking QRS complex but come early: what gives them away is mostly timing,
# which is why chapter 2 adds RR-interval features. A fusion beat (`F`) is a mixture of a normal and a
# ventricular beat that happen at the same time.

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-data-aami
#
# Write a function `aami_counts(symbols)` that takes the symbols of *all* the annotations of a
# record (`rec.ann_symbols`: beats, rhythm changes, noise marks, comments) and returns the number
# of beats of each AAMI class as a dict `{"N": ..., "S": ..., "V": ..., "F": ..., "Q": ...}`.
# Keep the beat annotations with `ecglib.data.BEAT_SYMBOLS` and group them with
# `ecglib.data.AAMI_MAP`; a beat symbol the map does not list is class Q. Then run
# `check_aami_counts(aami_counts)` (from `ecglib.exercises`): it compares your counts with the
# reference on four records chosen for their traps.
# ```

# %% [markdown]
# ```{solution-start} ex-data-aami
# :class: dropdown
# ```
#
# The two traps are the non-beat annotations, which are no class at all, and the many symbols
# behind each class: record 207's bundle branch block beats (`L`, `R`) are class N, record 217's
# paced beats (`/`, `f`) class Q.

# %% tags=["solution"]
from ecglib.data import AAMI_MAP, BEAT_SYMBOLS
from ecglib.exercises import check_aami_counts


def aami_counts(symbols):
    """Count the beats of each AAMI class (N, S, V, F, Q) among a record's annotation symbols."""
    counts = dict.fromkeys("NSVFQ", 0)
    for symbol in symbols:
        if symbol in BEAT_SYMBOLS:
            counts[AAMI_MAP.get(symbol, "Q")] += 1
    return counts


check_aami_counts(aami_counts)
aami_counts(rec.ann_symbols)

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-data-strip
#
# Plot 10 s of record 232 with `plot_strip(load_record("232"), start_s=...)`. Most of its beats
# are labelled `A`: what do the RR intervals look like, and why would a classifier that only sees
# the shape of one beat struggle with this record?
# ```

# %% [markdown]
# ```{solution-start} ex-data-strip
# :class: dropdown
# ```
#
# The rhythm is irregular in an unusual way. The `A` beats come in runs at about 80 beats per
# minute, and the runs are broken by pauses of up to almost 6 s, after which the next beat is an
# `R` (right bundle branch block, class N): in this record the *normal* beats are the late ones.
#
# `A` and `R` beats are conducted through the ventricles the same way, so their QRS complexes look
# alike. What makes a beat `A` is when it comes relative to its neighbours, which the shape of one
# beat does not show: a classifier needs context. The 2-s windows of chapter 2 show the
# neighbouring beats and the RR-interval features describe the timing. Inside a run, though, an `A`
# beat is not early compared with its neighbours, one reason why S is the hardest class of the book.

# %% tags=["solution"]
import numpy as np

rec232 = load_record("232")
samples232, symbols232 = rec232.beats()
rr_before = np.diff(samples232) / FS  # the RR interval before beats 1, 2, ...
median_rr = {s: np.median(rr_before[symbols232[1:] == s]) for s in ("A", "R")}
longest = int(np.argmax(rr_before))
print(f"median RR before A beats {median_rr['A']:.2f} s, before R beats {median_rr['R']:.2f} s; "
      f"longest pause {rr_before[longest]:.1f} s")
plot_strip(rec232, start_s=samples232[longest] / FS - 3, duration_s=10)
plt.show()

# %% tags=["solution", "remove-cell"]
assert median_rr["A"] < 0.8 and median_rr["R"] > 1.5 and 5 < rr_before.max() < 6

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-data-counts
#
# Using `class_table(class_summary())`, which five records hold the most S beats, and what share
# of all S beats do they hold together? What does that imply for a test set of a handful of
# patients?
# ```

# %% [markdown]
# ```{solution-start} ex-data-counts
# :class: dropdown
# ```
#
# Over the whole database (the code uses all 48 records whatever the build mode), five records hold
# about four fifths of the S beats and record 232 alone half of them. A test set of a handful of
# patients either includes record 232, and its S-beat scores then mostly describe that one
# patient, or it does not, and then it holds a few hundred S beats or fewer: the S scores of a
# single split are very uncertain. Chapter 2 measures how much they move with the split.

# %% tags=["solution"]
s_beats = class_table(class_summary())["S"].drop("total").sort_values(ascending=False)
top5 = s_beats.head(5)
print(f"records {', '.join(top5.index)} hold {top5.sum():,} of the {s_beats.sum():,} S beats "
      f"({top5.sum() / s_beats.sum():.0%}); record 232 alone {s_beats['232'] / s_beats.sum():.0%}")

# %% tags=["solution", "remove-cell"]
assert top5.index[0] == "232" and 0.75 < top5.sum() / s_beats.sum() < 0.85
assert 0.45 < s_beats["232"] / s_beats.sum() < 0.55

# %% [markdown]
# ```{solution-end}
# ```
