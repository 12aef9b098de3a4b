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
# # A CNN
#
# This chapter puts two convolutional neural networks side by side: the CNN of the original work
# this book grew out of, which reads a 128 × 128 colour picture of each spectrogram, and ours, which
# reads the spectrogram at its native resolution together with the beat's RR intervals. It shows
# what each network looks like, what data each one sees, and how long each takes to train. Then it
# trains ours, three times over, on the patient-wise split of chapter 2, and averages the three;
# chapters 5 and 6 evaluate and explain that very model.

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

# %% tags=["remove-cell"]
# TensorFlow prints start-up messages (oneDNN, no GPU found) that would clutter the page.
from ecglib.book import quiet_tensorflow

quiet_tensorflow()

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecglib.beats import RR_FEATURES
from ecglib.book import glue, model_batch, quick_mode, recompute_images, spectrogram_extent
from ecglib.data import CLASSES, RECORDS
from ecglib.dataset import build_dataset
from ecglib.evaluate import evaluate_predictions, plot_history
from ecglib.models import build_model, ensemble_members, predict_proba
from ecglib.protocols import EFFICIENT, QUICK_RECORDS, SEED, load_or_train
from ecglib.splits import assert_no_leakage
from ecglib.train import stratified_subsample, train_model

quick = quick_mode()
records = list(QUICK_RECORDS if quick else RECORDS)
print(f"{'quick' if quick else 'full'} mode: {len(records)} records")

# %% [markdown]
# From this chapter on, quick mode uses the twelve records of `ecglib.protocols.QUICK_RECORDS`
# rather than the five of the earlier chapters: a training, a validation and a test set need more
# patients than five.
#
# `ecglib.protocols.EFFICIENT` bundles everything that defines our model's run: the beat and
# spectrogram settings of its data and its training settings (`SEED` does the same for the
# original). `build_dataset` runs the pipeline of chapters 2 and 3 with the data settings:

# %%
data = build_dataset(records, EFFICIENT.beat_config, EFFICIENT.spec_config, progress=False)
print(f"{len(data):,} beats; images {data.images.shape[1:]} {data.images.dtype}; "
      f"{data.rr.shape[1]} RR features per beat")

# %% [markdown]
# ## The original CNN
#
# The original network (`ecglib.models.seed_cnn`) is a classic small image classifier. Its input
# is the 128 × 128 spectrogram image of chapter 3 coloured with the viridis colour map, as if read
# back from a PNG file: three channels. Three blocks of convolution (3 × 3 kernels), ReLU, batch
# normalisation and 2 × 2 max-pooling extract features; `Flatten` lays the last feature maps out as
# one long vector, a dense layer with dropout combines them, and a softmax gives the probabilities
# of N, S and V.

# %%
seed_model = build_model(SEED.model_name)
seed_model.summary()

# %%
n_seed = seed_model.count_params()
n_dense = seed_model.get_layer("dense").count_params()
n_flat = seed_model.get_layer("flatten").output.shape[-1]
print(f"{n_seed:,} parameters; the dense layer after Flatten ({n_flat:,} inputs) holds {n_dense:,} "
      f"of them ({n_dense / n_seed:.1%})")

# %% tags=["remove-cell"]
assert seed_model.input_shape == (None, 128, 128, 3) and seed_model.output_shape == (None, len(CLASSES))
assert n_seed > 3_000_000 and n_dense / n_seed > 0.9

