"""Models, input adapters, training and the .keras round trip, on three real records (cached)."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from ecglib.dataset import Dataset, build_dataset
from ecglib.models import (
    LAST_CONV,
    BeatSequence,
    build_model,
    efficient_cnn,
    last_conv_layer_name,
    model_inputs,
    predict_proba,
    seed_cnn,
)
from ecglib.spectrogram import SpectrogramConfig, to_rgb
from ecglib.train import (
    TrainConfig,
    class_weights,
    load_model,
    record_balance_weights,
    save_model,
    train_model,
)

RECORDS = ["100", "119", "208"]
NATIVE = SpectrogramConfig(size=None)


def _small(ds: Dataset, per_record: int = 40) -> Dataset:
    """A few beats of each class from each record (keeps the tests fast)."""
    idx = []
    rng = np.random.default_rng(0)
    for rec in np.unique(ds.records):
        for c in range(3):
            cand = np.flatnonzero((ds.records == rec) & (ds.labels == c))
            idx.extend(rng.choice(cand, size=min(per_record, len(cand)), replace=False))
    idx = np.sort(np.array(idx))
    return Dataset(ds.images[idx], ds.rr[idx], ds.labels[idx], ds.records[idx], ds.peaks[idx])


@pytest.fixture(scope="module")
def native():
    return _small(build_dataset(RECORDS, spec_config=NATIVE, progress=False))


@pytest.fixture(scope="module")
def seed_data():
    return _small(build_dataset(RECORDS, progress=False), per_record=12)


FAST = TrainConfig(epochs=1, batch_size=32, verbose=False)


def test_seed_cnn_architecture():
    m = seed_cnn()
    assert m.input_shape == (None, 128, 128, 3)
    assert m.output_shape == (None, 3)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds.count("Conv2D") == 3 and kinds.count("BatchNormalization") == 3 and "Flatten" in kinds
    assert [layer.filters for layer in m.layers if kinds[m.layers.index(layer)] == "Conv2D"] == [32, 64, 128]
    assert m.get_layer("dropout").rate == 0.5
    assert last_conv_layer_name(m) == LAST_CONV
    assert m.loss == "categorical_crossentropy"


def test_efficient_cnn_is_small_and_named(native):
    m = efficient_cnn(native.images.shape[1:])
    assert m.get_layer("image") is not None and m.get_layer("rr") is not None
    assert m.count_params() < 100_000
    assert last_conv_layer_name(m) == LAST_CONV
    assert any(type(layer).__name__ == "GlobalAveragePooling2D" for layer in m.layers)
    out = m.predict({"image": native.images[:4], "rr": native.rr[:4]}, verbose=0)
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)


def test_efficient_cnn_first_time_pool(native):
    shape = native.images.shape[1:]
    grids = {k: efficient_cnn(shape, first_time_pool=k).get_layer(LAST_CONV).output.shape[1:3] for k in (2, 4)}
    # Frequency pooled by 2 per block either way; time by 4 then 2 instead of 2 and 2.
    assert grids[2] == (shape[0] // 4, shape[1] // 4) and grids[4] == (shape[0] // 4, shape[1] // 8)
    assert efficient_cnn(shape, first_time_pool=4).count_params() == efficient_cnn(shape).count_params()
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="first_time_pool"):
            efficient_cnn(shape, first_time_pool=bad)


def test_efficient_cnn_first_time_stride(native):
    shape = native.images.shape[1:]
    model = efficient_cnn(shape, first_time_stride=2)
    conv1 = model.get_layer("conv1")
    # The first block's activations are on a time grid half as fine, read through a 3 x 5 kernel.
    assert conv1.output.shape[1:3] == (shape[0], -(-shape[1] // 2)) and conv1.kernel.shape[:2] == (3, 5)
    assert efficient_cnn(shape).get_layer("conv1").kernel.shape[:2] == (3, 3)
    for bad in (0, 1.5, False):
        with pytest.raises(ValueError, match="first_time_stride"):
            efficient_cnn(shape, first_time_stride=bad)


def test_seed_batches_match_to_rgb(seed_data):
    seq = model_inputs("seed_cnn", seed_data, batch_size=8)
    x, y = seq[0]
    assert x.shape == (8, 128, 128, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x, to_rgb(seed_data.images[:8]).astype(np.float32))
    np.testing.assert_array_equal(y.argmax(1), seed_data.labels[:8])
    assert len(seq) == int(np.ceil(len(seed_data) / 8))


def test_sequence_weights_and_undersampling(native):
    w = class_weights(native.labels)
    seq = model_inputs("efficient_cnn", native, batch_size=16, shuffle=True, class_weight=w, class_fraction={0: 0.5})
    x, y, sw = seq[0]
    assert set(x) == {"image", "rr"}
    np.testing.assert_allclose(sw, np.array([w[c] for c in y.argmax(1)], dtype=np.float32))
    n_expected = (native.labels != 0).sum() + round(0.5 * (native.labels == 0).sum())
    assert sum(len(seq[i][1]) for i in range(len(seq))) == n_expected


def test_sequence_rr_swap_gives_v_beats_normal_beats_rr(native):
    seq = model_inputs("efficient_cnn", native, batch_size=len(native), shuffle=True, rr_swap={2: 0.5})
    rows = {tuple(r) for r in native.rr[native.labels == 0]}
    seen = []
    for _ in range(2):  # two epochs: a fresh draw each
        idx = np.asarray(seq._indices(0))
        x, y = seq[0]
        own = np.all(x["rr"] == native.rr[idx], axis=1)
        v = y.argmax(1) == 2
        assert np.all(own[~v])  # N and S beats keep their own RR features
        swapped = np.flatnonzero(v & ~own)
        assert len(swapped) == round(0.5 * v.sum())  # (no V beat has an N beat's exact features)
        assert all(tuple(r) in rows for r in x["rr"][swapped])
        np.testing.assert_array_equal(x["image"], native.images[idx])
        seen.append(set(idx[swapped]))
        seq.on_epoch_end()
    assert seen[0] != seen[1]
    for bad in ({2: 1.5}, {0: 0.5}):
        with pytest.raises(ValueError, match="rr_swap"):
            model_inputs("efficient_cnn", native, shuffle=True, rr_swap=bad)
    with pytest.raises(ValueError, match="rr_swap needs"):
        model_inputs("efficient_cnn", native, rr_swap={2: 0.5})
    with pytest.raises(ValueError, match="v_rr_swap"):
        TrainConfig(v_rr_swap=2.0)


@pytest.mark.parametrize("name", ["seed_cnn", "efficient_cnn"])
def test_train_one_epoch_on_real_beats(name, native, seed_data):
    data = seed_data if name == "seed_cnn" else native
    half = np.isin(data.records, ["100", "119"])
    train = Dataset(*(a[half] for a in (data.images, data.rr, data.labels, data.records, data.peaks)))
    val = data.subset(["208"])
    res = train_model(name, train, val, FAST)
    assert res.epochs_run == 1 and res.seconds > 0
    assert {"loss", "val_loss", "val_macro_f1", "epoch_train_s"} <= set(res.history)
    proba = predict_proba(res.model, name, val)
    assert proba.shape == (len(val), 3) and np.all(np.isfinite(proba))


def test_record_balance_reweights_training(native):
    train, val = native.subset(["100", "119"]), native.subset(["208"])  # V: 1 beat of 100, 40 of 119
    plain = train_model("efficient_cnn", train, val, FAST)
    even = train_model("efficient_cnn", train, val, dataclasses.replace(FAST, record_balance=1.0))
    assert not np.allclose(plain.history["loss"], even.history["loss"])
    unweighted = dataclasses.replace(FAST, class_weighting="none", record_balance=1.0)
    assert train_model("efficient_cnn", train, val, unweighted).class_weight == {0: 1.0, 1: 1.0, 2: 1.0}


def test_sequence_feeds_keras_without_tf_data_autotuning(native):
    # With one worker, tf.data's autotuner made some epochs start ~7 s late with the CPU idle
    # (BeatSequence docstring). PyDatasetAdapter is what fit/predict wrap a PyDataset in (Keras internals).
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    seq = model_inputs("efficient_cnn", native, batch_size=64)
    one = model_inputs("efficient_cnn", native, batch_size=64, workers=1)
    assert seq.workers == 2 and one.workers == 1
    assert PyDatasetAdapter(seq).get_tf_dataset().options().autotune.enabled is False
    assert PyDatasetAdapter(one).get_tf_dataset().options().autotune.enabled is not False
    model = efficient_cnn(native.images.shape[1:])
    np.testing.assert_array_equal(model.predict(seq, verbose=0), model.predict(one, verbose=0))  # same batches, same order


def test_training_is_reproducible(native):
    train, val = native.subset(["100", "119"]), native.subset(["208"])
    a = train_model("efficient_cnn", train, val, FAST).history["loss"]
    b = train_model("efficient_cnn", train, val, FAST).history["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-4)


def test_save_load_round_trip(native, tmp_path):
    model = efficient_cnn(native.images.shape[1:])
    model.fit(model_inputs("efficient_cnn", native, batch_size=32), epochs=1, verbose=0)
    meta = {"model_name": "efficient_cnn", "spectrogram_config": NATIVE, "train_config": FAST.to_dict()}
    path = save_model(model, tmp_path / "m.keras", meta)
    assert path.is_file() and (tmp_path / "m.keras.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left behind
    loaded, meta2 = load_model(path)
    np.testing.assert_allclose(
        predict_proba(loaded, "efficient_cnn", native), predict_proba(model, "efficient_cnn", native), atol=1e-6
    )
    assert meta2["model_name"] == "efficient_cnn" and meta2["class_names"] == ["N", "S", "V"]
    assert meta2["spectrogram_config"]["size"] is None and "ecglib_version" in meta2
    assert SpectrogramConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in meta2["spectrogram_config"].items()}) == NATIVE


def test_class_weights_from_labels():
    w = class_weights(np.array([0] * 8 + [1] * 2 + [2] * 2))
    assert w == pytest.approx({0: 12 / 24, 1: 12 / 6, 2: 12 / 6})
    assert class_weights(np.array([0, 0, 2]))[1] == 0.0
    assert class_weights(np.array([0, 0, 0, 1]), mode="sqrt")[1] == pytest.approx(np.sqrt(4 / 3))
    for bad, says in (
        (np.array([]), "non-empty 1-D"),
        (np.array([0.5, 1.0]), "integer class indices"),
        (np.array([0, 3]), r"lie in 0\.\.2"),
        (np.array([[0, 1]]), "non-empty 1-D"),
    ):
        with pytest.raises(ValueError, match=f"labels must .*{says}"):
            class_weights(bad)


def test_record_balance_weights_even_out_recordings():
    labels = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0])
    records = np.array(["a", "a", "a", "a", "b", "b", "a", "b", "c"])
    np.testing.assert_array_equal(record_balance_weights(labels, records, 0.0), np.ones(9))
    w = record_balance_weights(labels, records, 1.0)
    # class 1: 4 beats of "a" and 2 of "b" -> each recording's beats sum to the same total
    assert w[:4].sum() == pytest.approx(w[4:6].sum()) and w[:6].mean() == pytest.approx(1.0)
    np.testing.assert_allclose(w[6:], 1.0)  # class 0: one beat per recording, already even
    half = record_balance_weights(labels, records, 0.5)
    assert w[0] < half[0] < 1.0 < half[4] < w[4]  # the exponent sets how far the recordings are evened out
    only_s = record_balance_weights(labels, records, 1.0, classes=(1,))
    np.testing.assert_array_equal(only_s[:6], w[:6])
    np.testing.assert_array_equal(only_s[6:], 1.0)  # class 0 left alone
    with pytest.raises(ValueError, match="exponent"):
        record_balance_weights(labels, records, 1.5)
    with pytest.raises(ValueError, match="one length"):
        record_balance_weights(labels, records[:-1], 0.5)
    with pytest.raises(ValueError, match="record_balance"):
        TrainConfig(record_balance=-0.1)
    with pytest.raises(ValueError, match="record_balance_classes"):
        TrainConfig(record_balance=0.5, record_balance_classes=(3,))


def test_sequence_beat_weight_multiplies_class_weight(native):
    w = class_weights(native.labels)
    bw = record_balance_weights(native.labels, native.records, 1.0)
    seq = model_inputs("efficient_cnn", native, batch_size=16, shuffle=True, class_weight=w, beat_weight=bw)
    idx = np.asarray(seq._indices(0))
    _, y, sw = seq[0]
    np.testing.assert_allclose(sw, np.array([w[c] for c in y.argmax(1)]) * bw[idx], rtol=1e-6)
    with pytest.raises(ValueError, match="class_weight"):
        model_inputs("efficient_cnn", native, beat_weight=bw)
    with pytest.raises(ValueError, match="beat_weight"):
        model_inputs("efficient_cnn", native, class_weight=w, beat_weight=bw[:-1])


def test_bad_inputs_raise(native, tmp_path):
    with pytest.raises(ValueError, match="unknown model name"):
        build_model("resnet")
    with pytest.raises(ValueError, match="unknown model name"):
        model_inputs("resnet", native)
    with pytest.raises(ValueError, match="unknown model name"):
        train_model("resnet", native, native, FAST)
    with pytest.raises(ValueError, match=r"image_shape must be \(height, width\)"):
        efficient_cnn((16, 91, 3))
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\)"):
        seed_cnn((128, 128))
    with pytest.raises(ValueError, match="128 x 128"):
        model_inputs("seed_cnn", native)  # native 16 x 91 images
    with pytest.raises(ValueError, match=r"rr must be \(n, n_features\)"):
        BeatSequence("efficient_cnn", native.images, native.rr[:-1])
    with pytest.raises(ValueError, match="uint8"):
        BeatSequence("efficient_cnn", native.images.astype(float), native.rr)
    with pytest.raises(ValueError, match="class_weighting must be 'balanced', 'sqrt' or 'none'"):
        TrainConfig(class_weighting="weird")
    with pytest.raises(ValueError, match=".keras"):
        save_model(efficient_cnn((16, 91)), tmp_path / "m.h5")
    missing = tmp_path / "missing.keras"
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        load_model(missing)
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="corrupt.keras"):
        load_model(corrupt)


def test_record_reference_is_each_records_median(native):
    from ecglib.models import record_reference, reference_image

    ref = record_reference(native.images, native.records)
    assert ref.shape == native.images.shape and ref.dtype == np.uint8
    for rec in np.unique(native.records):
        sel = native.records == rec
        expected = np.round(np.median(native.images[sel], axis=0)).astype(np.uint8)
        assert np.all(ref[sel] == expected)
    # No groups: one recording; long recordings use evenly spaced beats only.
    np.testing.assert_array_equal(record_reference(native.images)[0], reference_image(native.images))
    assert reference_image(native.images, max_beats=5).shape == native.images.shape[1:]
    with pytest.raises(ValueError, match="images must be a non-empty"):
        reference_image(native.images[:0])
    with pytest.raises(ValueError, match="groups"):
        record_reference(native.images, native.records[:-1])


def test_reference_beats_picks_the_long_rr_beats():
    from ecglib.models import MIN_REFERENCE_BEATS, reference_beats

    pre = np.r_[np.full(80, 0.5), np.linspace(0.8, 1.0, 20)]  # 80 early beats, then 20 long ones
    np.testing.assert_array_equal(reference_beats(pre), np.arange(100))
    np.testing.assert_array_equal(reference_beats(pre, 0.8), np.arange(80, 100))
    np.testing.assert_array_equal(reference_beats(pre, 0.0), np.arange(100))
    # Too few long-RR beats for a stable median: fall back to all beats.
    short = pre[: 80 + MIN_REFERENCE_BEATS - 1]
    assert len(reference_beats(short, 0.9)) == len(short)
    for bad in (1.0, -0.1, 80):
        with pytest.raises(ValueError, match="reference_rr_quantile"):
            reference_beats(pre, bad)
    with pytest.raises(ValueError, match="NaN"):
        reference_beats(np.r_[pre, np.nan], 0.8)
    with pytest.raises(ValueError, match="pre_rr_s"):
        reference_beats(np.zeros((0,)), 0.8)


def test_record_reference_from_long_rr_beats(native):
    from ecglib.beats import RR_FEATURES
    from ecglib.models import MIN_REFERENCE_BEATS, record_reference, reference_image

    pre = native.rr[:, RR_FEATURES.index("pre_rr_s")]
    # 0.6, not 0.8: this small sample has about 80 beats per record (0.8 would leave < 20).
    ref = record_reference(native.images, native.records, pre_rr_s=pre, rr_quantile=0.6)
    for rec in np.unique(native.records):
        sel = native.records == rec
        long_rr = sel & (pre >= np.quantile(pre[sel], 0.6))
        assert long_rr.sum() >= MIN_REFERENCE_BEATS
        assert np.all(ref[sel] == reference_image(native.images[long_rr]))
    # The long-RR median is not the all-beats median (these records hold many early V beats).
    assert not np.array_equal(ref, record_reference(native.images, native.records))
    with pytest.raises(ValueError, match="pre_rr_s"):
        record_reference(native.images, native.records, rr_quantile=0.8)
    with pytest.raises(ValueError, match="pre_rr_s"):
        record_reference(native.images, native.records, pre_rr_s=pre[:-1], rr_quantile=0.8)


def test_reference_rr_quantile_travels_with_the_model(native, tmp_path):
    from ecglib.beats import RR_FEATURES
    from ecglib.models import record_reference, reference_settings

    m = efficient_cnn(native.images.shape[1:], reference=True, reference_rr_quantile=0.6)
    assert reference_settings(m) == {"reference": True, "reference_rr_quantile": 0.6}
    assert reference_settings(efficient_cnn(native.images.shape[1:], reference=True))["reference_rr_quantile"] is None
    assert reference_settings(efficient_cnn(native.images.shape[1:])) == {}
    with pytest.raises(ValueError, match="reference=True"):
        efficient_cnn(native.images.shape[1:], reference_rr_quantile=0.6)
    pre = native.rr[:, RR_FEATURES.index("pre_rr_s")]
    ref = record_reference(native.images, native.records, pre_rr_s=pre, rr_quantile=0.6)
    x, _ = model_inputs("efficient_cnn", native, batch_size=len(native), **reference_settings(m))[0]
    np.testing.assert_array_equal(x["ref"], ref)
    assert not np.array_equal(ref, record_reference(native.images, native.records))
    explicit = predict_proba(m, "efficient_cnn", images=native.images, rr=native.rr, ref=ref)
    proba = predict_proba(m, "efficient_cnn", native)  # builds the long-RR reference itself
    np.testing.assert_allclose(proba, explicit, atol=1e-6)
    save_model(m, tmp_path / "longrr.keras", {"model_name": "efficient_cnn"})
    loaded, _ = load_model(tmp_path / "longrr.keras")
    assert reference_settings(loaded)["reference_rr_quantile"] == 0.6
    np.testing.assert_allclose(predict_proba(loaded, "efficient_cnn", native), proba, atol=1e-6)
    with pytest.raises(ValueError, match="rr="):
        model_inputs("efficient_cnn", images=native.images, reference=True, reference_rr_quantile=0.6)


def test_local_reference_is_the_median_of_each_blocks_window():
    from ecglib.models import local_reference, record_reference, reference_beats, reference_image

    # Two recordings of hand-made "images" (each beat's value is its index, so medians are easy to
    # check): A, 400 beats 1 s apart; B, 15 beats (too few for any window: its whole reference).
    n_a, n_b = 400, 15
    images = np.repeat((np.arange(n_a + n_b) % 251).astype(np.uint8), 6).reshape(-1, 2, 3)
    times = np.r_[np.arange(n_a) + 0.5, np.arange(n_b) * 2.0]
    groups = np.r_[np.zeros(n_a, int), np.ones(n_b, int)]
    pre = np.r_[np.where(np.arange(n_a) % 5 == 0, 1.2, 0.8), np.full(n_b, 1.0)]
    for q in (None, 0.8):
        out = local_reference(images, times, groups, window_s=100.0, pre_rr_s=pre, rr_quantile=q, block_s=30.0)
        assert out.shape == images.shape and out.dtype == np.uint8
        for i in (0, 29, 30, 200, 399):
            centre = (i // 30 + 0.5) * 30.0
            win = np.flatnonzero((groups == 0) & (np.abs(times - centre) <= 100.0))
            if q is not None:
                win = win[reference_beats(pre[win], q)]
                # The long-RR beats of the window; the last window (beats 305-399) holds only 19
                # of them, too few, so all its beats.
                assert np.all(win % 5 == 0) if i < 390 else len(win) == 95
            np.testing.assert_array_equal(out[i], reference_image(images[win]))
        whole = record_reference(images, groups, pre_rr_s=pre, rr_quantile=q)
        np.testing.assert_array_equal(out[n_a:], whole[n_a:])
        assert len({out[i, 0, 0] for i in range(n_a)}) > 5  # it moves along the recording
    # A window longer than the recording: every beat gets the recording's reference.
    np.testing.assert_array_equal(local_reference(images[:n_a], times[:n_a], window_s=1e4), record_reference(images[:n_a]))
    with pytest.raises(ValueError, match="times_s"):
        local_reference(images, times[:-1])
    with pytest.raises(ValueError, match="times_s"):
        local_reference(images, np.r_[times[:-1], np.nan])
    with pytest.raises(ValueError, match="window_s must"):
        local_reference(images, times, window_s=0.0)
    with pytest.raises(ValueError, match="pre_rr_s"):
        local_reference(images, times, rr_quantile=0.8)


def test_local_reference_follows_a_rhythm_episode():
    """Record 201's atrial fibrillation episodes: their beats look more like the local reference
    than like the record's reference (built mostly from its sinus-rhythm stretches)."""
    from ecglib.beats import RR_FEATURES
    from ecglib.data import FS, load_record
    from ecglib.models import local_reference, record_reference

    ds = build_dataset(["201"], spec_config=NATIVE, progress=False)
    pre = ds.rr[:, RR_FEATURES.index("pre_rr_s")]
    local = local_reference(ds.images, ds.peaks / FS, pre_rr_s=pre, rr_quantile=0.8, window_s=150.0)
    whole = record_reference(ds.images, pre_rr_s=pre, rr_quantile=0.8)
    af = load_record("201").rhythms(ds.peaks) == "AFIB"
    assert af.sum() > 500

    def distance(ref):
        return np.abs(ds.images[af].astype(float) - ref[af]).mean()

    assert distance(local) < 0.9 * distance(whole)


