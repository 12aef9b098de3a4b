"""Helpers for the book's chapters: quick mode, the records a chapter uses, Colab setup, small plots.

The chapters are notebooks that narrate and plot; anything longer than a few lines lives here (or
in the pipeline modules) so that it is tested.

Quick mode
    ``ECGLIB_QUICK=1`` makes every chapter run on :data:`QUICK_RECORDS` instead of all 48 records,
    so the book builds and its notebook checks run in a couple of minutes.

Colab
    The first code cell of every chapter is :func:`colab_cell`: on Colab it installs ecglib from
    :data:`REPOSITORY_URL` without its dependencies, then :func:`colab_setup` installs the missing
    dependencies (wfdb) without touching Colab's NumPy/TensorFlow/Keras and downloads MIT-BIH from
    PhysioNet. Anywhere else the cell does nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ecglib.data import AAMI_MAP, BEAT_SYMBOLS, RECORDS, Record

#: The book's source repository. The single source of truth is ``repository: url`` in the book's
#: ``_config.yml``; a test checks that this constant and every chapter's Colab cell agree with it.
REPOSITORY_URL = "https://github.com/ecg-spectrogram-book/ecg-arrhythmia-book"

#: Records used in quick mode: five subjects that between them hold thousands of N beats and
#: hundreds of S (209, 232) and V (119, 208) beats, plus F (208) and a little Q.
QUICK_RECORDS: tuple[str, ...] = ("100", "119", "208", "209", "232")

#: Beats per AAMI class over all 48 records, as PhysioNet's record tables add up.
PHYSIONET_CLASS_TOTALS: dict[str, int] = {"N": 90631, "S": 2781, "V": 7236, "F": 803, "Q": 8043}

#: Packages Colab ships that installing ecglib must never upgrade or downgrade.
PROTECTED_PACKAGES: tuple[str, ...] = ("numpy", "tensorflow", "keras")

#: Colours of the AAMI classes in every figure of the book.
CLASS_COLORS: dict[str, str] = {"N": "tab:blue", "S": "tab:orange", "V": "tab:red", "F": "tab:purple", "Q": "tab:gray"}

_QUICK_ENV = "ECGLIB_QUICK"


def _import_tqdm_quietly() -> None:
    """Import ``tqdm.auto`` once with its ipywidgets warning silenced.

    In a Jupyter kernel without ipywidgets, the first import of ``tqdm.auto`` (by ecglib, librosa or
    pooch) prints a ``TqdmWarning`` to stderr, which would end up on a page of the book. The chapters
    show no progress bars, so the warning says nothing useful there.
    """
    import warnings

    try:
        from tqdm import TqdmWarning
    except ImportError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        import tqdm.auto  # noqa: F401


_import_tqdm_quietly()


# --------------------------------------------------------------------------------------------------
# Modes and records


def quick_mode() -> bool:
    """True when ``ECGLIB_QUICK`` is set to ``1`` (or ``true``/``yes``/``on``)."""
    return os.environ.get(_QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def chapter_records() -> list[str]:
    """The records a chapter works on: all 48, or :data:`QUICK_RECORDS` in quick mode."""
    return list(QUICK_RECORDS if quick_mode() else RECORDS)


# --------------------------------------------------------------------------------------------------
# Colab


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def colab_cell(url: str = REPOSITORY_URL) -> str:
    """Source of the first code cell of every chapter (tests check the notebooks use exactly this).

    The cell must install ecglib before it can import anything from it, so it spells the URL out;
    a test keeps that copy equal to :data:`REPOSITORY_URL`. It uses pip through ``subprocess``
    rather than the ``%pip`` magic so that the jupytext ``.py`` twin stays valid Python.
    """
    return (
        "# On Colab: install ecglib from the book's repository and download MIT-BIH. Elsewhere: nothing.\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    try:\n"
        "        import ecglib\n"
        "    except ImportError:\n"
        f'        repo = "{url}"\n'
        '        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-deps", f"git+{repo}"])\n'
        "    from ecglib.book import colab_setup\n"
        "\n"
        "    colab_setup()"
    )


def missing_requirements(distribution: str = "ecglib") -> list[str]:
    """Requirements of ``distribution`` (no extras) that are not installed, or installed at a version
    the requirement does not accept."""
    from importlib.metadata import PackageNotFoundError, requires, version

    from packaging.requirements import Requirement

    missing = []
    for line in requires(distribution) or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            missing.append(str(req))
            continue
        if not req.specifier.contains(installed, prereleases=True):
            missing.append(str(req))
    return missing


def protected_pins(packages: Iterable[str] = PROTECTED_PACKAGES) -> list[str]:
    """``name==version`` of the installed protected packages (pip constraints that freeze them)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in packages:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pass
    return pins


