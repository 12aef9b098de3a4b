"""Smoke tests of ``python -m ecglib`` on the real records."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ecglib.__main__ import main
from ecglib.data import load_record


def test_predict_csv(trained_model_path, tmp_path, capsys):
    rec = load_record("119")
    csv = tmp_path / "rec119.csv"
    np.savetxt(csv, rec.signal[: 360 * 120], fmt="%.4f")
    assert main(["--out", str(tmp_path / "res"), "predict", str(csv), "--fs", "360", "--model", str(trained_model_path)]) == 0
    out = capsys.readouterr().out
    assert "beats" in out and "| V |" in out
    saved = json.loads((tmp_path / "res" / "predict-rec119.json").read_text())
    assert saved["summary"]["n_beats"] == len(saved["beats"]) > 100


def test_evaluate_model_on_its_test_records(trained_model_path, tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--quiet", "evaluate", "--model", str(trained_model_path)]) == 0
    metrics = json.loads((tmp_path / "evaluate-tiny.json").read_text())
    assert metrics["test_records"] == ["119"] and metrics["n"] > 1900
    assert "| acc |" in capsys.readouterr().out


def test_train_quick_then_evaluate_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ECGLIB_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["--out", str(tmp_path), "--quiet", "train", "--protocol", "seed", "--model", "efficient", "--quick", "--epochs", "1",
                 "--ensemble-size", "2"]) == 0
    result = json.loads((tmp_path / "train-efficient_cnn-seed-quick.json").read_text())
    assert set(result["splits"]) == {"train", "val", "test"}
    cm = np.array(result["metrics"]["confusion_matrix"])  # rows: the test beats of each class
    assert cm.shape == (3, 3) and result["metrics"]["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert (tmp_path / "cache" / "models" / "efficient_cnn-seed-quick.keras").is_file()
    assert result["metrics"]["epochs_run"] == [1, 1] and result["train_config"]["ensemble_size"] == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "/no/such/file.csv", "--model", "/no/model.keras"], "no model file"),
        (["download", "--records", "999"], "unknown MIT-BIH record '999'"),
        (["evaluate", "--model", "/no/such/model.keras"], "no model file at /no/such/model.keras"),
    ],
)
def test_errors_are_clear(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_predict_without_a_trained_model_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ECGLIB_CACHE_DIR", str(tmp_path / "empty-cache"))
    csv = tmp_path / "rec.csv"
    np.savetxt(csv, load_record("100").signal[: 360 * 10], fmt="%.4f")
    assert main(["predict", str(csv), "--fs", "360"]) == 2
    err = capsys.readouterr().err
    assert "no default model at" in err and "python -m ecglib train" in err and "--model PATH" in err


def test_predict_missing_file(trained_model_path, capsys):
    assert main(["predict", "/no/such/file.csv", "--model", str(trained_model_path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_module_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "ecglib", "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("download", "train", "evaluate", "predict"):
        assert cmd in out
