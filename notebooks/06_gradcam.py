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
# # Grad-CAM
#
# A classifier that scores well may still be right for the wrong reasons: a noise pattern typical
# of the patients who have many V beats, say, rather than the shape of the beats. Gradient-weighted
# class activation mapping (Grad-CAM) {cite}`selvaraju2017gradcam` shows which parts of an input
# raised the probability of a class. This chapter applies it to the model trained in chapter 4,
# beat by beat and averaged over each class, and then checks, as
# {cite:t}`adebayo2018sanity` recommend, that the maps really depend on what the model learned.

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
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecglib.book import (CLASS_COLORS, gradcam_maps, quick_mode, randomized_model, rank_correlation, show_gradcam,
                         spectrogram_extent)
from ecglib.data import CLASSES, RECORDS
from ecglib.dataset import build_dataset
from ecglib.models import ensemble_members, last_conv_layer_name, predict_proba
from ecglib.protocols import EFFICIENT, QUICK_RECORDS, load_or_train

quick = quick_mode()
records = list(QUICK_RECORDS if quick else RECORDS)
data = build_dataset(records, EFFICIENT.beat_config, EFFICIENT.spec_config, progress=False)
model, meta = load_or_train("seed", EFFICIENT, data, quick=quick)
test = data.subset(meta["splits"]["test"])
proba = predict_proba(model, EFFICIENT.model_name, test)
pred = proba.argmax(axis=1)
print(f"{'quick' if quick else 'full'} mode: {len(test):,} beats of the test patients {', '.join(meta['splits']['test'])}")

# %% [markdown]
# ## How Grad-CAM works
#
# Let $A^k$ be the $k$-th feature map of a convolutional layer and $y^c$ the network's output for
# class $c$. Grad-CAM weighs each feature map by how much the output grows with it, averaged over
# the map's $Z$ positions, and keeps the positive part of the weighted sum:
#
# $$
# \alpha_k^c = \frac{1}{Z} \sum_{i,j} \frac{\partial y^c}{\partial A^k_{ij}}, \qquad
# L^c = \operatorname{ReLU}\Big(\sum_k \alpha_k^c A^k\Big).
# $$
#
# $L^c$ has the resolution of the layer; `ecglib.gradcam.grad_cam` scales each map to a maximum of
# 1 and resizes it to the spectrogram. It uses the last convolution, whose features are the most
# class-specific but also the coarsest. Our model averages three networks (chapter 4), each with
# its own last convolution: `grad_cam` computes the map of each network for the class the model
# predicts and averages the three maps.

# %%
networks = ensemble_members(model)
layer = last_conv_layer_name(networks[0])
print(f"{len(networks)} networks; layer {layer!r}: feature maps {tuple(networks[0].get_layer(layer).output.shape[1:])} "
      f"for spectrograms {test.images.shape[1:]}")

# %% [markdown]
# Grad-CAM explains the image branch only: the RR features enter the network after the last
# convolution, so their contribution is not in the map.
#
# ## One beat of each class
#
# A test beat of each class, drawn at random among those the model classified correctly, with
# the Grad-CAM map of its class over it (`ecglib.book.gradcam_maps` computes the maps through the
# model's own inputs, `show_gradcam` draws them on time and frequency axes):

# %%
rng = np.random.default_rng(0)
picks = []
for c in range(len(CLASSES)):
    of_class = np.flatnonzero(test.labels == c)
    correct = of_class[pred[of_class] == c]
    picks.append(rng.choice(correct if len(correct) else of_class))  # a wrong one if none is right
picks = np.array(picks)
cams = gradcam_maps(model, EFFICIENT.model_name, test, picks, class_index=np.arange(len(CLASSES)))
extent = spectrogram_extent(EFFICIENT.spec_config, EFFICIENT.beat_config)
fig, axes = plt.subplots(2, len(CLASSES), figsize=(12, 5.5), sharex=True, sharey=True)
for c, (i, cls) in enumerate(zip(picks, CLASSES)):
    axes[0, c].imshow(test.images[i], origin="lower", aspect="auto", cmap="gray", extent=extent)
    axes[0, c].set(title=f"true {cls}, predicted {CLASSES[pred[i]]} (p = {proba[i, pred[i]]:.2f})", ylabel="frequency (Hz)")
    show_gradcam(test.images[i], cams[c], EFFICIENT.spec_config, EFFICIENT.beat_config, ax=axes[1, c], title=f"Grad-CAM for {cls}")