def pip_install_command(requirements: Sequence[str], constraints_file: str | os.PathLike) -> list[str]:
    """The pip command that installs ``requirements`` and upgrades nothing it does not have to.

    ``--upgrade-strategy only-if-needed`` leaves satisfied dependencies alone, and the constraints
    file (see :func:`protected_pins`) makes pip fail rather than change a protected package.
    """
    if not requirements:
        raise ValueError("nothing to install")
    return [
        sys.executable, "-m", "pip", "install", "--quiet",
        "--upgrade-strategy", "only-if-needed",
        "--constraint", str(constraints_file),
        *requirements,
    ]  # fmt: skip


def colab_setup(
    records: Sequence[str] | None = None,
    *,
    force: bool = False,
    run: Callable[[list[str]], object] = subprocess.check_call,
    download: Callable[..., Path] | None = None,
) -> Path | None:
    """Prepare a Colab runtime for a chapter; outside Colab do nothing and return None.

    1. Install ecglib's missing dependencies (on Colab: wfdb) with pip, keeping Colab's own NumPy,
       TensorFlow and Keras exactly as they are (:func:`pip_install_command`).
    2. Download the records (default :func:`chapter_records`) from PhysioNet into ecglib's cache
       with :func:`ecglib.data.download_mitdb`; files already there and intact are not fetched again.

    Parameters
    ----------
    records
        Records to download; default :func:`chapter_records`.
    force
        Run even outside Colab (for tests, or another hosted notebook service).
    run, download
        The command runner and the downloader; tests replace them.

    Returns
    -------
    Path or None
        The data directory, or None outside Colab.
    """
    if not (force or in_colab()):
        return None
    missing = missing_requirements()
    if missing:
        with tempfile.TemporaryDirectory() as tmp:
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text("".join(f"{pin}\n" for pin in protected_pins()))
            run(pip_install_command(missing, constraints))
        import importlib

        importlib.invalidate_caches()
    if download is None:
        from ecglib.data import download_mitdb as download
    return download(records=list(records) if records is not None else chapter_records())


# --------------------------------------------------------------------------------------------------
# Tables


def aami_table():
    """The AAMI EC57 classes with the MIT-BIH symbols grouped into each (a pandas DataFrame)."""
    import pandas as pd

    names = {
        "N": "normal and bundle branch block beats",
        "S": "supraventricular ectopic beats",
        "V": "ventricular ectopic beats",
        "F": "fusion of ventricular and normal",
        "Q": "paced, fusion of paced and normal, unclassifiable (and codes MIT-BIH does not use)",
    }
    rows = []
    for cls, meaning in names.items():
        symbols = sorted(s for s, c in AAMI_MAP.items() if c == cls)
        if cls == "Q":
            symbols += sorted(BEAT_SYMBOLS - set(AAMI_MAP))
        rows.append({"class": cls, "meaning": meaning, "MIT-BIH symbols": " ".join(symbols),
                     "in the task": cls in ("N", "S", "V")})  # fmt: skip
    return pd.DataFrame(rows).set_index("class")


def class_table(summary: Mapping[str, Mapping[str, int]]):
    """:func:`ecglib.data.class_summary`'s dict as a DataFrame, one row per record plus ``total``."""
    import pandas as pd

    return pd.DataFrame.from_dict(summary, orient="index").rename_axis("record")


# --------------------------------------------------------------------------------------------------
# Plots


def beat_classes(symbols: np.ndarray) -> np.ndarray:
    """AAMI class (N, S, V, F, Q) of each beat symbol."""
    return np.array([AAMI_MAP.get(str(s), "Q") for s in symbols], dtype="<U1")


