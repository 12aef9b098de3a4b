"""Coursework: checks for the book's coding exercises, student versions of the chapters, bulk grading.

Checks
    One ``check_*`` function per coding exercise. Each takes the student's function, runs it on short
    slices of real MIT-BIH records (and, where that tells more, on a probe such as an impulse),
    compares the result with ecglib's reference implementation and says in plain words what is
    wrong: wrong shape, phase shift, wrong cut-off, spectral leakage, a beat matched twice, a subject
    on both sides of a split, unnormalised class weights, a transposed confusion matrix, ... It prints
    a :class:`CheckResult` and returns it; when the check fails it then raises
    :class:`ExerciseCheckFailed` (an ``AssertionError``), so that a chapter whose reference solution
    stops passing fails its build and its nbval run. ``raise_on_fail=False`` only returns the result
    (that is what :func:`grade_folder` uses).

    ============================  =========  ==========================================================
    check                         chapter    the student writes
    ============================  =========  ==========================================================
    :func:`check_aami_counts`     01         ``aami_counts(symbols) -> {"N": n, "S": n, ...}``
    :func:`check_bandpass`        02         ``zero_phase_bandpass(signal, fs) -> filtered``
    :func:`check_match_peaks`     02         ``count_matches(detected, reference, fs, tolerance_s) -> (tp, fp, fn)``
    :func:`check_patient_split`   02         ``subject_split(records, test_fraction, seed) -> (train, test)``
    :func:`check_spectrogram`     03         ``stft_log_magnitude(window, fs, n_fft, hop_length, fmax_hz)``
    :func:`check_class_weights`   04         ``balanced_class_weights(labels, n_classes) -> {c: w}``
    :func:`check_metrics`         05         ``confusion_metrics(y_true, y_pred, n_classes) -> dict``
    :func:`check_gradcam`         06         ``grad_cam_by_hand(model, images, class_index, layer_name)``
    ============================  =========  ==========================================================

    :data:`EXERCISES` maps each exercise's label in the book to its chapter, the name of the
    student's function and its check.

Exercises and solutions in the chapters
    An exercise is a ``{exercise}`` block with a ``:label:``. Its solution follows it as a *gated*
    solution, so that code cells and their outputs sit inside the solution's dropdown::

        # %% [markdown]
        # ```{solution-start} ex-prep-bandpass
        # :class: dropdown
        # ```
        #
        # Explanation of the solution (optional).

        # %% tags=["solution"]
        def zero_phase_bandpass(signal, fs):
            ...

        check_bandpass(zero_phase_bandpass)

        # %% [markdown]
        # ```{solution-end}
        # ```

    A solution without code may be a plain ``{solution} <label>`` block with ``:class: dropdown``.

Student versions
    :func:`make_assignments` writes ``assignments/NN_*.ipynb`` from the chapters: every cell tagged
    ``solution``, everything between ``{solution-start}`` and ``{solution-end}`` and every
    ``{solution}`` block are removed; in their place comes an ``answer`` cell: the signature and
    docstring of every function the solution passes to a ``check_*`` function, with ``# YOUR CODE
    HERE`` and ``raise NotImplementedError`` for a body, then the same check calls (and a markdown
    answer cell where the solution had an explanation).

Grading
    :func:`grade_folder` grades a folder of submitted notebooks; ``python -m ecglib.exercises grade
    submissions/`` prints the table (:func:`format_grades`).

Command line::

    python -m ecglib.exercises make-assignments notebooks assignments
    python -m ecglib.exercises grade submissions/ [--timeout 600] [--csv grades.csv]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import functools
import inspect
import io
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # for annotations only: Keras is imported inside the functions that use it
    import keras

# ==================================================================================================
# Results


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check.

    Attributes
    ----------
    name
        The check, e.g. ``"check_bandpass"``.
    passed
        Whether the student's function passed every case.
    message
        What was tested (when passed) or, in plain words, what is wrong and how to fix it.
    """

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'PASSED' if self.passed else 'FAILED'} {self.name}: {self.message}"

    def _ipython_display_(self) -> None:
        """Show nothing in a notebook: the check has printed the result already."""


class ExerciseCheckFailed(AssertionError):
    """Raised by a ``check_*`` function when the student's function fails (unless ``raise_on_fail=False``)."""

    def __init__(self, result: CheckResult):
        super().__init__(str(result))
        self.result = result


class _Fail(Exception):
    """Internal: a case failed; carries the message for the student."""


def _finish(name: str, run: Callable[[], str], raise_on_fail: bool) -> CheckResult:
    """Run a check body (which returns a success message or raises :class:`_Fail`), print and return."""
    try:
        result = CheckResult(name, True, run())
    except _Fail as fail:
        result = CheckResult(name, False, str(fail))
    print(result)
    if raise_on_fail and not result.passed:
        raise ExerciseCheckFailed(result)
    return result


_CHECK_DOC_TAIL = """
    raise_on_fail
        If True (default), raise :class:`ExerciseCheckFailed` when the check fails; if False,
        only return the result.

    Returns
    -------
    CheckResult
        The outcome, also printed. ``passed`` is False only when ``raise_on_fail=False``
        (otherwise a failure raises).

    Raises
    ------
    ExerciseCheckFailed
        If the check fails and ``raise_on_fail`` is True. An exception raised by
        ``{name}`` counts as a failure; it is not propagated.
"""


def _check_doc(check: Callable) -> Callable:
    """Complete a ``check_*`` docstring (which ends inside its Parameters section, after the student's
    function) with the ``raise_on_fail``, Returns and Raises sections every check shares."""
    if check.__doc__ is None:  # python -OO
        return check
    student = next(iter(inspect.signature(check).parameters))
    check.__doc__ = check.__doc__.rstrip() + _CHECK_DOC_TAIL.format(name=student) + "    "
    return check


def _fn_name(fn: Callable) -> str:
    return getattr(fn, "__name__", repr(fn))


def _call(fn: Callable, *args, **kwargs):
    """Call the student's function; turn any exception into a :class:`_Fail` that says so."""
    if not callable(fn):
        raise _Fail(f"expected a function, got {type(fn).__name__} {fn!r}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _Fail(f"{_fn_name(fn)} is not implemented yet: replace `raise NotImplementedError` with your code") from None
    except Exception as exc:  # the student's bug, reported rather than propagated
        raise _Fail(f"{_fn_name(fn)} raised {type(exc).__name__}: {exc}") from None


def _as_float_array(value, what: str) -> np.ndarray:
    if isinstance(value, tuple) and len(value) == 2:
        guess = " (the filter coefficients b, a?)" if "filter" in what else ""
        raise _Fail(f"{what} is a tuple of two items{guess}; return the result array itself")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Fail(f"{what} should be a numeric array, got {type(value).__name__}") from None
    if arr.ndim == 0:
        raise _Fail(f"{what} should be an array, got the single number {value!r}; did you forget to return the array?")
    return arr


# ==================================================================================================
# Real data for the checks (cached: each record is read once per process)


@functools.lru_cache(maxsize=None)
def _record(name: str):
    from ecglib.data import load_record

    return load_record(name)


def _beat_labels(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Reference beat positions and N/S/V labels (0/1/2) of a record's N, S and V beats."""
    from ecglib.data import AAMI_MAP, CLASSES

    samples, symbols = _record(name).beats()
    classes = np.array([AAMI_MAP.get(str(s), "Q") for s in symbols])
    keep = np.isin(classes, CLASSES)
    labels = np.array([CLASSES.index(c) for c in classes[keep]], dtype=np.int64)
    return samples[keep], labels


def _rel_rms(y: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - ref) ** 2)) / max(float(np.std(ref)), 1e-12))


# ==================================================================================================
# Chapter 1: AAMI classes


@_check_doc
def check_aami_counts(aami_counts: Callable[[np.ndarray], Mapping[str, int]], *, raise_on_fail: bool = True) -> CheckResult:
    """Check ``aami_counts(symbols) -> {"N": n, "S": n, "V": n, "F": n, "Q": n}`` (chapter 1).

    The student's function receives all the annotation symbols of a record (``record.ann_symbols``:
    beats *and* non-beat annotations) and counts the beats of each AAMI class
    (:data:`ecglib.data.AAMI_MAP`; a beat symbol not in the map is class Q; non-beat annotations
    are not counted). Tested on records 207 (bundle branch blocks, many non-beat annotations),
    208, 217 (paced) and 232.

    Parameters
    ----------
    aami_counts
        The student's function. It is called with a copy of a record's ``ann_symbols`` (1-D array
        of one-character str) and must return a mapping with the keys ``"N"``, ``"S"``, ``"V"``,
        ``"F"`` and ``"Q"`` (other keys are ignored), each count convertible with ``int()``.
    """

    def run() -> str:
        from ecglib.data import AAMI_MAP, BEAT_SYMBOLS

        hints = {
            "N": "N covers normal beats and bundle branch block and escape beats (N, L, R, e, j)",
            "S": "S covers all supraventricular ectopic beats (A, a, J, S)",
            "V": "V covers premature ventricular contractions and ventricular escape beats (V, E)",
            "F": "F is the fusion of ventricular and normal beats (F)",
            "Q": "Q covers paced beats '/', fusions of paced and normal 'f', unclassifiable 'Q' and the beat "
            "codes AAMI_MAP does not list",
        }
        for name in ("207", "208", "217", "232"):
            symbols = _record(name).ann_symbols
            beats = [str(s) for s in symbols if s in BEAT_SYMBOLS]
            expected = {c: sum(AAMI_MAP.get(s, "Q") == c for s in beats) for c in "NSVFQ"}
            got = _call(aami_counts, symbols.copy())
            if not isinstance(got, Mapping):
                raise _Fail(f"aami_counts should return a dict like {{'N': 1586, 'S': 2, ...}}, got {type(got).__name__}")
            missing = [c for c in "NSVFQ" if c not in got]
            if missing:
                raise _Fail(f"record {name}: the result has no key {missing} (keys: {sorted(map(str, got))}); "
                            "give a count for each of N, S, V, F and Q, 0 if there is none")
            for c in "NSVFQ":
                try:
                    value = int(got[c])
                except (TypeError, ValueError):
                    raise _Fail(f"record {name}: the count of {c} should be a number, got {got[c]!r}") from None
                if value == expected[c]:
                    continue
                non_beats = len(symbols) - len(beats)
                if c == "Q" and value > expected[c] and value <= expected[c] + non_beats:
                    raise _Fail(f"record {name}: Q = {value}, expected {expected[c]}. Non-beat annotations (rhythm "
                                f"changes '+', noise '~', comments, ...: {non_beats} in this record) are not beats; "
                                "count only the symbols in ecglib.data.BEAT_SYMBOLS")
                raise _Fail(f"record {name}: {c} = {value}, expected {expected[c]}. {hints[c]}; "
                            "ecglib.data.AAMI_MAP holds the grouping")
        return "correct counts for records 207, 208, 217 and 232"

    return _finish("check_aami_counts", run, raise_on_fail)


