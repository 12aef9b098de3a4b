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
    PhysioNet (unless ``ECGLIB_DATA_DIR`` already holds the records). Anywhere else the cell does
    nothing. ``make test-colab`` runs every chapter on Colab's package versions
    (``.ci/colab-stack.txt``) with a stand-in ``google.colab`` module, so this branch is tested.
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

    Parameters
    ----------
    url
        Repository the cell installs from (``pip install git+{url}``, only when ``import ecglib``
        fails); default :data:`REPOSITORY_URL`.

    Returns
    -------
    str
        The cell's Python source, without a trailing newline.
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
    the requirement does not accept.

    Parameters
    ----------
    distribution
        Name of an installed distribution whose ``Requires-Dist`` metadata is read; default
        ``"ecglib"``. Requirements whose environment marker is false (those of an extra, or for
        another platform or Python) are skipped.

    Returns
    -------
    list of str
        The unmet requirements as :class:`packaging.requirements.Requirement` strings (e.g.
        ``"wfdb>=4.1"``), in metadata order; empty when all are met. A pre-release counts as
        meeting a version range.

    Raises
    ------
    importlib.metadata.PackageNotFoundError
        If ``distribution`` itself is not installed.
    """
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
    """``name==version`` of the installed protected packages (pip constraints that freeze them).

    Parameters
    ----------
    packages
        Distribution names; default :data:`PROTECTED_PACKAGES`.

    Returns
    -------
    list of str
        ``"name==version"`` of each package that is installed, in the order given; the others are
        skipped.
    """
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

    Parameters
    ----------
    requirements
        Requirement strings to install (e.g. from :func:`missing_requirements`).
    constraints_file
        Path of the pip constraints file, passed as ``--constraint``.

    Returns
    -------
    list of str
        ``[sys.executable, "-m", "pip", "install", "--quiet", ...options, *requirements]``, for
        :func:`subprocess.run`.

    Raises
    ------
    ValueError
        If ``requirements`` is empty.
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
    run: Callable[[list[str]], object] | None = None,
    download: Callable[..., Path] | None = None,
) -> Path | None:
    """Prepare a Colab runtime for a chapter; outside Colab do nothing and return None.

    1. Install ecglib's missing dependencies (on Colab: wfdb) with pip, keeping Colab's own NumPy,
       TensorFlow and Keras exactly as they are (:func:`pip_install_command`).
    2. Get the records (default :func:`chapter_records`):

       - if ``ECGLIB_DATA_DIR`` is set and already holds every record's ``.hea``, ``.dat`` and
         ``.atr``, use that copy and download nothing (e.g. MIT-BIH on a mounted Google Drive);
       - if it is set but some records are missing, download them into it;
       - otherwise download them from PhysioNet into ecglib's cache with
         :func:`ecglib.data.download_mitdb`; files already there and intact are not fetched again.

    It prints what it did on lines starting with ``ecglib.colab_setup:`` (``make test-colab``
    checks that every chapter printed them).

    Parameters
    ----------
    records
        Records to get; default :func:`chapter_records`.
    force
        Run even outside Colab (for tests, or another hosted notebook service).
    run, download
        The command runner (default: run pip, raising with pip's own output when it fails) and the downloader (called as ``download(records=...)``, plus
        ``dest=`` when filling ``ECGLIB_DATA_DIR``); tests replace them.

    Returns
    -------
    Path or None
        The data directory, or None outside Colab.
    """
    if not (force or in_colab()):
        return None
    import platform

    pins = protected_pins()
    missing = missing_requirements()
    if missing:
        with tempfile.TemporaryDirectory() as tmp:
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text("".join(f"{pin}\n" for pin in pins))
            (run or _run_pip)(pip_install_command(missing, constraints))
        import importlib

        importlib.invalidate_caches()
    installed = f"installed {', '.join(missing)}" if missing else "nothing to install"
    _colab_log(f"Python {platform.python_version()}, kept {', '.join(pins) or 'no protected package'}; {installed}")

    names = list(records) if records is not None else chapter_records()
    if download is None:
        from ecglib.data import download_mitdb as download
    n = f"{len(names)} record{'s' if len(names) != 1 else ''}"
    local = os.environ.get("ECGLIB_DATA_DIR")
    if local:
        path = Path(local).expanduser()
        absent = [r for r in names if not all((path / f"{r}.{ext}").is_file() for ext in ("hea", "dat", "atr"))]
        if not absent:
            _colab_log(f"MIT-BIH: {n} already in $ECGLIB_DATA_DIR ({path}), nothing downloaded")
            return path
        _colab_log(f"MIT-BIH: downloading {len(absent)} of {n} into $ECGLIB_DATA_DIR ({path})")
        return download(records=names, dest=path)
    _colab_log(f"MIT-BIH: downloading {n} from PhysioNet into ecglib's cache (files already there are kept)")
    return download(records=names)


def _run_pip(cmd: list[str]) -> None:
    """Run pip; on failure raise with what pip said (a notebook shows the traceback, not pip's stderr)."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        said = (proc.stdout + proc.stderr).strip()
        raise RuntimeError(
            f"pip exited with {proc.returncode} installing ecglib's missing requirements with "
            f"{', '.join(PROTECTED_PACKAGES)} held at the runtime's versions:\n$ {' '.join(cmd)}\n{said}"
        )


def glue(name: str, value, display: bool = True) -> None:
    """``myst_nb.glue`` in the book build; on Colab, which has no MyST-NB, show ``value`` with its name.

    Colab renders a chapter's ``{glue:text}`name``` roles as raw text, so there every glued value
    is shown under its name, whatever ``display`` says: the reader can match the role in the prose
    to the number in the output above it.

    Chapters import it from here, never ``from myst_nb import glue`` (which fails on Colab).

    Parameters
    ----------
    name
        Key the chapter's text refers to the value by.
    value
        Any object ``myst_nb.glue`` (or, on Colab, ``IPython.display.display``) accepts: a number,
        string, figure, DataFrame, ...
    display
        Also show ``value`` in the cell's output of the book; default True. Ignored on Colab.

    Returns
    -------
    None
        ``value`` is glued (or shown), not returned.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if isinstance(value, (str, int, float, np.generic)):
            print(f"{name}: {value}")
        else:
            from IPython.display import display as show

            print(f"{name}:")
            show(value)
        return
    myst_glue(name, value, display=display)


def _colab_log(message: str) -> None:
    print(f"ecglib.colab_setup: {message}", flush=True)


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
    """:func:`ecglib.data.class_summary`'s dict as a DataFrame, one row per record plus ``total``.

    Parameters
    ----------
    summary
        ``{record: {column: count}}`` as :func:`ecglib.data.class_summary` returns it (columns
        ``"N"``, ``"S"``, ``"V"``, ``"F"``, ``"Q"``, ``"non-beat"``; a last row ``"total"``).

    Returns
    -------
    pandas.DataFrame
        One row per key of ``summary``, in its order, index named ``"record"``; one column per
        inner key.
    """
    import pandas as pd

    return pd.DataFrame.from_dict(summary, orient="index").rename_axis("record")


# --------------------------------------------------------------------------------------------------
# Plots


def beat_classes(symbols: np.ndarray) -> np.ndarray:
    """AAMI class (N, S, V, F, Q) of each beat symbol.

    Parameters
    ----------
    symbols
        ``(n,)`` MIT-BIH annotation symbols (any iterable; each is passed through ``str``).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` ``<U1`` class letters from :data:`ecglib.data.AAMI_MAP`; a symbol it does not
        list (beats ``"B"``, ``"r"``, ``"n"``, ``"?"``, and any non-beat symbol) gives ``"Q"``.
    """
    return np.array([AAMI_MAP.get(str(s), "Q") for s in symbols], dtype="<U1")


def plot_strip(record: Record, start_s: float = 0.0, duration_s: float = 10.0, signal: np.ndarray | None = None, ax=None):
    """Plot ``duration_s`` seconds of a record with each beat's symbol, coloured by AAMI class.

    Parameters
    ----------
    record
        An :class:`ecglib.data.Record`; its ``fs`` (Hz) turns seconds into samples and its beat
        annotations (:meth:`ecglib.data.Record.beats`) are drawn.
    start_s, duration_s
        Start and length of the strip, in seconds from the start of the record; default 0.0 and
        10.0. The strip is clipped to the signal.
    signal
        ``(n_samples,)`` signal at ``record.fs`` that replaces the record's raw signal (e.g. a
        filtered copy) while keeping its annotations; default None, ``record.signal`` (mV).
    ax
        Matplotlib axes to draw on; default None, a new 12 × 3 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: time in seconds on x, the signal on y (labelled in mV).

    Raises
    ------
    ValueError
        If the strip holds no sample of the signal.
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

    Parameters
    ----------
    image
        ``(n_freq, n_frames)`` spectrogram at native resolution, row 0 = 0 Hz: log-magnitude
        values, or an image made with ``size=None``. A resized image does not fit the axes.
    fs
        Sampling rate in Hz.
    config
        The :class:`ecglib.spectrogram.SpectrogramConfig` the image was made with (``n_fft``,
        ``hop_length`` and ``fmax_hz`` place its rows and columns); default None,
        ``SpectrogramConfig()``.
    n_samples
        The beat window's length in samples; default None, from the number of columns:
        ``(n_frames - 1) * hop_length + n_fft % 2`` (the inverse of ``frame_times``' count).
    ax
        Matplotlib axes to draw on; default None, a new 5 × 3 inch figure.
    **kwargs
        Passed to ``librosa.display.specshow`` (e.g. ``vmin``, ``vmax``); ``cmap`` defaults to
        ``"viridis"``.

    Returns
    -------
    matplotlib.collections.QuadMesh
        The mesh, for a colour bar; time in seconds from the window's start on x, frequency in Hz
        on y.

    Raises
    ------
    ValueError
        If ``image`` is not ``(len(frequencies), len(frame_times))`` for ``fs``, ``config`` and
        ``n_samples`` (:mod:`ecglib.spectrogram`), or ``fs`` is not positive.
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
        # inverse of frame_times' count: an odd window pads one sample less on each side
        n_samples = (image.shape[1] - 1) * config.hop_length + config.n_fft % 2
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
    only the stretch is drawn.

    Parameters
    ----------
    record
        An :class:`ecglib.data.Record`, at least 2 s long; its raw ``signal`` (mV) is processed and
        its beat annotations are the reference R-peaks.
    start_s, duration_s
        Start and length of the stretch drawn, in seconds from the start of the record; default
        0.0 and 5.0. The stretch is clipped to the record.
    config
        :class:`ecglib.rpeaks.RPeakConfig` of :func:`ecglib.rpeaks.qrs_energy` and
        :func:`ecglib.rpeaks.detect_rpeaks`; default None, ``RPeakConfig()``.

    Returns
    -------
    matplotlib.figure.Figure
        Five panels, 12 inches wide, sharing one time axis in seconds from the start of the record.

    Raises
    ------
    ValueError
        If the stretch holds no sample of the record, or the detector rejects the signal (shorter
        than 2 s, NaN or infinite samples, ``qrs_band_hz`` not below ``fs / 2``).
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


# --------------------------------------------------------------------------------------------------
# Chapters 4–6: models, evaluation, Grad-CAM


def recompute_images(data, spec_config, beat_config=None, data_dir=None):
    """The same beats as ``data`` with their images made again with another spectrogram config.

    Chapter 4 uses it to give a few beats of the efficient model's dataset the seed model's
    128 × 128 images without building (and holding) those images for every beat. Each record of
    ``data`` is read once; beats are matched by R-peak position.

    Parameters
    ----------
    data
        An :class:`ecglib.dataset.Dataset`; its ``records`` and ``peaks`` (samples) say which beats
        to remake.
    spec_config
        :class:`ecglib.spectrogram.SpectrogramConfig` of the new images (e.g. the seed model's
        ``size=(128, 128)``).
    beat_config
        :class:`ecglib.beats.BeatConfig` that cuts the windows; default None, ``BeatConfig()``. Use
        the one ``data`` was built with: only the R-peak positions are checked.
    data_dir
        Database directory (see :func:`ecglib.data.find_data_dir`); default None.

    Returns
    -------
    ecglib.dataset.Dataset
        ``data`` with new ``images``, ``(n, height, width)`` uint8 as ``spec_config`` makes them
        (labels, RR features, records and peaks unchanged).

    Raises
    ------
    ValueError
        If ``data`` holds no beats, or a beat of ``data`` is not among the beats ``beat_config``
        cuts from its record.
    FileNotFoundError
        If a record's files are missing (:func:`ecglib.data.load_record`).
    """
    import dataclasses

    from ecglib.beats import BeatConfig, record_beats
    from ecglib.data import load_record
    from ecglib.spectrogram import spectrogram_images

    beat_config = beat_config or BeatConfig()
    if len(data) == 0:
        raise ValueError("data holds no beats")
    images = None
    for rec in np.unique(data.records):
        rows = np.flatnonzero(data.records == rec)
        record = load_record(str(rec), data_dir)
        beats = record_beats(record, beat_config)
        if len(beats.peaks) == 0:
            raise ValueError(f"record {rec}: beat_config cuts no beats from it, but data holds {len(rows)}")
        pos = np.minimum(np.searchsorted(beats.peaks, data.peaks[rows]), len(beats.peaks) - 1)
        if not np.array_equal(beats.peaks[pos], data.peaks[rows]):
            raise ValueError(f"record {rec}: some beats of data are not beats of this beat_config")
        block = spectrogram_images(beats.windows[pos], record.fs, spec_config)
        if images is None:
            images = np.empty((len(data), *block.shape[1:]), dtype=np.uint8)
        images[rows] = block
    return dataclasses.replace(data, images=images)


def model_batch(model, model_name: str, data, index=None):
    """The model's input for the beats ``index`` of ``data`` (default all), as ``model.predict`` takes it.

    Built with :func:`ecglib.models.model_inputs`, so it follows whatever inputs the model has; a
    per-record input such as the efficient model's optional ``"ref"`` image is computed over all
    beats of ``data`` (as :func:`ecglib.models.predict_proba` does), then indexed.

    Parameters
    ----------
    model
        The Keras model; for ``"efficient_cnn"`` its reference inputs
        (:func:`ecglib.models.reference_settings`) and the width of its ``"rr"`` input
        (:func:`ecglib.models.rr_for_model`) are read. Unused for ``"seed_cnn"``.
    model_name
        ``"seed_cnn"`` or ``"efficient_cnn"``.
    data
        An :class:`ecglib.dataset.Dataset`.
    index
        Positions of the beats in ``data`` (integers, or a boolean mask of ``len(data)``;
        :meth:`ecglib.dataset.Dataset.positions`); default None, all beats.

    Returns
    -------
    numpy.ndarray or dict of numpy.ndarray
        ``"seed_cnn"``: ``(n, 128, 128, 3)`` float32 viridis RGB (0..255). ``"efficient_cnn"``:
        ``{"image": (n, h, w) uint8, "rr": (n, n_rr) float32}``, plus ``"ref"`` (and
        ``"local_ref"``), ``(n, h, w)`` uint8, when the model takes them.

    Raises
    ------
    ValueError
        From :func:`ecglib.models.model_inputs`: an unknown ``model_name``, no beats (empty
        ``data``; for ``"seed_cnn"`` also an empty ``index``), or ``"seed_cnn"`` images that are
        not 128 × 128; a boolean ``index`` of another length than ``data``.
    """
    from ecglib import models

    index = np.arange(len(data)) if index is None else data.positions(index)
    if model_name == "seed_cnn":  # 128 × 128 × 3 floats per beat: colour only the beats asked for
        return models.model_inputs(model_name, data.take(index), labels=False, batch_size=max(len(index), 1)).inputs(0)
    extra = {**models.reference_settings(model), "rr": models.rr_for_model(model, data.rr)}
    full = models.model_inputs(model_name, data, labels=False, batch_size=len(data), **extra).inputs(0)
    return {key: np.asarray(value)[index] for key, value in full.items()}


def gradcam_maps(model, model_name: str, data, index=None, class_index=None, layer_name: str | None = None,
                 batch_size: int = 256) -> np.ndarray:  # fmt: skip
    """:func:`ecglib.gradcam.grad_cam` maps ``(n, h, w)`` of the beats ``index`` of ``data``, in batches.

    Parameters
    ----------
    model
        A Keras classifier with a softmax output.
    model_name
        ``"seed_cnn"`` or ``"efficient_cnn"``: how its input is built (:func:`model_batch`).
    data
        An :class:`ecglib.dataset.Dataset`.
    index
        Positions of the beats in ``data`` (integers, or a boolean mask of ``len(data)``); default
        None, all beats.
    class_index
        Class to explain: one int for all beats, ``(n,)`` ints one per beat, or None (default) for
        each beat's predicted class.
    layer_name
        Convolutional layer to use; default None, :func:`ecglib.models.last_conv_layer_name`.
    batch_size
        Beats per :func:`ecglib.gradcam.grad_cam` call, a positive integer; default 256.

    Returns
    -------
    numpy.ndarray
        ``(n, h, w)`` float32 maps in 0..1, in the order of ``index``, at the size of the image
        input (128 × 128 for ``"seed_cnn"``, ``data.images``' for ``"efficient_cnn"``); each is
        scaled to a maximum of 1, all zeros where nothing supports the class.

    Raises
    ------
    ValueError
        If ``index`` is empty or a boolean mask of another length than ``data``, ``batch_size`` is
        not a positive integer, ``class_index`` does not broadcast to ``index``'s shape, or a class
        lies outside the model's outputs.
    """
    from ecglib._checks import check_positive_int
    from ecglib.gradcam import grad_cam

    check_positive_int(batch_size, "batch_size")
    index = np.arange(len(data)) if index is None else data.positions(index)
    if index.size == 0:
        raise ValueError("no beats to explain: index is empty")
    classes = None if class_index is None else np.broadcast_to(np.asarray(class_index), index.shape)
    # efficient_cnn's inputs (reference beats included) are built once for all beats; seed_cnn's
    # 128 × 128 × 3 float images per batch only, to bound the memory
    every = None if model_name == "seed_cnn" else model_batch(model, model_name, data, index)
    out = []
    for start in range(0, len(index), batch_size):
        part = slice(start, start + batch_size)
        if every is None:
            inputs = model_batch(model, model_name, data, index[part])
        else:
            inputs = {key: value[part] for key, value in every.items()}
        key = {"image_key": "image"} if isinstance(inputs, dict) and "image" in inputs else {}
        out.append(grad_cam(model, inputs, None if classes is None else classes[part], layer_name, **key))
    return np.concatenate(out)


def spectrogram_extent(spec_config=None, beat_config=None, fs: float | None = None) -> tuple[float, float, float, float]:
    """``(left, right, bottom, top)`` edges of a beat's spectrogram image: time in seconds from the
    R-peak (the window's centre) and frequency in Hz, for ``imshow(..., extent=...)``.

    ``imshow`` spreads the pixels between these edges, so each STFT column (row) is drawn centred on
    its own time (frequency): the edges lie half a hop (half a frequency bin) beyond the first and
    last centres. Valid for native and resized images alike (resizing changes the pixels, not what
    they span). The centres of the ``w`` columns of an image are ``left + (arange(w) + 0.5) *
    (right - left) / w``.

    Parameters
    ----------
    spec_config
        :class:`ecglib.spectrogram.SpectrogramConfig` (``n_fft``, ``hop_length``, ``fmax_hz``);
        default None, ``SpectrogramConfig()``.
    beat_config
        :class:`ecglib.beats.BeatConfig` (its ``window_s``, in seconds); default None,
        ``BeatConfig()``.
    fs
        Sampling rate in Hz; default None, :data:`ecglib.data.FS` (360).

    Returns
    -------
    tuple of float
        Outer edges of the first and last STFT columns, in seconds from the R-peak, and of the
        lowest and highest kept rows, in Hz: ``(-1.0111, 1.0111, -1.40625, 43.59375)`` with the
        defaults (column centres -1.0 … 1.0 s, a hop of 8 samples apart; row centres
        0 … 42.1875 Hz, 2.8125 Hz apart).
    """
    from ecglib.beats import BeatConfig
    from ecglib.data import FS
    from ecglib.spectrogram import SpectrogramConfig, frame_times, frequencies

    spec_config = spec_config or SpectrogramConfig()
    beat_config = beat_config or BeatConfig()
    fs = FS if fs is None else fs
    times = frame_times(int(round(beat_config.window_s * fs)), fs, spec_config) - beat_config.window_s / 2
    freqs = frequencies(fs, spec_config)
    # imshow's extent is the outer edges of the pixels: half a column (row) beyond the centres
    half_t = spec_config.hop_length / fs / 2
    half_f = fs / spec_config.n_fft / 2
    return float(times[0] - half_t), float(times[-1] + half_t), float(freqs[0] - half_f), float(freqs[-1] + half_f)


def show_gradcam(image: np.ndarray, cam: np.ndarray, spec_config=None, beat_config=None, ax=None,
                 alpha: float = 0.45, title: str = "", fs: float | None = None):  # fmt: skip
    """A Grad-CAM map over its spectrogram (:func:`ecglib.gradcam.overlay`) on real axes: time from
    the R-peak (s) and frequency (Hz), low frequencies at the bottom.

    Parameters
    ----------
    image
        ``(h, w)`` uint8 spectrogram, row 0 = lowest frequency (``(h, w, 1)`` and ``(h, w, 3)`` RGB
        are accepted too).
    cam
        ``(h, w)`` map in 0..1, e.g. one of :func:`gradcam_maps`.
    spec_config, beat_config
        The configs the image was made with, for the axes (:func:`spectrogram_extent`); default
        None, ``SpectrogramConfig()`` and ``BeatConfig()``.
    ax
        Matplotlib axes to draw on; default None, a new 4 × 3 inch figure.
    alpha
        Weight of the heat map, in 0..1; default 0.45.
    title
        Title of the axes; default ``""``, none.
    fs
        Sampling rate in Hz the image was made at, for the axes; default None,
        :data:`ecglib.data.FS` (360).

    Returns
    -------
    matplotlib.axes.Axes
        The axes.

    Raises
    ------
    ValueError
        If ``image`` and ``cam`` differ in ``(h, w)``, or ``alpha`` is outside 0..1.
    """
    import matplotlib.pyplot as plt

    from ecglib.gradcam import overlay

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ax.imshow(overlay(image, cam, alpha), origin="lower", aspect="auto", extent=spectrogram_extent(spec_config, beat_config, fs))
    ax.set(xlabel="time from R-peak (s)", ylabel="frequency (Hz)", title=title)
    return ax


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between ``a[i]`` and ``b[i]`` (maps of any shape), one per pair.

    Parameters
    ----------
    a, b
        ``(n, ...)`` stacks of ``n`` maps of one shape (e.g. ``(n, h, w)`` Grad-CAM maps), at least
        2-D.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 correlations in -1..1 (tied values share their average rank); NaN where
        either map is constant (e.g. all zeros: Grad-CAM found nothing for the class).

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in shape or are less than 2-D.
    """
    from scipy.stats import rankdata

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"need two stacks of maps of the same shape, got {a.shape} and {b.shape}")
    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(axis=1) / denom, np.nan)


def randomized_model(model, layers: Sequence[str] | None = None, seed: int = 0):
    """A copy of ``model`` whose layers ``layers`` (default: all) have freshly initialised weights.

    The model-randomisation test of Adebayo et al. (2018): an explanation that does not change when
    the weights it explains are replaced by random ones does not explain the model. Naming only the
    top layers gives their *cascading* variant. ``model`` itself is left untouched.

    Parameters
    ----------
    model
        A Keras model, or an :func:`ecglib.models.ensemble_model` (then ``layers`` are re-initialised
        in every member).
    layers
        Names of the layers to re-initialise; default None, every layer of ``model`` (of each member).
    seed
        Seed of the new weights, set with ``keras.utils.set_random_seed`` (which also reseeds
        Python's, NumPy's and the backend's global generators); default 0.

    Returns
    -------
    keras.Model
        A clone (``keras.models.clone_model``) with ``model``'s weights, except in ``layers``, which
        hold those of a freshly initialised clone.

    Raises
    ------
    ValueError
        If a name in ``layers`` is not a layer of ``model`` (of a member; Keras's ``get_layer``).
    """
    import keras

    from ecglib.models import ensemble_members

    keras.utils.set_random_seed(seed)
    fresh = keras.models.clone_model(model)
    out = keras.models.clone_model(model)
    out.set_weights(model.get_weights())
    for target, source in zip(ensemble_members(out), ensemble_members(fresh)):
        names = [layer.name for layer in target.layers] if layers is None else list(layers)
        for name in names:
            target.get_layer(name).set_weights(source.get_layer(name).get_weights())  # raises on an unknown name
    return out


def per_record_scores(records: np.ndarray, y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str] = ("N", "S", "V")):
    """Per-record results (a DataFrame): beats, accuracy, and for each class its beats and recall
    (NaN where the record has none of that class).

    Parameters
    ----------
    records
        ``(n,)`` record name of each beat.
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities (or scores); the prediction is the arg-max.
    class_names
        Names of the classes, in label order; default ``("N", "S", "V")``.

    Returns
    -------
    pandas.DataFrame
        One row per record, sorted, index named ``"record"``; columns ``"beats"``, ``"accuracy"``,
        then ``"{name} beats"`` and ``"{name} recall"`` for each class.

    Raises
    ------
    ValueError
        If ``records``, ``y_true`` and ``proba`` differ in length.
    """
    import pandas as pd

    records, y_true = np.asarray(records), np.asarray(y_true)
    pred = np.asarray(proba).argmax(axis=1)
    if not len(records) == len(y_true) == len(pred):
        raise ValueError(f"records ({len(records)}), y_true ({len(y_true)}) and proba ({len(pred)}) differ in length")
    rows = {}
    for rec in np.unique(records):
        m = records == rec
        row = {"beats": int(m.sum()), "accuracy": float((pred[m] == y_true[m]).mean())}
        for c, name in enumerate(class_names):
            is_c = m & (y_true == c)
            row[f"{name} beats"] = int(is_c.sum())
            row[f"{name} recall"] = float((pred[is_c] == c).mean()) if is_c.any() else float("nan")
        rows[str(rec)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("record")


def _beats_and_predictions(records, peaks, y_true, proba) -> tuple[np.ndarray, ...]:
    """Arrays of the per-beat breakdowns, checked to be of one length; ``proba`` becomes the predicted class."""
    records, peaks = np.asarray(records), np.asarray(peaks)
    y_true, pred = np.asarray(y_true), np.asarray(proba).argmax(axis=1)
    if not len(records) == len(peaks) == len(y_true) == len(pred):
        raise ValueError(
            f"records ({len(records)}), peaks ({len(peaks)}), y_true ({len(y_true)}) and proba ({len(pred)}) differ in length"
        )
    return records, peaks, y_true, pred


def scores_by_symbol(
    records: np.ndarray,
    peaks: np.ndarray,
    y_true: np.ndarray,
    proba: np.ndarray,
    class_names: Sequence[str] = ("N", "S", "V"),
    data_dir=None,
    tolerance_s: float = 0.150,
):
    """Results per record and MIT-BIH beat symbol (a DataFrame indexed by record and symbol).

    Each beat (R-peak position ``peaks``, in samples, within its record) is matched to the nearest
    reference annotation within ``tolerance_s`` seconds; columns: the AAMI class, the number of
    beats, and the share predicted as each class (``"as N"``, ...), so the share in the beat's own
    class is its recall. Shows, for example, which kind of V beat a model misses.

    Parameters
    ----------
    records
        ``(n,)`` record name of each beat.
    peaks
        ``(n,)`` R-peak position of each beat, in samples within its record.
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities (or scores); the prediction is the arg-max.
    class_names
        Names of the classes, in label order; default ``("N", "S", "V")``.
    data_dir
        Database directory the records are read from (see :func:`ecglib.data.find_data_dir`);
        default None.
    tolerance_s
        Largest distance, in seconds, from a beat to the annotation it takes the symbol of;
        default 0.150.

    Returns
    -------
    pandas.DataFrame
        One row per record and symbol found, sorted; beats with no annotation within
        ``tolerance_s`` are grouped under ``"?"``. Columns ``"class"`` (the most common true class
        of those beats), ``"beats"`` and, for each class, ``"as {name}"`` (a share in 0..1).

    Raises
    ------
    ValueError
        If ``records``, ``peaks``, ``y_true`` and ``proba`` differ in length.
    """
    import pandas as pd

    from ecglib.beats import match_annotations
    from ecglib.data import load_record

    records, peaks, y_true, pred = _beats_and_predictions(records, peaks, y_true, proba)
    rows = {}
    for rec in np.unique(records):
        m = np.flatnonzero(records == rec)
        record = load_record(str(rec), data_dir)
        symbols = match_annotations(peaks[m], record.ann_samples, record.ann_symbols, record.fs, tolerance_s)
        symbols = np.where(symbols == "", "?", symbols)
        for s in np.unique(symbols):
            k = m[symbols == s]
            row = {"class": class_names[int(np.bincount(y_true[k]).argmax())], "beats": len(k)}
            row.update({f"as {name}": float(np.mean(pred[k] == c)) for c, name in enumerate(class_names)})
            rows[(str(rec), str(s))] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.names = ["record", "symbol"]
    return table


def beat_rhythms(records: np.ndarray, peaks: np.ndarray, data_dir=None) -> np.ndarray:
    """The annotated rhythm of each beat (:meth:`ecglib.data.Record.rhythms`), beats of any records.

    Parameters
    ----------
    records
        ``(n,)`` record name of each beat.
    peaks
        ``(n,)`` integer R-peak position of each beat, in samples within its record.
    data_dir
        Database directory the records are read from (see :func:`ecglib.data.find_data_dir`);
        default None.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` string array (``"N"``, ``"AFL"``, ...; ``""`` before a record's first rhythm
        annotation).

    Raises
    ------
    ValueError
        If ``records`` and ``peaks`` are not 1-D of one length, or ``peaks`` are not integers.
    """
    from ecglib.data import load_record

    records, peaks = np.asarray(records), np.asarray(peaks)
    if records.shape != peaks.shape or records.ndim != 1:
        raise ValueError(f"records and peaks must be 1-D of one length, got shapes {records.shape} and {peaks.shape}")
    out = np.empty(len(peaks), dtype=object)
    for rec in np.unique(records):
        m = records == rec
        out[m] = load_record(str(rec), data_dir).rhythms(peaks[m])
    return out.astype(str)


def scores_by_rhythm(
    records: np.ndarray,
    peaks: np.ndarray,
    y_true: np.ndarray,
    proba: np.ndarray,
    class_names: Sequence[str] = ("N", "S", "V"),
    data_dir=None,
):
    """Results per record and annotated rhythm (a DataFrame indexed by record and rhythm).

    Each beat (R-peak position ``peaks``, in samples, within its record) gets the rhythm in effect
    there (:meth:`ecglib.data.Record.rhythms`: ``"N"`` sinus rhythm, ``"AFL"`` atrial flutter,
    ``"SVTA"``, ...). Columns: the number of beats, how many of them each class holds (``"N"``, ...)
    and how many the model predicts as each class (``"as N"``, ...), and ``"errors"``; beats before
    a record's first rhythm annotation are grouped as ``"?"``. A class is made of beats, but a
    rhythm is the context those beats come in: the table shows, for example, normal beats of
    atrial flutter called S.

    Parameters
    ----------
    records
        ``(n,)`` record name of each beat.
    peaks
        ``(n,)`` integer R-peak position of each beat, in samples within its record.
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities (or scores); the prediction is the arg-max.
    class_names
        Names of the classes, in label order; default ``("N", "S", "V")``.
    data_dir
        Database directory the records are read from (see :func:`ecglib.data.find_data_dir`);
        default None.

    Returns
    -------
    pandas.DataFrame
        One row per record and rhythm found; integer columns ``"beats"``, one per class
        (``"N"``, ...: true class counts), ``"as {name}"`` per class (predicted counts) and
        ``"errors"``.

    Raises
    ------
    ValueError
        If the arrays differ in length, or ``peaks`` are not integers.
    """
    import pandas as pd

    records, peaks, y_true, pred = _beats_and_predictions(records, peaks, y_true, proba)
    rhythms = beat_rhythms(records, peaks, data_dir)
    n = len(class_names)
    rows = {}
    for rec in np.unique(records):
        m = np.flatnonzero(records == rec)
        for rhythm in np.unique(rhythms[m]):
            k = m[rhythms[m] == rhythm]
            true, called = np.bincount(y_true[k], minlength=n), np.bincount(pred[k], minlength=n)
            row = {"beats": len(k), **{c: int(true[i]) for i, c in enumerate(class_names)}}
            row.update({f"as {c}": int(called[i]) for i, c in enumerate(class_names)})
            row["errors"] = int(np.sum(y_true[k] != pred[k]))
            rows[(str(rec), str(rhythm) or "?")] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.names = ["record", "rhythm"]
    return table


def quiet_tensorflow() -> None:
    """Import TensorFlow and initialise its devices with its C++ start-up messages silenced.

    TensorFlow 2.21 writes a few lines (oneDNN, CUDA drivers not found, ...) straight to file
    descriptor 2 before its logging is set up, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; in a notebook
    they would end up on the page of every chapter that trains a model. This points descriptor 2 at
    ``/dev/null`` while TensorFlow starts, then restores it; later errors are shown as usual. A no-op
    once TensorFlow is running.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs on first use
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
