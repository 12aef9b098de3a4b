"""R-peak (QRS) detection and its beat-by-beat evaluation against the MIT-BIH reference.

The detector follows Pan & Tompkins (1985): QRS band-pass, derivative, squaring, moving-window
integration (MWI), then adaptive thresholds between a running *signal* peak level and a running
*noise* peak level, a refractory period, search-back for missed beats and T-wave discrimination.
It differs from the textbook version in four ways, each found necessary on MIT-BIH:

* **Log-domain thresholds.** The peak levels are running means of ``log(MWI peak)`` and the
  threshold sits a fraction of the way between them, i.e. at a *geometric* interpolation. The
  MWI is an energy, so a large ventricular beat can be 10-20x a normal one (bigeminy in records
  119, 228); on a linear scale the signal level is then dominated by the big beats and the small
  ones fall under the threshold. On a log scale the threshold tracks ratios, and it is invariant
  to the signal's gain.
* **Noise floor.** The flat baseline between beats makes tiny MWI peaks whose logarithm would drag
  the noise level (and so the threshold) towards minus infinity; noise peaks are therefore
  floored at a small fraction of the signal level.
* **Prominence rule.** A QRS makes an isolated hump of QRS-band energy: within half a second on
  each side the MWI falls well below the peak. A peak whose prominence is less than 75 % of its
  height rides on continuous energy (a shoulder of a bigger hump, muscle noise, or a ventricular
  flutter wave) and is not accepted as a QRS.
* **RR-scaled T-wave window.** A peak that comes within ``max(360 ms, 0.4 RR)`` of the previous
  QRS with less than half its slope is a T wave; the fixed 360 ms of the original misses the late,
  tall T waves of slow rhythms (record 113).

Detections are finally moved to the R peak, the local extremum of the 0.5-40 Hz band-passed
signal, preferring the positive peak unless the negative deflection clearly dominates (QS
complexes and many ventricular beats), as the MIT-BIH annotators did.

Evaluation matches detections to reference beats one-to-one within a tolerance (150 ms, the
ANSI/AAMI EC57 window) and reports sensitivity ``Se = TP / (TP + FN)`` and positive predictivity
``+P = TP / (TP + FP)``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, fields
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.signal import butter, find_peaks, peak_prominences, sosfiltfilt

from ecglib.data import RECORDS, load_record
from ecglib.preprocess import bandpass

__all__ = [
    "RPeakConfig",
    "qrs_energy",
    "detect_rpeaks",
    "DetectorScore",
    "match_peaks",
    "evaluate_detector",
    "benchmark_detectors",
    "format_benchmark",
]

#: Shortest signal :func:`detect_rpeaks` accepts, in seconds (the thresholds need a few beats).
MIN_DURATION_S = 2.0


@dataclass(frozen=True)
class RPeakConfig:
    """Parameters of :func:`detect_rpeaks`. Times are in seconds, frequencies in Hz.

    Attributes
    ----------
    qrs_band_hz
        Pass band (Hz) of the QRS-enhancing filter. 5-15 Hz holds most QRS energy and little of
        the P and T waves (below 5 Hz) or of muscle noise (above 15 Hz).
    qrs_filter_order
        Butterworth order of that band-pass (run forwards and backwards: zero phase).
    integration_s
        Length (s) of the moving-window integration, about the widest normal QRS.
    refractory_s
        Shortest time (s) between two detections; after a depolarisation the ventricles cannot
        fire again for about 200 ms.
    threshold_fraction
        Where the detection threshold sits between the noise level (0) and the signal level (1),
        both on a log scale.
    searchback_rr_factor
        Search back for a missed beat when no QRS has been found for this many mean RR intervals.
    searchback_threshold_ratio
        During search-back the threshold is multiplied by this ratio (on the MWI scale).
    twave_window_s
        A candidate closer than ``max(twave_window_s, twave_rr_fraction * mean RR)`` to the
        previous QRS and with less than ``twave_slope_ratio`` times its maximal slope is taken for
        a T wave.
    twave_rr_fraction
        See ``twave_window_s``.
    twave_slope_ratio
        See ``twave_window_s``.
    slope_window_s
        Half-width (s) of the window in which a candidate's maximal slope is measured.
    min_prominence_ratio
        A candidate's MWI prominence must be at least this fraction of its height (0 disables).
    prominence_window_s
        Half-width (s) of the window in which the prominence is measured.
    noise_floor_ratio
        Noise peaks count as at least this fraction of the signal level (MWI scale).
    learning_s
        The initial signal and noise levels come from the candidates of the first seconds.
    refine_window_s
        Half-width (s) of the window around the MWI peak in which the R peak is looked for.
    negative_peak_ratio
        The R peak is the positive maximum of the band-passed signal unless the negative minimum
        is this many times deeper.
    """

    qrs_band_hz: tuple[float, float] = (5.0, 15.0)
    qrs_filter_order: int = 2
    integration_s: float = 0.150
    refractory_s: float = 0.200
    threshold_fraction: float = 0.45
    searchback_rr_factor: float = 1.66
    searchback_threshold_ratio: float = 0.3
    twave_window_s: float = 0.360
    twave_rr_fraction: float = 0.4
    twave_slope_ratio: float = 0.5
    slope_window_s: float = 0.075
    min_prominence_ratio: float = 0.75
    prominence_window_s: float = 0.5
    noise_floor_ratio: float = 0.005
    learning_s: float = 8.0
    refine_window_s: float = 0.080
    negative_peak_ratio: float = 2.5

    def __post_init__(self) -> None:
        lo, hi = self.qrs_band_hz
        if not 0 < lo < hi:
            raise ValueError(f"qrs_band_hz must satisfy 0 < low < high, got {self.qrs_band_hz}")
        if int(self.qrs_filter_order) != self.qrs_filter_order or self.qrs_filter_order < 1:
            raise ValueError(f"qrs_filter_order must be a positive integer, got {self.qrs_filter_order}")
        for name in ("threshold_fraction", "searchback_threshold_ratio", "twave_rr_fraction",
                     "twave_slope_ratio", "noise_floor_ratio"):  # fmt: skip
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
        if not 0 <= self.min_prominence_ratio < 1:
            raise ValueError(f"min_prominence_ratio must lie in [0, 1), got {self.min_prominence_ratio}")
        for name in ("integration_s", "refractory_s", "twave_window_s", "slope_window_s",
                     "prominence_window_s", "learning_s", "refine_window_s"):  # fmt: skip
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value}")
        if not self.searchback_rr_factor > 1:
            raise ValueError(f"searchback_rr_factor must exceed 1, got {self.searchback_rr_factor}")
        if not self.negative_peak_ratio > 0:
            raise ValueError(f"negative_peak_ratio must be positive, got {self.negative_peak_ratio}")


# --------------------------------------------------------------------------------------------------
# Detection


def _check_signal(signal, fs, min_duration_s: float = MIN_DURATION_S) -> tuple[np.ndarray, float]:
    """Validate a 1-D finite signal (mV) and its sampling rate (Hz); return float64 copies."""
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"fs must be a number (sampling rate in Hz), got {fs!r}") from None
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive, finite sampling rate in Hz, got {fs}")
    try:
        x = np.asarray(signal, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("signal must be a 1-D array of numbers (mV)") from None
    if x.ndim != 1:
        raise ValueError(f"signal must be 1-D (one lead, samples in time order), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ValueError(f"signal holds {bad} NaN or infinite samples; interpolate or crop them first")
    if len(x) < min_duration_s * fs:
        raise ValueError(
            f"signal is too short: {len(x)} samples = {len(x) / fs:.3g} s at fs={fs:g} Hz; "
            f"the detector needs at least {min_duration_s:g} s"
        )
    return x, fs


def qrs_energy(
    signal: np.ndarray, fs: float, config: RPeakConfig = RPeakConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """The Pan-Tompkins feature signal: band-pass, derivative, square, moving-window integration.

    Every step is zero-phase (forward-backward filter, central difference, centred window), so
    an MWI peak lies on its QRS instead of trailing it by the filters' delays.

    Parameters
    ----------
    signal
        One lead, 1-D, in mV, at least 2 s long (raw: the QRS band-pass removes baseline wander and mains).
    fs
        Sampling rate in Hz.
    config
        Detector parameters (``qrs_band_hz``, ``qrs_filter_order``, ``integration_s``).

    Returns
    -------
    slope, mwi
        The derivative of the QRS-band signal (mV/s) and its integrated square (mV²/s²), both
        with the length of ``signal``.
    """
    x, fs = _check_signal(signal, fs)
    lo, hi = config.qrs_band_hz
    if hi >= fs / 2:
        raise ValueError(f"qrs_band_hz upper edge {hi:g} Hz must be below fs/2 = {fs / 2:g} Hz")
    sos = butter(config.qrs_filter_order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    slope = np.gradient(sosfiltfilt(sos, x)) * fs
    # Centred moving average through a cumulative sum: O(n) whatever the window length.
    w = max(1, int(round(config.integration_s * fs)))
    csum = np.concatenate(([0.0], np.cumsum(slope * slope)))
    start = np.clip(np.arange(len(x)) - w // 2, 0, len(x))
    stop = np.clip(start + w, 0, len(x))
    mwi = (csum[stop] - csum[start]) / w
    return slope, mwi


def _window_max(values: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Maximum of ``values`` in ``[c - half, c + half]`` for each centre (clipped at the ends)."""
    offsets = np.arange(-half, half + 1)
    idx = np.clip(centres[:, None] + offsets[None, :], 0, len(values) - 1)
    return values[idx].max(axis=1)


