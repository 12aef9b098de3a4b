"""Classify the beats of a new recording: CSV, WFDB record or NumPy array, any sampling rate.

``predict_arrhythmia`` runs the whole pipeline on a single-lead ECG: resample to 360 Hz, band-pass,
detect R-peaks with our detector, cut 2-s windows, make the spectrograms the model was trained on
(read from the model's metadata), add RR features (and, for a model with a ``"ref"`` input, the
recording's typical beat: the median spectrogram of its beats, or of its long-RR beats, as the
model was trained, and with a ``"local_ref"`` input that of the minutes around each beat;
computed without labels), and predict. Windows are cut and transformed in chunks of beats, so
memory stays small (a few kB of image per beat) whatever the length.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecglib._checks import check_positive_int
from ecglib.beats import BeatConfig, extract_windows, rr_features, window_samples
from ecglib.data import CLASSES, FS, lead_channel, resample_to
from ecglib.preprocess import bandpass
from ecglib.spectrogram import SpectrogramConfig, spectrogram_images

if TYPE_CHECKING:  # for annotations only: Keras is imported inside the functions that use it
    import keras

#: Beats per chunk of windows → spectrograms → model (bounds memory on long recordings).
CHUNK_BEATS = 4096


def default_model_path() -> Path:
    """The efficient model trained on the seed protocol (by ``python -m ecglib train`` or chapter 4)."""
    from ecglib.protocols import EFFICIENT, model_path

    return model_path(EFFICIENT, "seed")


@dataclass(frozen=True)
class Prediction:
    """Per-beat predictions and a recording summary.

    Attributes
    ----------
    time_s
        ``(n,)`` R-peak times in seconds from the start of the recording.
    classes
        ``(n,)`` predicted class names (``"N"``, ``"S"``, ``"V"``).
    confidence
        ``(n,)`` probability of the predicted class.
    proba
        ``(n, 3)`` class probabilities.
    summary
        ``{"class", "confidence", "n_beats", "counts", "heart_rate_bpm"}``: the class most beats
        were given, the mean confidence of those beats, beats per class, and mean heart rate.
    """

    time_s: np.ndarray
    classes: np.ndarray
    confidence: np.ndarray
    proba: np.ndarray
    summary: dict

    def rows(self) -> list[dict]:
        """One dict per beat: ``{"time_s", "class", "confidence"}``."""
        return [
            {"time_s": float(t), "class": str(c), "confidence": float(p)}
            for t, c, p in zip(self.time_s, self.classes, self.confidence)
        ]


# ------------------------------------------------------------------------------------------ reading


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv_signal(path: str | os.PathLike, fs: float | None = None) -> tuple[np.ndarray, float]:
    """Read a single-lead ECG from CSV: one column (values) or two (time in s, value), header optional.

    Parameters
    ----------
    path
        The file. The delimiter (``,``, ``;``, tab or space) is sniffed; blank lines are skipped; a
        first line with a non-numeric cell is taken as the header. Times must be strictly
        increasing, each step within 1 % of the median step.
    fs
        Sampling rate in Hz: required for one column; with a time column, optional, and it must
        then agree to 1 % with the rate of the column (one over its median step).

    Returns
    -------
    signal, fs
        ``(n,)`` float64 samples (the file's unit, expected mV) and the sampling rate in Hz: from
        the time column if there is one, else the given ``fs``.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file; empty file; non-numeric or NaN values (the line is named); one column and no
        ``fs``; irregular or non-increasing times; an ``fs`` that contradicts the time column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, newline="") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(fh, dialect)
        # Keep each row's line number in the file, so an error names the line a user can find.
        numbered = [(reader.line_num, r) for r in reader if any(cell.strip() for cell in r)]
    lines, rows = [n for n, _ in numbered], [r for _, r in numbered]
    if not rows:
        raise ValueError(f"{path} is empty: expected one column of samples or two columns (time in s, value)")
    if not all(_is_number(c) for c in rows[0] if c.strip()):
        rows, lines = rows[1:], lines[1:]  # header line
    if not rows:
        raise ValueError(f"{path} has a header but no samples")
    width = len([c for c in rows[0] if c.strip()])
    if width not in (1, 2):
        raise ValueError(f"{path}: expected 1 column (value) or 2 columns (time in s, value), found {width}")
    values = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        cells = [c for c in row if c.strip()]
        if len(cells) != width or not all(_is_number(c) for c in cells):
            raise ValueError(f"{path}: line {lines[i]} is not {width} numeric value(s): {row!r}")
        values[i] = [float(c) for c in cells]
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise ValueError(f"{path}: NaN or infinite value on line {lines[bad]}")
    if width == 2:
        dt = np.diff(values[:, 0])
        if len(dt) == 0 or np.any(dt <= 0):
            raise ValueError(f"{path}: the time column must be strictly increasing (seconds)")
        file_fs = 1.0 / np.median(dt)
        if np.max(np.abs(dt - np.median(dt))) > 0.01 * np.median(dt):
            raise ValueError(f"{path}: samples are not evenly spaced in time; resample before classifying")
        _check_file_rate(path, fs, file_fs, "its time column")
        return values[:, 1], float(file_fs)
    if fs is None:
        raise ValueError(f"{path} has one column and no time column: pass fs (sampling rate in Hz)")
    return values[:, 0], float(fs)


