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
# # Preprocessing
#
# Between a raw record and the images of chapter 3 lie five steps: filter the signal, find the
# R-peaks, cut a window around each of them, label it, and decide which patients are used for
# training and which for testing. Each step is one function of `ecglib`; this chapter runs them,
# checks them against the reference annotations, and shows what goes wrong when the last step is
# done carelessly.

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
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecglib.beats import RR_FEATURES, BeatConfig, record_beats
from ecglib.book import CLASS_COLORS, chapter_records, glue, plot_detector_steps, plot_strip, quick_mode
from ecglib.data import CLASSES, FS, load_record, subject_id
from ecglib.preprocess import BandpassConfig, bandpass, bandpass_response
from ecglib.rpeaks import benchmark_detectors, detect_rpeaks, evaluate_detector
from ecglib.splits import LeakageError, assert_no_leakage, ds1_ds2, patient_split

records = chapter_records()
print(f"{'quick' if quick_mode() else 'full'} mode: {len(records)} records")

# %% [markdown]
# ## Band-pass filtering
#
# An ambulatory ECG carries more than the heart's electrical activity: the baseline wanders slowly
# with breathing and electrode movement (below about 0.5 Hz), the mains add interference at 60 Hz
# in the USA, and muscles add broadband noise. The QRS complex, the P and T waves sit in between.
# `ecglib.preprocess.bandpass` keeps 0.5–40 Hz with a 4th-order Butterworth filter run forwards
# and backwards (`scipy.signal.sosfiltfilt`), which doubles the attenuation and cancels the phase
# shift, so the R-peaks stay exactly where they were. Record 105, one of the noisiest, before and
# after:

# %%
rec105 = load_record("105")
filtered105 = bandpass(rec105.signal, rec105.fs)
fig, axes = plt.subplots(2, 1, figsize=(12, 5), sharex=True)
plot_strip(rec105, start_s=850, duration_s=10, ax=axes[0])
plot_strip(rec105, start_s=850, duration_s=10, signal=filtered105, ax=axes[1])
axes[0].set(title="record 105, raw", xlabel="")
axes[1].set_title("band-passed 0.5–40 Hz")
fig.tight_layout()
plt.show()

# %% [markdown]
# The gain of the filter at each frequency (its *frequency response*, from
# `ecglib.preprocess.bandpass_response`) shows the pass band and how much of the baseline
# wander and of the mains interference is left:

# %%
cfg = BandpassConfig()
freqs, gain = bandpass_response(FS, cfg, n=1 << 16)
fig, ax = plt.subplots(figsize=(8, 3))
ax.semilogx(freqs[1:], 20 * np.log10(gain[1:] + 1e-12))
for f in (cfg.low_hz, cfg.high_hz, 60):
    ax.axvline(f, color="gray", ls="--", lw=0.8)
ax.set(xlabel="frequency (Hz)", ylabel="gain (dB)", ylim=(-80, 5), title="zero-phase band-pass filter")
plt.show()
gain_at = {f: gain[np.argmin(np.abs(freqs - f))] for f in (0.1, cfg.low_hz, 10, cfg.high_hz, 60)}
pd.Series({f"{f:g} Hz": f"{20 * np.log10(g):.1f} dB" for f, g in gain_at.items()}, name="gain").to_frame().T

# %% tags=["remove-cell"]
assert abs(gain_at[cfg.low_hz] - 0.5) < 0.01 and abs(gain_at[cfg.high_hz] - 0.5) < 0.01  # -6 dB at both edges
assert gain_at[10] > 0.999 and gain_at[0.1] < 1e-4 and -36 < 20 * np.log10(gain_at[60]) < -28

# %% [markdown]
# At both edges the gain is −6 dB: −3 dB for each of the two passes. The mains frequency is
# attenuated by about 30 dB, and the slow wander below 0.1 Hz disappears.