def _refine_to_r_peak(x: np.ndarray, qrs: np.ndarray, half: int, negative_ratio: float) -> np.ndarray:
    """Move each detection to the R peak of the band-passed signal ``x`` (within ``±half`` samples)."""
    offsets = np.arange(-half, half + 1)
    idx = np.clip(qrs[:, None] + offsets[None, :], 0, len(x) - 1)
    seg = x[idx]
    rows = np.arange(len(qrs))
    pos, neg = seg.max(axis=1), -seg.min(axis=1)
    # The annotators marked the R wave; only a clearly dominant negative deflection (QS complex,
    # many ventricular beats) is taken instead.
    k = np.where(neg > negative_ratio * np.maximum(pos, 0.0), seg.argmin(axis=1), seg.argmax(axis=1))
    return idx[rows, k]


def detect_rpeaks(signal: np.ndarray, fs: float, config: RPeakConfig = RPeakConfig()) -> np.ndarray:
    """Detect R peaks in one ECG lead (Pan-Tompkins style, with the changes listed in the module doc).

    Parameters
    ----------
    signal
        One lead, 1-D, in mV, raw (unfiltered) or already band-passed; at least 2 s long.
    fs
        Sampling rate in Hz (MIT-BIH: 360). Must exceed 80 Hz, twice the 40 Hz band edge.
    config
        Detector parameters; see :class:`RPeakConfig`.

    Returns
    -------
    numpy.ndarray
        Sample indices (int64, sorted, unique) of the R peaks. A flat signal gives an empty array.

    Raises
    ------
    ValueError
        If ``signal`` is not 1-D, holds NaN/inf or is shorter than 2 s, if ``fs`` is not a
        positive number above 80 Hz, or if ``config`` is not an :class:`RPeakConfig`.

    Notes
    -----
    Pooled over all 48 MIT-BIH records (MLII, 150 ms tolerance, all 19 beat symbols, no episode
    excluded) this detector reaches Se 99.86 % and +P 99.75 % (wfdb's ``xqrs_detect``: 99.22 % and
    99.30 %), at about 0.1 s per 30-minute record; 165 of its 272 false positives are flutter waves
    in record 207. See :func:`benchmark_detectors`.
    """
    if not isinstance(config, RPeakConfig):
        raise ValueError(f"config must be an RPeakConfig, got {type(config).__name__}")
    x, fs = _check_signal(signal, fs)
    if fs <= 80:
        raise ValueError(f"fs must exceed 80 Hz (the 0.5-40 Hz band-pass needs it), got {fs:g} Hz")
    slope, mwi = qrs_energy(x, fs, config)
    refractory = max(1, int(round(config.refractory_s * fs)))

    # Candidates: MWI maxima at least one refractory period apart (the larger one wins).
    cand, _ = find_peaks(mwi, distance=refractory)
    if len(cand) == 0 or mwi[cand].max() <= 0:
        return np.zeros(0, dtype=np.int64)
    height = mwi[cand]
    eps = 1e-6 * (np.percentile(height, 90) or height.max())  # keeps log() finite on flat stretches
    level = np.log(height + eps)
    cslope = _window_max(np.abs(slope), cand, int(round(config.slope_window_s * fs)))
    wlen = 2 * int(round(config.prominence_window_s * fs)) + 1
    prom_ratio = peak_prominences(mwi, cand, wlen=wlen)[0] / (height + eps)
    eligible = prom_ratio >= config.min_prominence_ratio

    # Initial levels from the first seconds; the log-domain updates forget them within a few beats.
    first = cand < config.learning_s * fs
    learn = level[first] if first.sum() >= 2 else level
    spk = float(np.percentile(learn, 90))  # signal peak level (log MWI)
    npk = float(np.median(learn) + math.log(0.5))  # noise peak level (log MWI)
    log_floor = math.log(config.noise_floor_ratio)
    log_sb = math.log(config.searchback_threshold_ratio)
    twave_min = config.twave_window_s * fs

    accepted = np.zeros(len(cand), dtype=bool)
    qrs: list[int] = []  # indices into cand of the accepted QRS complexes
    rr: list[float] = []
    rr_mean = 0.0  # mean of the last 8 RR intervals, samples (0 until two beats are known)

    def is_twave(k: int) -> bool:
        if not qrs:
            return False
        last = qrs[-1]
        window = max(twave_min, config.twave_rr_fraction * rr_mean)
        return cand[k] - cand[last] < window and cslope[k] < config.twave_slope_ratio * cslope[last]

    def accept(k: int, weight: float) -> None:
        nonlocal spk, rr_mean
        spk += weight * (level[k] - spk)
        if qrs:
            rr.append(float(cand[k] - cand[qrs[-1]]))
            rr_mean = float(np.mean(rr[-8:]))
        qrs.append(k)
        accepted[k] = True

    i = 0
    while i < len(cand):
        p = cand[i]
        thr = npk + config.threshold_fraction * (spk - npk)
        # Search-back: too long since the last QRS, so one was probably missed. Take the
        # largest eligible candidate since then (the current one included) above a lower threshold.
        if rr_mean > 0 and p - cand[qrs[-1]] > config.searchback_rr_factor * rr_mean:
            last = qrs[-1]
            ks = np.arange(last + 1, i + 1)  # candidates are >= refractory apart (find_peaks)
            twave = (cand[ks] - cand[last] < max(twave_min, config.twave_rr_fraction * rr_mean)) & (
                cslope[ks] < config.twave_slope_ratio * cslope[last]
            )
            ok = eligible[ks] & ~twave & (level[ks] > thr + log_sb)
            best = int(ks[ok][np.argmax(level[ks][ok])]) if ok.any() else -1
            if best >= 0:
                accept(best, 0.25)
                if best == i:
                    i += 1
                continue  # re-examine the current candidate against the new last QRS
        if (level[i] > thr and eligible[i] and (not qrs or p - cand[qrs[-1]] >= refractory)
                and not is_twave(i)):  # fmt: skip
            accept(i, 0.125)
        else:
            # Floor noise peaks: the flat baseline's tiny peaks would otherwise pull the noise
            # level, and with it the threshold, far down.
            npk += 0.125 * (max(level[i], spk + log_floor) - npk)
        i += 1

    peaks = cand[np.asarray(qrs, dtype=np.int64)]
    filtered = bandpass(x, fs)
    peaks = _refine_to_r_peak(filtered, peaks, int(round(config.refine_window_s * fs)), config.negative_peak_ratio)
    return np.unique(peaks).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class DetectorScore:
    """Beat-by-beat detection counts and the two standard figures of merit.

    Attributes
    ----------
    tp
        Reference beats matched by a detection.
    fp
        Detections matching no reference beat.
    fn
        Reference beats matched by no detection.
    """

    tp: int
    fp: int
    fn: int

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            integral = isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer())
            if isinstance(value, bool) or not integral or value < 0:
                raise ValueError(f"{f.name} must be a non-negative integer count, got {value!r}")
            object.__setattr__(self, f.name, int(value))

    @property
    def se(self) -> float:
        """Sensitivity ``TP / (TP + FN)`` (fraction, NaN without reference beats)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        """Positive predictivity "+P" ``TP / (TP + FP)`` (fraction, NaN without detections)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    def __add__(self, other: DetectorScore) -> DetectorScore:
        """Pool two scores (gross statistics: counts are summed)."""
        if not isinstance(other, DetectorScore):
            return NotImplemented
        return DetectorScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, float]:
        """``{"tp", "fp", "fn", "se", "ppv"}``."""
        return {**asdict(self), "se": self.se, "ppv": self.ppv}


