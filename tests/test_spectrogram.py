import numpy as np
import pytest

from ecglib.beats import record_beats
from ecglib.data import load_record
from ecglib.spectrogram import (
    SpectrogramConfig,
    frame_times,
    frequencies,
    log_magnitude,
    resize_images,
    save_png,
    spectrogram_images,
    to_rgb,
)


@pytest.fixture(scope="module")
def windows():
    return record_beats(load_record("119")).windows[:300]


def test_matches_librosa(windows):
    import librosa

    cfg = SpectrogramConfig()
    ours = log_magnitude(windows[:20], 360.0, cfg)
    ref = np.abs(librosa.stft(windows[:20], n_fft=128, hop_length=8, window="hann", center=True))
    ref = np.log(ref[:, : ours.shape[1], :] + cfg.log_eps)
    assert ours.shape == ref.shape == (20, 16, 91)
    assert np.allclose(ours, ref, atol=2e-3)


def test_axes():
    f = frequencies(360.0)
    assert len(f) == 16 and f.max() < 45 and np.isclose(f[1], 360 / 128)
    t = frame_times(720, 360.0)
    assert len(t) == 91 and np.isclose(t[-1], 2.0)


def test_images_shapes_and_chunking(windows):
    img = spectrogram_images(windows, 360.0)
    assert img.shape == (300, 128, 128) and img.dtype == np.uint8
    # Min-max scaled at native resolution: the native grid spans 0..255 exactly, the resized image nearly.
    assert (img.reshape(300, -1).min(axis=1) < 80).all() and (img.reshape(300, -1).max(axis=1) > 215).all()
    assert np.array_equal(img, spectrogram_images(windows, 360.0, chunk=7))
    native = spectrogram_images(windows, 360.0, SpectrogramConfig(size=None))
    assert native.shape == (300, 16, 91)
    assert (native.reshape(300, -1).min(axis=1) == 0).all() and (native.reshape(300, -1).max(axis=1) == 255).all()
    other = spectrogram_images(windows, 360.0, SpectrogramConfig(n_fft=64, hop_length=4, size=None, scale="fixed"))
    assert other.shape == (300, 8, 181)
    # An odd window drops the last centred frame here: the image, frame_times and librosa agree.
    odd = SpectrogramConfig(n_fft=127, size=None, scale="fixed")
    assert spectrogram_images(windows[:3], 360.0, odd).shape == (3, 16, len(frame_times(720, 360.0, odd))) == (3, 16, 90)


def test_rgb_and_png(windows, tmp_path):
    import cv2

    img = spectrogram_images(windows[:2], 360.0)
    rgb = to_rgb(img)
    assert rgb.shape == (2, 128, 128, 3) and rgb.dtype == np.uint8
    path = save_png(img[0], tmp_path / "beat.png")
    back = cv2.imread(str(path))
    assert back.shape == (128, 128, 3)
    assert list(tmp_path.iterdir()) == [path]


def test_bad_input():
    with pytest.raises(ValueError, match="fewer than n_fft"):
        log_magnitude(np.zeros((2, 50)), 360.0)
    with pytest.raises(ValueError, match="NaN"):
        log_magnitude(np.full((2, 720), np.nan), 360.0)
    with pytest.raises(ValueError, match="2-D"):
        spectrogram_images(np.zeros(720), 360.0)
    with pytest.raises(ValueError, match="scale"):
        SpectrogramConfig(scale="loud")
    with pytest.raises(ValueError, match="uint8"):
        to_rgb(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"images must be a stack \(n, h, w\)"):
        resize_images(np.zeros((16, 91), np.uint8), (128, 128))
    for fs in (0.0, -360.0):
        with pytest.raises(ValueError, match="fs must be a positive sampling rate"):
            frequencies(fs)
