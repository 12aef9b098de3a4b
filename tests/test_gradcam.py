import keras
import numpy as np
import pytest

from ecglib.dataset import build_dataset
from ecglib.gradcam import grad_cam, gradcam_gallery, overlay
from ecglib.models import last_conv_layer_name
from ecglib.spectrogram import SpectrogramConfig


@pytest.fixture(scope="module")
def beats():
    ds = build_dataset(["208"], spec_config=SpectrogramConfig(size=(32, 32)), progress=False)
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(ds.labels == c), 40, replace=False) for c in (0, 2)])
    return ds.images[idx][..., None], np.where(ds.labels[idx] == 2, 2, 0)


def _train(model, x, y):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    return model


def _functional():
    inp = keras.Input((32, 32, 1), name="image")
    x = keras.layers.Rescaling(1 / 255)(inp)
    x = keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv_a")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))


def _sequential():
    return keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv_s"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("build", [_functional, _sequential])
def test_maps_shape_finite_nonnegative_and_class_dependent(beats, build, tmp_path):
    x, y = beats
    model = _train(build(), x, y)
    cams_v = grad_cam(model, x[:8], class_index=2)
    cams_n = grad_cam(model, x[:8], class_index=0)
    assert cams_v.shape == (8, 32, 32)
    assert np.isfinite(cams_v).all() and (cams_v >= 0).all() and cams_v.max() <= 1
    assert not np.allclose(cams_v, cams_n)
    # The same maps from a model reloaded from a .keras file.
    path = tmp_path / "m.keras"
    model.save(path)
    again = grad_cam(keras.models.load_model(path), x[:8], class_index=2)
    assert np.allclose(again, cams_v, atol=1e-4)


def test_dict_inputs_and_layer_choice(beats):
    x, y = beats
    img = keras.Input((32, 32, 1), name="image")
    rr = keras.Input((6,), name="rr")
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="last_conv")(keras.layers.Rescaling(1 / 255)(img))
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([h, rr]))
    model = keras.Model({"image": img, "rr": rr}, out)
    assert last_conv_layer_name(model) == "last_conv"
    cams = grad_cam(model, {"image": x[:4], "rr": np.ones((4, 6), np.float32)})
    assert cams.shape == (4, 32, 32)
    with pytest.raises(ValueError, match="nope"):
        grad_cam(model, {"image": x[:4], "rr": np.ones((4, 6), np.float32)}, layer_name="nope")
    with pytest.raises(ValueError, match="class_index"):
        grad_cam(model, {"image": x[:4], "rr": np.ones((4, 6), np.float32)}, class_index=7)


def test_overlay_and_gallery(beats):
    x, _ = beats
    cam = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    rgb = overlay(x[0, ..., 0], cam)
    assert rgb.shape == (32, 32, 3) and rgb.dtype == np.uint8
    with pytest.raises(ValueError, match="same"):
        overlay(x[0, ..., 0], cam[:10])
    fig = gradcam_gallery(x[:3, ..., 0], np.stack([cam] * 3), ["a", "b", "c"], ncols=2)
    assert len(fig.axes) == 4


def test_ensemble_map_is_the_mean_of_its_members_maps(beats, tmp_path):
    from ecglib.models import ensemble_members, ensemble_model

    def unit_max(maps):  # each map scaled to a maximum of 1 (an all-zero map stays zero)
        peak = maps.max(axis=(1, 2))
        return maps / np.where(peak > 0, peak, 1)[:, None, None]

    x, y = beats
    keras.utils.set_random_seed(1)  # the two networks' initial weights
    one, two = _train(_functional(), x, y), _train(_functional(), x, y)
    ens = ensemble_model([one, two])
    for layer in (None, "conv_a"):
        cams = grad_cam(ens, x[:8], class_index=2, layer_name=layer)
        mean = unit_max(grad_cam(one, x[:8], 2, layer) + grad_cam(two, x[:8], 2, layer))
        np.testing.assert_allclose(cams, mean, atol=1e-5)
        assert cams.shape == (8, 32, 32) and cams.min() >= 0 and cams.max() <= 1
    assert not np.allclose(grad_cam(one, x[:8], 2), grad_cam(two, x[:8], 2))
    # By default each beat's map explains the ensemble's predicted class, not each member's: with
    # an untrained member, the two disagree on some beats.
    fresh = ensemble_model([one, _functional()])
    pred = fresh.predict(x, verbose=0).argmax(axis=1)
    assert any((m.predict(x, verbose=0).argmax(axis=1) != pred).any() for m in ensemble_members(fresh))
    expected = unit_max(sum(grad_cam(m, x, class_index=pred) for m in ensemble_members(fresh)))
    np.testing.assert_allclose(grad_cam(fresh, x), expected, atol=1e-5)
    ens.save(tmp_path / "ens.keras")
    again = keras.models.load_model(tmp_path / "ens.keras")
    assert len(ensemble_members(again)) == 2
    np.testing.assert_allclose(grad_cam(again, x[:8], class_index=2), grad_cam(ens, x[:8], class_index=2), atol=1e-4)