def _as_positions(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of sample indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must hold numbers (sample indices), got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite positions")
    return arr


def match_peaks(
    detected: np.ndarray, reference: np.ndarray, fs: float, tolerance_s: float = 0.150
) -> tuple[np.ndarray, np.ndarray]:
    """Pair detections with reference beats one-to-one within a tolerance.

    All (detection, reference) pairs at most ``tolerance_s`` apart are taken in order of
    increasing distance (ties: earlier detection, then earlier reference first), and a pair is kept
    when neither member is already paired. So each reference beat and each detection is used at
    most once, and a beat with two detections nearby keeps the nearer one.

    Parameters
    ----------
    detected, reference
        1-D arrays of positions in samples (any order; duplicates allowed).
    fs
        Sampling rate in Hz, to convert the tolerance to samples.
    tolerance_s
        Largest distance (s, inclusive) between matched positions; 0.150 s is the EC57 window.

    Returns
    -------
    det_idx, ref_idx
        int64 arrays of equal length: ``detected[det_idx[m]]`` matches ``reference[ref_idx[m]]``.
        Indices refer to the arrays as given; pairs are sorted by reference position.
    """
    det = _as_positions(detected, "detected")
    ref = _as_positions(reference, "reference")
    fs = float(fs)
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs}")
    if not (math.isfinite(tolerance_s) and tolerance_s >= 0):
        raise ValueError(f"tolerance_s must be a non-negative number of seconds, got {tolerance_s}")
    tol = tolerance_s * fs
    empty = np.zeros(0, dtype=np.int64)
    if det.size == 0 or ref.size == 0:
        return empty, empty.copy()

    det_order = np.argsort(det, kind="stable")
    ref_order = np.argsort(ref, kind="stable")
    d, r = det[det_order], ref[ref_order]
    # Every reference within the tolerance of each detection, as flat (detection, reference) pairs.
    lo = np.searchsorted(r, d - tol - 1e-9, side="left")
    hi = np.searchsorted(r, d + tol + 1e-9, side="right")
    counts = hi - lo
    di = np.repeat(np.arange(len(d)), counts)
    rj = lo[di] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    dist = np.abs(d[di] - r[rj])
    keep = dist <= tol + 1e-9
    di, rj, dist = di[keep], rj[keep], dist[keep]
    order = np.lexsort((rj, di, dist))
    used_d = np.zeros(len(d), dtype=bool)
    used_r = np.zeros(len(r), dtype=bool)
    pairs_d, pairs_r = [], []
    for a, b in zip(di[order].tolist(), rj[order].tolist()):
        if not used_d[a] and not used_r[b]:
            used_d[a] = used_r[b] = True
            pairs_d.append(a)
            pairs_r.append(b)
    pd_, pr_ = np.asarray(pairs_d, dtype=np.int64), np.asarray(pairs_r, dtype=np.int64)
    by_ref = np.argsort(pr_, kind="stable")
    return det_order[pd_[by_ref]].astype(np.int64), ref_order[pr_[by_ref]].astype(np.int64)