# %% [markdown]
# Almost every parameter sits in that one dense layer: it has one weight for every position of
# every feature map, so it learns *where* in the image each feature occurs, and its size grows with
# the area of the image.
#
# ## Our CNN
#
# Our network (`ecglib.models.efficient_cnn`) changes four things, and `EFFICIENT` averages three
# such networks.
#
# Native resolution
# : Chapter 3 showed that the 128 × 128 image is the STFT grid stretched by interpolation: every
#   pixel beyond the grid's own is made up. Our network reads the grid itself, a single channel of
#   0–255 values, so each convolution has far fewer positions to visit and nothing is invented.
#   `EFFICIENT` also takes a hop of 16 samples (44 ms) instead of chapter 3's 8, which halves the
#   columns. Both grids were tried against others in the repository's benchmark runs (variants
#   `fft64` and `hop8` of `benchmarks/variants.py`; `results/README.md` gives the numbers, none of
#   which this book recomputes): a shorter STFT window of 64 samples (half the rows, each 5.6 Hz
#   wide) was no better on the validation patients, and twice the columns (hop 8) scored higher
#   there on some machines and protocols but not on others, while it doubles the training time.
#
# Global average pooling
# : Instead of `Flatten` and a large dense layer, each feature map of the last convolution is
#   averaged over the whole image {cite}`lin2014network`. The classifier sees *whether* a pattern is
#   present rather than exactly where, and the number of parameters no longer depends on the size
#   of the image.
#
# An RR branch
# : An S beat usually looks like an N beat; what gives it away is that it comes early (chapter 2).
#   Of the seven RR features it uses four. Three are divided by the recording's mean RR: "40 %
#   earlier than this patient's usual beat" means the same in every patient, while 0.6 s does not.
#   The fourth is the rhythm's irregularity around the beat, high in atrial fibrillation and
#   flutter, where an early beat is no sign of a premature one. They go through a logarithm
#   (ratios become differences), batch normalisation and two small dense layers, and are
#   concatenated with the pooled image features before the last layers
#   {cite}`dechazal2004automatic`. Half of the pooled image features are dropped at random in
#   each training step (`image_dropout=0.5`), so the network cannot lean on the shapes of its
#   training patients alone. The irregularity feature was added last: in the repository's
#   benchmark runs (variant `irreg` of `benchmarks/variants.py`, `results/README.md`) it raised
#   the validation patients' macro-F1 on average under each of chapter 5's three protocols, over
#   runs on several splits of the patients: higher in 26 runs of 39, lower in 11. On the test
#   patients it traded some ventricular recall for supraventricular scores.
#
# A reference beat
# : What counts as an abnormal shape differs from patient to patient: a bundle branch block makes
#   every beat wide. Next to each beat's spectrogram the network gets its recording's typical
#   beat, and the convolutions see two channels: the beat, and the beat minus that typical beat.
#   The typical beat is a median spectrogram computed from the recording alone, without labels
#   (`ecglib.models.record_reference`), over the beats that follow the longest fifth of its RR
#   intervals (`reference_rr_quantile=0.8`). A beat after a long pause is almost always a normal
#   one: the beat after a compensatory pause, or a beat outside a run of early beats. A median
#   over all beats would do in most recordings, but not in the few where early beats are the
#   majority: in record 232 most beats are atrial premature beats, so its all-beats median *is*
#   one, and the network would see them as "typical".
#   A recording's typical beat belongs to its usual rhythm; where the rhythm changes for a few
#   minutes (a run of tachycardia, an episode of atrial flutter), every beat of the episode
#   differs from it. `ecglib.models.local_reference` builds the same median over the minutes
#   around each beat instead, and `efficient_cnn(local_reference_s=150)` takes it as a second
#   reference input. `EFFICIENT` leaves it out: in the repository's benchmark runs it was no better
#   on the validation patients (variant `localref` of `benchmarks/variants.py`,
#   `results/README.md`).
#
# Three networks, averaged
# : `EFFICIENT` trains the network three times, with training seeds 0, 1 and 2
#   (`ensemble_size=3`), and averages the class probabilities of the three
#   (`ecglib.models.ensemble_model`). A single network's supraventricular scores move a lot with its
#   training seed (chapter 5 shows how much), because a handful of patients hold most S beats and
#   a network finds or misses them together; the three networks do not all miss the same ones. In
#   the repository's benchmark runs (`benchmarks/ensembles.py`, `results/README.md`) over all three
#   protocols of chapter 5 and several splits, 24 of 26 ensembles of three scored a higher
#   validation macro-F1 than the mean of their own three networks, and none lower by more than
#   0.002. It costs three trainings.
#
# One network, built with the settings of `EFFICIENT` (the same call `ecglib.train.train_model`
# makes for each of the three):

# %%
ours = build_model(EFFICIENT.model_name, image_shape=data.images.shape[1:], n_rr=data.rr.shape[1],
                   learning_rate=EFFICIENT.train.learning_rate, **EFFICIENT.train.model_kwargs)
