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
# # Spectrograms
#
# The CNN of chapter 4 does not look at the ECG trace itself but at a picture of how the energy of
# each 2-s beat window is spread over time and frequency: a spectrogram, computed with the
# short-time Fourier transform (STFT) {cite}`allen1977short`. This chapter builds that picture
# step by step with `librosa` {cite}`mcfee2015librosa` and `ecglib.spectrogram`, and shows how each
# choice (window length, hop, log scale, cropping, resizing) changes what the network will see.

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
import librosa
import librosa.display
import matplotlib.pyplot as plt
import numpy as np

from ecglib.beats import record_beats
from ecglib.book import chapter_records, glue, quick_mode, show_spectrogram
from ecglib.data import CLASSES, FS, load_record
from ecglib.dataset import build_dataset
from ecglib.spectrogram import (SpectrogramConfig, class_gallery, frame_times, frequencies,
                                log_magnitude, spectrogram_images)

records = chapter_records()
print(f"{'quick' if quick_mode() else 'full'} mode: {len(records)} records")

# %% [markdown]
# ## Three beats
#
# Chapter 2 cut a 2-s window around every R-peak, band-passed and z-scored. Here is one window of
# each class, from record 208 (N and V) and record 232 (S):

# %%
beats = {name: record_beats(load_record(name)) for name in ("208", "232")}
examples = {cls: beats["232" if cls == "S" else "208"] for cls in CLASSES}
window = {cls: b.windows[np.flatnonzero(b.labels == c)[10]] for c, (cls, b) in enumerate(examples.items())}
t = np.arange(window["N"].size) / FS

fig, axes = plt.subplots(1, 3, figsize=(12, 2.5), sharey=True)
for ax, (cls, x) in zip(axes, window.items()):
    ax.plot(t, x, color="black", lw=0.8)
    ax.set(title=f"class {cls}", xlabel="time (s)")
axes[0].set_ylabel("z-scored amplitude")
plt.show()

# %% [markdown]
# ## The short-time Fourier transform
#
# A Fourier transform of the whole window would tell which frequencies it contains but not *when*.
# The STFT slides a short window $w$ of $N$ samples along the signal $x$ in steps of $H$ samples
# (the *hop*) and takes the discrete Fourier transform of each windowed piece:
#
# $$
# X[k, m] = \sum_{n=0}^{N-1} x[n + mH]\, w[n]\, e^{-2\pi i k n / N},
# \qquad f_k = k \frac{f_s}{N}, \quad t_m = m \frac{H}{f_s}.
# $$
#
# Row $k$ of the spectrogram $|X[k, m]|$ is the frequency $f_k$ and column $m$ the time $t_m$.
# The frequency rows are $f_s / N$ apart and each column summarises $N / f_s$ seconds of signal:
# a long window resolves frequency finely but smears time, a short one the opposite. The hop only
# sets how many columns there are. With `ecglib`'s defaults:

# %%
cfg = SpectrogramConfig()
print(f"n_fft = {cfg.n_fft} samples = {cfg.n_fft / FS * 1000:.0f} ms per column, "
      f"rows every {FS / cfg.n_fft:.2f} Hz, hop = {cfg.hop_length} samples = {cfg.hop_length / FS * 1000:.1f} ms")

# %% [markdown]
# `librosa.stft` computes $X$ (with the window centred on each $t_m$, the signal padded at both
# ends). Over the whole frequency range, up to $f_s/2 = 180$ Hz, the log-magnitude of our V beat
# looks like this:

# %%
stft = librosa.stft(window["V"], n_fft=cfg.n_fft, hop_length=cfg.hop_length, window=cfg.window, center=True)
fig, ax = plt.subplots(figsize=(7, 3.5))
mesh = librosa.display.specshow(np.log(np.abs(stft) + cfg.log_eps), sr=FS, hop_length=cfg.hop_length,
                                x_axis="time", y_axis="linear", cmap="viridis", ax=ax)
fig.colorbar(mesh, ax=ax, label="log |X|")
ax.axhline(cfg.fmax_hz, color="white", ls="--")
ax.set(title="V beat, full STFT", xlabel="time (s)", ylabel="frequency (Hz)")
plt.show()

# %% [markdown]
# Almost all the energy is below the dashed line at 45 Hz: the band-pass filter of chapter 2
# removed what was above 40 Hz, and what remains there is filter residue and noise. So
# `ecglib.spectrogram.log_magnitude` computes only the rows below `fmax_hz` (45 Hz), which is the
# same as cropping librosa's result but much cheaper for a hundred thousand beats.
# `ecglib.spectrogram.frequencies` and `frame_times` give the frequency of each kept row and the
# time of each column, so the plot keeps real axes:

