"""predict_arrhythmia end to end on real MIT-BIH signals, and its input checks."""

import numpy as np
import pytest

from ecglib.data import load_record
from ecglib.inference import predict_arrhythmia, read_csv_signal, read_signal


def test_classifies_a_real_record_from_csv(trained_model, tmp_path):
    """A CSV exported from record 119 (held out of training) at 250 Hz with a time column."""
    from ecglib.data import resample_to

    rec = load_record("119")
    n = 360 * 300  # five minutes
    sig, _ = resample_to(rec.signal[:n], np.zeros(0, int), 360, 250)
    t = np.arange(len(sig)) / 250
    path = tmp_path / "ecg.csv"
    np.savetxt(path, np.column_stack([t, sig]), delimiter=",", header="time_s,mv", comments="", fmt="%.6f")
    pred = predict_arrhythmia(path, model=trained_model)
    ref_pos, ref_sym = rec.beats()
    keep = (ref_pos > 360) & (ref_pos < n - 360)
    assert abs(pred.summary["n_beats"] - keep.sum()) <= 3
    # Match each predicted beat to the nearest annotation (150 ms) and score N vs V.
    ref_t = ref_pos / 360
    j = np.clip(np.searchsorted(ref_t, pred.time_s), 1, len(ref_t) - 1)
    j = np.where(np.abs(ref_t[j - 1] - pred.time_s) < np.abs(ref_t[j] - pred.time_s), j - 1, j)
    close = np.abs(ref_t[j] - pred.time_s) <= 0.15
    truth = np.where(np.isin(ref_sym[j], list("VE")), "V", np.where(np.isin(ref_sym[j], list("AaJS")), "S", "N"))
    acc = (pred.classes[close] == truth[close]).mean()
    all_n = (truth[close] == "N").mean()  # about 0.75: record 119 has many V beats
    assert close.mean() > 0.99 and acc > max(0.85, all_n + 0.05)
    assert set(pred.summary) >= {"class", "confidence", "n_beats", "counts"}
    assert 0 <= pred.summary["confidence"] <= 1 and pred.rows()[0].keys() == {"time_s", "class", "confidence"}


def test_array_and_wfdb_inputs_agree(trained_model, data_dir):
    rec = load_record("100")
    by_array = predict_arrhythmia(rec.signal, fs=360, model=trained_model)
    by_record = predict_arrhythmia(data_dir / "100.hea", model=trained_model)
    assert by_record.summary["n_beats"] > 2000
    assert np.array_equal(by_array.time_s, by_record.time_s)
    assert np.array_equal(by_array.classes, by_record.classes)


def test_chunking_does_not_change_results(trained_model):
    sig = load_record("208").signal[: 360 * 120]
    a = predict_arrhythmia(sig, fs=360, model=trained_model)
    b = predict_arrhythmia(sig, fs=360, model=trained_model, chunk_beats=17)
    assert np.array_equal(a.classes, b.classes) and np.allclose(a.proba, b.proba, atol=1e-5)


