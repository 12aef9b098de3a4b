"""Shared fixtures. Tests run on the real MIT-BIH records (``ECGLIB_DATA_DIR``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Default to the team's shared copy next to the checkout when the variable is not set.
_shared = ROOT.parent / "shared" / "data" / "mitdb"
if not os.environ.get("ECGLIB_DATA_DIR") and (_shared / "100.hea").is_file():
    os.environ["ECGLIB_DATA_DIR"] = str(_shared)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real database; its absence is an error, never a reason to use synthetic signals."""
    from ecglib.data import find_data_dir

    return find_data_dir()


@pytest.fixture(scope="session")
def counts(data_dir) -> dict:
    """``{record: (n_N, n_S, n_V)}`` of the 44 records, as the splits see them."""
    from ecglib.dataset import class_counts

    return class_counts(data_dir=data_dir)


@pytest.fixture()
def record_copy(tmp_path, data_dir):
    """Copy one record's files (default 100) into a fresh folder, for tests that damage them."""
    import shutil

    def _copy(name: str = "100") -> Path:
        for ext in ("hea", "dat", "atr"):
            shutil.copy(data_dir / f"{name}.{ext}", tmp_path / f"{name}.{ext}")
        return tmp_path

    return _copy


@pytest.fixture(scope="session")
def trained_model_path(tmp_path_factory):
    """A small efficient_cnn trained briefly on real records (100, 208, 232; not 119), saved by ecglib."""
    import dataclasses

    from ecglib.beats import BeatConfig
    from ecglib.dataset import build_dataset
    from ecglib.spectrogram import SpectrogramConfig
    from ecglib.train import TrainConfig, save_model, train_model

    spec = SpectrogramConfig(size=None)
    ds = build_dataset(["100", "208", "232", "213"], spec_config=spec, progress=False)
    train, val = ds.subset(["100", "208", "232"]), ds.subset(["213"])
    result = train_model("efficient_cnn", train, val, TrainConfig(epochs=3, batch_size=128, verbose=False))
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    meta = {
        "model_name": "efficient_cnn",
        "beat_config": dataclasses.asdict(BeatConfig()),
        "spectrogram_config": dataclasses.asdict(spec),
        "splits": {"train": ["100", "208", "232"], "val": ["213"], "test": ["119"]},
    }
    return save_model(result.model, path, meta)


@pytest.fixture(scope="session")
def trained_model(trained_model_path):
    """The ``(model, metadata)`` pair of :func:`trained_model_path`, as :func:`ecglib.train.load_model` gives it."""
    from ecglib.train import load_model

    return load_model(trained_model_path)
