"""Beat windows → STFT → magnitude → log → crop below ``fmax_hz`` → resize → 8-bit image.

The STFT slides a ``n_fft``-sample Hann window along the beat window in steps of ``hop_length``
samples. With the defaults at 360 Hz each column covers 128 samples (0.36 s), columns are 8 samples
(22 ms) apart, and rows are 360/128 = 2.81 Hz apart; keeping rows below 45 Hz leaves 16 rows × 91
columns, which the seed then stretches to 128 × 128 pixels. ``size=None`` keeps that native grid.

Everything works on a batch of windows at once, in chunks of ``chunk`` windows, because a naive
all-beats complex STFT at full resolution does not fit in 24 GB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class SpectrogramConfig:
    """STFT and image parameters.

    Attributes
    ----------
    n_fft
        FFT length and window length in samples (128 → 0.36 s, 2.81 Hz bins at 360 Hz).
    hop_length
        Step between columns in samples (8 → 22 ms).
    window
        Window function name understood by ``scipy.signal.get_window`` (via librosa).
    fmax_hz
        Rows at or above this frequency (Hz) are cropped: above 45 Hz the band-passed ECG holds
        only filter residue and noise.
    size
        ``(height, width)`` in pixels of the output image, or ``None`` to keep the native
        ``(n_freq_rows, n_frames)`` grid.
    log_eps
        Added to the magnitude before the natural log, so silent bins stay finite.
    scale
        ``"image"``: each image is min–max scaled to 0..255 on its own at native resolution
        (what saving a PNG does, as the seed did), before any resize; ``"fixed"``: a fixed log-magnitude range ``vmin..vmax`` maps to 0..255,
        so brightness stays comparable between beats.
    vmin, vmax
        Range of the ``"fixed"`` scale, in natural-log magnitude units.
    """

    n_fft: int = 128
    hop_length: int = 8
    window: str = "hann"
    fmax_hz: float = 45.0
    size: tuple[int, int] | None = (128, 128)
    log_eps: float = 1e-3
    scale: str = "image"
    vmin: float = -4.0
    vmax: float = 5.0

    def __post_init__(self) -> None:
        if self.n_fft < 4 or self.hop_length < 1:
            raise ValueError(f"need n_fft >= 4 and hop_length >= 1 (samples), got {self.n_fft}, {self.hop_length}")
        if self.fmax_hz <= 0:
            raise ValueError(f"fmax_hz must be positive (Hz), got {self.fmax_hz}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"size must be (height, width) in pixels or None, got {self.size!r}")
        if self.scale not in ("image", "fixed"):
            raise ValueError(f"scale must be 'image' or 'fixed', got {self.scale!r}")
        if self.log_eps <= 0 or self.vmax <= self.vmin:
            raise ValueError("need log_eps > 0 and vmax > vmin")

    @classmethod
    def from_dict(cls, d: dict) -> "SpectrogramConfig":
        """Rebuild a config from ``dataclasses.asdict`` output (JSON turns ``size`` into a list)."""
        d = dict(d)
        if d.get("size") is not None:
            d["size"] = tuple(d["size"])
        return cls(**d)


def _check_fs(fs: float) -> None:
    if not fs > 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs}")


def frequencies(fs: float, config: SpectrogramConfig = SpectrogramConfig()) -> np.ndarray:
    """Centre frequency in Hz of each kept row (before any resize).

    Parameters
    ----------
    fs
        Sampling rate in Hz; must be positive (else ``ValueError``).
    config
        Uses ``n_fft`` (bins ``fs / n_fft`` Hz apart) and ``fmax_hz`` (rows at or above it are
        dropped); default ``SpectrogramConfig()``.

    Returns
    -------
    numpy.ndarray
        ``(n_rows,)`` float64 frequencies in Hz, from 0 Hz up (16 rows, 0..42.2 Hz, with the
        defaults at 360 Hz).
    """
    _check_fs(fs)
    freqs = np.fft.rfftfreq(config.n_fft, d=1.0 / fs)
    return freqs[freqs < config.fmax_hz]


def frame_times(n_samples: int, fs: float, config: SpectrogramConfig = SpectrogramConfig()) -> np.ndarray:
    """Centre time in seconds of each STFT column for a window of ``n_samples`` (centred frames).

    The window is padded by ``n_fft // 2`` samples on each side, as :func:`log_magnitude` (and
    librosa) pad it: ``1 + n_samples // hop_length`` columns for an even ``n_fft``; for an odd one,
    ``1 + (n_samples - 1) // hop_length`` (one fewer when ``hop_length`` divides ``n_samples``).

    Parameters
    ----------
    n_samples
        Length of the beat window in samples (720 for 2 s at 360 Hz).
    fs
        Sampling rate in Hz; must be positive (else ``ValueError``).
    config
        Uses ``n_fft`` and ``hop_length`` (samples); default ``SpectrogramConfig()``.

    Returns
    -------
    numpy.ndarray
        ``(n_frames,)`` float64 times in seconds from the start of the window, ``hop_length / fs``
        apart, the first at 0 s (91 columns, 0..2 s, with the defaults for 720 samples at 360 Hz).
    """
    _check_fs(fs)
    n_frames = 1 + (n_samples + 2 * (config.n_fft // 2) - config.n_fft) // config.hop_length
    return np.arange(n_frames) * config.hop_length / fs


def _dft_basis(n_fft: int, n_rows: int, window: str) -> np.ndarray:
    """Windowed real-DFT basis for the first ``n_rows`` bins, shape ``(n_fft, 2 * n_rows)`` (cos | sin)."""
    from scipy.signal import get_window

    win = get_window(window, n_fft, fftbins=True)  # periodic window, as librosa uses
    k = np.arange(n_rows)[None, :]
    t = np.arange(n_fft)[:, None]
    phase = 2.0 * np.pi * k * t / n_fft
    return np.concatenate([win[:, None] * np.cos(phase), win[:, None] * np.sin(phase)], axis=1)


def log_magnitude(windows: np.ndarray, fs: float, config: SpectrogramConfig = SpectrogramConfig()) -> np.ndarray:
    """Cropped log-magnitude STFT of each window, at native resolution.

    Identical (to float32 rounding) to ``log(|librosa.stft(x, n_fft, hop_length, window,
    center=True)| + log_eps)`` cropped below ``fmax_hz``, but computes only the kept rows: the
    frames are multiplied by a windowed DFT basis of those bins, one BLAS call instead of a full FFT.

    Parameters
    ----------
    windows
        ``(n, samples)`` or ``(samples,)`` beat windows.
    fs
        Sampling rate in Hz.
    config
        STFT parameters (``n_fft``, ``hop_length``, ``window``, ``fmax_hz``, ``log_eps``).

    Returns
    -------
    numpy.ndarray
        ``(n, n_rows, n_frames)`` float32 (or ``(n_rows, n_frames)`` for one window); row 0 is 0 Hz.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    x = np.asarray(windows, dtype=np.float32)
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if x.ndim != 2:
        raise ValueError(f"windows must be (n, samples) or (samples,), got shape {np.shape(windows)}")
    if x.shape[1] < config.n_fft:
        raise ValueError(f"windows have {x.shape[1]} samples, fewer than n_fft={config.n_fft}")
    if not np.all(np.isfinite(x)):
        raise ValueError("windows contain NaN or infinite values")
    n_rows = len(frequencies(fs, config))
    half = config.n_fft // 2
    padded = np.pad(x, ((0, 0), (half, half)))  # centred frames with zero padding, as librosa does
    frames = sliding_window_view(padded, config.n_fft, axis=1)[:, :: config.hop_length, :]
    n, n_frames = frames.shape[:2]
    # In float64: a float32 BLAS product rounds differently with the number of rows (and the BLAS
    # build), which flipped the odd 8-bit pixel between one beat and a batch, or between chunkings.
    frames = frames.reshape(n * n_frames, config.n_fft).astype(np.float64)
    proj = frames @ _dft_basis(config.n_fft, n_rows, config.window)
    mag = np.hypot(proj[:, :n_rows], proj[:, n_rows:])
    out = np.log(mag + np.float32(config.log_eps)).reshape(n, n_frames, n_rows).transpose(0, 2, 1)
    out = np.ascontiguousarray(out, dtype=np.float32)
    return out[0] if single else out