# %% [markdown]
# ## Finding the R-peaks
#
# Every beat window is centred on an R-peak. MIT-BIH comes with the cardiologists' beat positions,
# and most papers (and, by default, this book) use them; on a new recording they have to be
# detected. `ecglib.rpeaks.detect_rpeaks` follows the classic algorithm of
# {cite:t}`pan1985realtime`:
#
# 1. band-pass the signal to 5–15 Hz, where the QRS complex has most of its energy and the P and
#    T waves little;
# 2. differentiate it: the QRS complex has the steepest slopes of the beat;
# 3. square it, which makes every value positive and favours the large slopes;
# 4. integrate it over a moving window about as wide as a QRS complex (150 ms), which gives one
#    hump per beat;
# 5. accept a hump as a beat when it rises above an adaptive threshold that sits between a running
#    estimate of the beats' level and of the noise level, at least 200 ms after the previous beat
#    (the refractory period), and is not a T wave; search back with a lower threshold when no beat
#    has been found for too long;
# 6. move each detection to the R-peak of the band-passed signal.
#
# The module's docstring lists where `ecglib` departs from the 1985 paper and why. The steps on
# 5 s of record 119, whose large ventricular beats alternate with normal ones:

# %%
rec119 = load_record("119")
fig = plot_detector_steps(rec119, start_s=1790, duration_s=5)
plt.show()

# %% [markdown]
# ### How good is a detector?
#
# A detection counts as a true positive (TP) when it lies within 150 ms of a reference beat, the
# matching window of ANSI/AAMI EC57 {cite}`aami2012ec57`, each reference beat being matched at most
# once (`ecglib.rpeaks.evaluate_detector`). Unmatched detections are false positives (FP),
# unmatched reference beats false negatives (FN), and a detector is summarised by its
# **sensitivity** Se = TP / (TP + FN), the share of beats found, and its **positive
# predictivity** +P = TP / (TP + FP), the share of detections that are beats. For record 119:

# %%
score = evaluate_detector(detect_rpeaks(rec119.signal, rec119.fs), rec119.beats()[0], rec119.fs)
print(f"TP {score.tp}, FP {score.fp}, FN {score.fn}: Se {score.se:.2%}, +P {score.ppv:.2%}")

# %% [markdown]
# `ecglib.rpeaks.benchmark_detectors` scores our detector and, for comparison, `xqrs`, the detector
# of the `wfdb` package {cite}`wfdbpython`, on every record of this chapter (all 48 in a full
# build), beat by beat against all reference beats. The first and last 0.3 s of each record, where
# a beat may be cut off, are not scored.

# %%
bench = benchmark_detectors(records, progress=False)
pooled = pd.DataFrame({name: res["pooled"] for name, res in bench.items()}).T
pooled = pooled.astype({"tp": int, "fp": int, "fn": int})
pooled[["se", "ppv"]] = (100 * pooled[["se", "ppv"]]).round(2)
pooled.rename(columns={"se": "Se %", "ppv": "+P %", "seconds": "s per record"}).round(3)

# %% [markdown]
# The pooled scores hide where the errors are. Per record, sorted by our detector's errors
# (FP + FN), the five hardest records:

# %%
per_record = pd.concat({name: pd.DataFrame(res["records"]).T[["fp", "fn"]].astype(int) for name, res in bench.items()}, axis=1)
hardest = (per_record[("ours", "fp")] + per_record[("ours", "fn")]).sort_values(ascending=False).index[:5]
per_record.loc[hardest]

# %% tags=["remove-cell"]
ours, xqrs = bench["ours"]["pooled"], bench["xqrs"]["pooled"]
assert ours["tp"] + ours["fn"] == xqrs["tp"] + xqrs["fn"]  # both scored against the same beats
assert ours["se"] > 0.99 and ours["ppv"] > 0.99, ours
assert xqrs["se"] > 0.95 and xqrs["ppv"] > 0.95, xqrs
assert score.se > 0.99 and score.ppv > 0.99
errors = per_record[("ours", "fp")] + per_record[("ours", "fn")]
if not quick_mode():  # the claim of the text: the errors are mostly in a few records
    assert errors.loc[hardest].sum() > errors.sum() / 2, errors.sort_values().tail()