def test_efficient_cnn_with_local_reference(native, tmp_path):
    from ecglib.beats import RR_FEATURES
    from ecglib.data import FS
    from ecglib.models import local_reference, record_reference, reference_settings

    shape = native.images.shape[1:]
    kwargs = {"reference": True, "reference_rr_quantile": 0.6, "local_reference_s": 120.0}
    m = efficient_cnn(shape, **kwargs)
    assert {t.name.split(":")[0] for t in m.inputs} == {"image", "rr", "ref", "local_ref"}
    assert m.get_layer("channels").output.shape[-1] == 3
    assert reference_settings(m) == kwargs
    pre = native.rr[:, RR_FEATURES.index("pre_rr_s")]
    x, _ = model_inputs("efficient_cnn", native, batch_size=len(native), **kwargs)[0]
    expected = local_reference(native.images, native.peaks / FS, native.records, window_s=120.0, pre_rr_s=pre, rr_quantile=0.6)
    np.testing.assert_array_equal(x["local_ref"], expected)
    np.testing.assert_array_equal(x["ref"], record_reference(native.images, native.records, pre_rr_s=pre, rr_quantile=0.6))
    proba = predict_proba(m, "efficient_cnn", native)
    one = native.records == "119"
    arrays = predict_proba(m, "efficient_cnn", images=native.images[one], rr=native.rr[one], times_s=native.peaks[one] / FS)
    np.testing.assert_allclose(arrays, proba[one], atol=1e-6)
    save_model(m, tmp_path / "local.keras", {"model_name": "efficient_cnn"})
    loaded, _ = load_model(tmp_path / "local.keras")
    assert reference_settings(loaded) == kwargs
    np.testing.assert_allclose(predict_proba(loaded, "efficient_cnn", native), proba, atol=1e-6)
    res = train_model("efficient_cnn", native, native, TrainConfig(epochs=1, batch_size=64, verbose=False, model_kwargs=kwargs))
    assert reference_settings(res.model) == kwargs
    with pytest.raises(ValueError, match="times_s"):
        predict_proba(m, "efficient_cnn", images=native.images, rr=native.rr)
    with pytest.raises(ValueError, match="reference=True"):
        efficient_cnn(shape, local_reference_s=120.0)
    with pytest.raises(ValueError, match="reference=True"):
        model_inputs("efficient_cnn", native, local_reference_s=120.0)
    with pytest.raises(ValueError, match="local_reference_s"):
        efficient_cnn(shape, reference=True, local_reference_s=-1.0)
    with pytest.raises(ValueError, match="give both"):
        BeatSequence("efficient_cnn", native.images, native.rr, local_ref=native.images)