# ==================================================================================================
# Chapter 2: band-pass filter


#: (record, start s, duration s, sampling rate to resample to or None) of the band-pass cases.
_BANDPASS_CASES = (("105", 850.0, 60.0, None), ("208", 1060.0, 60.0, None), ("119", 1780.0, 60.0, 250.0))
_EDGE_S = 5.0  # seconds ignored at both ends: how a filter pads the edges is left to the student


def _impulse_response(fn: Callable, fs: float, n: int = 1 << 15) -> np.ndarray:
    x = np.zeros(n)
    x[n // 2] = 1.0
    return _as_float_array(_call(fn, x, fs), "the filter's output for an impulse").reshape(-1)


def _half_gain_edges(freqs: np.ndarray, gain: np.ndarray) -> tuple[float, float]:
    """Lowest and highest frequency where the gain reaches one half (−6 dB)."""
    above = np.flatnonzero(gain >= 0.5)
    if above.size == 0:
        return float("nan"), float("nan")
    return float(freqs[above[0]]), float(freqs[above[-1]])


def _diagnose_bandpass(fn: Callable, x: np.ndarray, y: np.ndarray, ref: np.ndarray, fs: float, where: str) -> str:
    """Say why ``y`` (the student's output) differs from ``ref`` (the reference) on signal ``x``."""
    from scipy.signal import correlate

    from ecglib.preprocess import bandpass

    mid = slice(int(_EDGE_S * fs), len(x) - int(_EDGE_S * fs))
    ym, rm, xm = y[mid], ref[mid], x[mid]
    if _rel_rms(ym - ym.mean(), xm - xm.mean()) < 0.02:
        return f"{where}: the output is the input, unfiltered"
    # Phase: does the output lag the zero-phase reference?
    max_lag = int(0.3 * fs)
    xc = correlate(ym - ym.mean(), rm - rm.mean(), mode="full", method="fft")
    centre = len(rm) - 1
    lag = int(np.argmax(xc[centre - max_lag : centre + max_lag + 1])) - max_lag
    h = _impulse_response(fn, fs)
    c = len(h) // 2
    k = int(10 * fs)
    asym = float(np.linalg.norm(h[c + 1 : c + k] - h[c - 1 : c - k : -1]) / max(np.linalg.norm(h), 1e-12))
    if lag != 0 or asym > 0.05:
        shift = f"delays the signal by about {lag} samples ({1000 * lag / fs:.0f} ms)" if lag else "changes the phase"
        return (f"{where}: your filter {shift}: it is not zero-phase, so every R-peak moves. A causal filter "
                "(lfilter, sosfilt) runs forwards only; run it forwards and backwards with "
                "scipy.signal.sosfiltfilt (or filtfilt)")
    # Scale: the right shape times a constant?
    a = float(np.dot(ym, rm) / np.dot(rm, rm))
    if _rel_rms(ym, a * rm) < 0.01 and abs(a - 1) > 0.005:
        return (f"{where}: the output is the correctly filtered signal multiplied by {a:.3g}; a filter passes the "
                "pass band unchanged (gain 1). Do not normalise or z-score the output here")
    # Cut-offs and roll-off from the impulse response.
    freqs = np.fft.rfftfreq(len(h), d=1.0 / fs)
    gain = np.abs(np.fft.rfft(h))
    ref_gain = np.abs(np.fft.rfft(bandpass(np.eye(1, len(h), len(h) // 2)[0], fs)))
    lo, hi = _half_gain_edges(freqs, gain)
    pass_band = gain[np.argmin(np.abs(freqs - 10.0))]
    if not math.isfinite(lo) or pass_band < 0.5:
        return f"{where}: your filter does not pass 10 Hz, the middle of the pass band (gain {pass_band:.2f})"
    low_msgs, high_msgs = [], []
    if lo < 0.05:
        low_msgs.append(f"there is no high-pass part: the gain at 0.1 Hz is {gain[np.argmin(np.abs(freqs - 0.1))]:.2f}, "
                        "so baseline wander stays; the low cut-off should be 0.5 Hz")
    elif abs(lo - 0.5) > 0.1:
        low_msgs.append(f"the low cut-off is wrong: your gain reaches one half (-6 dB after the two passes) at "
                        f"{lo:.2f} Hz, expected 0.5 Hz")
    if hi > fs / 2 - 2 * freqs[1] or gain[-1] > 0.5:
        high_msgs.append("there is no low-pass part: mains interference and muscle noise stay; the high cut-off "
                         "should be 40 Hz")
    elif abs(hi - 40.0) > 1.0:
        high_msgs.append(f"the high cut-off is wrong: your gain falls to one half (-6 dB after the two passes) at "
                         f"{hi:.1f} Hz, expected 40 Hz")
    if low_msgs or high_msgs:
        msg = "; ".join(low_msgs + high_msgs)
        return f"{where}: {msg}. Give butter the band edges in Hz together with fs=fs"
    i60 = np.argmin(np.abs(freqs - 60.0))
    db = lambda g: 20 * np.log10(max(g, 1e-12))  # noqa: E731
    return (f"{where}: the cut-offs are right but the roll-off is not that of a 4th-order Butterworth run forwards "
            f"and backwards: at 60 Hz your gain is {db(gain[i60]):.0f} dB, the reference's {db(ref_gain[i60]):.0f} dB. "
            "Check the filter type (Butterworth) and the order (4)")


@_check_doc
def check_bandpass(zero_phase_bandpass: Callable[[np.ndarray, float], np.ndarray], *, raise_on_fail: bool = True) -> CheckResult:
    """Check ``zero_phase_bandpass(signal, fs) -> filtered`` (chapter 2).

    The reference is :func:`ecglib.preprocess.bandpass`: a 4th-order Butterworth band-pass of
    0.5–40 Hz run forwards and backwards. The student's filter runs on one-minute slices of records
    105 (noisy), 208 and 119 (resampled to 250 Hz, to catch a cut-off computed for 360 Hz only); the
    output must have the input's shape, leave the input untouched and match the reference to 0.5 %
    RMS away from the first and last 5 s (where padding choices differ). When it does not, the
    filter is probed with an impulse to say what is wrong: no filtering, a phase shift, a gain,
    the low or high cut-off, or the roll-off.

    Parameters
    ----------
    zero_phase_bandpass
        The student's function, called as ``zero_phase_bandpass(signal, fs)`` with a 1-D float64
        ``(n_samples,)`` signal in mV and the sampling rate ``fs`` in Hz (360.0 or 250.0, a
        float); it must return the filtered signal as an array of the same shape (not the filter
        coefficients) and leave its input unchanged. On a mismatch it is also called with a
        32768-sample unit impulse, for the diagnosis.
    """

    def run() -> str:
        from ecglib.data import resample_to
        from ecglib.preprocess import bandpass

        passed_360 = False
        for name, start_s, dur_s, new_fs in _BANDPASS_CASES:
            rec = _record(name)
            x = rec.signal[int(start_s * rec.fs) : int((start_s + dur_s) * rec.fs)].copy()
            fs = float(rec.fs)
            if new_fs is not None:
                x, _ = resample_to(x, np.zeros(1, dtype=np.int64), fs, new_fs)
                fs = float(new_fs)
            where = f"record {name}, {start_s:g}-{start_s + dur_s:g} s at {fs:g} Hz"
            given = x.copy()
            y = _as_float_array(_call(zero_phase_bandpass, given, fs), "the filtered signal")
            if not np.array_equal(given, x):
                raise _Fail(f"{where}: your function changed its input array in place; return a new array")
            if y.shape != x.shape:
                extra = ""
                if y.ndim == 1 and y.size < x.size:
                    extra = (f" ({x.size - y.size} samples lost: the output must line up sample by sample with the "
                             "input, so no 'valid' convolution or trimming)")
                raise _Fail(f"{where}: the output has shape {y.shape}, the input {x.shape}{extra}")
            if not np.all(np.isfinite(y)):
                raise _Fail(f"{where}: the output holds NaN or infinite values")
            ref = bandpass(x, fs)
            mid = slice(int(_EDGE_S * fs), len(x) - int(_EDGE_S * fs))
            err = _rel_rms(y[mid], ref[mid])
            if err > 0.005:
                msg = _diagnose_bandpass(zero_phase_bandpass, x, y, ref, fs, where)
                if new_fs is not None and passed_360:
                    msg = (f"{where}: right at 360 Hz but not at {fs:g} Hz, so the cut-offs do not follow fs: pass the "
                           f"band edges in Hz and fs=fs to scipy.signal.butter. ({msg})")
                raise _Fail(msg)
            passed_360 = passed_360 or new_fs is None
        return ("zero-phase 0.5-40 Hz Butterworth: matches the reference on records 105, 208 (360 Hz) and 119 "
                "(250 Hz)")

    return _finish("check_bandpass", run, raise_on_fail)


# ==================================================================================================
# Chapter 2: matching detections to reference beats


@functools.lru_cache(maxsize=1)
def _match_cases() -> tuple[tuple[str, np.ndarray, np.ndarray, float, float], ...]:
    """(description, detected, reference, fs, tolerance_s) cases, from real records."""
    from ecglib.rpeaks import detect_rpeaks

    cases = []
    for name, start_s, dur_s in (("100", 0.0, 300.0), ("105", 850.0, 300.0)):
        rec = _record(name)
        lo, hi = int(start_s * rec.fs), int((start_s + dur_s) * rec.fs)
        det = detect_rpeaks(rec.signal[lo:hi], rec.fs)
        ref = rec.beats()[0]
        ref = ref[(ref >= lo) & (ref < hi)] - lo
        cases.append((f"record {name}, our detector on {start_s:g}-{start_s + dur_s:g} s", det, ref, float(rec.fs), 0.150))
    # Record 208's reference beats (first 3 min), edited: beats dropped, detections doubled, shifted
    # within and beyond the tolerance, spurious detections between beats.
    rec = _record("208")
    ref = rec.beats()[0]
    ref = ref[ref < 180 * rec.fs].astype(np.int64)
    rng = np.random.default_rng(208)
    gap_before = np.diff(ref, prepend=ref[0] - 1000)
    gap_after = np.diff(ref, append=ref[-1] + 1000)
    roomy = (gap_before > 0.6 * rec.fs) & (gap_after > 0.6 * rec.fs)
    det = [p + rng.integers(-5, 6) for i, p in enumerate(ref) if i % 10 != 3]  # every 10th beat missed
    det += [p + 20 for i, p in enumerate(ref) if i % 7 == 0]  # doubled detections (20 samples later)
    det += [p + 36 for i, p in enumerate(ref) if i % 11 == 5 and roomy[i]]  # 100 ms late: still a match
    det += [p + 90 for i, p in enumerate(ref) if i % 13 == 6 and roomy[i] and i % 10 != 3]  # 250 ms: no match
    det += [(ref[i] + ref[i + 1]) // 2 for i in range(len(ref) - 1) if i % 9 == 4 and roomy[i] and roomy[i + 1]]
    det += [p - 60 for i, p in enumerate(ref) if i % 20 == 3 and roomy[i]]  # a missed beat's detection 167 ms early
    det = np.sort(np.asarray(det, dtype=np.int64))
    fs = float(rec.fs)
    cases.append(("record 208 (0-180 s) with missed, doubled, shifted and spurious detections", det, ref, fs, 0.150))
    cases.append(("the same, with tolerance_s=0.05", det, ref, fs, 0.05))
    scaled = lambda p: np.round(p * 250.0 / fs).astype(np.int64)  # noqa: E731
    cases.append(("the same resampled to 250 Hz (fs=250)", scaled(det), scaled(ref), 250.0, 0.150))
    cases.append(("no detections at all", np.zeros(0, dtype=np.int64), ref[:50], fs, 0.150))
    return tuple(cases)


@_check_doc
def check_match_peaks(count_matches: Callable[..., tuple[int, int, int]], *, raise_on_fail: bool = True) -> CheckResult:
    """Check ``count_matches(detected, reference, fs, tolerance_s=0.150) -> (tp, fp, fn)`` (chapter 2).

    A detection within ``tolerance_s`` seconds of a reference beat matches it, each reference beat
    and each detection being used at most once (the reference is
    :func:`ecglib.rpeaks.evaluate_detector`, which pairs the closest first). Tested on our detector's
    output for five minutes of records 100 and 105, on record 208's beats with missed, doubled,
    shifted and spurious detections (also with another tolerance and another sampling rate), and
    with no detections. Either convention at the tolerance's edge (``<`` or ``<=``) is accepted.

    Parameters
    ----------
    count_matches
        The student's function, called as ``count_matches(detected, reference, fs,
        tolerance_s=tol)``: 1-D integer arrays of positions in samples (``detected`` may be empty),
        the sampling rate in Hz (360.0 or 250.0) and the tolerance in seconds (0.150 or 0.05). It
        must return ``(tp, fp, fn)`` (three values convertible with ``int()``) or an object with
        ``tp``, ``fp`` and ``fn`` attributes, such as :class:`ecglib.rpeaks.DetectorScore`.
    """

    def run() -> str:
        from ecglib.rpeaks import evaluate_detector

        results: dict[str, bool] = {}
        for desc, det, ref, fs, tol in _match_cases():
            expected = evaluate_detector(det, ref, fs, tol)
            # A boundary convention (< or <= tolerance) is not what this check is about: accept both.
            strict = evaluate_detector(det, ref, fs, tol - 0.5 / fs)
            accepted = {(expected.tp, expected.fp, expected.fn), (strict.tp, strict.fp, strict.fn)}
            out = _call(count_matches, det.copy(), ref.copy(), fs, tolerance_s=tol)
            try:
                tp, fp, fn = (int(v) for v in ((out.tp, out.fp, out.fn) if hasattr(out, "tp") else out))
            except (TypeError, ValueError):
                raise _Fail(f"count_matches should return three integers (tp, fp, fn), got {out!r}") from None
            ok = (tp, fp, fn) in accepted
            results[desc] = ok
            if ok:
                continue
            where = f"{desc}: expected (tp, fp, fn) = ({expected.tp}, {expected.fp}, {expected.fn}), got ({tp}, {fp}, {fn})"
            n_ref, n_det = len(ref), len(det)
            if desc.startswith("the same, with tolerance") and results.get(_match_cases()[2][0]):
                raise _Fail(f"{where}. Right with 0.150 s but not with another tolerance: use the tolerance_s argument")
            if desc.startswith("the same resampled") and results.get(_match_cases()[2][0]):
                raise _Fail(f"{where}. Right at 360 Hz but not at 250 Hz: convert the tolerance to samples with fs "
                            "(tolerance_s * fs), do not hard-code 54 samples")
            if tp + fn != n_ref:
                raise _Fail(f"{where}. tp + fn should equal the {n_ref} reference beats (each is either found or missed, "
                            f"once) but is {tp + fn}. Counting every detection near a beat as a TP counts a beat twice "
                            "when two detections fall near it: match one to one, the extra detection is a FP")
            if tp + fp != n_det:
                raise _Fail(f"{where}. tp + fp should equal the {n_det} detections (each is either a match or a false "
                            f"positive, once) but is {tp + fp}")
            in_samples = evaluate_detector(det, ref, 1.0, tol)  # the tolerance taken as samples, unconverted
            if (tp == 0 and expected.tp > 0) or (tp, fp, fn) == (in_samples.tp, in_samples.fp, in_samples.fn):
                raise _Fail(f"{where}. Too few matches: positions are in samples, so convert the tolerance from "
                            f"seconds ({tol:g} s x {fs:g} Hz = {tol * fs:g} samples)")
            raise _Fail(f"{where}. Pair each reference beat with at most one detection within the tolerance, "
                        "the closest pairs first")
        return ("correct (tp, fp, fn) on records 100 and 105 with our detector, on edited detections of record 208 "
                "(two tolerances, two sampling rates) and with no detections")

    return _finish("check_match_peaks", run, raise_on_fail)


# ==================================================================================================
# Chapter 2: patient-wise split


def _train_test_lists(out, where: str) -> tuple[list[str], list[str]]:
    """The student's ``(train, test)`` as two lists of record names, or a :class:`_Fail` that says why not."""
    try:
        train, test = out
        return [str(r) for r in train], [str(r) for r in test]
    except (TypeError, ValueError):
        raise _Fail(f"{where}: return two lists of record names (train, test), got {type(out).__name__}") from None


@_check_doc
def check_patient_split(
    subject_split: Callable[[Sequence[str], float, int], tuple[Sequence[str], Sequence[str]]], *, raise_on_fail: bool = True
) -> CheckResult:
    """Check ``subject_split(records, test_fraction, seed) -> (train_records, test_records)`` (chapter 2).

    The split must put every record in exactly one of the two sets, never put two records of the
    same subject (:func:`ecglib.data.subject_id`: 201 and 202) on both sides, give the test set
    about ``test_fraction`` of the *subjects* (±1), give the same split for the same seed and
    different splits for different seeds, and leave the caller's list alone. Tested on the 44
    non-paced records and on all 48, with ``test_fraction`` 0.2 and 0.3 and seeds 0-9. "Different
    splits" means at least 3 distinct test sets over the 10 seeds; "the same split" means the same
    train and test sets (in any order).

    Parameters
    ----------
    subject_split
        The student's function, called positionally as ``subject_split(records, test_fraction,
        seed)`` with a list of record names (str, e.g. ``"201"``), a float and an int. It must
        return a pair ``(train, test)`` of iterables of record names (items are compared as
        ``str``).
    """

    def run() -> str:
        from ecglib.data import PACED_RECORDS, RECORDS, subject_id
        from ecglib.splits import LeakageError, assert_no_leakage

        sets = {"the 44 non-paced records": [r for r in RECORDS if r not in PACED_RECORDS], "all 48 records": list(RECORDS)}
        for desc, records in sets.items():
            n_subjects = len({subject_id(r) for r in records})
            for fraction in (0.2, 0.3):
                test_sets = set()
                for seed in range(10):
                    where = f"{desc}, test_fraction={fraction}, seed={seed}"
                    given = list(records)
                    out = _call(subject_split, given, fraction, seed)
                    if given != list(records):
                        raise _Fail(f"{where}: your function reordered or changed the caller's list of records; "
                                    "shuffle a copy (or shuffle indices) instead")
                    train, test = _train_test_lists(out, where)
                    both = train + test
                    dup = sorted({r for r in both if both.count(r) > 1})
                    missing = sorted(set(records) - set(both))
                    extra = sorted(set(both) - set(records))
                    if dup or missing or extra:
                        raise _Fail(f"{where}: every record must be in exactly one set; duplicated {dup}, missing "
                                    f"{missing}, unknown {extra}")
                    try:
                        assert_no_leakage({"train": train, "test": test})
                    except LeakageError as err:
                        raise _Fail(f"{where}: leaky split: {err}. Shuffle and cut subjects (ecglib.data.subject_id), "
                                    "not records, then give each subject's records to its side") from None
                    n_test = len({subject_id(r) for r in test})
                    target = fraction * n_subjects
                    if abs(n_test - target) > 1.0 + 1e-9:
                        raise _Fail(f"{where}: the test set holds {n_test} of the {n_subjects} subjects, expected about "
                                    f"{target:.1f} (test_fraction of the subjects)")
                    again = _train_test_lists(_call(subject_split, list(records), fraction, seed), where)
                    if (sorted(again[0]), sorted(again[1])) != (sorted(train), sorted(test)):
                        raise _Fail(f"{where}: two calls with the same seed gave different splits; draw the shuffle from "
                                    "np.random.default_rng(seed) so that a split can be reproduced")
                    test_sets.add(tuple(sorted(test)))
                if len(test_sets) < 3:
                    raise _Fail(f"{desc}, test_fraction={fraction}: seeds 0-9 gave only {len(test_sets)} different "
                                "test set(s); the seed should change the shuffle")
        return "no subject on both sides, test sets of the right size, reproducible per seed, seeds 0-9 on 44 and 48 records"

    return _finish("check_patient_split", run, raise_on_fail)


# ==================================================================================================
# Chapter 3: spectrogram by hand


#: (n_fft, hop_length, fmax_hz) tried by check_spectrogram; the first is the book's default.
_STFT_PARAMS = ((128, 8, 45.0), (64, 4, 45.0), (256, 16, 30.0))
_LOG_EPS = 1e-3


@functools.lru_cache(maxsize=1)
def _stft_windows() -> tuple[np.ndarray, tuple[str, ...]]:
    """Four real 2-s beat windows (band-passed, z-scored): N and V from record 208, S and N from 232."""
    from ecglib.beats import extract_windows
    from ecglib.data import AAMI_MAP
    from ecglib.preprocess import bandpass

    out, names = [], []
    for name, start_s, want in (("208", 1060.0, ("N", "V")), ("232", 300.0, ("S", "N"))):
        rec = _record(name)
        lo, hi = int(start_s * rec.fs), int((start_s + 30.0) * rec.fs)
        x = bandpass(rec.signal[lo:hi], rec.fs)
        samples, symbols = rec.beats()
        inside = (samples >= lo + rec.fs) & (samples < hi - rec.fs)
        classes = np.array([AAMI_MAP.get(str(s), "Q") for s in symbols[inside]])
        windows, _ = extract_windows(x, samples[inside] - lo, rec.fs)
        for cls in want:
            out.append(windows[np.flatnonzero(classes == cls)[1]])
            names.append(f"a {cls} beat of record {name}")
    return np.stack(out).astype(np.float64), tuple(names)


def _stft_variant(x: np.ndarray, fs: float, n_fft: int, hop: int, fmax: float, window: str = "periodic",
                  value: str = "log", center: bool = True) -> np.ndarray:
    """The STFT image, right (defaults) or with one of the usual mistakes (for diagnosis)."""
    from numpy.lib.stride_tricks import sliding_window_view

    w = {"periodic": np.hanning(n_fft + 1)[:-1], "symmetric": np.hanning(n_fft), "none": np.ones(n_fft)}[window]
    xp = np.pad(x, n_fft // 2) if center else x
    frames = sliding_window_view(xp, n_fft)[::hop]
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / fs)
    mag = np.abs(np.fft.rfft(frames * w, axis=1)).T[freqs < fmax]
    return {
        "log": lambda m: np.log(m + _LOG_EPS),
        "power": lambda m: np.log(m**2 + _LOG_EPS),
        "db": lambda m: 20 * np.log10(m + _LOG_EPS),
        "db_power": lambda m: 10 * np.log10(m**2 + _LOG_EPS),
        "linear": lambda m: m,
        "log1p": np.log1p,
        "log_no_eps": lambda m: np.log(np.maximum(m, 1e-300)),
    }[value](mag)


_STFT_MISTAKES = (
    (dict(window="symmetric"), "you used a symmetric Hann window (np.hanning(n_fft), scipy.signal.windows.hann(n_fft)); "
     "spectral analysis uses the periodic one, scipy.signal.get_window('hann', n_fft) or np.hanning(n_fft + 1)[:-1], as "
     "librosa does"),
    (dict(window="none"), "no window was applied to the frames: the abrupt frame edges spread energy over all "
     "frequencies (spectral leakage); multiply each frame by a periodic Hann window before the FFT"),
    (dict(value="power"), "you took the log of the power |X|^2; the image is log(|X| + 1e-3), the log of the magnitude"),
    (dict(value="db"), "you used decibels (20 log10); the image uses the natural log: np.log(|X| + 1e-3)"),
    (dict(value="db_power"), "you used decibels of the power (10 log10 |X|^2); the image is np.log(|X| + 1e-3)"),
    (dict(value="linear"), "the values are magnitudes |X| without the log; take np.log(|X| + 1e-3)"),
    (dict(value="log1p"), "you took log(1 + |X|); the image is log(|X| + 1e-3)"),
    (dict(value="log_no_eps"), "you took log(|X|) without the small constant; add 1e-3 before the log so that "
     "silent bins stay finite and the image has the book's scale"),
)


@_check_doc
def check_spectrogram(
    stft_log_magnitude: Callable[..., np.ndarray], *, raise_on_fail: bool = True
) -> CheckResult:
    """Check ``stft_log_magnitude(window, fs, n_fft=128, hop_length=8, fmax_hz=45.0)`` (chapter 3).

    The function must return ``log(|X| + 1e-3)`` of the STFT of one beat window: a periodic Hann
    window of ``n_fft`` samples, frames every ``hop_length`` samples centred on the window's samples
    0, hop, 2 hop, ... (the window zero-padded by ``n_fft // 2`` at both ends), only the rows with a
    frequency below ``fmax_hz``; shape ``(rows, columns)`` with row 0 = 0 Hz. That is
    :func:`ecglib.spectrogram.log_magnitude`. Tested on N, S and V beats of records 208 and 232
    with ``(n_fft, hop_length, fmax_hz)`` = (128, 8, 45), (64, 4, 45) and (256, 16, 30). Values
    must match the reference to within 0.02 everywhere.

    Parameters
    ----------
    stft_log_magnitude
        The student's function, called as ``stft_log_magnitude(window, fs, n_fft=..., hop_length=...,
        fmax_hz=...)`` (the last three always by keyword, so their defaults are not tested) with one
        band-passed, z-scored 2-s beat window (1-D float64, 720 samples), ``fs=360.0`` Hz, ``n_fft``
        and ``hop_length`` in samples and ``fmax_hz`` in Hz. It must return a 2-D array
        ``(frequency rows, time columns)`` and leave ``window`` unchanged.
    """

    def run() -> str:
        from ecglib.spectrogram import SpectrogramConfig, log_magnitude

        windows, names = _stft_windows()
        fs = 360.0
        right_for: list[tuple[int, int, float]] = []
        for n_fft, hop, fmax in _STFT_PARAMS:
            cfg = SpectrogramConfig(n_fft=n_fft, hop_length=hop, fmax_hz=fmax, log_eps=_LOG_EPS, size=None)
            for x, beat in zip(windows, names):
                where = f"{beat}, n_fft={n_fft}, hop_length={hop}, fmax_hz={fmax:g}"
                given = x.copy()
                y = _as_float_array(_call(stft_log_magnitude, given, fs, n_fft=n_fft, hop_length=hop, fmax_hz=fmax),
                                    "the spectrogram")
                ref = log_magnitude(x, fs, cfg).astype(np.float64)
                rows, cols = ref.shape
                full_rows = n_fft // 2 + 1
                if y.shape != ref.shape:
                    msg = f"{where}: shape {y.shape}, expected {ref.shape} (frequency rows, time columns)"
                    if right_for and (n_fft, hop, fmax) != right_for[0]:
                        msg += (f". Right for n_fft={right_for[0][0]}, hop_length={right_for[0][1]} but not here: use "
                                "the arguments instead of fixed numbers")
                    elif y.shape == ref.shape[::-1]:
                        msg += ": transposed, rows must be frequencies and columns time"
                    elif y.ndim == 2 and y.shape[0] == full_rows:
                        msg += f": all {full_rows} FFT rows are there; keep only the rows with frequency < fmax_hz"
                    elif y.ndim == 2 and y.shape[0] == rows + 1:
                        msg += (f": one row too many; keep the frequencies strictly below fmax_hz (here "
                                f"{rows} x {fs / n_fft:.3g} Hz = {rows * fs / n_fft:g} Hz is the first row left out)")
                    elif y.ndim == 2 and y.shape[1] == 1 + (len(x) - n_fft) // hop:
                        msg += (": too few columns: the frames are not centred; pad n_fft // 2 zeros at both ends "
                                "first (as librosa.stft(center=True) does), so that column m is centred on sample m*hop")
                    raise _Fail(msg)
                if not np.all(np.isfinite(y)):
                    raise _Fail(f"{where}: the image holds NaN or infinite values (log of 0? add 1e-3 before the log)")
                if not np.array_equal(given, x):
                    raise _Fail(f"{where}: your function changed the window it was given; work on a copy")
                diff = np.abs(y - ref)
                if diff.max() <= 0.02:
                    continue
                if np.abs(y[::-1] - ref).max() <= 0.02:
                    raise _Fail(f"{where}: the rows are upside down: row 0 must be 0 Hz (the lowest frequency)")
                for kwargs, message in _STFT_MISTAKES:
                    variant = _stft_variant(x, fs, n_fft, hop, fmax, **kwargs)
                    if variant.shape == y.shape and np.median(np.abs(y - variant)) < 0.01 and np.median(diff) > 0.01:
                        raise _Fail(f"{where}: {message}")
                r, c = np.unravel_index(np.argmax(diff), diff.shape)
                raise _Fail(f"{where}: the values differ from the reference by up to {diff.max():.3g} (at {r * fs / n_fft:.1f} "
                            f"Hz, {c * hop / fs:.3f} s; median difference {np.median(diff):.3g}). Expected "
                            "log(|X| + 1e-3) of a periodic-Hann STFT with centred frames")
            right_for.append((n_fft, hop, fmax))
        return "matches ecglib.spectrogram.log_magnitude for N, S and V beats with three (n_fft, hop_length, fmax_hz)"

    return _finish("check_spectrogram", run, raise_on_fail)


# ==================================================================================================
# Chapter 4: class weights


@_check_doc
def check_class_weights(balanced_class_weights: Callable[..., Mapping[int, float]], *, raise_on_fail: bool = True) -> CheckResult:
    """Check ``balanced_class_weights(labels, n_classes=3) -> {class index: weight}`` (chapter 4).

    The weights are ``n / (n_classes * n_c)`` for a class with ``n_c`` of the ``n`` labels (as
    scikit-learn's ``compute_class_weight("balanced")`` and :func:`ecglib.train.class_weights`), so
    that every class weighs the same in the loss and the weights average to 1 over the beats; a class
    absent from the labels gets weight 0. The result is a dict with a key for every class
    ``0 .. n_classes - 1``, as Keras' ``fit(class_weight=...)`` expects. Tested on the N/S/V labels
    of records 100, 208 and 232 (in 232 there is no V beat), alone and pooled, and with
    ``n_classes=4``.

    Parameters
    ----------
    balanced_class_weights
        The student's function, called as ``balanced_class_weights(labels, n_classes=k)`` with a
        1-D int64 array of class indices (0 N, 1 S, 2 V) and ``k`` = 3 or 4. It must return a
        mapping whose keys are exactly the ints (Python or NumPy, not bool) ``0 .. k - 1`` and
        whose values convert with ``float()``; they must match to ``rtol=1e-6``.
    """

    def run() -> str:
        cases = [(f"record {r}", _beat_labels(r)[1], 3) for r in ("100", "208", "232")]
        pooled = np.concatenate([c[1] for c in cases])
        cases += [("records 100, 208 and 232 pooled", pooled, 3), ("the pooled labels with n_classes=4", pooled, 4)]
        for where, labels, k in cases:
            counts = np.bincount(labels, minlength=k).astype(float)
            expected = np.where(counts > 0, len(labels) / (k * np.maximum(counts, 1)), 0.0)
            given = labels.copy()
            out = _call(balanced_class_weights, given, n_classes=k)
            where = f"{where} (counts {dict(enumerate(counts.astype(int).tolist()))})"
            if not isinstance(out, Mapping):
                kind = type(out).__name__
                raise _Fail(f"{where}: return a dict {{class index: weight}}, as Keras' class_weight expects, got a {kind}"
                            + (" (e.g. dict(enumerate(weights)))" if np.ndim(out) == 1 else ""))
            keys = set(out)
            if not all(isinstance(key, (int, np.integer)) and not isinstance(key, bool) for key in keys):
                raise _Fail(f"{where}: the keys must be class indices 0..{k - 1} (integers), got {sorted(map(repr, keys))}")
            if {int(key) for key in keys} != set(range(k)):
                raise _Fail(f"{where}: keys {sorted(int(key) for key in keys)}, expected 0..{k - 1}: every class needs a weight, "
                            "even one absent from the labels (weight 0); use n_classes, not np.unique(labels)")
            if not np.array_equal(given, labels):
                raise _Fail(f"{where}: your function changed the labels array it was given; count them without "
                            "modifying it (np.bincount does not)")
            try:
                w = np.array([float(out[c]) for c in range(k)])
            except (TypeError, ValueError):
                got = {c: out[c] for c in range(k)}
                raise _Fail(f"{where}: the weights must be numbers, got {got!r}") from None
            absent = counts == 0
            if not np.all(np.isfinite(w)):
                bad = [c for c in range(k) if not np.isfinite(w[c])]
                raise _Fail(f"{where}: class(es) {bad} get weight {w[bad[0]]}: a class without beats gets weight 0 "
                            "(np.bincount(labels, minlength=n_classes) counts it as 0; do not divide by it)")
            if np.allclose(w, expected, rtol=1e-6, atol=1e-9):
                continue
            msg = f"{where}: expected {np.round(expected, 4).tolist()}, got {np.round(w, 4).tolist()}"
            present = ~absent
            ratio = w[present] / expected[present]
            if np.any(w[absent] != 0):
                raise _Fail(f"{msg}. A class without beats must get weight 0")
            if np.allclose(ratio, ratio[0], rtol=1e-6):
                extra = " (they sum to 1)" if np.isclose(w.sum(), 1.0) else ""
                raise _Fail(f"{msg}. The weights are proportional to the right ones but {ratio[0]:.4g} times as large{extra}: "
                            "use n / (n_classes * n_c), so that sum_c n_c * w_c = n and the loss keeps its scale")
            if np.allclose(w[present] / counts[present], w[present][0] / counts[present][0], rtol=1e-6):
                raise _Fail(f"{msg}. The weights grow with the class counts, so the majority class weighs most; they "
                            "must be inversely proportional to the counts")
            if np.allclose(w, np.sqrt(expected), rtol=1e-6):
                raise _Fail(f"{msg}. Those are the square roots of the balanced weights (the milder 'sqrt' mode); the "
                            "exercise asks for n / (n_classes * n_c)")
            raise _Fail(f"{msg}. Balanced weights are n / (n_classes * n_c)")
        return "balanced weights n / (n_classes * n_c) on records 100, 208, 232 and pooled, absent classes 0"

    return _finish("check_class_weights", run, raise_on_fail)


# ==================================================================================================
# Chapter 5: confusion matrix, Se, +P, F1


def _rr_rule_predictions(name: str, never_s: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """True N/S/V labels of a record and the predictions of a crude RR-interval rule (real errors)."""
    from ecglib.beats import rr_features

    samples, symbols = _record(name).beats()
    rr = rr_features(samples, _record(name).fs)
    peaks, labels = _beat_labels(name)
    rr = rr[np.isin(samples, peaks)]
    pre, post = rr[:, 3], rr[:, 4]
    pred = np.zeros(len(labels), dtype=np.int64)
    pred[pre < 0.9] = 1  # early: supraventricular?
    pred[(pre < 0.9) & (post > 1.15)] = 2  # early with a compensatory pause: ventricular?
    if never_s:
        pred[pred == 1] = 0
    return labels, pred


def _reference_metrics(y: np.ndarray, p: np.ndarray, k: int) -> dict:
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, p), 1)
    tp = np.diag(cm).astype(float)
    rows, cols = cm.sum(axis=1), cm.sum(axis=0)
    se = np.divide(tp, rows, out=np.zeros(k), where=rows > 0)
    ppv = np.divide(tp, cols, out=np.zeros(k), where=cols > 0)
    f1 = np.divide(2 * se * ppv, se + ppv, out=np.zeros(k), where=(se + ppv) > 0)
    return {"confusion_matrix": cm, "se": se, "ppv": ppv, "f1": f1, "macro_f1": float(f1.mean())}


@_check_doc
def check_metrics(confusion_metrics: Callable[..., Mapping[str, Any]], *, raise_on_fail: bool = True) -> CheckResult:
    """Check ``confusion_metrics(y_true, y_pred, n_classes=3) -> dict`` (chapter 5).

    The dict holds ``"confusion_matrix"`` (``(n_classes, n_classes)`` counts, rows = true class,
    columns = predicted class), ``"se"`` (sensitivity = recall, per class), ``"ppv"`` (positive
    predictivity = precision, per class), ``"f1"`` (per class) and ``"macro_f1"`` (the unweighted
    mean of the per-class F1 over all ``n_classes``). A ratio whose denominator is 0 is 0 (as
    scikit-learn's ``zero_division=0``). Tested on the real labels of records 100, 119, 208 and 232
    against the predictions of a crude RR-interval rule, including one that never predicts S, and a
    record without V beats.

    Parameters
    ----------
    confusion_metrics
        The student's function, called as ``confusion_metrics(y_true, y_pred, n_classes=3)`` with
        two 1-D int64 arrays of class indices (0 N, 1 S, 2 V) of the same length. It must return a
        mapping with the five keys above: the matrix as a ``(3, 3)`` array-like of counts,
        ``se``, ``ppv`` and ``f1`` as 3 values each (no NaN), ``macro_f1`` as one number.
    """

    def run() -> str:
        cases = [(f"record {r}, RR-rule predictions", *_rr_rule_predictions(r)) for r in ("100", "208", "232")]
        cases.append(("record 119, predictions that never say S", *_rr_rule_predictions("119", never_s=True)))
        for where, y, p in cases:
            k = 3
            exp = _reference_metrics(y, p, k)
            out = _call(confusion_metrics, y.copy(), p.copy(), n_classes=k)
            if not isinstance(out, Mapping):
                raise _Fail(f"{where}: return a dict with keys confusion_matrix, se, ppv, f1, macro_f1; got {type(out).__name__}")
            missing = [key for key in exp if key not in out]
            if missing:
                raise _Fail(f"{where}: the dict has no key(s) {missing}")
            cm = _as_float_array(out["confusion_matrix"], "confusion_matrix")
            if cm.shape != (k, k):
                raise _Fail(f"{where}: confusion_matrix has shape {cm.shape}, expected ({k}, {k}) even when a class is "
                            "never predicted or absent: use n_classes, not the classes that occur")
            if not np.array_equal(cm, exp["confusion_matrix"]):
                if np.array_equal(cm.T, exp["confusion_matrix"]):
                    raise _Fail(f"{where}: the confusion matrix is transposed: rows are the true classes, columns the "
                                "predicted ones (cm[true, predicted])")
                raise _Fail(f"{where}: confusion matrix {cm.astype(int).tolist()}, expected {exp['confusion_matrix'].tolist()}")
            vec = {}
            for key in ("se", "ppv", "f1"):
                v = _as_float_array(out[key], key).reshape(-1)
                if v.shape != (k,):
                    raise _Fail(f"{where}: {key} should hold one value per class ({k}), got shape {v.shape}")
                if np.any(np.isnan(v)):
                    raise _Fail(f"{where}: {key} = {np.round(v, 4).tolist()} holds NaN: when a class is never predicted "
                                "(or absent) a ratio is 0/0; return 0 there, as scikit-learn's zero_division=0")
                vec[key] = v
            if np.allclose(vec["se"], exp["ppv"]) and np.allclose(vec["ppv"], exp["se"]) and not np.allclose(exp["se"], exp["ppv"]):
                raise _Fail(f"{where}: se and ppv are swapped: Se = TP / (TP + FN) divides by the row (true class), "
                            "+P = TP / (TP + FP) by the column (predicted class)")
            for key in ("se", "ppv", "f1"):
                if not np.allclose(vec[key], exp[key], atol=1e-9):
                    raise _Fail(f"{where}: {key} = {np.round(vec[key], 4).tolist()}, expected {np.round(exp[key], 4).tolist()}")
            try:
                macro = float(out["macro_f1"])
            except (TypeError, ValueError):
                raise _Fail(f"{where}: macro_f1 should be one number, got {out['macro_f1']!r}") from None
            if not math.isclose(macro, exp["macro_f1"], abs_tol=1e-9):
                support = exp["confusion_matrix"].sum(axis=1)
                msg = f"{where}: macro_f1 = {macro:.4f}, expected {exp['macro_f1']:.4f}"
                if math.isclose(macro, float((y == p).mean()), abs_tol=1e-9):
                    msg += ". That is the accuracy (= micro-F1), dominated by the N beats"
                elif math.isclose(macro, float(np.dot(exp["f1"], support) / support.sum()), abs_tol=1e-9):
                    msg += ". That is the support-weighted mean, dominated by the N beats"
                raise _Fail(msg + "; macro-F1 is the plain mean of the per-class F1 over all n_classes")
        return "confusion matrix, Se, +P, F1 and macro-F1 right on four records, including a never-predicted class"

    return _finish("check_metrics", run, raise_on_fail)


# ==================================================================================================
# Chapter 6: Grad-CAM by hand


@functools.lru_cache(maxsize=1)
def gradcam_model(seed: int = 0) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """A small CNN trained briefly on real spectrograms, for the Grad-CAM exercise.

    Native-resolution (16 × 91) spectrograms of beats of records 208 (N, V) and 232 (N, S), scaled
    to 0..1; model ``conv1`` (8 filters, ReLU) → max-pool → ``last_conv`` (16 filters, ReLU) →
    flatten → softmax over N, S, V. Trained 3 epochs (a few seconds on a CPU). The last call's model
    is cached: calls with the same ``seed`` in a row return the same model, and another ``seed``
    trains a new one (and evicts it). Seeds Python, NumPy and Keras with ``seed``.

    Returns
    -------
    model, images, labels
        The Keras model, ``(n, 16, 91, 1)`` float32 images and their ``(n,)`` int labels (0 N, 1 S, 2 V).
    """
    import keras

    from ecglib.beats import extract_windows
    from ecglib.preprocess import bandpass
    from ecglib.spectrogram import SpectrogramConfig, spectrogram_images

    images, labels = [], []
    for name, start_s in (("208", 900.0), ("232", 0.0)):
        rec = _record(name)
        lo, hi = int(start_s * rec.fs), int((start_s + 600.0) * rec.fs)
        peaks, lab = _beat_labels(name)
        inside = (peaks >= lo + rec.fs) & (peaks < hi - rec.fs)
        windows, _ = extract_windows(bandpass(rec.signal[lo:hi], rec.fs), peaks[inside] - lo, rec.fs)
        images.append(spectrogram_images(windows, rec.fs, SpectrogramConfig(size=None)))
        labels.append(lab[inside])
    x = (np.concatenate(images).astype(np.float32) / 255.0)[..., None]
    y = np.concatenate(labels)
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=x.shape[1:], name="image"),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv"),
            layers.Flatten(name="flatten"),
            layers.Dense(3, activation="softmax", name="probs"),
        ],
        name="gradcam_exercise_cnn",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    counts = np.bincount(y, minlength=3)
    weights = {c: (len(y) / (3 * counts[c]) if counts[c] else 0.0) for c in range(3)}
    model.fit(x, y, epochs=3, batch_size=64, class_weight=weights, verbose=0, shuffle=True)
    return model, x, y


_GRAD_MODELS: dict = {}  # of one model only: a new model's entries replace the last one's


def _grad_model(model, layer_name: str, input_shape: tuple[int, ...]):
    """A model mapping the input to (feature maps of ``layer_name``, predictions); cached per model and layer."""
    import keras

    key = (id(model), layer_name, input_shape)
    if key not in _GRAD_MODELS:
        if any(kept is not model for kept, _ in _GRAD_MODELS.values()):
            _GRAD_MODELS.clear()  # gradcam_model() keeps one model; do not keep the ones it dropped
        inp = keras.Input(shape=input_shape)
        x, feats = inp, None
        for layer in model.layers:
            x = layer(x)
            if layer.name == layer_name:
                feats = x
        _GRAD_MODELS[key] = (model, keras.Model(inp, [feats, x]))  # the model is kept so that its id stays unique
    return _GRAD_MODELS[key][1]


def _reference_cam(model, images: np.ndarray, class_index: int, layer_name: str, variant: str = "gradcam") -> np.ndarray:
    """Grad-CAM at the layer's resolution, unnormalised (or one of the usual mistakes, for diagnosis)."""
    import tensorflow as tf

    grad_model = _grad_model(model, layer_name, tuple(images.shape[1:]))
    with tf.GradientTape() as tape:
        a, preds = grad_model(tf.convert_to_tensor(images), training=False)
        score = preds[:, class_index]
    g = tape.gradient(score, a).numpy()
    a = a.numpy()
    if variant == "no_pooling":
        return np.maximum((g * a).sum(axis=-1), 0)
    w = g.mean(axis=(1, 2), keepdims=True)
    cam = (w * a).sum(axis=-1)
    return cam if variant == "no_relu" else np.maximum(cam, 0)


def _unit_max(maps: np.ndarray) -> np.ndarray:
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return maps / np.where(peak > 0, peak, 1.0)[:, None, None]


@_check_doc
def check_gradcam(grad_cam_by_hand: Callable[..., np.ndarray], *, raise_on_fail: bool = True) -> CheckResult:
    """Check ``grad_cam_by_hand(model, images, class_index, layer_name) -> maps`` (chapter 6).

    The student computes Grad-CAM with ``tf.GradientTape``: the gradient of the model's output
    probability for ``class_index`` with respect to the feature maps ``A`` of layer ``layer_name``,
    averaged over the map's positions (one weight per channel), then ``ReLU(sum_k w_k A_k)``. The
    result is ``(n, h, w)``: at the layer's resolution, or resized to the images' ``(height,
    width)``; each map is compared after dividing it by its maximum, so scaling does not matter.
    Tested with the model of :func:`gradcam_model` (a ``keras.Sequential``: rebuild the graph with
    ``keras.Input`` and the layers, or use ``model.inputs``/``get_layer(...).output`` after calling
    it once) on six real beats, for classes N and V and for layers ``last_conv`` and ``conv1``.
    Needs Keras, TensorFlow and OpenCV (``cv2``); the model is trained on the first call, then
    cached.

    Parameters
    ----------
    grad_cam_by_hand
        The student's function, called positionally as ``grad_cam_by_hand(model, images,
        class_index, layer_name)`` with the :func:`gradcam_model` model, ``(6, 16, 91, 1)`` float32
        images (two each of N, S and V), an int class index (0 N or 2 V) and a layer name (str). It
        must return non-negative maps ``(n, h, w)`` (or ``(n, h, w, 1)``) as an array or a tensor
        with ``.numpy()``; maps at the images' ``(16, 91)`` are compared with a tolerance of 0.1
        after resizing the reference, maps at the layer's resolution with 0.02.
    """

    def run() -> str:
        import cv2

        model, images, labels = gradcam_model()
        pick = np.concatenate([np.flatnonzero(labels == c)[:2] for c in range(3)])
        batch = images[pick]
        for layer_name, class_index in (("last_conv", 2), ("last_conv", 0), ("conv1", 2)):
            where = f"layer {layer_name!r}, class_index={class_index}"
            out = _call(grad_cam_by_hand, model, batch.copy(), class_index, layer_name)
            try:
                out = np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float64)
            except (TypeError, ValueError):
                raise _Fail(f"{where}: return an array of maps, got {type(out).__name__}") from None
            if out.ndim == 4 and out.shape[-1] == 1:
                out = out[..., 0]
            ref = _reference_cam(model, batch, class_index, layer_name)
            n, h, w = ref.shape
            at_image = out.shape == (n, *batch.shape[1:3]) and out.shape != ref.shape
            if out.shape != ref.shape and not at_image:
                others = [layer.name for layer in model.layers if layer.name != layer_name and len(layer.output.shape) == 4
                          and tuple(layer.output.shape[1:3]) == out.shape[1:]]
                if others and out.ndim == 3 and len(out) == n:
                    raise _Fail(f"{where}: maps of shape {out.shape}, the resolution of layer {others[0]!r}, not of "
                                f"{layer_name!r} {(h, w)}: take the feature maps of the layer named by layer_name")
                raise _Fail(f"{where}: maps of shape {out.shape}, expected {(n, h, w)} (one map per image at the layer's "
                            f"resolution) or {(n, *batch.shape[1:3])} (resized to the images). Sum the weighted feature "
                            "maps over the channel axis, not over space")
            if not np.all(np.isfinite(out)):
                raise _Fail(f"{where}: the maps hold NaN or infinite values")
            if out.min() < -1e-6:
                raise _Fail(f"{where}: the maps have negative values ({out.min():.3g}): Grad-CAM keeps only what speaks "
                            "for the class, apply ReLU (tf.nn.relu or np.maximum(cam, 0)) to the weighted sum")
            resize = (lambda m: np.stack([cv2.resize(c.astype(np.float32), batch.shape[1:3][::-1],
                                                     interpolation=cv2.INTER_LINEAR) for c in m])) if at_image else (lambda m: m)
            got, exp = _unit_max(out), _unit_max(resize(ref))
            tol = 0.1 if at_image else 0.02
            if np.abs(got - exp).max() <= tol:
                continue
            if np.abs(got - _unit_max(resize(_reference_cam(model, batch, class_index, layer_name, "no_pooling")))).max() <= tol:
                raise _Fail(f"{where}: you multiplied gradients and activations position by position; Grad-CAM first "
                            "averages each channel's gradient over the whole map (tf.reduce_mean(grads, axis=(1, 2))), "
                            "one weight per channel, then sums weight x feature map over the channels")
            for other in range(model.output_shape[-1]):
                if other != class_index:
                    alt = _unit_max(resize(_reference_cam(model, batch, other, layer_name)))
                    if np.abs(got - alt).max() <= tol:
                        raise _Fail(f"{where}: these are the maps of class {other}; take the gradient of "
                                    f"preds[:, class_index] (here class {class_index})")
            raise _Fail(f"{where}: the maps differ from Grad-CAM's by up to {np.abs(got - exp).max():.2f} (each map "
                        "scaled to a maximum of 1). Gradient of the class probability w.r.t. the layer's output, "
                        "averaged over positions, weighted sum over channels, ReLU")
        return "Grad-CAM maps match for classes N and V at layers last_conv and conv1"

    return _finish("check_gradcam", run, raise_on_fail)


# ==================================================================================================
# Registry


@dataclass(frozen=True)
class Exercise:
    """A coding exercise of the book.

    Attributes
    ----------
    label
        The ``{exercise}``'s ``:label:`` in the chapter.
    chapter
        Two-digit chapter number (the notebook's prefix, e.g. ``"02"``).
    function
        Name of the function the student writes (the grader looks for it).
    check
        The ``check_*`` function that grades it.
    """

    label: str
    chapter: str
    function: str
    check: Callable[..., CheckResult]


#: Every checked exercise, by label, in book order.
EXERCISES: dict[str, Exercise] = {
    e.label: e
    for e in (
        Exercise("ex-data-aami", "01", "aami_counts", check_aami_counts),
        Exercise("ex-prep-bandpass", "02", "zero_phase_bandpass", check_bandpass),
        Exercise("ex-prep-match", "02", "count_matches", check_match_peaks),
        Exercise("ex-prep-subjects", "02", "subject_split", check_patient_split),
        Exercise("ex-stft-by-hand", "03", "stft_log_magnitude", check_spectrogram),
        Exercise("ex-cnn-class-weights", "04", "balanced_class_weights", check_class_weights),
        Exercise("ex-eval-metrics", "05", "confusion_metrics", check_metrics),
        Exercise("ex-gradcam-by-hand", "06", "grad_cam_by_hand", check_gradcam),
    )
}

# ==================================================================================================
# Student versions of the chapters

_DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<kind>solution|solution-start|solution-end)\}[ \t]*(?P<arg>\S*)")
SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _split_markdown(text: str, in_solution: bool, where: str) -> tuple[list[tuple[str, str]], bool, list[str]]:
    """Split a markdown cell into kept text and solution events.

    Returns
    -------
    segments, in_solution, removed
        ``segments``: ``("md", text)`` pieces to keep and ``("end", label)`` markers where a solution
        ends (a ``{solution}`` block or a ``{solution-end}``); ``("start", label)`` where a gated
        solution starts. ``in_solution`` after the cell. ``removed``: the solution text removed.
    """
    lines = text.splitlines(keepends=True)
    segments: list[tuple[str, str]] = []
    removed: list[str] = []
    buf: list[str] = []
    i = 0

    def flush() -> None:
        if "".join(buf).strip():
            segments.append(("md", "".join(buf).strip("\n")))
        buf.clear()

    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if m:
            fence = m["fence"]
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            if j == len(lines):
                raise ValueError(f"{where}: the {{{m['kind']}}} block opened with {fence} is never closed")
            block = lines[i : j + 1]
            kind = m["kind"]
            if kind == "solution":
                if in_solution:
                    raise ValueError(f"{where}: a {{solution}} block inside a {{solution-start}} .. {{solution-end}} span")
                flush()
                removed.extend(block)
                segments.append(("end", m["arg"]))
            elif kind == "solution-start":
                if in_solution:
                    raise ValueError(f"{where}: {{solution-start}} before the previous solution's {{solution-end}}")
                flush()
                removed.extend(block)
                segments.append(("start", m["arg"]))
                in_solution = True
            else:
                if not in_solution:
                    raise ValueError(f"{where}: {{solution-end}} without a {{solution-start}}")
                removed.extend(block)
                segments.append(("end", ""))
                in_solution = False
            i = j + 1
            continue
        (removed if in_solution else buf).append(lines[i])
        i += 1
    flush()
    return segments, in_solution, removed