# %% [markdown]
# A detector misses or invents a beat now and then, mostly in a few records (the table above). The windows of
# the next section are therefore cut around the reference positions, so that detection errors do
# not blur the classification results; `BeatConfig(peaks="detector")` cuts them around our
# detector's R-peaks instead, for an end-to-end evaluation.

# %% [markdown]
# ## Beat windows and labels
#
# `ecglib.beats.record_beats` does the rest for one record: it filters the signal, cuts a 2-s
# window centred on every R-peak (720 samples, enough to see the neighbouring beats), z-scores
# each window, gives it the AAMI class of its annotation, and drops the beats of classes F and Q
# and those too close to either end of the record. By default it uses the reference R-peak
# positions from the annotations, as most papers do; `BeatConfig(peaks="detector")` uses our
# detector instead, as one would on a new recording. Its `counts` say what was kept and dropped:

# %%
beats208 = record_beats(load_record("208"))
print("windows:", beats208.windows.shape, beats208.windows.dtype)
pd.Series(beats208.counts).to_frame("record 208").T

# %% tags=["remove-cell"]
c = beats208.counts
assert beats208.windows.shape == (c["kept"], 720) and len(beats208.labels) == c["kept"]
assert c["dropped_F"] == 373 and c["kept"] + c["dropped_edge"] + c["dropped_F"] + c["dropped_Q"] + c["dropped_unmatched"] == c["peaks"]

# %% [markdown]
# Twenty windows of each class from record 208 and 232, overlaid (the R-peak is at 1 s):

# %%
beats232 = record_beats(load_record("232"))
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=True)
t = np.arange(720) / FS
for c, (ax, cls) in enumerate(zip(axes, CLASSES)):
    source = beats232 if cls == "S" else beats208
    ax.plot(t, source.windows[source.labels == c][:20].T, color=CLASS_COLORS[cls], alpha=0.3, lw=0.7)
    ax.set(title=f"{cls} (record {source.record})", xlabel="time (s)")
axes[0].set_ylabel("z-scored amplitude")
plt.show()

# %% [markdown]
# ## RR-interval features
#
# The shape of an S beat is often normal; what betrays it is that it comes early, and that a pause
# follows. `ecglib.beats.rr_features` describes each beat's timing with seven numbers: the
# intervals to the previous and the next R-peak, the mean of the last ten intervals, the same three
# divided by the record's mean interval, so that they read the same whatever the patient's heart
# rate {cite}`dechazal2004automatic`, and how irregular the rhythm is around the beat (the median
# change, as a log ratio, from one interval to the next over the 21 beats centred on it: near 0 in
# a regular rhythm, even around an isolated early beat, and large in atrial fibrillation, where a
# short interval is no sign of an early beat):

# %%
rr = pd.DataFrame(beats232.rr, columns=RR_FEATURES)
rr.insert(0, "class", [CLASSES[i] for i in beats232.labels])
rr.iloc[100:108].round(3)

# %% [markdown]
# Over this chapter's records, the normalised intervals before and after each beat already set
# many abnormal beats apart: premature beats sit on the left (short interval before), and a
# compensatory pause pushes many of them up (long interval after). Many others overlap with the
# normal beats, so timing alone is not enough; the CNN will also see each beat's shape. (The rarer
# classes are drawn on top.)

# %%
all_beats = {r: record_beats(load_record(r)) for r in records}
labels = np.concatenate([b.labels for b in all_beats.values()])
rr_all = np.concatenate([b.rr for b in all_beats.values()])
fig, ax = plt.subplots(figsize=(6, 5))
for c in np.argsort(-np.bincount(labels, minlength=3)):  # most frequent class first
    ax.scatter(*rr_all[labels == c][:, 3:5].T, s=2, alpha=0.3, color=CLASS_COLORS[CLASSES[c]], label=CLASSES[c])
ax.set(xlabel="RR before / mean RR", ylabel="RR after / mean RR", xlim=(0, 2.5), ylim=(0, 2.5))
ax.legend(markerscale=5)
plt.show()

# %% tags=["remove-cell"]
assert rr_all.shape == (len(labels), len(RR_FEATURES)) and np.isfinite(rr_all).all()
median_pre = [np.median(rr_all[labels == c, 3]) for c in range(3)]
assert median_pre[1] < 0.9 < median_pre[0] and median_pre[2] < median_pre[0]  # S and V come early