def evaluate_detector(
    detected: np.ndarray,
    reference: np.ndarray,
    fs: float,
    tolerance_s: float = 0.150,
    *,
    ignore_before: int | None = None,
    ignore_after: int | None = None,
) -> DetectorScore:
    """Score one record's detections against its reference beats.

    Matching uses all positions (:func:`match_peaks`); only the scored range
    ``ignore_before <= position < ignore_after`` (samples) is then counted: a reference beat in
    range is a TP if matched and an FN otherwise, and an unmatched detection in range is an FP.
    Excluding a few hundred milliseconds at each end avoids counting beats cut by the record's
    edges, which no detector can see whole.

    Parameters
    ----------
    detected, reference
        Positions in samples (1-D).
    fs
        Sampling rate in Hz.
    tolerance_s
        Matching window in seconds (EC57: 0.150).
    ignore_before, ignore_after
        Scored range in samples; ``None`` means unbounded on that side.

    Returns
    -------
    DetectorScore
    """
    det = _as_positions(detected, "detected")
    ref = _as_positions(reference, "reference")
    det_idx, ref_idx = match_peaks(det, ref, fs, tolerance_s)
    lo = -np.inf if ignore_before is None else float(ignore_before)
    hi = np.inf if ignore_after is None else float(ignore_after)
    ref_in = (ref >= lo) & (ref < hi)
    det_in = (det >= lo) & (det < hi)
    det_matched = np.zeros(len(det), dtype=bool)
    det_matched[det_idx] = True
    ref_matched = np.zeros(len(ref), dtype=bool)
    ref_matched[ref_idx] = True
    return DetectorScore(
        tp=int(np.count_nonzero(ref_matched & ref_in)),
        fp=int(np.count_nonzero(~det_matched & det_in)),
        fn=int(np.count_nonzero(~ref_matched & ref_in)),
    )


