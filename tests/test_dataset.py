import numpy as np
import pytest

from ecglib.dataset import Dataset, build_dataset, cache_path, dataset_params
from ecglib.beats import BeatConfig
from ecglib.spectrogram import SpectrogramConfig

RECS = ["100", "232"]
NATIVE = SpectrogramConfig(size=None)


def _equal(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("images", "rr", "labels", "records", "peaks"))


def test_build_and_cache_round_trip(tmp_path):
    ds = build_dataset(RECS, spec_config=NATIVE, cache_root=tmp_path, progress=False)
    assert ds.images.shape[1:] == (16, 91) and len(ds) == len(ds.rr) == len(ds.records)
    assert set(np.unique(ds.records)) == set(RECS)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(f.endswith(".npz") and not f.startswith(".") for f in files)
    again = build_dataset(RECS, spec_config=NATIVE, cache_root=tmp_path, progress=False)
    assert _equal(ds, again)
    fresh = build_dataset(RECS, spec_config=NATIVE, cache=False, progress=False)
    assert _equal(ds, fresh)


def test_cache_key_covers_parameters(tmp_path):
    p1 = dataset_params(BeatConfig(), NATIVE)
    p2 = dataset_params(BeatConfig(window_s=1.5), NATIVE)
    p3 = dataset_params(BeatConfig(), SpectrogramConfig(size=None, hop_length=4))
    assert len({cache_path("100", p, tmp_path) for p in (p1, p2, p3)}) == 3


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupt_cache_is_rebuilt(tmp_path, damage):
    ds = build_dataset(["100"], spec_config=NATIVE, cache_root=tmp_path, progress=False)
    path = cache_path("100", dataset_params(BeatConfig(), NATIVE), tmp_path)
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        mid = len(raw) // 2
        raw[mid : mid + 64] = bytes(255 - b for b in raw[mid : mid + 64])
    elif damage == "truncate":
        raw = raw[: len(raw) // 3]
    else:
        raw = bytearray(b"not a zip file at all")
    path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="corrupt|truncated"):
        again = build_dataset(["100"], spec_config=NATIVE, cache_root=tmp_path, progress=False)
    assert _equal(ds, again)
    assert np.array_equal(build_dataset(["100"], spec_config=NATIVE, cache_root=tmp_path, progress=False).images, ds.images)


def test_subset_and_counts(tmp_path):
    ds = build_dataset(RECS, spec_config=NATIVE, cache_root=tmp_path, progress=False)
    sub = ds.subset(["232"])
    assert set(sub.records) == {"232"}
    counts = ds.class_counts()
    assert counts["232"][1] > 1000 and counts["100"] == (2236, 33, 1)  # 2,239 N annotations, 3 too near an end
    with pytest.raises(ValueError, match="not in this dataset"):
        ds.subset(["101"])
    with pytest.raises(ValueError, match="one entry per beat"):
        Dataset(ds.images, ds.rr, ds.labels[:-1], ds.records, ds.peaks)
    mask = ds.records == "232"
    assert np.array_equal(ds.take(mask).peaks, sub.peaks)
    assert np.array_equal(ds.take([2, 0]).peaks, ds.peaks[[2, 0]])
    assert len(ds.take([])) == 0
    with pytest.raises(ValueError, match="boolean index needs one entry per beat"):
        ds.take(mask[:-1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        build_dataset([], progress=False)
    with pytest.raises(ValueError, match="unknown MIT-BIH record"):
        build_dataset(["100x"], cache=False, progress=False)