# %% [markdown]
# ## Patient-wise splits
#
# The beats of one patient resemble each other much more than the beats of different patients.
# If beats are shuffled into training and test sets at random, the test set holds beats of the
# very patients the model was trained on, and the model can score well by recognising patients
# rather than arrhythmias. Published results obtained that way are much better than what the same
# methods achieve on new patients {cite}`dechazal2004automatic,luz2016survey`. Every split in this
# book is therefore made over **subjects**, and `ecglib.splits.assert_no_leakage` checks it.
#
# `ecglib.splits.patient_split` shuffles the subjects (with a seed) and cuts them 70/15/15 into
# training, validation and test sets, redrawing until every set holds at least `min_per_class`
# beats of every class (100 by default: a test set with {glue:text}`no_minimum_s` S beats, which
# seed 0 gives here without the minimum, cannot measure anything about S beats). Quick mode has too
# few patients for that and asks for one beat per class.

# %%
class_counts = {r: tuple(int(n) for n in np.bincount(b.labels, minlength=3)) for r, b in all_beats.items()}
min_per_class = 1 if quick_mode() else 100
split = patient_split(class_counts, seed=0, min_per_class=min_per_class)
assert_no_leakage(split)
pd.DataFrame({name: {"records": len(recs), **dict(zip(CLASSES, np.sum([class_counts[r] for r in recs], axis=0)))}
              for name, recs in split.items()}).T

# %% tags=["remove-cell"]
assert sorted(r for recs in split.values() for r in recs) == sorted(records)
assert all(min(np.sum([class_counts[r] for r in recs], axis=0)) >= min_per_class for recs in split.values())
assert patient_split(class_counts, seed=0, min_per_class=min_per_class) == split  # the same seed gives the same split
no_minimum = patient_split(class_counts, seed=0, min_per_class=0)
no_minimum_s = int(np.sum([class_counts[r][1] for r in no_minimum["test"]]))
glue("no_minimum_s", no_minimum_s, display=False)
if not quick_mode():
    assert no_minimum_s < 20, no_minimum_s  # the text's point: too few S beats to measure anything

# %% [markdown]
# Look at the S column: most S beats come from a handful of patients, so how many of them the
# validation and test sets receive depends heavily on which patients the shuffle puts there. The
# exercise at the end of the chapter measures how much.
#
# Records 201 and 202 come from the same man. The inter-patient protocol of
# {cite:t}`dechazal2004automatic`, which many papers reuse, puts 201 in its training set DS1 and 202
# in its test set DS2. `ecglib.splits.ds1_ds2` removes 202 from DS2 by default; asking for the
# published sets shows what the check does with such a split:

# %%
try:
    assert_no_leakage(ds1_ds2(strict=False))
except LeakageError as err:
    print("LeakageError:", err)

# %% tags=["remove-cell"]
raised = False
try:
    assert_no_leakage(ds1_ds2(strict=False))
except LeakageError:
    raised = True
assert raised, "the published DS1/DS2 split must be rejected"
assert_no_leakage(ds1_ds2())

# %% [markdown]
# A random split of beats is far worse: every subject ends up on both sides. Here is the share of
# test beats whose subject also gave training beats, for a beat-level 70/30 split of this chapter's
# beats:

# %%
beat_subjects = np.concatenate([[subject_id(r)] * len(b.labels) for r, b in all_beats.items()])
is_test = np.random.default_rng(0).random(len(beat_subjects)) < 0.3
seen = np.isin(beat_subjects[is_test], beat_subjects[~is_test])
print(f"{seen.mean():.1%} of the {is_test.sum():,} test beats come from subjects in the training set")