def _is_check_call(node: ast.AST) -> bool:
    value = node.value if isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id.startswith("check_")
    )


def checked_functions(source: str) -> dict[str, str]:
    """``{check name: function name}`` for every top-level ``check_*(function, ...)`` call in ``source``.

    Only module-level statements count (an expression statement or an assignment whose value is
    the call, e.g. ``result = check_bandpass(f)``), and only calls of a plain name starting with
    ``check_`` whose first positional argument is a plain name. A later call of the same check
    overrides an earlier one.

    Parameters
    ----------
    source
        Python source code, e.g. one code cell.

    Returns
    -------
    dict of str to str
        ``{"check_bandpass": "zero_phase_bandpass", ...}``; empty if there is no such call or the
        source has a syntax error.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out = {}
    for node in tree.body:
        if _is_check_call(node):
            call = node.value
            if call.args and isinstance(call.args[0], ast.Name):
                out[call.func.id] = call.args[0].id
    return out


def _skeleton(node: ast.FunctionDef, source: str) -> str:
    """The function's signature and docstring with a ``NotImplementedError`` body."""
    lines = source.splitlines()
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    body0 = node.body[0]
    if body0.lineno == node.lineno:  # a one-line function: rebuild the header
        header = ast.unparse(ast.FunctionDef(node.name, node.args, [ast.Pass()], node.decorator_list, node.returns,
                                             type_params=getattr(node, "type_params", []), lineno=0))
        header_lines = header.splitlines()[:-1]
        indent = " " * (node.col_offset + 4)
    else:
        header_lines = lines[first - 1 : body0.lineno - 1]
        indent = re.match(r"\s*", lines[body0.lineno - 1]).group(0)
    doc: list[str] = []
    if isinstance(body0, ast.Expr) and isinstance(getattr(body0, "value", None), ast.Constant) and isinstance(body0.value.value, str):
        if body0.lineno == node.lineno:  # the docstring shares the def's line: rewrite it on its own
            doc = [indent + ast.unparse(body0)]
        else:
            doc = lines[body0.lineno - 1 : body0.end_lineno]
    return "\n".join(header_lines + doc + [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError"])


def stub_source(solution_sources: Sequence[str]) -> str:
    """The student's starting code for an exercise whose solution cells are ``solution_sources``.

    Keeps the ``from ecglib.exercises import ...`` lines, a skeleton (signature, docstring,
    ``# YOUR CODE HERE``, ``raise NotImplementedError``) of every function passed to a
    ``check_*`` call, and those calls; drops everything else. Without any checked function the stub
    is ``# YOUR CODE HERE``.

    Parameters
    ----------
    solution_sources
        The source code of the solution's code cells, in order. A source with a syntax error is
        skipped. A (non-async) function gets a skeleton only if a ``check_*`` call in the *same*
        source passes it.

    Returns
    -------
    str
        The imports, the skeletons and the check calls, separated by blank lines (a
        ``# YOUR CODE HERE`` line stands in for the skeletons when there are calls but none); just
        ``"# YOUR CODE HERE"`` when there is neither a skeleton nor a call.
    """
    imports, skeletons, calls = [], [], []
    for src in solution_sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        checked = set(checked_functions(src).values())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "ecglib.exercises":
                imports.append(ast.get_source_segment(src, node))
            elif isinstance(node, ast.FunctionDef) and node.name in checked:
                skeletons.append(_skeleton(node, src))
            elif _is_check_call(node):
                calls.append(ast.get_source_segment(src, node))
    if not skeletons and not calls:
        return "# YOUR CODE HERE"
    parts = ["\n".join(imports)] if imports else []
    parts += ["\n\n".join(skeletons)] if skeletons else ["# YOUR CODE HERE"]
    parts += ["\n".join(calls)] if calls else []
    return "\n\n\n".join(parts) if skeletons else "\n\n".join(parts)


def make_assignment(notebook, title: str = "") -> Any:
    """The student version of one chapter notebook (an ``nbformat`` node; the input is not changed).

    Parameters
    ----------
    notebook
        The chapter as an nbformat v4 notebook (``nbformat.NotebookNode``, e.g. from
        ``nbformat.read(path, as_version=4)``); it is deep-copied.
    title
        Names the chapter in the introductory cell ("Student version of ...") and in error messages;
        default ``""`` (then "this chapter" / "notebook").

    Returns
    -------
    nbformat.NotebookNode
        The student notebook: an introductory markdown cell, then the chapter's cells without the
        solutions (code cells' outputs and execution counts cleared), with ``answer``-tagged cells
        (``metadata["exercise"]`` = the exercise label) in their place. Format 4.5 or later, cell
        ids ``cell-000``, ``cell-001``, ..., no ``jupytext`` metadata; validated.

    Raises
    ------
    ValueError
        On an unbalanced ``{solution-start}``/``{solution-end}`` or an unclosed solution block
        (the message names the cell), or a ``{solution}`` block inside a gated solution.
    nbformat.ValidationError
        If the result is not a valid notebook.
    """
    import nbformat

    nb = copy.deepcopy(notebook)
    cells_out = []
    in_solution = False
    label = ""
    code: list[str] = []
    prose: list[str] = []
    last_stub: dict | None = None
    last_label = ""
    exercise_text = ""

    def emit_stub(lbl: str) -> None:
        nonlocal last_stub, last_label
        last_label = lbl
        checked = [src for src in code if checked_functions(src)]
        stub = nbformat.v4.new_code_cell(stub_source(checked), metadata={"tags": [ANSWER_TAG], "exercise": lbl})
        cells_out.append(stub)
        if checked and len(checked) < len(code):  # the solution also has free-form code: room for the student's
            cells_out.append(nbformat.v4.new_code_cell("# YOUR CODE HERE", metadata={"tags": [ANSWER_TAG], "exercise": lbl}))
        explained = any(line.strip() and not _DIRECTIVE.match(line) and not line.strip().startswith(":") and
                        not re.fullmatch(r"`{3,}|:{3,}", line.strip()) for line in prose)
        asks = "?" in exercise_text or not checked  # a question to answer in words, not only a function to write
        if explained and asks:
            cells_out.append(nbformat.v4.new_markdown_cell("**Your answer:** _(double-click to write)_",
                                                           metadata={"tags": [ANSWER_TAG], "exercise": lbl}))
        last_stub = {"cell": stub, "code": list(code)}
        code.clear()
        prose.clear()

    for index, cell in enumerate(nb.cells):
        where = f"{title or 'notebook'}, cell {index}"
        if cell.cell_type == "markdown":
            segments, in_solution, removed = _split_markdown(cell.source, in_solution, where)
            prose.extend(removed)
            for kind, value in segments:
                if kind == "md":
                    if "{exercise}" in value:
                        exercise_text = value[value.index("{exercise}"):]
                    cells_out.append(nbformat.v4.new_markdown_cell(value, metadata=copy.deepcopy(cell.metadata)))
                    last_stub = None
                elif kind == "start":
                    label = value
                elif kind == "end":
                    emit_stub(value or label)
                    label = ""
            continue
        if in_solution:
            if cell.cell_type == "code" and "remove-cell" not in _tags(cell):  # hidden asserts need no stub
                code.append(cell.source)
            continue
        if SOLUTION_TAG in _tags(cell):
            if last_stub is not None:  # more solution code after a plain {solution} block: extend its stub
                last_stub["code"].append(cell.source)
                last_stub["cell"].source = stub_source([c for c in last_stub["code"] if checked_functions(c)])
            else:
                code.append(cell.source)
                emit_stub(last_label)
            continue
        new = copy.deepcopy(cell)
        if new.cell_type == "code":
            new.outputs = []
            new.execution_count = None
        new.pop("id", None)
        cells_out.append(new)
        last_stub = None
    if in_solution:
        raise ValueError(f"{title or 'notebook'}: {{solution-start}} without {{solution-end}}")

    intro = nbformat.v4.new_markdown_cell(
        f"*Student version of {title or 'this chapter'}, generated by `make assignments`: the solutions are "
        "removed. Write your code in the cells marked `# YOUR CODE HERE`; the `check_...` call under each "
        "function runs it on real MIT-BIH data and says what is wrong, if anything.*"
    )
    nb.cells = [intro] + cells_out
    for cell in nb.cells:
        cell.pop("id", None)
    nb.metadata.pop("jupytext", None)
    nb.nbformat, nb.nbformat_minor = 4, max(int(nb.get("nbformat_minor", 5)), 5)
    for i, cell in enumerate(nb.cells):  # nbformat >= 4.5 wants a unique id per cell; deterministic output
        cell["id"] = f"cell-{i:03d}"
    nbformat.validate(nb)
    return nb


def make_assignments(src_dir: str | os.PathLike = "notebooks", out_dir: str | os.PathLike = "assignments") -> list[Path]:
    """Write the student version of every chapter ``src_dir/NN_*.ipynb`` to ``out_dir/NN_*.ipynb``.

    Each chapter goes through :func:`make_assignment`, titled ``"chapter NN, <first '# ' heading>"``
    (the file's stem when there is no heading). Existing files are replaced (written to a ``.tmp``
    file first, then renamed).

    Parameters
    ----------
    src_dir
        Folder of the chapter notebooks (not searched recursively); default ``"notebooks"``.
    out_dir
        Folder for the student versions, created if missing; default ``"assignments"``.

    Returns
    -------
    list of Path
        The notebooks written, in file-name order.

    Raises
    ------
    FileNotFoundError
        If ``src_dir`` does not exist or holds no ``NN_*.ipynb`` file.
    ValueError
        If a chapter's solution markers are malformed (see :func:`make_assignment`).
    """
    import nbformat

    src_dir, out_dir = Path(src_dir), Path(out_dir)
    chapters = sorted(src_dir.glob("[0-9][0-9]_*.ipynb"))
    if not chapters:
        raise FileNotFoundError(f"no chapter notebooks NN_*.ipynb in {src_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        title = next((line.lstrip("# ").strip() for c in nb.cells if c.cell_type == "markdown"
                      for line in c.source.splitlines() if line.startswith("# ")), path.stem)
        student = make_assignment(nb, title=f"chapter {path.stem[:2]}, {title}")
        target = out_dir / path.name
        tmp = target.with_suffix(".ipynb.tmp")
        nbformat.write(student, tmp)
        os.replace(tmp, target)
        written.append(target)
    return written


# ==================================================================================================
# Grading


@dataclass(frozen=True)
class GradeRow:
    """One student file × one exercise."""

    student: str
    exercise: str
    passed: bool
    message: str


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def student_namespace(notebook) -> tuple[dict, dict[str, str], list[str]]:
    """Execute the definitions of a student notebook in a fresh namespace.

    Runs, in notebook order, every top-level ``import``, ``def``, ``class`` and assignment without a
    function call of every code cell (each statement on its own; one that fails is skipped and
    reported) and nothing else, so the cells' data loading, training and checks are skipped. What
    those statements evaluate themselves still runs: the imported modules, decorators, default
    argument values and class bodies. Functions may therefore use the notebook's imports and
    constants, not variables computed by other cells.
    Lines starting with ``%`` or ``!`` (magics, shell commands) are dropped first; what the
    statements print is discarded.

    Parameters
    ----------
    notebook
        An nbformat v4 notebook (``nbformat.NotebookNode``, e.g. from
        ``nbformat.read(path, as_version=4)``); only its code cells are read.

    Returns
    -------
    namespace, calls, problems
        The namespace (``__name__`` is ``"__student__"``), ``{check name: function name}`` from the
        notebook's ``check_*`` calls (:func:`checked_functions`; a later cell wins), and one line
        per cell that does not parse (``"cell 3: syntax error: ..."``) or statement that raised
        (``"cell 3, line 2: NameError: ..."``; cell numbers count all cells from 0).
    """
    namespace: dict = {"__name__": "__student__"}
    calls: dict[str, str] = {}
    problems: list[str] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        src = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(src)
        except SyntaxError as exc:
            problems.append(f"cell {index}: syntax error: {exc}")
            continue
        calls.update(checked_functions(src))
        for node in tree.body:
            wanted = isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            wanted = wanted or (isinstance(node, (ast.Assign, ast.AnnAssign)) and not _has_call(node))
            if not wanted:
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(ast.Module([node], type_ignores=[]), f"<cell {index}>", "exec"), namespace)
            except Exception as exc:  # a student's statement that cannot run here
                problems.append(f"cell {index}, line {node.lineno}: {type(exc).__name__}: {exc}")
    return namespace, calls, problems