def _xqrs(signal: np.ndarray, fs: float) -> np.ndarray:
    from wfdb.processing import xqrs_detect

    return np.asarray(xqrs_detect(signal, fs, verbose=False), dtype=np.int64)


def _ours(signal: np.ndarray, fs: float) -> np.ndarray:
    return detect_rpeaks(signal, fs)


_DETECTORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {"ours": _ours, "xqrs": _xqrs}


def benchmark_detectors(
    records: Sequence[str] = RECORDS,
    data_dir: str | os.PathLike | None = None,
    detectors: Sequence[str] | Mapping[str, Callable[[np.ndarray, float], np.ndarray]] = ("ours", "xqrs"),
    progress: bool = True,
    *,
    tolerance_s: float = 0.150,
    edge_s: float = 0.3,
    duration_s: float | None = None,
) -> dict:
    """Run QRS detectors over MIT-BIH records and score them beat by beat.

    Each record's lead is read with :func:`ecglib.data.load_record` (MLII; V5 for 102 and 104)
    and every detector sees the raw signal in mV. The reference is every beat annotation (the 19
    beat symbols of :meth:`~ecglib.data.Record.beats`); non-beat annotations, including the
    flutter waves ``!`` of record 207, are not beats, so detecting them counts as FP. No record
    and no episode is excluded; only the first and last ``edge_s`` seconds of each record are left
    unscored (see :func:`evaluate_detector`).

    Parameters
    ----------
    records
        Record names; default all 48.
    data_dir
        Database directory; see :func:`ecglib.data.find_data_dir`.
    detectors
        Names among ``"ours"`` (:func:`detect_rpeaks`) and ``"xqrs"`` (wfdb's
        ``xqrs_detect``, a few seconds per record), or a mapping ``name -> f(signal_mV, fs_Hz)``
        returning sample indices.
    progress
        Show a tqdm progress bar over records.
    tolerance_s
        Matching window in seconds.
    edge_s
        Seconds left unscored at each end of a record.
    duration_s
        Use only the first ``duration_s`` seconds of each record (quick checks); ``None``: all.

    Returns
    -------
    dict
        ``{name: {"records": {record: row}, "pooled": row}}`` where ``row`` has ``tp``, ``fp``,
        ``fn``, ``se``, ``ppv`` (fractions) and ``seconds`` (detector run time; for ``"pooled"``
        the mean per record). Pooled counts are the sums over records (gross statistics).
    """
    from tqdm.auto import tqdm

    records = list(records)
    if isinstance(detectors, Mapping):
        funcs = dict(detectors)
    else:
        if isinstance(detectors, str):
            detectors = (detectors,)
        unknown = [d for d in detectors if d not in _DETECTORS]
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; choose among {sorted(_DETECTORS)} or pass a mapping")
        funcs = {d: _DETECTORS[d] for d in detectors}
    if not funcs:
        raise ValueError("detectors is empty")
    if duration_s is not None and not duration_s > 2 * edge_s:
        raise ValueError(f"duration_s must exceed twice edge_s ({2 * edge_s:g} s), got {duration_s}")

    results: dict = {name: {"records": {}} for name in funcs}
    totals = {name: DetectorScore(0, 0, 0) for name in funcs}
    seconds = {name: 0.0 for name in funcs}
    for rec_name in tqdm(records, desc="QRS benchmark", unit="record", disable=not progress):
        rec = load_record(rec_name, data_dir)
        signal = rec.signal
        ref, _ = rec.beats()
        if duration_s is not None:
            signal = signal[: int(round(duration_s * rec.fs))]
            ref = ref[ref < len(signal)]
        edge = int(round(edge_s * rec.fs))
        for name, func in funcs.items():
            t0 = time.perf_counter()
            detected = np.asarray(func(signal, rec.fs))
            elapsed = time.perf_counter() - t0
            score = evaluate_detector(
                detected, ref, rec.fs, tolerance_s, ignore_before=edge, ignore_after=len(signal) - edge
            )
            results[name]["records"][rec.name] = {**score.as_dict(), "seconds": elapsed}
            totals[name] = totals[name] + score
            seconds[name] += elapsed
    n = max(1, len(records))
    for name in funcs:
        results[name]["pooled"] = {**totals[name].as_dict(), "seconds": seconds[name] / n}
    return results