def scale_to_255(logmag: np.ndarray, config: SpectrogramConfig = SpectrogramConfig()) -> np.ndarray:
    """Map log-magnitudes to float32 0..255 per :attr:`SpectrogramConfig.scale`.

    Parameters
    ----------
    logmag
        ``(n, h, w)`` or ``(h, w)`` natural-log magnitudes (e.g. from :func:`log_magnitude`); copied
        to float32, not modified.
    config
        Uses ``scale``: ``"image"`` maps each image's own min..max (over its last two axes) to
        0..255 (a constant image gives 0); ``"fixed"`` maps ``vmin..vmax`` to 0..255. Default
        ``SpectrogramConfig()`` (``"image"``).

    Returns
    -------
    numpy.ndarray
        float32 array of ``logmag``'s shape, clipped to 0..255 (not rounded).
    """
    x = np.array(logmag, dtype=np.float32)  # a copy: scaled in place below
    if config.scale == "image":
        lo = x.min(axis=(-2, -1), keepdims=True)
        hi = x.max(axis=(-2, -1), keepdims=True)
    else:
        lo, hi = np.float32(config.vmin), np.float32(config.vmax)
    x -= lo
    x *= np.float32(255.0) / np.maximum(hi - lo, np.float32(1e-12))
    return np.clip(x, 0, 255, out=x)