def test_efficient_cnn_with_reference_input(native, tmp_path):
    from ecglib.models import record_reference, uses_reference

    m = efficient_cnn(native.images.shape[1:], reference=True, label_smoothing=0.05)
    assert uses_reference(m) and not uses_reference(efficient_cnn(native.images.shape[1:]))
    seq = model_inputs("efficient_cnn", native, batch_size=16, reference=True)
    x, _ = seq[0]
    assert set(x) == {"image", "rr", "ref"} and x["ref"].dtype == np.uint8
    np.testing.assert_array_equal(x["ref"], record_reference(native.images, native.records)[:16])
    proba = predict_proba(m, "efficient_cnn", native)  # reference computed per record automatically
    assert proba.shape == (len(native), 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    save_model(m, tmp_path / "ref.keras", {"model_name": "efficient_cnn"})
    loaded, _ = load_model(tmp_path / "ref.keras")
    assert uses_reference(loaded)
    np.testing.assert_allclose(predict_proba(loaded, "efficient_cnn", native), proba, atol=1e-6)
    with pytest.raises(ValueError, match="ref"):
        BeatSequence("efficient_cnn", native.images, native.rr, ref=native.images[:-1])


def test_train_with_reference_and_weight_average(native):
    from ecglib.models import uses_reference

    from ecglib.models import reference_settings

    kwargs = {"reference": True, "reference_rr_quantile": 0.8}
    cfg = TrainConfig(epochs=2, batch_size=32, verbose=False, ema=0.9, model_kwargs=kwargs)
    res = train_model("efficient_cnn", native, native, cfg)
    assert uses_reference(res.model) and res.epochs_run == 2
    assert reference_settings(res.model) == kwargs
    assert len(res.history["val_macro_f1"]) == 2
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0)


