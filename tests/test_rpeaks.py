"""Tests for ecglib.rpeaks: the QRS detector on real MIT-BIH records, matching and scoring."""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np
import pytest

from ecglib.data import load_record
from ecglib.rpeaks import (
    DetectorScore,
    RPeakConfig,
    benchmark_detectors,
    detect_rpeaks,
    evaluate_detector,
    format_benchmark,
    match_peaks,
    qrs_energy,
)

FS = 360.0
EDGE = int(0.3 * FS)  # the benchmark leaves 0.3 s unscored at each end


@lru_cache(maxsize=None)
def _record(name: str):
    return load_record(name)


def _score(rec, detected) -> DetectorScore:
    ref, _ = rec.beats()
    return evaluate_detector(detected, ref, rec.fs, ignore_before=EDGE, ignore_after=len(rec.signal) - EDGE)


def _synthetic_ecg(seed: int = 0, duration_s: float = 30.0):
    """Gaussian QRS spikes (1 mV) with T waves (0.3 mV) at irregular RR, plus drift and noise."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FS)
    t = np.arange(n) / FS
    beats, pos = [], 0.5
    while pos < duration_s - 0.5:
        beats.append(int(round(pos * FS)))
        pos += rng.uniform(0.55, 1.3)
    beats = np.array(beats)
    x = 0.4 * np.sin(2 * np.pi * 0.2 * t) + 0.01 * rng.standard_normal(n)  # wander + noise, mV
    for b in beats:
        x += 1.0 * np.exp(-0.5 * ((np.arange(n) - b) / (0.010 * FS)) ** 2)
        x += 0.3 * np.exp(-0.5 * ((np.arange(n) - b - 0.25 * FS) / (0.040 * FS)) ** 2)
    return x, beats


# --------------------------------------------------------------------------------------------------
# Detector on real records


@pytest.mark.parametrize("name", ["100", "119", "208", "228", "233"])
def test_detector_accuracy_on_records(name):
    # 119 and 228 are bigeminy with ventricular beats many times larger than the normal ones,
    # 208 and 233 have many multiform ventricular beats and couplets.
    rec = _record(name)
    score = _score(rec, detect_rpeaks(rec.signal, rec.fs))
    assert score.se >= 0.99, score
    assert score.ppv >= 0.99, score


def test_detector_on_noisy_record_105():
    # Record 105 has long stretches of heavy muscle noise and electrode motion: a few dozen
    # false and missed beats out of ~2,570 are expected from any detector.
    rec = _record("105")
    score = _score(rec, detect_rpeaks(rec.signal, rec.fs))
    assert score.se >= 0.99, score
    assert score.ppv >= 0.985, score


def test_detector_output_format():

    rec = _record("100")
    peaks = detect_rpeaks(rec.signal, rec.fs)
    assert peaks.dtype == np.int64 and peaks.ndim == 1
    assert np.all(np.diff(peaks) > 0)
    assert peaks[0] >= 0 and peaks[-1] < len(rec.signal)


def test_detector_locates_the_r_peak():
    rec = _record("100")
    ref, _ = rec.beats()
    det = detect_rpeaks(rec.signal, rec.fs)
    det_idx, ref_idx = match_peaks(det, ref, rec.fs)
    offsets_ms = (det[det_idx] - ref[ref_idx]) / rec.fs * 1000
    assert np.median(np.abs(offsets_ms)) <= 10


def test_detector_is_gain_and_offset_invariant():
    # Log-domain thresholds: scaling the signal changes nothing; a DC offset is filtered out.
    rec = _record("119")
    x = rec.signal[: int(300 * FS)]
    base = detect_rpeaks(x, FS)
    for variant in (x * 20.0, x * 0.05, x + 3.0):
        other = detect_rpeaks(variant, FS)
        det_idx, _ = match_peaks(other, base, FS, tolerance_s=0.01)
        assert len(det_idx) >= 0.995 * max(len(base), len(other))


def test_detector_handles_inverted_lead():
    rec = _record("100")
    score = _score(rec, detect_rpeaks(-rec.signal, rec.fs))
    assert score.se >= 0.99 and score.ppv >= 0.99, score


def test_detector_on_synthetic_ecg():
    x, beats = _synthetic_ecg()
    det = detect_rpeaks(x, FS)
    assert len(det) == len(beats)
    assert np.max(np.abs(det - beats)) <= 2  # samples: on the Gaussian's apex


def test_flat_signal_gives_no_peaks():
    assert detect_rpeaks(np.zeros(int(10 * FS)), FS).size == 0


def test_qrs_energy_is_zero_phase():
    x, beats = _synthetic_ecg(seed=1)
    slope, mwi = qrs_energy(x, FS)
    assert slope.shape == mwi.shape == x.shape
    peaks = np.array([b - 20 + np.argmax(mwi[b - 20 : b + 21]) for b in beats])
    assert np.max(np.abs(peaks - beats)) <= 3  # the centred MWI peaks on the QRS, no filter delay


# --------------------------------------------------------------------------------------------------
# Input validation


@pytest.mark.parametrize(
    ("signal", "fs", "match"),
    [
        (np.zeros((2, 3600)), FS, "1-D"),
        (np.r_[np.zeros(1000), np.nan, np.zeros(1000)], FS, "NaN"),
        (np.r_[np.zeros(1000), np.inf, np.zeros(1000)], FS, "NaN or infinite"),
        (np.zeros(3600), 0.0, "fs must be a positive"),
        (np.zeros(3600), -360.0, "fs must be a positive"),
        (np.zeros(3600), float("nan"), "fs must be a positive"),
        (np.zeros(3600), "fast", "fs must be a number"),
        (np.zeros(500), FS, r"too short.*2 s"),
        (np.zeros(3600), 50.0, "exceed 80 Hz"),
        (["a", "b"] * 2000, FS, "1-D array of numbers"),
    ],
)
def test_detector_rejects_bad_input(signal, fs, match):
    with pytest.raises(ValueError, match=match):
        detect_rpeaks(signal, fs)


def test_detector_rejects_bad_config():
    with pytest.raises(ValueError, match="config must be an RPeakConfig"):
        detect_rpeaks(np.zeros(3600), FS, config={"refractory_s": 0.2})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold_fraction": 1.5}, "threshold_fraction"),
        ({"refractory_s": 0.0}, "refractory_s"),
        ({"qrs_band_hz": (15.0, 5.0)}, "qrs_band_hz"),
        ({"searchback_rr_factor": 0.9}, "searchback_rr_factor"),
        ({"min_prominence_ratio": 1.0}, "min_prominence_ratio"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RPeakConfig(**kwargs)


def test_config_is_frozen_and_replaceable():
    cfg = RPeakConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.refractory_s = 0.3  # type: ignore[misc]
    assert dataclasses.replace(cfg, refractory_s=0.25).refractory_s == 0.25


# --------------------------------------------------------------------------------------------------
# Matching and scoring


def test_match_tolerance_is_inclusive():
    # 150 ms at 360 Hz = 54 samples.
    det_idx, ref_idx = match_peaks([1054], [1000], FS)
    assert det_idx.tolist() == [0] and ref_idx.tolist() == [0]
    det_idx, ref_idx = match_peaks([1055], [1000], FS)
    assert det_idx.size == 0 and ref_idx.size == 0
    det_idx, _ = match_peaks([946], [1000], FS)
    assert det_idx.tolist() == [0]


def test_match_is_one_to_one_and_prefers_the_nearest():
    # Two detections around one beat: the nearer one is matched, the other is left over.
    det_idx, ref_idx = match_peaks([990, 1003], [1000], FS)
    assert det_idx.tolist() == [1] and ref_idx.tolist() == [0]
    # One detection between two beats: matched to the nearer beat only.
    det_idx, ref_idx = match_peaks([1040], [1000, 1100], FS)
    assert det_idx.tolist() == [0] and ref_idx.tolist() == [0]
    # A detection's nearest beat is taken, so the other detection can have the remaining beat.
    det_idx, ref_idx = match_peaks([1010, 1060], [1000, 1050], FS)
    assert det_idx.tolist() == [0, 1] and ref_idx.tolist() == [0, 1]


def test_match_indices_refer_to_unsorted_inputs():
    det = np.array([2000, 1005, 3000])
    ref = np.array([3010, 1000])
    det_idx, ref_idx = match_peaks(det, ref, FS)
    assert sorted(zip(det[det_idx].tolist(), ref[ref_idx].tolist())) == [(1005, 1000), (3000, 3010)]


def test_match_empty_and_bad_arguments():
    d, r = match_peaks([], [100, 200], FS)
    assert d.size == r.size == 0 and d.dtype == np.int64
    with pytest.raises(ValueError, match="detected must be a 1-D"):
        match_peaks(np.zeros((2, 2)), [1], FS)
    with pytest.raises(ValueError, match="reference holds NaN"):
        match_peaks([1], [np.nan], FS)
    with pytest.raises(ValueError, match="tolerance_s"):
        match_peaks([1], [1], FS, tolerance_s=-0.1)
    with pytest.raises(ValueError, match="fs must be a positive"):
        match_peaks([1], [1], 0)


def test_evaluate_detector_counts():
    ref = [1000, 2000, 3000, 4000]
    det = [1010, 1020, 2100, 3000, 5000]  # 1020: duplicate, 2100: 278 ms late, 5000: spurious
    score = evaluate_detector(det, ref, FS)
    assert (score.tp, score.fp, score.fn) == (2, 3, 2)


def test_evaluate_detector_scored_range():
    ref = [10, 1000, 2000, 2990]
    det = [5, 1000, 2500, 2995]
    full = evaluate_detector(det, ref, FS)
    assert (full.tp, full.fp, full.fn) == (3, 1, 1)
    inner = evaluate_detector(det, ref, FS, ignore_before=100, ignore_after=2900)
    assert (inner.tp, inner.fp, inner.fn) == (1, 1, 1)


def test_detector_score_arithmetic():
    s = DetectorScore(tp=990, fp=10, fn=5)
    assert s.se == pytest.approx(990 / 995)
    assert s.ppv == pytest.approx(0.99)
    pooled = s + DetectorScore(10, 0, 5)
    assert (pooled.tp, pooled.fp, pooled.fn) == (1000, 10, 10)
    assert pooled.as_dict()["se"] == pytest.approx(1000 / 1010)
    empty = DetectorScore(0, 0, 0)
    assert math.isnan(empty.se) and math.isnan(empty.ppv)
    assert DetectorScore(0, 3, 0).ppv == 0.0
    with pytest.raises(ValueError, match="fp must be a non-negative integer"):
        DetectorScore(1, -1, 0)
    with pytest.raises(ValueError, match="tp must be a non-negative integer"):
        DetectorScore(1.5, 0, 0)


# --------------------------------------------------------------------------------------------------
# Benchmark


def test_benchmark_on_a_slice_with_xqrs():
    res = benchmark_detectors(records=("100",), detectors=("ours", "xqrs"), progress=False, duration_s=60)
    ref, _ = _record("100").beats()
    n_scored = int(np.count_nonzero((ref >= EDGE) & (ref < 60 * FS - EDGE)))
    for name in ("ours", "xqrs"):
        row = res[name]["records"]["100"]
        assert row == {**row, **{k: res[name]["pooled"][k] for k in ("tp", "fp", "fn")}}
        assert row["tp"] + row["fn"] == n_scored
        assert row["se"] >= 0.98 and row["ppv"] >= 0.98
        assert row["seconds"] >= 0
    assert "pooled" in format_benchmark(res)


def test_benchmark_custom_detector_and_bad_name():
    res = benchmark_detectors(
        records=("100",), detectors={"nothing": lambda x, fs: np.zeros(0, int)}, progress=False, duration_s=20
    )
    pooled = res["nothing"]["pooled"]
    assert pooled["tp"] == 0 and pooled["fn"] > 0 and math.isnan(pooled["ppv"])
    with pytest.raises(ValueError, match="unknown detector"):
        benchmark_detectors(records=("100",), detectors=("pan",), progress=False)