def to_uint8(logmag: np.ndarray, config: SpectrogramConfig = SpectrogramConfig()) -> np.ndarray:
    """Map log-magnitudes to 0..255 per :attr:`SpectrogramConfig.scale` and round to uint8.

    Parameters
    ----------
    logmag
        ``(n, h, w)`` or ``(h, w)`` natural-log magnitudes; see :func:`scale_to_255`.
    config
        Uses ``scale`` (and ``vmin``, ``vmax`` for ``"fixed"``); default ``SpectrogramConfig()``.

    Returns
    -------
    numpy.ndarray
        uint8 array of ``logmag``'s shape (rounded half to even, no resize).
    """
    return np.rint(scale_to_255(logmag, config)).astype(np.uint8)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(n, h, w)`` images to ``(n, *size)`` with OpenCV's bilinear interpolation.

    Parameters
    ----------
    images
        ``(n, h, w)`` stack (one image: ``images[None]``; another ndim raises ``ValueError``).
        uint8, or float in 0..255 (interpolating before quantising avoids 8-bit banding), which is
        rounded and saturated to uint8 after the resize (by ``cv2.convertScaleAbs``, which takes
        the absolute value first, so negative values do not become 0).
    size
        ``(height, width)`` of the output in pixels.

    Returns
    -------
    numpy.ndarray
        ``(n, height, width)`` uint8 images.
    """
    import cv2

    height, width = size
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be a stack (n, h, w); got shape {images.shape} (one image: images[None])")
    out = np.empty((len(images), height, width), dtype=np.uint8)
    for i, img in enumerate(images):
        resized = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)  # cv2 wants (w, h)
        out[i] = resized if resized.dtype == np.uint8 else cv2.convertScaleAbs(resized)  # round + saturate
    return out


def spectrogram_images(
    windows: np.ndarray,
    fs: float,
    config: SpectrogramConfig = SpectrogramConfig(),
    chunk: int = 2048,
) -> np.ndarray:
    """Turn beat windows into 8-bit spectrogram images, ``chunk`` windows at a time.

    Parameters
    ----------
    windows
        ``(n, samples)`` beat windows (z-scored).
    fs
        Sampling rate in Hz.
    config
        STFT and image parameters.
    chunk
        Windows per STFT batch; bounds the memory of the complex intermediate.

    Returns
    -------
    numpy.ndarray
        ``(n, height, width)`` uint8 images (row 0 = lowest frequency).
    """
    windows = np.asarray(windows)
    if windows.ndim != 2:
        raise ValueError(f"windows must be a 2-D (n, samples) array, got shape {windows.shape}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    n_rows = len(frequencies(fs, config))
    n_frames = len(frame_times(windows.shape[1], fs, config))
    shape = config.size if config.size is not None else (n_rows, n_frames)
    out = np.empty((len(windows), *shape), dtype=np.uint8)
    for start in range(0, len(windows), chunk):
        # Scale at native resolution, then resize the float image (as saving a spectrogram to PNG and
        # resizing it does, minus the 8-bit banding): 20× cheaper than scaling the resized image.
        block = scale_to_255(log_magnitude(windows[start : start + chunk], fs, config), config)
        if config.size is not None:
            out[start : start + len(block)] = resize_images(block, config.size)
        else:
            out[start : start + len(block)] = np.rint(block)
    return out


def to_rgb(images: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Colour 8-bit grey images with a matplotlib colormap, for the seed's 3-channel input.

    Parameters
    ----------
    images
        uint8 grey images (0..255) of any shape, e.g. ``(n, h, w)`` or one ``(h, w)``; another dtype
        raises ``ValueError``.
    cmap
        Name of a matplotlib colormap; default ``"viridis"`` (the seed's).

    Returns
    -------
    numpy.ndarray
        ``(*images.shape, 3)`` uint8 RGB.
    """
    import matplotlib

    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"to_rgb expects uint8 images (0..255), got dtype {images.dtype}")
    lut = (matplotlib.colormaps[cmap](np.arange(256))[:, :3] * 255).round().astype(np.uint8)
    return lut[images]


