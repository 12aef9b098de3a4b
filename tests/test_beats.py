import numpy as np
import pytest

from ecglib.beats import RR_FEATURES, BeatConfig, extract_windows, label_peaks, record_beats, rr_features, rr_irregularity
from ecglib.data import load_record


@pytest.fixture(scope="module")
def rec208():
    return load_record("208")


def test_windows_shape_zscore_and_labels(rec208):
    beats = record_beats(rec208)
    n = len(beats.labels)
    assert beats.windows.shape == (n, 720) and beats.windows.dtype == np.float32
    assert np.allclose(beats.windows.mean(axis=1), 0, atol=1e-4)
    assert np.allclose(beats.windows.std(axis=1), 1, atol=1e-3)
    # 208: 1,586 N, 2 S, 992 V, 373 F (dropped) and 2 Q (dropped) in the annotations.
    counts = np.bincount(beats.labels, minlength=3)
    assert counts[2] == 992 - sum(1 for p, s in zip(*rec208.beats()) if s == "V" and (p < 360 or p + 360 > 650_000))
    assert counts.sum() == beats.counts["kept"]
    assert beats.counts["dropped_F"] == 373 and beats.counts["dropped_Q"] == 2
    assert beats.rr.shape == (n, len(RR_FEATURES)) and beats.peaks.shape == (n,)
    # Windows are centred on the peak: the middle sample is the filtered signal at the peak.
    assert beats.counts["peaks"] == len(rec208.beats()[0])


def test_centred_window_content(rec208):
    from ecglib.preprocess import bandpass, zscore

    y = bandpass(rec208.signal, rec208.fs)
    beats = record_beats(rec208)
    p = beats.peaks[10]
    assert np.allclose(beats.windows[10], zscore(y[p - 360 : p + 360]), atol=1e-5)


def test_edge_beats_dropped_and_counted():
    sig = np.sin(np.linspace(0, 50, 3600))
    w, kept = extract_windows(sig, np.array([100, 1000, 3500]), 360.0, 2.0)
    assert kept.tolist() == [False, True, False] and w.shape == (1, 720)


def test_window_longer_than_signal():
    with pytest.raises(ValueError, match="longer than the signal"):
        extract_windows(np.zeros(500), np.array([250]), 360.0, 2.0)


def test_label_matching_tolerance():
    ann = np.array([1000, 2000, 3000])
    sym = np.array(["N", "V", "F"])
    got = label_peaks(np.array([1010, 2054, 2100, 2990, 5000]), ann, sym, 360.0, 0.150)
    assert got.tolist() == ["N", "V", "", "F", ""]  # 54 samples = 150 ms is inside, 100 ms later is not
    with pytest.raises(ValueError, match="ann_samples and ann_symbols 1-D of one length"):
        label_peaks(np.array([1010]), ann, sym[:2], 360.0)
    with pytest.raises(ValueError, match="ann_samples must be in time order"):
        label_peaks(np.array([1010]), ann[::-1], sym, 360.0)
    with pytest.raises(ValueError, match="need fs > 0"):
        label_peaks(np.array([1010]), ann, sym, 0.0)


def test_rr_features_values():
    peaks = np.array([0, 360, 720, 900, 1440])  # 1 s, 1 s, 0.5 s (premature), 1.5 s
    rr = rr_features(peaks, 360.0, local_beats=2)
    assert np.allclose(rr[3, :2], [0.5, 1.5])
    mean_rr = 1.0
    assert np.allclose(rr[3, 3], 0.5 / mean_rr)
    assert np.isclose(rr[3, 2], (0.5 + 1.0) / 2)
    assert np.isclose(rr[0, 0], mean_rr) and np.isclose(rr[-1, 1], mean_rr)
    with pytest.raises(ValueError, match="strictly increasing"):
        rr_features(np.array([0, 10, 5]), 360.0)


def test_rr_irregularity_separates_isolated_early_beats_from_irregular_rhythm():
    regular = np.full(41, 0.8)
    assert np.allclose(rr_irregularity(regular, 5), 0)
    one_early = regular.copy()
    one_early[20], one_early[21] = 0.5, 1.1  # premature beat, then its compensatory pause
    irr = rr_irregularity(one_early, 5)
    assert np.allclose(irr, 0)  # 3 changed ratios in an 11-beat window: the median ignores them
    alternating = np.tile([0.6, 1.0], 20)  # every interval differs from the last
    assert np.allclose(rr_irregularity(alternating, 5)[5:-5], np.log(1.0 / 0.6))
    # Windows are truncated at the ends: half_width 0 is each beat's own change, the first counts 0.
    assert np.allclose(rr_irregularity(np.array([1.0, 2.0, 1.0]), 0), [0, np.log(2), np.log(2)])
    peaks = np.cumsum(np.r_[0, one_early]) * 360
    assert np.allclose(rr_features(peaks, 360.0, local_beats=5)[:, RR_FEATURES.index("rr_irregularity")], 0)
    for bad in (np.array([]), np.array([1.0, 0.0]), np.array([1.0, np.nan]), np.ones((2, 2))):
        with pytest.raises(ValueError, match="pre_rr"):
            rr_irregularity(bad)
    with pytest.raises(ValueError, match="half_width"):
        rr_irregularity(regular, -1)


def test_rr_irregularity_is_high_in_atrial_fibrillation():
    """Record 202: atrial fibrillation and normal sinus rhythm by its rhythm annotations."""
    record = load_record("202")
    beats = record_beats(record)
    current = record.rhythms(beats.peaks)
    irr = beats.rr[:, RR_FEATURES.index("rr_irregularity")]
    af, sinus = irr[current == "AFIB"], irr[current == "N"]
    assert len(af) > 500 and len(sinus) > 500
    assert np.median(af) > 4 * np.median(sinus)


def test_premature_s_beats_have_short_rr():
    beats = record_beats(load_record("232"))  # 232: many S beats (APCs)
    s = beats.labels == 1
    assert s.sum() > 1000
    # 232 is a slow rhythm with long pauses: its S beats come early (pre-RR under the record's mean
    # RR), its other beats mostly after a pause; and an S beat's post-RR is no shorter than theirs.
    assert np.median(beats.rr[s, 3]) < 0.8 < 1.5 < np.median(beats.rr[~s, 3])
    assert np.median(beats.rr[s, 4]) > np.median(beats.rr[~s, 4])


def test_detector_peaks_mode():
    rec = load_record("100")
    ref = record_beats(rec)
    det = record_beats(rec, BeatConfig(peaks="detector"))
    assert abs(len(det.labels) - len(ref.labels)) <= 5
    assert det.counts["dropped_unmatched"] <= 5
    assert (np.bincount(det.labels, minlength=3) >= np.bincount(ref.labels, minlength=3) - 5).all()


def test_bad_config():
    with pytest.raises(ValueError, match="peaks"):
        BeatConfig(peaks="magic")
    with pytest.raises(ValueError, match="window_s"):
        BeatConfig(window_s=0)