for ax in axes.ravel():
    ax.label_outer()
fig.tight_layout()
plt.show()

# %% tags=["remove-cell"]
assert cams.shape == (len(CLASSES), *test.images.shape[1:]) and cams.dtype == np.float32
assert np.isfinite(cams).all() and cams.min() >= 0 and cams.max() <= 1
assert all(m.max() > 0.5 or m.max() == 0 for m in cams)  # scaled to 1 before the resize

# %% [markdown]
# Red marks the regions that raised the probability of the class most, blue those that did not
# raise it. Single maps are noisy and coarse (each cell of the last feature map covers many pixels),
# so the next section averages many beats.
#
# ## What the model looks at, class by class
#
# For each class, the maps of up to a few hundred correctly classified test beats, averaged, next to
# the average spectrogram of the same beats:

# %%
n_per_class = 100 if quick else 300
sel = {}
for c in range(len(CLASSES)):
    of_class = np.flatnonzero(test.labels == c)
    pool = of_class[pred[of_class] == c] if (pred[of_class] == c).any() else of_class
    sel[c] = np.sort(rng.choice(pool, size=min(n_per_class, len(pool)), replace=False))
class_cams = {c: gradcam_maps(model, EFFICIENT.model_name, test, idx, class_index=c) for c, idx in sel.items()}
fig, axes = plt.subplots(2, len(CLASSES), figsize=(12, 5.5), sharex=True, sharey=True)
for c, cls in enumerate(CLASSES):
    axes[0, c].imshow(test.images[sel[c]].mean(axis=0), origin="lower", aspect="auto", cmap="gray", extent=extent)
    axes[0, c].set(title=f"mean {cls} spectrogram ({len(sel[c])} beats)", ylabel="frequency (Hz)")
    axes[1, c].imshow(class_cams[c].mean(axis=0), origin="lower", aspect="auto", cmap="jet", vmin=0, extent=extent)
    axes[1, c].set(title=f"mean Grad-CAM for {cls}", xlabel="time from R-peak (s)", ylabel="frequency (Hz)")
for ax in axes.ravel():
    ax.label_outer()
fig.tight_layout()
plt.show()

# %% tags=["remove-cell"]
for c, maps in class_cams.items():
    assert maps.shape == (len(sel[c]), *test.images.shape[1:]) and np.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() > 0  # non-negative, scaled, not all empty
    assert np.isin(sel[c], np.flatnonzero(test.labels == c)).all()

# %% [markdown]
# The same averages as profiles: over frequency (where in time the model looks) and over time
# (at which frequencies):

# %%
height, width = test.images.shape[1:]
times = extent[0] + (np.arange(width) + 0.5) * (extent[1] - extent[0]) / width  # pixel centres: the
freqs = extent[2] + (np.arange(height) + 0.5) * (extent[3] - extent[2]) / height  # extent is their edges
fig, (ax_t, ax_f) = plt.subplots(1, 2, figsize=(11, 3.2))
for c, cls in enumerate(CLASSES):
    ax_t.plot(times, class_cams[c].mean(axis=(0, 1)), color=CLASS_COLORS[cls], label=cls)
    ax_f.plot(freqs, class_cams[c].mean(axis=(0, 2)), color=CLASS_COLORS[cls], label=cls)
ax_t.set(xlabel="time from R-peak (s)", ylabel="mean Grad-CAM", title="where in time")
ax_f.set(xlabel="frequency (Hz)", ylabel="mean Grad-CAM", title="at which frequencies")
ax_t.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Two numbers per class sum this up: the share of the map's mass within 0.15 s of the R-peak (the
# beat's own QRS complex; the rest of the window holds the neighbouring beats) and the share below
# 15 Hz:

# %%
near = np.abs(times) <= 0.15
low = freqs < 15
focus = pd.DataFrame({cls: {"share within ±0.15 s of the R-peak": class_cams[c][:, :, near].sum() / class_cams[c].sum(),
                            "share below 15 Hz": class_cams[c][:, low, :].sum() / class_cams[c].sum(),
                            "share of the window within ±0.15 s": near.mean()} for c, cls in enumerate(CLASSES)}).T