ours.summary()

# %%
n_ours = ours.count_params()
n_rr = sum(layer.count_params() for layer in ours.layers if layer.name.startswith("rr_"))
print(f"{n_ours:,} parameters ({n_seed / n_ours:.0f} times fewer than the original's), "
      f"{n_rr:,} of them in the RR branch; {EFFICIENT.train.ensemble_size} such networks: "
      f"{EFFICIENT.train.ensemble_size * n_ours:,}")
print(f"input values per beat: {int(np.prod(data.images.shape[1:])):,} image pixels + {data.rr.shape[1]} RR "
      f"features, against 128 × 128 × 3 = {128 * 128 * 3:,} for the original")

# %% tags=["remove-cell"]
assert n_ours < n_seed / 20 and 0 < n_rr < n_ours
assert ours.get_layer("gap") is not None and ours.get_layer("last_conv") is not None

# %% [markdown]
# ## What each network sees
#
# `ecglib.models.model_inputs` turns a dataset into the batches a network takes (`model_batch` in
# `ecglib.book` returns one such batch for chosen beats). For one beat of each class, the original
# gets a float array of RGB images, ours a dictionary of arrays: the uint8 spectrogram and the RR
# features. `ecglib.book.recompute_images` makes the original's 128 × 128 images for just these
# beats.

# %%
idx = np.array([np.flatnonzero(data.labels == c)[0] for c in range(len(CLASSES))])
seed_x = model_batch(seed_model, SEED.model_name, recompute_images(data.take(idx), SEED.spec_config, SEED.beat_config))
our_x = model_batch(ours, EFFICIENT.model_name, data, idx)
print(f"original: {seed_x.shape} {seed_x.dtype}")
for key, value in our_x.items():
    print(f"ours, {key!r}: {value.shape} {value.dtype}")

# %% tags=["remove-cell"]
assert seed_x.shape == (len(CLASSES), 128, 128, 3) and seed_x.min() >= 0 and seed_x.max() <= 255
assert our_x["image"].shape == (len(CLASSES), *data.images.shape[1:]) and our_x["image"].dtype == np.uint8
assert np.array_equal(our_x["rr"], data.rr[idx])

# %% [markdown]
# The same three beats as each network sees them, on real time and frequency axes:

# %%
fig, axes = plt.subplots(2, len(CLASSES), figsize=(12, 5.5), sharex=True, sharey=True)
for c, cls in enumerate(CLASSES):
    axes[0, c].imshow(seed_x[c] / 255, origin="lower", aspect="auto", extent=spectrogram_extent(SEED.spec_config, SEED.beat_config))
    axes[1, c].imshow(our_x["image"][c], origin="lower", aspect="auto", cmap="gray",
                      extent=spectrogram_extent(EFFICIENT.spec_config, EFFICIENT.beat_config))
    axes[0, c].set_title(f"{cls}: original, {seed_x.shape[1]} × {seed_x.shape[2]} RGB", fontsize=10)
    axes[1, c].set_title(f"{cls}: ours, {our_x['image'].shape[1]} × {our_x['image'].shape[2]}", fontsize=10)
for ax in axes[1]:
    ax.set_xlabel("time from R-peak (s)")