def grade_notebook(path: str | os.PathLike) -> list[tuple[str, bool, str]]:
    """Grade one notebook in this process: ``[(exercise label, passed, message)]``.

    The exercises graded are those of the notebook's chapter (from its ``NN_`` file-name prefix)
    plus any whose check the notebook calls. The function graded is the one the notebook passes to
    the check, or else the exercise's default name (:data:`EXERCISES`). The notebook's definitions
    run in this process (:func:`student_namespace`), then each check with ``raise_on_fail=False``
    and its output discarded.

    Parameters
    ----------
    path
        The notebook file; its name's first two characters, if digits, give the chapter.

    Returns
    -------
    list of tuple of (str, bool, str)
        ``(exercise label, passed, message)`` per exercise, in book order. A missing function, a
        check that crashes, an unreadable notebook or one with no exercise gives a failed row
        instead of an exception (the last two as the single row ``("(notebook)", False, ...)``).
    """
    import nbformat

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        return [("(notebook)", False, f"cannot read the notebook: {type(exc).__name__}: {exc}")]
    namespace, calls, problems = student_namespace(nb)
    chapter = path.name[:2] if path.name[:2].isdigit() else None
    todo = [e for e in EXERCISES.values() if e.chapter == chapter or e.check.__name__ in calls]
    if not todo:
        return [("(notebook)", False, "no exercise found: the file name does not start with a chapter number "
                 "(01_..) and no check_* is called")]
    rows = []
    for ex in todo:
        name = calls.get(ex.check.__name__, ex.function)
        fn = namespace.get(name)
        if not callable(fn):
            hint = f" ({problems[0]})" if problems else ""
            rows.append((ex.label, False, f"function {name}() not found in the notebook{hint}"))
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                result = ex.check(fn, raise_on_fail=False)
            rows.append((ex.label, result.passed, result.message))
        except Exception as exc:  # a crash inside the check itself
            rows.append((ex.label, False, f"the check crashed: {type(exc).__name__}: {exc}"))
    return rows