focus.round(3)

# %% [markdown]
# Compare each class's first column with the last, the share a map spread evenly over the window
# would have. Where the map of a class concentrates on the beat itself, the model decides from the
# shape of the QRS complex; where it spreads to the sides, it uses the neighbouring beats, that is
# the rhythm, which for S beats is the only visible difference (chapter 3). These statements are
# about averages over correctly classified beats of a few test patients; single beats vary.
#
# ## A sanity check: randomised weights
#
# A map can look convincing and still say nothing about the model: {cite:t}`adebayo2018sanity`
# showed that several saliency methods give almost the same maps for a trained network and for the
# same network with random weights, because the maps mostly trace edges of the input. Their
# *model randomisation test* is simple: re-initialise the weights and compare the maps. If the maps
# explain the model, they must change.
#
# `ecglib.book.randomized_model` copies the model with freshly initialised weights;
# `rank_correlation` gives the Spearman rank correlation between two maps of the same beat (and
# is undefined when a map is empty, i.e. when nothing in the image raises the class's score).

# %%
beats = np.concatenate(list(sel.values()))
classes = np.concatenate([np.full(len(idx), c) for c, idx in sel.items()])
trained = np.concatenate(list(class_cams.values()))
random_cams = gradcam_maps(randomized_model(model, seed=0), EFFICIENT.model_name, test, beats, class_index=classes)
images = test.images[beats].astype(np.float32)


def summary(maps):
    rho_t, rho_i = rank_correlation(trained, maps), rank_correlation(maps, images)
    return {"empty maps": float(np.mean(maps.reshape(len(maps), -1).max(axis=1) == 0)),
            "median ρ with the trained model's maps": float(np.median(rho_t[np.isfinite(rho_t)])) if np.isfinite(rho_t).any() else np.nan,
            "median ρ with the spectrogram": float(np.median(rho_i[np.isfinite(rho_i)])) if np.isfinite(rho_i).any() else np.nan}


sanity = pd.DataFrame({"trained": summary(trained), "all weights random": summary(random_cams)}).T
sanity.round(3)

# %% tags=["remove-cell"]
assert random_cams.shape == trained.shape and np.isfinite(random_cams).all() and random_cams.min() >= 0
rho = rank_correlation(trained, random_cams)
assert np.isfinite(rho).sum() >= 10, "too few pairs of non-empty maps to compare"
assert np.median(rho[np.isfinite(rho)]) < 0.5, np.median(rho[np.isfinite(rho)])  # the maps depend on the weights
assert sanity.loc["trained", "empty maps"] < 0.9  # most correctly classified beats have some evidence in the image
assert sanity.loc["trained", "median ρ with the trained model's maps"] == 1.0

# %% [markdown]
# The middle column is the test: how closely each map of the randomised network ranks the pixels
# like the trained network's map of the same beat (1 for the trained network itself, by
# definition). The last column compares each map with the spectrogram it explains: a method that
# mostly traced the input would give high and similar values for both networks. A hidden check
# fails the book's build unless the median rank correlation between trained and randomised maps is
# well below 1 (below 0.5).
#
# Some maps of the trained network may be empty: for those beats nothing in the image raised the
# probability of the class, and the decision most likely came from the RR features, which enter after the last
# convolution and which Grad-CAM therefore cannot show.
#
# Adebayo et al.'s *cascading* variant randomises the layers one at a time from the output downwards and
# watches the maps drift away from the trained ones (`randomized_model` re-initialises the layers
# named in each of the three networks):

# %%
weighted = [lay.name for lay in networks[0].layers[::-1] if lay.weights]
cascade = {}
for k in range(1, len(weighted) + 1):
    maps = gradcam_maps(randomized_model(model, weighted[:k], seed=0), EFFICIENT.model_name, test, beats, class_index=classes)
    cascade[weighted[k - 1]] = summary(maps)
cascade = pd.DataFrame(cascade).T
ax = cascade[["median ρ with the trained model's maps", "empty maps"]].plot(marker="o", figsize=(9, 3.2), rot=45)
ax.set(xlabel="randomised down to layer", ylabel="value", ylim=(-1.05, 1.05))
ax.axhline(0, color="grey", lw=0.8)
plt.show()

