import numpy as np
import pytest
from scipy.signal import correlate

from ecglib.data import load_record
from ecglib.preprocess import BandpassConfig, bandpass, bandpass_response, zscore


def test_bandpass_removes_baseline_and_keeps_phase():
    rec = load_record("100")
    x = rec.signal[: 360 * 60]
    y = bandpass(x, rec.fs)
    assert y.shape == x.shape
    assert abs(y.mean()) < 0.01  # baseline (mean ~ -0.3 mV in 100) removed
    # Zero phase: the filtered QRS complexes line up with the raw ones.
    lag = np.argmax(correlate(y, x - x.mean(), mode="full")) - (len(x) - 1)
    assert lag == 0


def test_bandpass_response_edges():
    f, g = bandpass_response(360.0)
    assert g[np.argmin(abs(f - 10))] > 0.99
    assert g[np.argmin(abs(f - 60))] < 0.03  # mains: below -30 dB
    assert g[np.argmin(abs(f - 0.05))] < 0.01  # baseline wander
    assert 0.4 < g[np.argmin(abs(f - 40))] < 0.6  # -6 dB at the edge (two passes of -3 dB)


def test_bandpass_bad_input():
    with pytest.raises(ValueError, match="fs must be positive"):
        bandpass(np.ones(1000), 0)
    with pytest.raises(ValueError, match="band edges"):
        bandpass(np.ones(1000), 360, BandpassConfig(low_hz=50, high_hz=40))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        bandpass(np.ones((2, 2, 2)), 360)
    with pytest.raises(ValueError, match="needs more than"):
        bandpass(np.ones(20), 360)


def test_zscore_and_flat():
    z = zscore(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    assert np.allclose(z[0], [-1.2247449, 0, 1.2247449])
    assert np.all(z[1] == 0)