def plot_strip(record: Record, start_s: float = 0.0, duration_s: float = 10.0, signal: np.ndarray | None = None, ax=None):
    """Plot ``duration_s`` seconds of a record with each beat's symbol, coloured by AAMI class.

    ``signal`` replaces the record's raw signal (e.g. a filtered copy) while keeping its annotations.
    Returns the axes.
    """
    import matplotlib.pyplot as plt

    x = record.signal if signal is None else np.asarray(signal)
    lo = max(0, int(round(start_s * record.fs)))
    hi = min(len(x), int(round((start_s + duration_s) * record.fs)))
    if hi <= lo:
        raise ValueError(f"the strip {start_s:g}..{start_s + duration_s:g} s lies outside the record")
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3))
    ax.plot(np.arange(lo, hi) / record.fs, x[lo:hi], color="black", lw=0.8)
    samples, symbols = record.beats()
    inside = (samples >= lo) & (samples < hi)
    top = x[lo:hi].max()
    for pos, sym, cls in zip(samples[inside], symbols[inside], beat_classes(symbols[inside])):
        ax.annotate(sym, (pos / record.fs, top), xytext=(0, 6), textcoords="offset points",
                    ha="center", color=CLASS_COLORS[cls], fontweight="bold")  # fmt: skip
        ax.axvline(pos / record.fs, color=CLASS_COLORS[cls], alpha=0.25, lw=1)
    ax.set(xlabel="time (s)", ylabel=f"{record.lead} (mV)", title=f"record {record.name}")
    ax.set_ylim(top=top + 0.15 * (top - x[lo:hi].min()))
    return ax


def show_spectrogram(image: np.ndarray, fs: float, config=None, n_samples: int | None = None, ax=None, **kwargs):
    """Draw one cropped log-magnitude spectrogram (``ecglib.spectrogram.log_magnitude``) with
    ``librosa.display.specshow``, on real time (s) and frequency (Hz) axes.

    ``n_samples`` is the beat window's length (default: from the number of columns).
    Returns the QuadMesh, for a colour bar.
    """
    import librosa.display
    import matplotlib.pyplot as plt

    from ecglib.spectrogram import SpectrogramConfig, frame_times, frequencies

    config = config or SpectrogramConfig()
    kwargs.setdefault("cmap", "viridis")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    freqs = frequencies(fs, config)
    if n_samples is None:
        n_samples = (image.shape[1] - 1) * config.hop_length
    times = frame_times(n_samples, fs, config)
    if image.shape != (len(freqs), len(times)):
        raise ValueError(f"image is {image.shape}, the axes need {(len(freqs), len(times))} (rows, columns)")
    mesh = librosa.display.specshow(image, x_coords=times, y_coords=freqs, x_axis="s", y_axis="linear", ax=ax, **kwargs)
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    return mesh


def plot_detector_steps(record: Record, start_s: float = 0.0, duration_s: float = 5.0, config=None):
    """The R-peak detector's intermediate signals on a stretch of a record, one panel per step.

    Raw signal → derivative of the 5–15 Hz QRS band → its square → moving-window integration
    (:func:`ecglib.rpeaks.qrs_energy`) → detections on the 0.5–40 Hz band-passed signal, with
    the reference beats. The detector runs on the whole record (its thresholds adapt over time);
    only the stretch is drawn. Returns the figure.
    """
    import matplotlib.pyplot as plt

    from ecglib.preprocess import bandpass
    from ecglib.rpeaks import RPeakConfig, detect_rpeaks, qrs_energy

    config = config or RPeakConfig()
    lo = max(0, int(round(start_s * record.fs)))
    hi = min(len(record.signal), int(round((start_s + duration_s) * record.fs)))
    if hi <= lo:
        raise ValueError(f"the stretch {start_s:g}..{start_s + duration_s:g} s lies outside the record")
    slope, mwi = qrs_energy(record.signal, record.fs, config)
    detected = detect_rpeaks(record.signal, record.fs, config)
    reference, _ = record.beats()
    steps = [
        ("raw signal (mV)", record.signal),
        (f"derivative of the {config.qrs_band_hz[0]:g}–{config.qrs_band_hz[1]:g} Hz band (mV/s)", slope),
        ("squared", slope**2),
        (f"moving-window integration ({config.integration_s * 1000:g} ms)", mwi),
        ("band-passed 0.5–40 Hz: detected (x) and reference (o) R-peaks", bandpass(record.signal, record.fs)),
    ]
    fig, axes = plt.subplots(len(steps), 1, figsize=(12, 1.7 * len(steps)), sharex=True)
    t = np.arange(lo, hi) / record.fs
    for ax, (title, y) in zip(axes, steps):
        ax.plot(t, y[lo:hi], color="black", lw=0.8)
        ax.set_title(title, fontsize=10, loc="left")
    for peaks, marker, color in ((detected, "x", "tab:red"), (reference, "o", "tab:blue")):
        inside = peaks[(peaks >= lo) & (peaks < hi)]
        axes[-1].plot(inside / record.fs, steps[-1][1][inside], marker, color=color, mfc="none", ms=8)
    shown = detected[(detected >= lo) & (detected < hi)]
    axes[3].vlines(shown / record.fs, 0, mwi[lo:hi].max(), color="tab:red", lw=0.6, alpha=0.5)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return fig