# %% tags=["remove-cell"]
assert list(cascade.index) == weighted and len(weighted) >= 5
assert (cascade["empty maps"].between(0, 1)).all()

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-gradcam-by-hand
#
# Write `grad_cam_by_hand(model, images, class_index, layer_name)` for a `keras.Sequential` model:
# with `tf.GradientTape`, take the gradient of the probability of `class_index` with respect to the
# feature maps of layer `layer_name`, average it over the map's positions (one weight per channel)
# and return $\operatorname{ReLU}(\sum_k \alpha_k A^k)$, one map per image. Check it with
# `check_gradcam(grad_cam_by_hand)` from `ecglib.exercises`, which compares it with ecglib's
# implementation on a small CNN trained on real beats.
# ```

# %% [markdown]
# ```{solution-start} ex-gradcam-by-hand
# :class: dropdown
# ```
#
# A `Sequential` model does not expose the output of an inner layer until it is rebuilt as a graph:
# call its layers one by one on a `keras.Input` and keep the output of `layer_name` on the way. The
# tape then records the forward pass from those feature maps to the probabilities.

# %% tags=["solution"]
import tensorflow as tf

from ecglib.exercises import check_gradcam


def grad_cam_by_hand(model, images, class_index: int, layer_name: str) -> np.ndarray:
    """Grad-CAM maps (n, h, w) at the resolution of layer `layer_name`."""
    inputs = keras.Input(shape=images.shape[1:])
    x, features = inputs, None
    for lay in model.layers:
        x = lay(x)
        features = x if lay.name == layer_name else features
    probe = keras.Model(inputs, [features, x])
    with tf.GradientTape() as tape:
        feats, probs = probe(tf.convert_to_tensor(images), training=False)
        score = probs[:, class_index]
    alpha = tf.reduce_mean(tape.gradient(score, feats), axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(alpha * feats, axis=-1)).numpy()


check_gradcam(grad_cam_by_hand)

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-gradcam-layer
#
# Grad-CAM can explain any convolutional layer (`layer_name=`). Compute the maps of the V beats
# above for the first convolution instead of the last. How do resolution and class-specificity
# change?
# ```

# %% [markdown]
# ```{solution-start} ex-gradcam-layer
# :class: dropdown
# ```
#
# The first convolution has the full resolution of the input, so its maps are sharp, but its
# features are generic (edges, bright bands) rather than specific to a class; the last layer is
# coarse but class-specific. The rank correlation with the spectrogram shows how much of each map
# simply follows the image.

# %% tags=["solution"]
first = next(lay.name for lay in networks[0].layers if isinstance(lay, keras.layers.Conv2D))
early = gradcam_maps(model, EFFICIENT.model_name, test, sel[2], class_index=2, layer_name=first)
v_images = test.images[sel[2]].astype(np.float32)
rho_early, rho_last = rank_correlation(early, v_images), rank_correlation(class_cams[2], v_images)
print(f"{first!r}: feature maps {tuple(networks[0].get_layer(first).output.shape[1:])}; median ρ with the spectrogram "
      f"{np.median(rho_early[np.isfinite(rho_early)]):.2f}, against {np.median(rho_last[np.isfinite(rho_last)]):.2f} for {layer!r}")
assert early.shape == class_cams[2].shape and np.isfinite(early).all() and early.min() >= 0

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-gradcam-data-randomisation
#
# Adebayo et al. also propose a *data randomisation test*: train the same network on labels
# shuffled at random and compare its maps with those of the real model. How would you run it with
# `ecglib` (hint: `ecglib.protocols.fit_evaluate`), and what result would make you distrust the
# maps?
# ```
#
# ```{solution} ex-gradcam-data-randomisation
# :class: dropdown
#
# Build a training set whose labels are a random permutation of the real ones
# (`dataclasses.replace(train, labels=rng.permutation(train.labels))`), train it with
# `fit_evaluate(EFFICIENT.member(), shuffled_train, val, test)`: one network, to set against one
# network of the real model, `ensemble_members(model)[0]`), and compute `gradcam_maps` for the same
# beats with both models. A network trained on shuffled labels can only memorise, so it has learned
# nothing about arrhythmias. If its maps were as close to the real model's as the real model's are
# to themselves (rank correlation near 1), the maps would show the input, not what was learned.
# ```