def grade_folder(folder: str | os.PathLike, timeout_s: float = 600.0) -> list[GradeRow]:
    """Grade every notebook under ``folder``, each in a fresh Python process with a time limit.

    Parameters
    ----------
    folder
        A folder of submitted notebooks (searched recursively; e.g. ``submissions/alice/02_...ipynb``
        or ``submissions/alice_02_preprocessing.ipynb``: name files by chapter, ``NN_...``, or keep the
        ``check_*`` calls in them).
    timeout_s
        Seconds allowed per notebook; a notebook that runs longer fails all its exercises.

    Returns
    -------
    list of GradeRow
        One row per notebook and exercise, sorted by student file then book order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    order = {label: i for i, label in enumerate(EXERCISES)}
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    rows: list[GradeRow] = []
    for path in notebooks:
        student = str(path.relative_to(folder).with_suffix(""))
        try:
            proc = subprocess.run([sys.executable, "-m", "ecglib.exercises", "grade-notebook", str(path)],
                                  capture_output=True, text=True, timeout=timeout_s, env=env)
            payload = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            graded = json.loads(payload) if payload.startswith("[") else None
            if graded is None:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                graded = [("(notebook)", False, f"grading crashed: {tail[0]}")]
        except subprocess.TimeoutExpired:
            graded = [("(notebook)", False, f"timed out after {timeout_s:g} s")]
        rows += [GradeRow(student, label, bool(ok), msg) for label, ok, msg in graded]
    return sorted(rows, key=lambda r: (r.student, order.get(r.exercise, -1)))


def format_grades(rows: Sequence[GradeRow]) -> str:
    """A plain-text grade table (student × exercise: pass/FAIL), a score per student, then the messages.

    Parameters
    ----------
    rows
        Grade rows, e.g. from :func:`grade_folder`. Students appear in the order of their first
        row; columns are the exercises in book order, labels not in :data:`EXERCISES` (such as
        ``"(notebook)"``) first.

    Returns
    -------
    str
        The table, one line per student: ``pass``, ``FAIL`` or blank (no row) per exercise and a
        score ``passed/graded`` over the exercises that student has a row for; then ``Messages:``
        with one line per failed row. ``"no notebooks graded"`` if ``rows`` is empty.
    """
    if not rows:
        return "no notebooks graded"
    students = list(dict.fromkeys(r.student for r in rows))
    exercises = list(dict.fromkeys(r.exercise for r in sorted(rows, key=lambda r: list(EXERCISES).index(r.exercise)
                                                                   if r.exercise in EXERCISES else -1)))
    cell = {(r.student, r.exercise): r for r in rows}
    width = max(len("student"), *(len(s) for s in students))
    header = f"{'student':<{width}}  " + "  ".join(f"{e:<{max(len(e), 4)}}" for e in exercises) + "  score"
    lines = [header, "-" * len(header)]
    for s in students:
        marks, ok = [], 0
        for e in exercises:
            r = cell.get((s, e))
            mark = "" if r is None else ("pass" if r.passed else "FAIL")
            ok += bool(r and r.passed)
            marks.append(f"{mark:<{max(len(e), 4)}}")
        total = sum((s, e) in cell for e in exercises)
        lines.append(f"{s:<{width}}  " + "  ".join(marks) + f"  {ok}/{total}")
    failures = [r for r in rows if not r.passed]
    if failures:
        lines += ["", "Messages:"]
        lines += [f"- {r.student} / {r.exercise}: {r.message}" for r in failures]
    return "\n".join(lines)


# ==================================================================================================
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ecglib.exercises {make-assignments,grade,grade-notebook} ...``.

    ``make-assignments [src] [out]`` runs :func:`make_assignments` (defaults ``notebooks``,
    ``assignments``) and prints the paths written; ``grade folder [--timeout S] [--csv FILE]`` runs
    :func:`grade_folder` (default 600 s per notebook), prints :func:`format_grades` and optionally
    writes the rows as CSV (columns student, exercise, passed, message); ``grade-notebook
    notebook`` runs :func:`grade_notebook` and prints its rows as JSON on the last line.

    Parameters
    ----------
    argv
        The arguments after the program name; default ``None`` (``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 (also when exercises fail).

    Raises
    ------
    SystemExit
        From ``argparse`` on invalid arguments or ``--help``.
    FileNotFoundError
        From :func:`make_assignments` (no chapter notebooks) or :func:`grade_folder` (no such
        folder).
    ValueError
        From :func:`make_assignment`, on malformed solution markers.
    """
    parser = argparse.ArgumentParser(prog="python -m ecglib.exercises", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make-assignments", help="write the student version of every chapter")
    p.add_argument("src", nargs="?", default="notebooks")
    p.add_argument("out", nargs="?", default="assignments")
    p = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    p.add_argument("folder")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per notebook (default 600)")
    p.add_argument("--csv", help="also write the rows to this CSV file")
    p = sub.add_parser("grade-notebook", help="grade one notebook in this process, print JSON (used by grade)")
    p.add_argument("notebook")
    args = parser.parse_args(argv)

    if args.command == "make-assignments":
        for path in make_assignments(args.src, args.out):
            print(path)
        return 0
    if args.command == "grade-notebook":
        rows = grade_notebook(args.notebook)
        sys.stdout.flush()
        print("\n" + json.dumps(rows))
        return 0
    rows = grade_folder(args.folder, timeout_s=args.timeout)
    print(format_grades(rows))
    if args.csv:
        import csv

        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["student", "exercise", "passed", "message"])
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