def test_cosine_learning_rate_schedule(native):
    from ecglib.train import cosine_rate

    cfg = TrainConfig(epochs=3, batch_size=64, learning_rate=2e-3, verbose=False, patience=10, lr_schedule="cosine")
    assert [cosine_rate(cfg, e) for e in range(3)] == pytest.approx([2e-3, 1.5e-3, 0.5e-3])
    res = train_model("efficient_cnn", native, native, cfg)
    assert res.history["learning_rate"] == pytest.approx([2e-3, 1.5e-3, 0.5e-3])
    assert float(res.model.optimizer.learning_rate.numpy()) == pytest.approx(0.5e-3)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")


def test_efficient_cnn_rr_feature_selection_and_image_dropout(native, tmp_path):
    from ecglib.beats import RR_FEATURES

    m = efficient_cnn(native.images.shape[1:], image_dropout=0.5, rr_features=["pre_rr_norm", "local_rr_norm"])
    assert m.get_layer("image_dropout").rate == 0.5
    x = {"image": native.images[:8], "rr": native.rr[:8]}
    out = m.predict(x, verbose=0)
    # Unused columns (the intervals in seconds) do not change the output; a used one does.
    moved = native.rr[:8].copy()
    moved[:, RR_FEATURES.index("pre_rr_s")] *= 3
    np.testing.assert_allclose(m.predict({**x, "rr": moved}, verbose=0), out, atol=1e-6)
    moved[:, RR_FEATURES.index("pre_rr_norm")] *= 3
    assert not np.allclose(m.predict({**x, "rr": moved}, verbose=0), out, atol=1e-4)
    save_model(m, tmp_path / "sel.keras", {"model_name": "efficient_cnn"})
    loaded, _ = load_model(tmp_path / "sel.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), out, atol=1e-6)
    with pytest.raises(ValueError, match="unknown RR features"):
        efficient_cnn(native.images.shape[1:], rr_features=["pre_rr_ms"])
    with pytest.raises(ValueError, match="n_rr"):
        efficient_cnn(native.images.shape[1:], n_rr=3, rr_features=["pre_rr_norm"])


def test_models_saved_with_fewer_rr_features_take_the_leading_columns(native, tmp_path):
    """A model saved when RR_FEATURES had 6 columns (before rr_irregularity) still predicts."""
    from ecglib.beats import RR_FEATURES
    from ecglib.book import model_batch
    from ecglib.models import rr_for_model

    assert native.rr.shape[1] == len(RR_FEATURES) == 7
    old = efficient_cnn(native.images.shape[1:], n_rr=6, reference=True)
    save_model(old, tmp_path / "old.keras", {"model_name": "efficient_cnn"})
    old, _ = load_model(tmp_path / "old.keras")
    assert rr_for_model(old, native.rr).shape == (len(native), 6)
    assert rr_for_model(seed_cnn(), native.rr).shape == native.rr.shape  # no "rr" input: unchanged
    got = predict_proba(old, "efficient_cnn", native)
    direct = predict_proba(old, "efficient_cnn", images=native.images, rr=native.rr[:, :6],
                           ref=model_batch(old, "efficient_cnn", native)["ref"])  # fmt: skip
    # native holds three records; the direct call's reference comes from model_batch (per record too).
    np.testing.assert_allclose(got, direct, atol=1e-6)
    assert model_batch(old, "efficient_cnn", native, [0, 1])["rr"].shape == (2, 6)
    with pytest.raises(ValueError, match="takes 7 RR features but rr has 6"):
        rr_for_model(efficient_cnn(native.images.shape[1:]), native.rr[:, :6])


@pytest.mark.parametrize("preset, pooled", [(None, True), ("false", False)])
def test_importing_ecglib_gives_tensorflow_a_pooled_cpu_allocator(preset, pooled):
    # TensorFlow's BFC allocator counts memory in chunks of 256 bytes, so a live 40-byte tensor
    # shows as 256 bytes in use. The default allocator keeps no statistics on some CPUs (ValueError)
    # and, on others, none for small tensors.
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if preset is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = preset
    code = (
        "import ecglib, os, tensorflow as tf; x = tf.ones((10,));"
        "print(os.environ['TF_CPU_ALLOCATOR_USE_BFC'])\n"
        "try:\n    used = tf.config.experimental.get_memory_info('CPU:0')['current']\n"
        "except ValueError:\n    used = 0\n"
        "print(used >= 256 and used % 256 == 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == (["true", "True"] if pooled else ["false", "False"])


def test_ensemble_trains_disjoint_seeds_and_averages_its_members(native, tmp_path):
    from ecglib.models import ensemble_members, reference_settings

    train, val = native.subset(["100", "119"]), native.subset(["208"])
    cfg = dataclasses.replace(FAST, model_kwargs={"reference": True, "reference_rr_quantile": 0.8})
    res = train_model("efficient_cnn", train, val, dataclasses.replace(cfg, ensemble_size=2, seed=1))
    members = ensemble_members(res.model)
    assert len(members) == 2 and all(m.model.get_layer(LAST_CONV) is net.get_layer(LAST_CONV)
                                     for m, net in zip(res.members, members))  # fmt: skip
    assert res.epochs_run == [1, 1] and res.best_epoch == [1, 1] and len(res.history) == 2
    assert res.seconds == pytest.approx(sum(m.seconds for m in res.members))
    # Seed 1 of an ensemble of two trains members with seeds 2 and 3.
    for i, member in enumerate(res.members):
        alone = train_model("efficient_cnn", train, val, dataclasses.replace(cfg, seed=2 + i))
        np.testing.assert_allclose(member.history["loss"], alone.history["loss"], rtol=1e-4)
    assert not np.allclose(res.history[0]["loss"], res.history[1]["loss"])
    assert reference_settings(res.model) == reference_settings(res.members[0].model) == {
        "reference": True, "reference_rr_quantile": 0.8}  # fmt: skip
    proba = predict_proba(res.model, "efficient_cnn", val)
    each = [predict_proba(m.model, "efficient_cnn", val) for m in res.members]
    np.testing.assert_allclose(proba, np.mean(each, axis=0), atol=1e-6)
    assert not np.allclose(each[0], each[1])
    path = save_model(res.model, tmp_path / "ens.keras", {"model_name": "efficient_cnn"})
    loaded, _ = load_model(path)
    assert [m.name for m in ensemble_members(loaded)] == ["member0", "member1"]
    np.testing.assert_allclose(predict_proba(loaded, "efficient_cnn", val), proba, atol=1e-6)
    assert reference_settings(loaded)["reference_rr_quantile"] == 0.8


def test_ensemble_model_checks_its_members(native):
    from ecglib.models import ensemble_members, ensemble_model

    a, b = efficient_cnn(native.images.shape[1:]), efficient_cnn(native.images.shape[1:])
    assert ensemble_members(a) == [a]
    with pytest.raises(ValueError, match="at least two members"):
        ensemble_model([a])
    with pytest.raises(ValueError, match="member 1"):
        ensemble_model([a, efficient_cnn(native.images.shape[1:], reference=True)])
    with pytest.raises(ValueError, match="member 1"):
        ensemble_model([a, efficient_cnn(native.images.shape[1:], n_rr=3)])
    longrr = efficient_cnn(native.images.shape[1:], reference=True, reference_rr_quantile=0.8)
    with pytest.raises(ValueError, match="member 1"):  # fed one "ref" input, built one way
        ensemble_model([longrr, efficient_cnn(native.images.shape[1:], reference=True)])
    # A model that merely nests other models is not an ensemble.
    inp = keras.Input(native.images.shape[1:], name="image")
    block = keras.Model(inp, keras.layers.Flatten()(inp), name="block")
    other = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(block(inp)))
    assert ensemble_members(other) == [other]
    ens = ensemble_model([a, b])
    assert ensemble_members(ens)[1].get_layer(LAST_CONV) is b.get_layer(LAST_CONV)  # shared, not copied
    with pytest.raises(ValueError, match="ensemble"):
        last_conv_layer_name(ens)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="ensemble_size"):
            TrainConfig(ensemble_size=bad)