# %%
cropped = log_magnitude(window["V"], FS, cfg)
print("kept rows (Hz):", np.round(frequencies(FS, cfg), 1))
print("shape (rows, columns):", cropped.shape)
fig, ax = plt.subplots(figsize=(7, 3))
fig.colorbar(show_spectrogram(cropped, FS, cfg, n_samples=window["V"].size, ax=ax), ax=ax, label="log |X|")
ax.set_title("V beat, rows below 45 Hz")
plt.show()

# %% tags=["remove-cell"]
librosa_cropped = np.log(np.abs(stft[: len(frequencies(FS, cfg))]) + cfg.log_eps)
assert np.allclose(cropped, librosa_cropped, atol=1e-3)
assert cropped.shape == (16, 91) == (len(frequencies(FS, cfg)), len(frame_times(window["V"].size, FS, cfg)))
assert frequencies(FS, cfg).max() < cfg.fmax_hz

# %% [markdown]
# ## Window length and hop
#
# The same V beat with three window lengths (rows) and three hops (columns). A 32-sample window
# (89 ms) shows each QRS complex as a sharp vertical stripe but has only a few frequency rows, 11 Hz
# apart; a 512-sample window (1.4 s) has fine frequency rows but blurs the beats of the window
# together. The hop changes only how densely columns sample time, and the image's width.

# %%
fig, axes = plt.subplots(3, 3, figsize=(12, 7), sharex=True)
for i, n_fft in enumerate((32, 128, 512)):
    for j, hop in enumerate((4, 8, 32)):
        c = SpectrogramConfig(n_fft=n_fft, hop_length=hop, size=None)
        img = log_magnitude(window["V"], FS, c)
        show_spectrogram(img, FS, c, n_samples=window["V"].size, ax=axes[i, j])
        axes[i, j].set_title(f"n_fft={n_fft}, hop={hop}: {img.shape[0]}×{img.shape[1]}", fontsize=9)
        axes[i, j].set_ylim(0, cfg.fmax_hz)
        axes[i, j].label_outer()
fig.tight_layout()
plt.show()

# %% [markdown]
# `ecglib` uses a window of 128 samples (0.36 s, about one QRS-T complex) and a hop of 8: rows are
# fine enough to separate the narrow-band QRS energy of normal beats from the lower, wider content
# of ventricular beats, and columns still place each beat in time.
#
# ## Why a log scale?
#
# The magnitudes span several orders of magnitude: on a linear scale only the strongest QRS energy
# is visible, while the logarithm also shows the P and T waves and the spacing of the beats. That is
# why images are made from $\log(|X| + \epsilon)$ (`log_eps` in the configuration).

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3))
show_spectrogram(np.exp(cropped), FS, cfg, n_samples=window["V"].size, ax=axes[0])
show_spectrogram(cropped, FS, cfg, n_samples=window["V"].size, ax=axes[1])
axes[0].set_title("|X| (linear)")
axes[1].set_title("log(|X| + ε)")
plt.show()

# %% [markdown]
# ## From spectrogram to image
#
# The cropped spectrogram is a 16 × 91 grid. `ecglib.spectrogram.spectrogram_images` resizes it to
# the 128 × 128 input of the CNN with bilinear interpolation (in floating point, before
# quantising) and maps each image's log-magnitudes to 0–255, like saving it as an 8-bit PNG:

# %%
images = {cls: spectrogram_images(x[None], FS, cfg)[0] for cls, x in window.items()}
native = spectrogram_images(window["V"][None], FS, SpectrogramConfig(size=None))[0]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, img, title in zip(axes, (native, images["V"]), ("native grid", "resized (CNN input)")):
    ax.imshow(img, origin="lower", aspect="auto", cmap="viridis")
    ax.set(title=f"{title}: {img.shape[0]} × {img.shape[1]}, {img.dtype}", xlabel="column", ylabel="row")
plt.show()

# %% tags=["remove-cell"]
assert native.shape == (16, 91) and native.dtype == np.uint8
assert all(img.shape == (128, 128) and img.dtype == np.uint8 for img in images.values())
assert all(img.max() > 200 and img.min() < 80 for img in images.values())  # scaled at native resolution, then resized

# %% [markdown]
# Resizing adds no information: it only gives the CNN a square input of a convenient size, where
# each of the 16 frequency rows becomes a band 8 pixels high.
#
# ## All the beats
#
# `ecglib.dataset.build_dataset` runs the whole pipeline (read, filter, cut windows, label, STFT,
# image) on every record of the chapter and returns the images with their labels, RR features,
# record names and R-peak positions:

# %%
data = build_dataset(records, progress=False, cache=False)
counts = np.bincount(data.labels, minlength=len(CLASSES))
print(f"{len(data):,} beats, images {data.images.shape[1:]} {data.images.dtype}, "
      + ", ".join(f"{cls}: {n:,}" for cls, n in zip(CLASSES, counts)))