def test_csv_variants(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("0.1\n0.2\n0.3\n")
    with pytest.raises(ValueError, match="pass fs"):
        read_csv_signal(one)
    sig, fs = read_csv_signal(one, fs=250)
    assert fs == 250 and sig.tolist() == [0.1, 0.2, 0.3]
    head = tmp_path / "head.csv"
    head.write_text("time,value\n0,1\n0.004,2\n0.008,3\n")
    sig, fs = read_csv_signal(head)
    assert np.isclose(fs, 250) and sig.tolist() == [1, 2, 3]
    assert np.isclose(read_csv_signal(head, fs=250)[1], 250)  # a given fs that agrees is fine
    with pytest.raises(ValueError, match=r"head.csv: fs=360 Hz was given, but its time column says 250 Hz"):
        read_csv_signal(head, fs=360)


def test_a_wfdb_record_is_read_at_its_own_rate(data_dir):
    sig, fs = read_signal(data_dir / "100.hea")
    assert fs == 360 and len(sig) == 650_000
    with pytest.raises(ValueError, match=r"100.hea: fs=250 Hz was given, but its header says 360 Hz"):
        read_signal(data_dir / "100", fs=250)


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "is empty"),
        ("a,b\n", "header but no samples"),
        ("0.1\nabc\n0.3\n", "line 2 is not 1 numeric"),
        ("time,value\n\n0,1\nabc,2\n", "line 4 is not 2 numeric"),  # the file's line, header and blank counted
        ("0.1\nnan\n0.3\n", "NaN or infinite value on line 2"),
        ("mv\n0.1\n\ninf\n", "NaN or infinite value on line 4"),
        ("0,1\n0.1,2\n0.05,3\n", "strictly increasing"),
    ],
)
def test_bad_csv(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_csv_signal(path, fs=360)


def test_bad_signals_and_models(trained_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        predict_arrhythmia(tmp_path / "missing.csv", model=trained_model)
    with pytest.raises(ValueError, match="shorter than one"):
        predict_arrhythmia(np.random.default_rng(0).normal(size=500), fs=360, model=trained_model)
    with pytest.raises(ValueError, match="flat line"):
        predict_arrhythmia(np.zeros(3600), fs=360, model=trained_model)
    with pytest.raises(ValueError, match="NaN"):
        predict_arrhythmia(np.full(3600, np.nan), fs=360, model=trained_model)
    with pytest.raises(ValueError, match="fs"):
        predict_arrhythmia(np.ones(3600), model=trained_model)
    with pytest.raises(FileNotFoundError, match="no model file"):
        predict_arrhythmia(np.ones(3600), fs=360, model=tmp_path / "none.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a keras file")
    with pytest.raises(ValueError, match="bad.keras"):
        predict_arrhythmia(np.ones(3600), fs=360, model=bad)
    model, _ = trained_model
    with pytest.raises(ValueError, match="metadata lacks"):
        predict_arrhythmia(np.ones(3600), fs=360, model=(model, {}))
    for chunk in (0, -5, 2.5):
        with pytest.raises(ValueError, match="chunk_beats must be a positive integer"):
            predict_arrhythmia(np.ones(3600), fs=360, model=trained_model, chunk_beats=chunk)


@pytest.fixture(scope="module", params=[(None, None), (0.8, None), (0.8, 30.0)], ids=["all-beats", "long-rr", "local"])
def reference_model(request):
    """An efficient_cnn with the per-recording reference input (from all beats, or from the beats
    with the longest fifth of pre-RR intervals; and with a local reference of ±30 s), trained
    briefly on records 100, 208."""
    import dataclasses

    from ecglib.beats import BeatConfig
    from ecglib.dataset import build_dataset
    from ecglib.spectrogram import SpectrogramConfig
    from ecglib.train import TrainConfig, train_model

    spec = SpectrogramConfig(size=None, hop_length=16)
    ds = build_dataset(["100", "208", "213"], spec_config=spec, progress=False)
    quantile, window = request.param
    kwargs = {"reference": True, "reference_rr_quantile": quantile}
    if window is not None:
        kwargs["local_reference_s"] = window
    cfg = TrainConfig(epochs=2, batch_size=128, verbose=False, model_kwargs=kwargs)
    result = train_model("efficient_cnn", ds.subset(["100", "208"]), ds.subset(["213"]), cfg)
    meta = {"model_name": "efficient_cnn", "beat_config": dataclasses.asdict(BeatConfig()),
            "spectrogram_config": dataclasses.asdict(spec)}  # fmt: skip
    return result.model, meta


def test_reference_model_uses_the_whole_recordings_median(reference_model, monkeypatch):
    """The reference is the median spectrogram of the whole recording's beats (all of them, or the
    long-RR fifth, as the model was trained), whatever the chunking."""
    import ecglib.models
    from ecglib.models import reference_settings

    settings = reference_settings(reference_model[0])
    quantile = settings["reference_rr_quantile"]
    sig = load_record("208").signal[: 360 * 120]
    sizes = []
    real = ecglib.models.reference_image
    monkeypatch.setattr(ecglib.models, "reference_image", lambda images, *a: sizes.append(len(images)) or real(images, *a))
    a = predict_arrhythmia(sig, fs=360, model=reference_model)
    b = predict_arrhythmia(sig, fs=360, model=reference_model, chunk_beats=17)
    assert np.array_equal(a.classes, b.classes) and np.allclose(a.proba, b.proba, atol=1e-5)
    # One median per prediction; with a local reference, one more per 30-s block (4 in 120 s).
    per_call = 1 + 4 * ("local_reference_s" in settings)
    assert len(sizes) == 2 * per_call and sizes[:per_call] == sizes[per_call:]
    share = sizes[0] / len(a.time_s)  # beats in the reference / beats classified
    assert (0.15 < share < 0.3) if quantile == 0.8 else share > 0.97


def test_an_ensemble_saved_to_a_file_predicts_as_its_members_average(reference_model, tmp_path):
    """An ensemble of two networks with reference inputs (the references they were trained with are
    read from inside the members) goes through the whole pipeline from its .keras file."""
    import keras

    from ecglib.models import ensemble_model, reference_settings
    from ecglib.train import save_model

    model, meta = reference_model
    other = keras.models.clone_model(model)  # same settings, other (untrained) weights
    path = save_model(ensemble_model([model, other]), tmp_path / "ens.keras", meta)
    sig = load_record("208").signal[: 360 * 60]
    ens = predict_arrhythmia(sig, fs=360, model=path)
    one, two = predict_arrhythmia(sig, fs=360, model=reference_model), predict_arrhythmia(sig, fs=360, model=(other, meta))
    assert reference_settings(other) == reference_settings(model)
    assert not np.allclose(one.proba, two.proba)
    np.testing.assert_allclose(ens.proba, (one.proba + two.proba) / 2, atol=1e-5)
    np.testing.assert_array_equal(ens.time_s, one.time_s)