# %% tags=["remove-cell"]
assert seen.mean() == 1.0

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-prep-bandpass
#
# Write `zero_phase_bandpass(signal, fs)`, the band-pass filter of this chapter: a 4th-order
# Butterworth band-pass of 0.5–40 Hz (`scipy.signal.butter` with `output="sos"` and the band
# edges in Hz together with `fs=fs`), run forwards and backwards (`scipy.signal.sosfiltfilt`).
# Check it with `check_bandpass(zero_phase_bandpass)` from `ecglib.exercises`, which runs it on
# one-minute slices of records 105, 208 and 119 (at 250 Hz) and probes it with an impulse.
#
# Then filter 20 s of record 105 forwards only (`scipy.signal.sosfilt`) and compare the R-peak
# positions of the two outputs. By how much does the causal filter move them, and why does that
# matter for the beat windows?
# ```

# %% [markdown]
# ```{solution-start} ex-prep-bandpass
# :class: dropdown
# ```
#
# `butter(..., output="sos")` gives the filter as second-order sections, which stay numerically
# accurate for a cut-off as low as 0.5 Hz at 360 Hz; `sosfiltfilt` runs it forwards, then backwards
# over the result, so the phase shifts of the two passes cancel.

# %% tags=["solution"]
from scipy.signal import butter, sosfilt, sosfiltfilt

from ecglib.exercises import check_bandpass


def zero_phase_bandpass(signal: np.ndarray, fs: float) -> np.ndarray:
    """4th-order Butterworth band-pass of 0.5-40 Hz, run forwards and backwards (zero phase)."""
    sos = butter(4, [0.5, 40.0], btype="bandpass", fs=fs, output="sos")
    return sosfiltfilt(sos, signal)


check_bandpass(zero_phase_bandpass)

# %% [markdown]
# Forwards only, every R-peak comes out later: the filter's delay at the frequencies of the QRS
# complex. Each R-peak is taken as the maximum within ±70 ms of its annotation.

# %% tags=["solution"]
sos = butter(4, [0.5, 40.0], btype="bandpass", fs=FS, output="sos")
segment = rec105.signal[850 * FS : 870 * FS]
ann = rec105.beats()[0] - 850 * FS
ann = ann[(ann >= 25) & (ann < len(segment) - 25)]
r_peak = lambda y: np.array([a - 25 + np.argmax(y[a - 25 : a + 25]) for a in ann])  # noqa: E731
shift_ms = (r_peak(sosfilt(sos, segment)) - r_peak(sosfiltfilt(sos, segment))) / FS * 1000
print(f"forwards only, the R-peaks move by {np.median(shift_ms):.0f} ms (median; {shift_ms.min():.0f} to "
      f"{shift_ms.max():.0f} ms)")

# %% tags=["solution", "remove-cell"]
assert 5 <= np.median(shift_ms) <= 20 and shift_ms.min() > 0
glue("shift_ms", f"{np.median(shift_ms):.0f}", display=False)
glue("shift_samples", f"{np.median(shift_ms) / 1000 * FS:.0f}", display=False)

# %% [markdown]
# A median of {glue:text}`shift_ms` ms is only {glue:text}`shift_samples` samples, but it is not
# the same for every beat or every record: the delay depends on frequency, so a wide ventricular
# QRS is delayed and distorted differently from a narrow normal one. The windows would then no longer be centred on the annotated R-peaks by the
# same amount, and the shape differences between classes would be blurred by the filter itself.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-prep-match
#
# Write `count_matches(detected, reference, fs, tolerance_s=0.150)`, which returns the numbers
# `(tp, fp, fn)` of true positives, false positives and false negatives as defined in this
# chapter: a detection within `tolerance_s` seconds of a reference beat matches it, and each
# reference beat and each detection is used at most once (take the closest pairs first). Check it
# with `check_match_peaks(count_matches)`, then compare it with `evaluate_detector` on record 119.
# ```

# %% [markdown]
# ```{solution-start} ex-prep-match
# :class: dropdown
# ```
#
# List every (detection, reference) pair within the tolerance, sort the pairs by distance, and
# keep a pair when neither member is taken yet. Counting instead every detection that lies near
# *some* beat as a TP counts a beat twice when two detections fall near it, and the count of
# TP + FN then exceeds the number of beats.

# %% tags=["solution"]
from ecglib.exercises import check_match_peaks