def save_png(image: np.ndarray, path: str | os.PathLike, cmap: str | None = "viridis") -> Path:
    """Save one image as PNG (low frequencies at the bottom), coloured with ``cmap`` or grey if None.

    Parameters
    ----------
    image
        ``(h, w)`` uint8 image with row 0 = lowest frequency (as :func:`spectrogram_images` makes
        them); it is written flipped, so that row 0 is the bottom row of the PNG.
    path
        Output file, written as PNG whatever its extension; parent folders are created, and the
        file is written to a temporary name and renamed into place.
    cmap
        Name of a matplotlib colormap (applied by :func:`to_rgb`); default ``"viridis"``. None
        writes the grey image as it is.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import cv2

    from ecglib._io import atomic_path

    img = np.asarray(image)
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"save_png expects a 2-D uint8 image, got shape {img.shape} dtype {img.dtype}")
    img = img[::-1]  # row 0 is 0 Hz; images are drawn top-down
    if cmap is not None:
        img = to_rgb(img, cmap)[..., ::-1]  # OpenCV writes BGR
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), img):
            raise OSError(f"OpenCV could not write {path}")
    return path


def class_gallery(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str] = ("N", "S", "V"),
    per_class: int = 6,
    seed: int = 0,
    cmap: str = "viridis",
    path: str | os.PathLike | None = None,
):
    """A figure with ``per_class`` random spectrograms of each class (one row per class).

    Parameters
    ----------
    images
        ``(n, h, w)`` spectrograms (e.g. uint8 from :func:`spectrogram_images`), row 0 = lowest
        frequency, drawn at the bottom; each panel's colours span its own min..max.
    labels
        ``(n,)`` integer class of each image, an index into ``class_names``.
    class_names
        Names of the classes in label order, one row each (the row's y-label); default N, S, V.
    per_class
        Images drawn per class, at random without replacement; a class with fewer images leaves
        the rest of its row blank.
    seed
        Seed of that random choice; the same seed gives the same figure.
    cmap
        Name of the matplotlib colormap of the panels; default ``"viridis"``.
    path
        If given, the figure is also saved there as PNG (100 dpi; parent folders created, written
        to a temporary name and renamed into place). None (default): not saved.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not closed).
    """
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(class_names), per_class, figsize=(1.6 * per_class, 1.7 * len(class_names)), squeeze=False)
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(np.asarray(labels) == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for j, ax in enumerate(axes[c]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(pick):
                ax.imshow(images[pick[j]], origin="lower", aspect="auto", cmap=cmap)
            if j == 0:
                ax.set_ylabel(name)
    fig.tight_layout()
    if path is not None:
        from ecglib._io import atomic_path

        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    return fig