# %% tags=["remove-cell"]
from ecglib.book import PHYSIONET_CLASS_TOTALS
from ecglib.data import class_summary

assert data.images.shape == (len(data), 128, 128) and data.images.dtype == np.uint8
assert len(data.rr) == len(data.records) == len(data.peaks) == len(data)
annotated = class_summary(records)["total"]
for c, cls in enumerate(CLASSES):
    # every annotated beat is kept except those within 1 s of either end of a record
    assert 0 <= annotated[cls] - counts[c] <= 3 * len(records), (cls, annotated[cls], counts[c])
if not quick_mode():
    assert all(abs(PHYSIONET_CLASS_TOTALS[cls] - n) <= 150 for cls, n in zip(CLASSES, counts))

# %% [markdown]
# Eight random images of each class, drawn with `ecglib.spectrogram.class_gallery`:

# %%
fig = class_gallery(data.images, data.labels, CLASSES, per_class=8, seed=0)
plt.show()

# %% [markdown]
# Single images vary a lot, with the heart rate, the noise and the neighbouring beats. The average
# image of each class shows what they have in common. The narrow QRS complex of an N beat is a
# tall, thin stripe in the centre: a short, sharp wave has energy up to high frequencies. The wide
# QRS complex of a V beat puts its energy lower, in a broad patch at the bottom of the centre. S
# beats look like N beats in the centre; what sets them apart is where the neighbouring beats fall,
# which the 2-s window shows as the positions of the side stripes.

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
for c, (ax, cls) in enumerate(zip(axes, CLASSES)):
    ax.imshow(data.images[data.labels == c].mean(axis=0), origin="lower", aspect="auto", cmap="viridis")
    ax.set(title=f"mean {cls} image ({(data.labels == c).sum():,} beats)", xlabel="column")
axes[0].set_ylabel("row (low frequency at the bottom)")
plt.show()

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-stft-by-hand
#
# Write `stft_log_magnitude(window, fs, n_fft=128, hop_length=8, fmax_hz=45.0)` with NumPy, without
# librosa: pad the beat window with `n_fft // 2` zeros at both ends, cut frames of `n_fft` samples
# every `hop_length` samples, multiply each frame by a periodic Hann window
# (`scipy.signal.get_window("hann", n_fft)`), take `np.fft.rfft` of each frame, keep the rows whose
# frequency (`np.fft.rfftfreq(n_fft, d=1 / fs)`) is below `fmax_hz`, and return
# $\log(|X| + 10^{-3})$ with frequency along the rows (row 0 = 0 Hz) and time along the columns.
# Check it with `check_spectrogram(stft_log_magnitude)` from `ecglib.exercises`, which compares it
# with `log_magnitude` on real beats for three settings, and names the usual traps (a symmetric or
# missing window, the power instead of the magnitude, frames that are not centred, ...) if you fall
# into one.
# ```

# %% [markdown]
# ```{solution-start} ex-stft-by-hand
# :class: dropdown
# ```
#
# The frames are gathered with one fancy-indexing step (row $m$ starts at sample $mH$ of the
# padded window), so the whole STFT is one `rfft` call over a matrix of frames.

# %% tags=["solution"]
from scipy.signal import get_window

from ecglib.exercises import check_spectrogram