for ax in axes[:, 0]:
    ax.set_ylabel("frequency (Hz)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The RR features of the same beats (chapter 2 defines them):

# %%
pd.DataFrame(our_x["rr"], columns=RR_FEATURES, index=list(CLASSES)).round(3)

# %% [markdown]
# ## Training
#
# Our network is trained on protocol (a), the patient-wise split of chapter 2: the patients are
# shuffled with seed 0 and cut 70/15/15 into training, validation and test sets, each holding at
# least 100 beats of every class (one in quick mode). The settings:

# %%
pd.Series({k: str(v) for k, v in EFFICIENT.train.to_dict().items()}, name="EFFICIENT.train").to_frame()

# %% [markdown]
# Two of them deal with the class imbalance of chapter 1. `class_weighting="sqrt"` multiplies the
# loss of each beat by the square root of $n / (3 n_c)$, where $n_c$ is the number of training beats
# of its class: rare classes weigh more, but less than with the full ratio (`"balanced"`, which
# makes every class weigh the same in total; it scored lower on the validation patients in the
# repository's benchmark runs, `results/README.md`). `majority_fraction` draws a fresh random part of the N beats
# for every epoch (the N weight is divided by it, so the expected loss is unchanged): epochs are
# shorter and every N beat is still seen over a few epochs.
#
# `ema` keeps an exponential moving average of the weights during training (each step the average
# moves 1 % towards the current weights); the averaged weights are the ones validated and kept.
# They change more smoothly than the raw weights, which makes the choice of epoch less of a
# lottery. After every epoch the validation patients are scored, and training stops when their
# macro-F1 (the mean of the F1 of the three classes, so S beats count as much as N beats) has not
# improved for `patience` epochs, or after `epochs` epochs at the most (a cap on the training
# time); the weights of the best epoch are kept. The test patients are never looked at.
#
# `ensemble_size=3` repeats all of this three times, with training seeds 0, 1 and 2, and
# `ecglib.models.ensemble_model` joins the three networks into one Keras model that averages their
# probabilities. `ecglib.protocols.load_or_train` does it once and saves the model, with its splits,
# the three training histories and the test metrics, in ecglib's cache. Chapters 5 and 6 call it with the same
# arguments and get the same model back without training it again (so does
# `python -m ecglib predict`). In quick mode training stops after two epochs: its numbers check that
# the code runs, they are not results.

# %%
model, meta = load_or_train("seed", EFFICIENT, data, quick=quick)
split = meta["splits"]
m = meta["metrics"]
# One history, epoch count and best epoch per network (a single network's would not be lists).
histories = meta["history"] if isinstance(meta["history"], list) else [meta["history"]]
epochs, best = np.atleast_1d(m["epochs_run"]), np.atleast_1d(m["best_epoch"])
print(f"{len(histories)} networks: {', '.join(map(str, epochs))} epochs, best epochs {', '.join(map(str, best))}; "
      f"{m['seconds']:.0f} s of training in all on {m['n_train']:,} beats (validation: {m['n_val']:,} beats)")

# %% [markdown]
# The patients and beats of each set:

# %%
assert_no_leakage(split)
pd.DataFrame({name: {"records": len(recs), **dict(zip(CLASSES, np.bincount(data.subset(recs).labels, minlength=3)))}
              for name, recs in split.items()}).T

# %% tags=["remove-cell"]
assert sorted(r for recs in split.values() for r in recs) == sorted(records)
assert len(histories) == len(epochs) == len(best) == EFFICIENT.train.ensemble_size == len(ensemble_members(model))
assert model.count_params() == len(histories) * n_ours
assert all(net.count_params() == n_ours for net in ensemble_members(model))
assert m["n_train"] == len(data.subset(split["train"])) and m["n_val"] == len(data.subset(split["val"]))
for h, e, b in zip(histories, epochs, best):
    assert len(h["loss"]) == len(h["epoch_train_s"]) == e and 1 <= b <= e
    assert h["val_macro_f1"][b - 1] == max(h["val_macro_f1"])
    if not quick:
        assert e >= 3 and max(h["val_macro_f1"]) > 0.6, (e, h["val_macro_f1"])

# %% [markdown]
# ## Training curves
#
# `ecglib.evaluate.plot_history` draws the histories stored with the model, one row per network;
# the dotted line marks the epoch whose weights were kept:

# %%
fig = plot_history(histories, title="efficient_cnn, protocol (a)")
for i, ax in enumerate(fig.axes):
    ax.axvline(best[i // 2], color="grey", ls=":")
plt.show()

# %% tags=["remove-cell"]
if not quick:  # the claims of the text below
    for h in histories:
        loss = np.array(h["loss"])
        assert np.mean(np.diff(loss) < 0) >= 0.8 and loss[-1] < loss[0] / 2, loss
    assert min(np.diff(h["val_macro_f1"]).min() for h in histories) < -0.03, histories

# %% [markdown]
# In each network the training loss falls steadily, while the validation scores are much noisier:
# the validation set is a handful of patients, and how one patient with many S beats is classified
# can swing the macro-F1 from one epoch to the next. This is why the epoch is chosen on validation
# patients and the model is judged only on the test patients, in chapter 5.
#
# The validation patients also score the average of the three networks, which is what chapters 5
# and 6 use (`predict_proba` feeds the ensemble as it would one network):

# %%
val = data.subset(split["val"])
val_f1 = {f"network {i + 1} (seed {i})": max(h["val_macro_f1"]) for i, h in enumerate(histories)}
val_f1["the three averaged"] = evaluate_predictions(val.labels, predict_proba(model, EFFICIENT.model_name, val), CLASSES)["macro_f1"]
pd.Series(val_f1, name="validation macro-F1").round(3).to_frame()

# %% [markdown]
# Each network's score is that of its best epoch, the one chosen on these same patients, so the
# comparison favours the single networks a little.
#
# ## Time per epoch
#
# How much cheaper is our network to train? Training the original for even one epoch on the full
# training set would take a long time, so we time it on a class-stratified subsample of the
# training beats (the subsample `TrainConfig(max_train_beats=...)` draws, taken here first with
# `ecglib.train.stratified_subsample` so that only those beats need 128 × 128 images) and
# **extrapolate** per beat to the whole training set. It runs two epochs on the subsample and
# times the second: the first also pays for Keras' one-off set-up, which would weigh heavily on so
# few beats. The validation pass is not counted in either network's epoch time.

# %%
train = data.subset(split["train"])
n_sub = 256 if quick else 1000
seed_train = recompute_images(train.take(stratified_subsample(train.labels, n_sub, seed=0)), SEED.spec_config, SEED.beat_config)
seed_val = recompute_images(val.take(stratified_subsample(val.labels, 256, seed=0)), SEED.spec_config, SEED.beat_config)
seed_cfg = dataclasses.replace(SEED.train, epochs=2, max_train_beats=n_sub, verbose=False)
seed_run = train_model(SEED.model_name, seed_train, seed_val, seed_cfg)

# %%
counts = np.bincount(train.labels, minlength=len(CLASSES))
our_beats = int(round(EFFICIENT.train.majority_fraction * counts[0])) + int(counts[1:].sum())
seed_per_beat = seed_run.history["epoch_train_s"][-1] / len(seed_train)
our_epoch = float(np.median(np.concatenate([h["epoch_train_s"] for h in histories])))
timing = pd.DataFrame({
    "original (seed_cnn)": [f"{len(train):,}", f"{seed_per_beat * len(train):.0f}", f"{1000 * seed_per_beat:.2f}",
                            f"extrapolated from {len(seed_train):,} beats"],
    "ours (efficient_cnn)": [f"{our_beats:,}", f"{our_epoch:.1f}", f"{1000 * our_epoch / our_beats:.2f}",
                             f"measured, median of {epochs.sum()} epochs"],
}, index=["beats per epoch", "seconds per epoch", "ms per beat", "how"]).T
timing

# %%
print(f"Our whole training run ({len(histories)} networks, {epochs.sum()} epochs, validation passes included) "
      f"took {m['seconds']:.0f} s; "
      f"one epoch of the original over the {len(train):,} training beats would take about "
      f"{seed_per_beat * len(train):.0f} s (extrapolated), {seed_per_beat / (our_epoch / our_beats):.0f} times "
      f"more per beat than ours.")

# %% tags=["remove-cell"]
assert seed_run.epochs_run == 2 and len(seed_train) == n_sub and seed_per_beat > 0
assert seed_per_beat > 5 * our_epoch / our_beats  # the original is much slower per beat

# %% [markdown]
# Our epochs are also shorter because they see only part of the N beats. The extrapolation is
# rough (both numbers depend on the machine and on what else runs on it), but the order of magnitude is robust: the original's cost comes from
# convolving 128 × 128 × 3 inputs with wide layers, ours from a small grid and narrow layers.
#
# ## Exercises
#
# ```{exercise}
# :label: ex-cnn-class-weights
#
# Write `balanced_class_weights(labels, n_classes=3)`: the `"balanced"` class weights (the training
# above uses their square root), a dict `{class index: n / (n_classes * n_c)}` for a class with `n_c` of the `n` labels (weight 0 for
# a class that does not occur). Check it with `check_class_weights(balanced_class_weights)` from
# `ecglib.exercises`. Then compute the weights of this chapter's training beats: how many N beats
# is one S beat worth in the loss?
# ```

# %% [markdown]
# ```{solution-start} ex-cnn-class-weights
# :class: dropdown
# ```
#
# `np.bincount` counts each class (with `minlength`, so that an absent class still gets a count of
# 0); the weights make every class's total weight equal, $n / n_{\text{classes}}$.

# %% tags=["solution"]
from ecglib.exercises import check_class_weights


def balanced_class_weights(labels: np.ndarray, n_classes: int = 3) -> dict[int, float]:
    """{class: n / (n_classes * n_c)}, 0 for a class absent from labels."""
    counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(float)
    weights = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    return {c: float(w) for c, w in enumerate(weights)}


check_class_weights(balanced_class_weights)
weights = balanced_class_weights(train.labels)
print({CLASSES[c]: round(w, 2) for c, w in weights.items()}, f"→ one S beat weighs as much as {weights[1] / weights[0]:.0f} N beats")

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-cnn-params
#
# Build `seed_cnn` for 64 × 64 × 3 and 256 × 256 × 3 inputs and `efficient_cnn` for spectrograms
# twice as wide as ours (a hop half as long). How does each parameter count change, and why?
# ```

# %% [markdown]
# ```{solution-start} ex-cnn-params
# :class: dropdown
# ```
#
# The original's dense layer has one weight per value of the flattened feature maps, whose area
# grows with the image's: about four times the parameters for twice the side. Ours pools each
# feature map to one number, so its parameter count does not depend on the image size at all.

# %% tags=["solution"]
sizes = {side: build_model("seed_cnn", image_shape=(side, side, 3)).count_params() for side in (64, 128, 256)}
height, width = data.images.shape[1:]
ours_wide = build_model("efficient_cnn", image_shape=(height, 2 * width), n_rr=data.rr.shape[1], **EFFICIENT.train.model_kwargs)
print("seed_cnn:", {f"{s}×{s}": f"{n:,}" for s, n in sizes.items()})
print(f"efficient_cnn: {n_ours:,} for {height}×{width}, {ours_wide.count_params():,} for {height}×{2 * width}")
assert sizes[64] < sizes[128] < sizes[256] and 3 < sizes[256] / sizes[128] < 5
assert ours_wide.count_params() == n_ours

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-cnn-rr
#
# Our network sees the RR features, the original does not. Compare the median of each of
# `RR_FEATURES` between the validation beats of class N and of class S. Which feature separates
# them best, and why can the spectrogram alone not show it?
# ```

# %% [markdown]
# ```{solution-start} ex-cnn-rr
# :class: dropdown
# ```
#
# The features that relate the RR interval before the beat to the patient's usual rhythm separate
# S from N best: S beats come early, so that ratio is below 1 (its median is
# {glue:text}`s_pre_rr_norm` for the validation S beats here, {glue:text}`n_pre_rr_norm` for the N
# beats). The 2-s window shows the neighbouring beats, but only relative to this beat and without
# the patient's usual rhythm, which the RR features bring in.

# %% tags=["solution"]
rr = pd.DataFrame(val.rr, columns=RR_FEATURES)
medians = pd.DataFrame({"N": rr[val.labels == 0].median(), "S": rr[val.labels == 1].median()})
gap = (medians["N"] - medians["S"]).abs() / rr.std()
print(medians.assign(**{"gap / sd": gap}).round(3))
print("largest standardised gap:", gap.idxmax())
assert gap.max() > 0.5
glue("s_pre_rr_norm", f"{medians['S']['pre_rr_norm']:.2f}", display=False)
glue("n_pre_rr_norm", f"{medians['N']['pre_rr_norm']:.2f}", display=False)
if not quick:  # the claims of the text
    assert gap.idxmax() == "pre_rr_norm" and medians["S"]["pre_rr_norm"] < medians["N"]["pre_rr_norm"] - 0.1, medians

# %% [markdown]
# ```{solution-end}
# ```