def count_matches(detected, reference, fs, tolerance_s=0.150):
    """(tp, fp, fn) of detections against reference beats, matched one to one within the tolerance."""
    tol = tolerance_s * fs
    det, ref = np.sort(np.asarray(detected, float)), np.sort(np.asarray(reference, float))
    pairs = [(abs(d - ref[j]), i, j) for i, d in enumerate(det)
             for j in range(np.searchsorted(ref, d - tol), np.searchsorted(ref, d + tol, side="right"))]
    used_det, used_ref = set(), set()
    for _, i, j in sorted(pairs):
        if i not in used_det and j not in used_ref:
            used_det.add(i)
            used_ref.add(j)
    tp = len(used_det)
    return tp, len(det) - tp, len(ref) - tp


check_match_peaks(count_matches)
print("record 119:", count_matches(detect_rpeaks(rec119.signal, rec119.fs), rec119.beats()[0], rec119.fs),
      "evaluate_detector:", (score.tp, score.fp, score.fn))

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-prep-subjects
#
# Write `subject_split(records, test_fraction, seed)` returning two lists of record names,
# `(train, test)`: shuffle the *subjects* of `records` (`ecglib.data.subject_id`) with
# `np.random.default_rng(seed)`, put `round(test_fraction * n_subjects)` of them in the test set
# and give every record to its subject's side. Check it with
# `check_patient_split(subject_split)`. What goes wrong if you shuffle the records instead?
# ```

# %% [markdown]
# ```{solution-start} ex-prep-subjects
# :class: dropdown
# ```
#
# Shuffling records puts 201 and 202, one man, on different sides in about a third to two fifths
# of the draws (with a test fraction of 0.2 to 0.3): a leaky split, which `assert_no_leakage`
# rejects. The check also rejects a split that shuffles the caller's list in place, or that is
# not reproducible for a given seed.

# %% tags=["solution"]
from ecglib.exercises import check_patient_split


def subject_split(records, test_fraction, seed):
    """Split records into (train, test) by subject: test_fraction of the subjects, shuffled with seed."""
    subjects = sorted({subject_id(r) for r in records})
    order = np.random.default_rng(seed).permutation(len(subjects))
    test_subjects = {subjects[i] for i in order[: round(test_fraction * len(subjects))]}
    test = [r for r in records if subject_id(r) in test_subjects]
    return [r for r in records if subject_id(r) not in test_subjects], test


check_patient_split(subject_split)

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-prep-split
#
# Draw `patient_split(class_counts, seed=s)` for `s` in 0..9 and print how many S beats land in
# the test set each time. How much does it vary, and what does that mean for the test scores of
# chapter 5?
# ```

# %% [markdown]
# ```{solution-start} ex-prep-split
# :class: dropdown
# ```
#
# Over these ten seeds the test set receives between {glue:text}`split_s_min` and
# {glue:text}`split_s_max` S beats; in a full build, the largest counts are the draws that put
# record 232 in the test set. A test set is then
# dominated either by one patient's S beats or by a few hundred beats of a few patients: S
# sensitivity and positive predictivity measured on one split say as much about the split as about
# the model. Results are worth reporting over several splits, or over subject-wise folds
# (`ecglib.splits.subject_kfold`), rather than one.

# %% tags=["solution"]
tests = [patient_split(class_counts, seed=s, min_per_class=min_per_class)["test"] for s in range(10)]
n_s_test = [sum(class_counts[r][1] for r in test) for test in tests]
for s, (test, n_s) in enumerate(zip(tests, n_s_test)):
    print(f"seed {s}: {n_s:5d} S beats in the test set{' (with record 232)' if '232' in test else ''}")

# %% tags=["solution", "remove-cell"]
glue("split_s_min", min(n_s_test), display=False)
glue("split_s_max", max(n_s_test), display=False)
if not quick_mode():  # the claims of the text
    assert min(n_s_test) < 200 and max(n_s_test) > 1500, n_s_test
    with_232 = [n for n, test in zip(n_s_test, tests) if "232" in test]
    assert with_232 and min(with_232) > max(n for n, test in zip(n_s_test, tests) if "232" not in test), n_s_test

# %% [markdown]
# ```{solution-end}
# ```