def stft_log_magnitude(window, fs, n_fft=128, hop_length=8, fmax_hz=45.0):
    """log(|STFT| + 1e-3) of one beat window below fmax_hz: (frequency rows, time columns), row 0 = 0 Hz."""
    padded = np.pad(np.asarray(window, dtype=float), n_fft // 2)
    starts = np.arange(0, len(padded) - n_fft + 1, hop_length)
    frames = padded[starts[:, None] + np.arange(n_fft)] * get_window("hann", n_fft)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    keep = np.fft.rfftfreq(n_fft, d=1 / fs) < fmax_hz
    return np.log(magnitude[keep] + 1e-3)


check_spectrogram(stft_log_magnitude)
print("largest difference from the V beat's image above:", np.abs(stft_log_magnitude(window["V"], FS) - cropped).max())

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-stft-window
#
# Make images with `SpectrogramConfig(n_fft=64)` and `SpectrogramConfig(n_fft=256)` for the three
# example beats. Which setting makes the N and V images easiest to tell apart by eye, and what do
# you lose with each? (In chapter 4 you can check whether the CNN agrees.)
# ```

# %% [markdown]
# ```{solution-start} ex-stft-window
# :class: dropdown
# ```

# %% tags=["solution"]
fig, axes = plt.subplots(2, 3, figsize=(12, 5), sharey=True)
for i, n_fft in enumerate((64, 256)):
    c = SpectrogramConfig(n_fft=n_fft)
    for ax, (cls, x) in zip(axes[i], window.items()):
        ax.imshow(spectrogram_images(x[None], FS, c)[0], origin="lower", aspect="auto", cmap="viridis")
        ax.set_title(f"{cls}, n_fft={n_fft}: rows {FS / n_fft:.1f} Hz apart, columns of {n_fft / FS * 1000:.0f} ms",
                     fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# With 64 samples (178 ms) a column covers little more than a QRS complex: each beat is a sharp
# vertical stripe, but only 8 rows lie below 45 Hz, 5.6 Hz apart. With 256 samples (711 ms) there
# are 32 rows 1.4 Hz apart, but each column mixes the QRS complex, the T wave and part of the
# neighbouring beats, so the stripes become wide blurs and the rhythm is harder to read. What sets
# N and V apart survives at every setting: at the R-peak the energy of the narrow normal QRS
# reaches higher frequencies than that of the wide ventricular one. The centroid frequency of the
# R-peak's column, for the example beats:

# %% tags=["solution"]
for n_fft in (64, 128, 256):
    c = SpectrogramConfig(n_fft=n_fft, size=None)
    columns = {cls: np.exp(log_magnitude(window[cls], FS, c))[:, len(frame_times(720, FS, c)) // 2] for cls in "NV"}
    centroid = {cls: np.sum(frequencies(FS, c) * m) / np.sum(m) for cls, m in columns.items()}
    print(f"n_fft={n_fft:3d}: centroid at the R-peak N {centroid['N']:4.1f} Hz, V {centroid['V']:4.1f} Hz")
    assert centroid["N"] > 2 * centroid["V"], n_fft  # the claim of the text, at every setting

# %% [markdown]
# So which setting is easiest to read is a matter of taste: the short window shows timing, the
# long one the spectrum, and 128 samples is a compromise between the two. The CNN of chapter 4 can
# be trained on each to settle the question with numbers.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise}
# :label: ex-stft-scale
#
# `SpectrogramConfig(scale="fixed")` maps a fixed log-magnitude range to 0–255 instead of
# stretching each image on its own. Compare the two scales on a noisy beat and on a clean one. Which
# information does per-image scaling throw away?
# ```

# %% [markdown]
# ```{solution-start} ex-stft-scale
# :class: dropdown
# ```
#
# A noisy beat from record 105 (the strip of chapter 2) and a clean one from record 100, on the
# native grid, with each scale:

# %% tags=["solution"]
noisy, clean = record_beats(load_record("105")), record_beats(load_record("100"))
pair = {"noisy (105)": noisy.windows[np.argmin(np.abs(noisy.peaks - 851.7 * FS))], "clean (100)": clean.windows[100]}
fig, axes = plt.subplots(2, 2, figsize=(10, 5), sharex=True, sharey=True)
floor = {}
for j, (name, x) in enumerate(pair.items()):
    logmag = log_magnitude(x, FS, SpectrogramConfig(size=None))
    floor[name] = np.percentile(logmag, 5)
    print(f"{name}: log-magnitudes from {logmag.min():.1f} to {logmag.max():.1f}, 5th percentile {floor[name]:.1f}")
    for i, scale in enumerate(("image", "fixed")):
        img = spectrogram_images(x[None], FS, SpectrogramConfig(size=None, scale=scale))[0]
        axes[i, j].imshow(img, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=255)
        axes[i, j].set_title(f"{name}, scale={scale!r}", fontsize=9)
fig.tight_layout()
plt.show()

# %% tags=["solution", "remove-cell"]
floor_gap = floor["noisy (105)"] - floor["clean (100)"]
assert floor_gap > 1.2
glue("floor_gap", f"{floor_gap:.1f}", display=False)
glue("floor_factor", f"{np.exp(floor_gap):.0f}", display=False)

# %% [markdown]
# With `scale="image"` each image is stretched from its own minimum to its own maximum, so both
# use the whole 0–255 range and a given brightness means a different log-magnitude in each image.
# The noisy beat's noise floor is higher: its 5th percentile is {glue:text}`floor_gap` log units
# above the clean beat's, a factor of about {glue:text}`floor_factor` in magnitude, but stretching
# hides much of that difference. With `scale="fixed"` the same log-magnitude has
# the same brightness in every image: the noise shows as a brighter background, and images can be
# compared with each other. Per-image scaling throws away the absolute level of the spectrogram,
# the noise floor and the dynamic range of each beat. (The windows are z-scored before the STFT,
# so the level of the beat itself was already normalised; what the fixed scale keeps is mostly
# how the energy is shared between the beat and the noise.)
#
# ```{solution-end}
# ```