def format_benchmark(results: dict, worst: int | None = None) -> str:
    """Plain-text table of :func:`benchmark_detectors` results (Se and +P in %).

    Parameters
    ----------
    results
        The dict returned by :func:`benchmark_detectors`: ``{name: {"records": {record: row},
        "pooled": row}}``, each ``row`` with ``tp``, ``fp``, ``fn``, ``se``, ``ppv`` (fractions) and
        ``seconds``.
    worst
        List only that many records per detector, those with the most errors (FP + FN), worst
        first. None (default): every record, in the order of ``results``. The ``pooled`` row is
        always added.

    Returns
    -------
    str
        One block per detector: a header line, then one line per record (TP, FP, FN, Se %, +P %,
        detector seconds per record), then the pooled line; lines joined by newlines.
    """
    lines = []
    for name, res in results.items():
        lines.append(f"{name}:  record     TP    FP    FN    Se %    +P %   s/rec")
        rows = list(res["records"].items())
        if worst is not None:
            rows = sorted(rows, key=lambda kv: -(kv[1]["fp"] + kv[1]["fn"]))[:worst]
        for rec, row in rows + [("pooled", res["pooled"])]:
            lines.append(
                f"{'':{len(name) + 3}}{rec:>6} {row['tp']:6d} {row['fp']:5d} {row['fn']:5d} "
                f"{100 * row['se']:7.2f} {100 * row['ppv']:7.2f} {row['seconds']:7.3f}"
            )
    return "\n".join(lines)
