"""Beats: 2-s windows centred on R-peaks, AAMI labels, and RR-interval features.

A beat window holds ``window_s * fs`` samples (720 at 360 Hz, 2 s) centred on the R-peak, so it
shows the beat itself plus the neighbouring beats, which is what lets a spectrogram carry rhythm
information. Windows are z-scored one by one so that amplitude differences between records
(electrode placement, gain) do not dominate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecglib.data import AAMI_MAP, BEAT_SYMBOLS, CLASSES, Record
from ecglib.preprocess import BandpassConfig, bandpass, zscore

#: Names of the columns returned by :func:`rr_features`.
RR_FEATURES: tuple[str, ...] = (
    "pre_rr_s",
    "post_rr_s",
    "local_rr_s",
    "pre_rr_norm",
    "post_rr_norm",
    "local_rr_norm",
    "rr_irregularity",
)


@dataclass(frozen=True)
class BeatConfig:
    """How beats are cut and labelled.

    Attributes
    ----------
    window_s
        Window length in seconds, centred on the R-peak (2 s → 720 samples at 360 Hz).
    peaks
        ``"reference"``: R-peaks from the cardiologists' annotations (as most papers do);
        ``"detector"``: from :func:`ecglib.rpeaks.detect_rpeaks` (end to end, as on a new recording).
    tolerance_s
        A detected peak takes the label of the nearest reference beat within this many seconds
        (150 ms, the ANSI/AAMI EC57 matching window); unmatched detections are dropped.
    local_rr_beats
        Number of preceding RR intervals averaged into the local RR feature; also the half-width,
        in beats, of the window of the RR-irregularity feature (:func:`rr_features`).
    bandpass
        Filter applied to the record before cutting windows.
    """

    window_s: float = 2.0
    peaks: str = "reference"
    tolerance_s: float = 0.150
    local_rr_beats: int = 10
    bandpass: BandpassConfig = field(default_factory=BandpassConfig)

    def __post_init__(self) -> None:
        if self.peaks not in ("reference", "detector"):
            raise ValueError(f"BeatConfig.peaks must be 'reference' or 'detector', got {self.peaks!r}")
        if self.window_s <= 0:
            raise ValueError(f"BeatConfig.window_s must be positive (seconds), got {self.window_s}")
        if self.tolerance_s <= 0:
            raise ValueError(f"BeatConfig.tolerance_s must be positive (seconds), got {self.tolerance_s}")
        if self.local_rr_beats < 1:
            raise ValueError(f"BeatConfig.local_rr_beats must be >= 1, got {self.local_rr_beats}")

    @classmethod
    def from_dict(cls, d: dict) -> "BeatConfig":
        """Rebuild a config from ``dataclasses.asdict`` output (e.g. a saved model's metadata)."""
        d = dict(d)
        if isinstance(d.get("bandpass"), dict):
            d["bandpass"] = BandpassConfig(**d["bandpass"])
        return cls(**d)


@dataclass(frozen=True)
class RecordBeats:
    """The labelled beats of one record.

    Attributes
    ----------
    record
        Record name.
    windows
        ``(n, window)`` z-scored float32 windows.
    labels
        ``(n,)`` int8 class indices into :data:`ecglib.data.CLASSES` (0 = N, 1 = S, 2 = V).
    rr
        ``(n, 7)`` float32 RR features, columns :data:`RR_FEATURES`.
    peaks
        ``(n,)`` R-peak positions in samples.
    counts
        Bookkeeping: beats found, kept, and dropped per reason (near the ends, class F or Q,
        no annotation within the tolerance).
    """

    record: str
    windows: np.ndarray
    labels: np.ndarray
    rr: np.ndarray
    peaks: np.ndarray
    counts: dict


def window_samples(window_s: float, fs: float) -> int:
    """Window length in samples (720 for 2 s at 360 Hz).

    Parameters
    ----------
    window_s
        Window length in seconds.
    fs
        Sampling rate in Hz.

    Returns
    -------
    int
        ``round(window_s * fs)`` samples (Python's ``round``: halves go to the even integer).
    """
    return int(round(window_s * fs))


def extract_windows(signal: np.ndarray, peaks: np.ndarray, fs: float, window_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Cut z-scored windows centred on ``peaks``.

    Parameters
    ----------
    signal
        1-D (filtered) signal.
    peaks
        R-peak positions in samples.
    fs
        Sampling rate in Hz.
    window_s
        Window length in seconds.

    Returns
    -------
    windows, kept
        ``(n_kept, window)`` float32 z-scored windows, and a boolean mask over ``peaks`` of the
        beats kept (those whose whole window lies inside the signal).

    Raises
    ------
    ValueError
        If the window is longer than the signal.
    """
    signal = np.asarray(signal)
    peaks = np.asarray(peaks, dtype=np.int64)
    win = window_samples(window_s, fs)
    if signal.ndim != 1:
        raise ValueError(f"signal must be 1-D, got shape {signal.shape}")
    if win > len(signal):
        raise ValueError(
            f"window of {window_s:g} s ({win} samples) is longer than the signal ({len(signal)} samples, "
            f"{len(signal) / fs:.2f} s)"
        )
    half = win // 2
    starts = peaks - half
    kept = (starts >= 0) & (starts + win <= len(signal))
    idx = starts[kept, None] + np.arange(win)[None, :]
    windows = zscore(signal[idx], axis=1).astype(np.float32)
    return windows, kept


def match_annotations(
    peaks: np.ndarray, ann_samples: np.ndarray, ann_symbols: np.ndarray, fs: float, tolerance_s: float = 0.150
) -> np.ndarray:
    """MIT-BIH symbol of each peak: that of the nearest reference *beat* annotation within the tolerance.

    Parameters
    ----------
    peaks
        ``(n,)`` detected R-peak positions in samples.
    ann_samples
        ``(m,)`` reference annotation positions in samples, non-decreasing (as in a WFDB file).
    ann_symbols
        ``(m,)`` the annotation symbols alongside ``ann_samples`` (beat and non-beat annotations;
        only beat symbols are matched).
    fs
        Sampling rate in Hz.
    tolerance_s
        Largest distance, in seconds, between a peak and the reference beat it takes the symbol of.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` array of beat symbols (``"N"``, ``"A"``, ``"E"``, ...), ``""`` where no reference
        beat lies within ``tolerance_s`` seconds.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    ann_samples, ann_symbols = np.asarray(ann_samples), np.asarray(ann_symbols)
    if peaks.ndim != 1 or ann_samples.ndim != 1 or ann_samples.shape != ann_symbols.shape:
        raise ValueError(
            "peaks must be 1-D, and ann_samples and ann_symbols 1-D of one length, got shapes "
            f"{peaks.shape}, {ann_samples.shape} and {ann_symbols.shape}"
        )
    if np.any(np.diff(ann_samples) < 0):
        raise ValueError("ann_samples must be in time order (non-decreasing sample positions)")
    if not (fs > 0 and tolerance_s >= 0):
        raise ValueError(f"need fs > 0 (Hz) and tolerance_s >= 0 (s), got {fs} and {tolerance_s}")
    is_beat = np.isin(ann_symbols, list(BEAT_SYMBOLS))
    ref = np.asarray(ann_samples)[is_beat]
    sym = np.asarray(ann_symbols)[is_beat].astype(str)
    out = np.full(len(peaks), "", dtype=sym.dtype if len(sym) else "<U1")
    if len(ref) == 0 or len(peaks) == 0:
        return out
    pos = np.searchsorted(ref, peaks)
    left = np.clip(pos - 1, 0, len(ref) - 1)
    right = np.clip(pos, 0, len(ref) - 1)
    nearest = np.where(np.abs(peaks - ref[left]) <= np.abs(ref[right] - peaks), left, right)
    close = np.abs(ref[nearest] - peaks) <= tolerance_s * fs
    out[close] = sym[nearest[close]]
    return out


def label_peaks(
    peaks: np.ndarray, ann_samples: np.ndarray, ann_symbols: np.ndarray, fs: float, tolerance_s: float = 0.150
) -> np.ndarray:
    """AAMI class of each peak: that of the nearest reference beat annotation within the tolerance.

    The symbols come from :func:`match_annotations` and are grouped with
    :data:`ecglib.data.AAMI_MAP`; a beat symbol it does not list (``"B"``, ``"r"``, ``"n"``, ``"?"``)
    becomes ``"Q"``.

    Parameters
    ----------
    peaks, ann_samples, ann_symbols, fs, tolerance_s
        As in :func:`match_annotations`, which checks them: ``(n,)`` peak positions and ``(m,)``
        annotation positions in samples, the ``(m,)`` annotation symbols, the sampling rate in Hz,
        and the matching window in seconds (default 0.150, i.e. 150 ms).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` array of ``"N"``, ``"S"``, ``"V"``, ``"F"``, ``"Q"``, or ``""`` where no reference
        beat lies within ``tolerance_s`` seconds.
    """
    symbols = match_annotations(peaks, ann_samples, ann_symbols, fs, tolerance_s)
    return np.array([AAMI_MAP.get(s, "Q") if s else "" for s in symbols], dtype="<U1")


def rr_features(peaks: np.ndarray, fs: float, local_beats: int = 10) -> np.ndarray:
    """RR-interval features of every peak.

    Parameters
    ----------
    peaks
        All R-peak positions of a record, in samples, increasing (every beat, whatever its class:
        an excluded beat still shapes its neighbours' intervals).
    fs
        Sampling rate in Hz.
    local_beats
        Number of preceding RR intervals averaged into ``local_rr_s``, and the half-width (in
        beats) of the window of ``rr_irregularity``.

    Returns
    -------
    numpy.ndarray
        ``(n, 7)`` float32, columns :data:`RR_FEATURES`: pre-RR, post-RR and local mean RR in
        seconds, then the same divided by the record's mean RR (so a premature beat reads < 1
        whatever the patient's heart rate), then the RR irregularity around the beat: the median,
        over the ``2 * local_beats + 1`` beats centred on it (fewer at the ends), of
        ``|log(pre-RR / previous pre-RR)|`` (dimensionless). It is near 0 in a regular rhythm, even
        around an isolated premature beat (which changes only three of those ratios), and large in
        atrial fibrillation, where a short interval is no sign of a premature beat. The first
        beat's pre-RR and the last beat's post-RR, which do not exist, are set to the record's
        mean RR.
    """
    peaks = np.asarray(peaks, dtype=np.float64)
    if peaks.ndim != 1 or len(peaks) < 2:
        raise ValueError(f"rr_features needs at least 2 peaks in a 1-D array, got shape {peaks.shape}")
    if np.any(np.diff(peaks) <= 0):
        raise ValueError("peaks must be strictly increasing sample positions")
    rr = np.diff(peaks) / fs
    mean_rr = rr.mean()
    pre = np.concatenate([[mean_rr], rr])
    post = np.concatenate([rr, [mean_rr]])
    # Mean of the previous `local_beats` pre-RR intervals including the current one (causal).
    csum = np.concatenate([[0.0], np.cumsum(pre)])
    i = np.arange(len(pre))
    lo = np.maximum(0, i + 1 - local_beats)
    local = (csum[i + 1] - csum[lo]) / (i + 1 - lo)
    feats = np.stack([pre, post, local, pre / mean_rr, post / mean_rr, local / mean_rr,
                      rr_irregularity(pre, local_beats)], axis=1)  # fmt: skip
    return feats.astype(np.float32)


def rr_irregularity(pre_rr: np.ndarray, half_width: int = 10) -> np.ndarray:
    """Median ``|log(pre_rr[j] / pre_rr[j - 1])|`` over ``j`` in a centred window, for every beat.

    Parameters
    ----------
    pre_rr
        ``(n,)`` positive RR interval before each beat (any unit: only ratios matter).
    half_width
        Beats on each side of the window (``2 * half_width + 1`` beats, fewer at the ends).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64, dimensionless; the first beat's change counts as 0.
    """
    pre = np.asarray(pre_rr, dtype=np.float64)
    if pre.ndim != 1 or len(pre) == 0 or not (np.isfinite(pre).all() and (pre > 0).all()):
        raise ValueError(f"pre_rr must be a non-empty 1-D array of positive finite intervals, got shape {pre.shape}")
    if half_width < 0:
        raise ValueError(f"half_width must be >= 0 beats, got {half_width}")
    log_pre = np.log(pre)
    change = np.abs(np.diff(log_pre, prepend=log_pre[0]))
    padded = np.pad(change, half_width, constant_values=np.nan)  # NaN outside: truncated windows at the ends
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1)
    return np.nanmedian(windows, axis=1)


def record_beats(record: Record, config: BeatConfig = BeatConfig()) -> RecordBeats:
    """Filter a record, find its beats, cut windows, label them N/S/V and compute RR features.

    Beats of class F or Q, beats with no reference annotation within the tolerance (detector
    mode), and beats whose window would run past either end of the record are dropped; the
    ``counts`` attribute says how many of each.

    Parameters
    ----------
    record
        A :class:`ecglib.data.Record` (one lead in mV, its sampling rate ``fs`` in Hz, and its
        reference annotations, which label the beats in both peak modes).
    config
        Window length, peak source, matching tolerance, RR window and band-pass; default
        ``BeatConfig()``. With ``peaks="detector"``, :func:`ecglib.rpeaks.detect_rpeaks` runs on the
        unfiltered signal; the windows are always cut from the band-passed one.

    Returns
    -------
    RecordBeats
        The kept beats: ``(n, round(window_s * fs))`` float32 z-scored windows, int8 labels (0 = N,
        1 = S, 2 = V), ``(n, 7)`` float32 RR features (computed over every peak, dropped ones
        included), R-peak positions in samples, and ``counts`` with keys ``"peaks"``, ``"kept"``,
        ``"dropped_edge"``, ``"dropped_F"``, ``"dropped_Q"`` and ``"dropped_unmatched"``.
    """
    filtered = bandpass(record.signal, record.fs, config.bandpass)
    if config.peaks == "reference":
        peaks, _ = record.beats()
    else:
        from ecglib.rpeaks import detect_rpeaks

        peaks = detect_rpeaks(record.signal, record.fs)
    classes = label_peaks(peaks, record.ann_samples, record.ann_symbols, record.fs, config.tolerance_s)
    rr = rr_features(peaks, record.fs, config.local_rr_beats)
    windows, inside = extract_windows(filtered, peaks, record.fs, config.window_s)
    in_task = np.isin(classes, CLASSES)
    keep = in_task[inside]
    counts = {
        "peaks": int(len(peaks)),
        "kept": int(keep.sum()),
        "dropped_edge": int((~inside & in_task).sum()),
        "dropped_F": int((classes == "F").sum()),
        "dropped_Q": int((classes == "Q").sum()),
        "dropped_unmatched": int((classes == "").sum()),
    }
    label_index = {c: i for i, c in enumerate(CLASSES)}
    labels = np.array([label_index[c] for c in classes[inside][keep]], dtype=np.int8)
    return RecordBeats(
        record=record.name,
        windows=windows[keep],
        labels=labels,
        rr=rr[inside][keep],
        peaks=np.asarray(peaks, dtype=np.int64)[inside][keep],
        counts=counts,
    )