def _check_file_rate(path: Path, fs: float | None, file_fs: float, where: str) -> None:
    """A given ``fs`` must agree (to 1 %) with the rate the file itself states."""
    if fs is not None and abs(float(fs) - file_fs) > 0.01 * file_fs:
        raise ValueError(
            f"{path}: fs={fs:g} Hz was given, but {where} says {file_fs:g} Hz; omit fs to use the file's rate"
        )


def read_signal(
    source: np.ndarray | list | tuple | str | os.PathLike, fs: float | None = None
) -> tuple[np.ndarray, float]:
    """Signal and sampling rate from a NumPy array (needs ``fs``), a CSV file, or a WFDB record.

    Parameters
    ----------
    source
        A NumPy array, list or tuple of samples (mV expected; converted to float64, shape kept); a
        ``.csv``, ``.txt`` or ``.tsv`` file (:func:`read_csv_signal`); or a WFDB record, as the path
        to its ``.hea`` file or its path without extension (lead MLII when present, else the first
        lead; in the header's physical units, mV for MIT-BIH).
    fs
        Sampling rate in Hz; required for an array and for a one-column CSV. A file that states its
        own rate (a WFDB header, a CSV time column) is read at that rate; a given ``fs`` must agree
        with it (to 1 %), else ``ValueError``.

    Returns
    -------
    signal, fs
        The samples (float64; ``(n,)`` from a file) and the sampling rate in Hz, not resampled.
    """
    if isinstance(source, np.ndarray) or isinstance(source, (list, tuple)):
        if fs is None:
            raise ValueError("fs (sampling rate in Hz) is required for an array signal")
        return np.asarray(source, dtype=np.float64), float(fs)
    path = Path(source)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return read_csv_signal(path, fs)
    base = path.with_suffix("") if path.suffix == ".hea" else path
    if base.with_suffix(".hea").is_file():
        import warnings

        import wfdb

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            header = wfdb.rdheader(str(base))
            channel = lead_channel(header.sig_name)
            rec = wfdb.rdrecord(str(base), channels=[channel])
        _check_file_rate(base.with_suffix(".hea"), fs, float(rec.fs), "its header")
        return rec.p_signal[:, 0].astype(np.float64), float(rec.fs)
    if not path.exists():
        raise FileNotFoundError(f"no such file or WFDB record: {path}")
    raise ValueError(f"{path}: unsupported input; expected a .csv/.txt file, a WFDB record (.hea), or an array")


def _check_signal(signal: np.ndarray, fs: float, window_s: float) -> None:
    if signal.ndim != 1:
        raise ValueError(f"signal must be 1-D (one lead), got shape {signal.shape}")
    if not fs > 0:
        raise ValueError(f"fs must be positive (Hz), got {fs}")
    if not np.all(np.isfinite(signal)):
        raise ValueError(f"signal contains NaN or infinite values (first at sample {int(np.flatnonzero(~np.isfinite(signal))[0])})")
    if len(signal) < window_samples(window_s, fs):
        raise ValueError(
            f"signal is {len(signal) / fs:.2f} s long ({len(signal)} samples at {fs:g} Hz), shorter than one "
            f"{window_s:g}-s beat window"
        )
    if np.ptp(signal) < 1e-6:
        raise ValueError("signal is a flat line: no ECG to classify (check the lead and the unit, mV expected)")


# -------------------------------------------------------------------------------------------- model


def _resolve_model(model):
    """(keras model, metadata) from a path, a (model, metadata) pair, or None (default path)."""
    from ecglib.train import load_model

    if model is None:
        path = default_model_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"no default model at {path}; train one with `python -m ecglib train --protocol seed "
                "--model efficient`, or give a .keras file (model=<path>; `--model PATH` on the command line)"
            )
        return load_model(path)
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    if isinstance(model, tuple) and len(model) == 2:
        return model
    raise ValueError("model must be a path to a .keras file saved by ecglib, a (model, metadata) pair, or None")


def _model_configs(meta: dict) -> tuple[str, BeatConfig, SpectrogramConfig]:
    missing = [k for k in ("model_name", "beat_config", "spectrogram_config") if k not in meta]
    if missing:
        raise ValueError(f"model metadata lacks {missing}: it was not saved by ecglib.train.save_model with data parameters")
    return meta["model_name"], BeatConfig.from_dict(meta["beat_config"]), SpectrogramConfig.from_dict(meta["spectrogram_config"])


# ---------------------------------------------------------------------------------------- pipeline


def predict_arrhythmia(
    source: np.ndarray | str | os.PathLike,
    fs: float | None = None,
    model: str | os.PathLike | tuple[keras.Model, dict] | None = None,
    chunk_beats: int = CHUNK_BEATS,
) -> Prediction:
    """Classify every beat of a single-lead ECG as N, S or V.

    Parameters
    ----------
    source
        A CSV file (one column, or time and value; header optional), a WFDB record (``.hea`` path or
        path without extension), or a 1-D NumPy array in mV.
    fs
        Sampling rate in Hz; required for arrays and one-column CSVs. A WFDB header or a CSV time
        column gives the rate itself (a given ``fs`` must then agree with it to 1 %). Any rate
        works: the signal is resampled to 360 Hz.
    model
        Path to a ``.keras`` file saved by :func:`ecglib.train.save_model`, a ``(model, metadata)``
        pair, or None for :func:`default_model_path`.
    chunk_beats
        Beats per chunk (a positive integer): a long recording is classified this many beats at a
        time, which bounds the memory of its spectrograms.

    Returns
    -------
    Prediction
    """
    from ecglib.models import predict_proba, reference_settings
    from ecglib.rpeaks import detect_rpeaks

    check_positive_int(chunk_beats, "chunk_beats", "beats per chunk")
    keras_model, meta = _resolve_model(model)
    model_name, beat_cfg, spec_cfg = _model_configs(meta)
    signal, fs = read_signal(source, fs)
    _check_signal(signal, fs, beat_cfg.window_s)
    if fs != FS:
        signal, _ = resample_to(signal, np.zeros(0, dtype=np.int64), fs, FS)
    filtered = bandpass(signal, FS, beat_cfg.bandpass)
    peaks = detect_rpeaks(signal, FS)
    if len(peaks) < 2:
        raise ValueError(f"found {len(peaks)} beat(s) in the signal; need at least 2 (is it an ECG in mV?)")
    rr = rr_features(peaks, FS, beat_cfg.local_rr_beats)

    # Windows (float, 2 s each) are cut and turned into spectrograms chunk by chunk. A model with
    # reference inputs (the recording's typical beat, and that of the minutes around each beat)
    # needs the beats of the whole recording, however it is chunked: its uint8 images (a few kB
    # per beat) are kept and the model runs once at the end; other models run chunk by chunk.
    whole_recording = bool(reference_settings(keras_model)) if model_name == "efficient_cnn" else False
    blocks, probas, kept_all = [], [], np.zeros(len(peaks), dtype=bool)
    for start in range(0, len(peaks), chunk_beats):
        stop = start + chunk_beats
        windows, kept = extract_windows(filtered, peaks[start:stop], FS, beat_cfg.window_s)
        kept_all[start:stop] = kept
        if not kept.any():
            continue
        images = spectrogram_images(windows, FS, spec_cfg)
        if whole_recording:
            blocks.append(images)
        else:
            probas.append(predict_proba(keras_model, model_name, images=images, rr=rr[start:stop][kept]))
    if not kept_all.any():
        raise ValueError("no beat lies a full window away from both ends of the signal")
    times = peaks[kept_all] / FS
    if whole_recording:
        proba = predict_proba(keras_model, model_name, images=np.concatenate(blocks), rr=rr[kept_all], times_s=times)
    else:
        proba = np.concatenate(probas)
    idx = proba.argmax(axis=1)
    classes = np.asarray(CLASSES)[idx]
    confidence = proba[np.arange(len(idx)), idx]
    counts = {c: int((classes == c).sum()) for c in CLASSES}
    top = max(CLASSES, key=lambda c: counts[c])
    summary = {
        "class": top,
        "confidence": float(confidence[classes == top].mean()),
        "n_beats": int(len(classes)),
        "counts": counts,
        "heart_rate_bpm": float(60.0 / np.mean(np.diff(peaks) / FS)),
    }
    return Prediction(times, classes, confidence.astype(np.float32), proba, summary)
