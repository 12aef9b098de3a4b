"""Grad-CAM (Selvaraju et al., 2017): which parts of the spectrogram drove a prediction.

For a chosen class, the gradient of the class probability with respect to the feature maps of a
convolutional layer is averaged over space to give one weight per channel; the weighted sum of the
maps, passed through ReLU, is the class activation map. It has the resolution of that layer and is
resized to the input image for display.

Works for functional and Sequential Keras 3 models, including models reloaded from ``.keras``
files, and for models with several inputs (the image branch is the one explained). The map of an
:func:`ecglib.models.ensemble_model` is the mean of its members' maps for the class explained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # for annotations only: Keras is imported inside the functions that use it
    import keras


def _grad_model(model, layer_name: str):
    """A model mapping the inputs to (feature maps of ``layer_name``, predictions)."""
    import keras

    target = model.get_layer(layer_name)  # raises ValueError naming the layer if absent
    if isinstance(model, keras.Sequential):
        # A Sequential model's internal graph is not exposed the same way: re-trace it functionally.
        inp = keras.Input(shape=model.input_shape[1:])
        x, feat = inp, None
        for layer in model.layers:
            x = layer(x)
            if layer is target:
                feat = x
        return keras.Model(inp, [feat, x])
    return keras.Model(model.inputs, [target.output, model.outputs[0]])


def _unit_peak(maps: np.ndarray) -> np.ndarray:
    """Each of the ``(n, h, w)`` maps divided by its maximum (an all-zero map stays zero)."""
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return maps / np.where(peak > 0, peak, 1.0)[:, None, None]


def grad_cam(
    model: keras.Model,
    inputs: np.ndarray | Mapping[str, np.ndarray],
    class_index: int | Sequence[int] | None = None,
    layer_name: str | None = None,
    image_key: str | None = None,
) -> np.ndarray:
    """Grad-CAM heat maps for a batch.

    Parameters
    ----------
    model
        A Keras 3 classifier with a softmax output, or an :func:`ecglib.models.ensemble_model`: then
        each member's map is computed (for the ensemble's predicted class by default, with
        ``layer_name`` looked up in each member) and the maps are averaged, then scaled to a
        maximum of 1 again.
    inputs
        What ``model`` takes: an array ``(n, h, w, c)`` or a dict of arrays for multi-input models.
    class_index
        Class to explain, one for all or one per sample; default the predicted class.
    layer_name
        Convolutional layer to use; default :func:`ecglib.models.last_conv_layer_name`.
    image_key
        For dict inputs, the key of the image input (whose ``(h, w)`` the maps are resized to);
        default the first 3-D or 4-D input.

    Returns
    -------
    numpy.ndarray
        ``(n, h, w)`` float32 maps, non-negative, each scaled to a maximum of 1 (all zeros where
        nothing supports the class), at the spatial size of the image input.
    """
    import cv2
    import tensorflow as tf

    from ecglib.models import ensemble_members, last_conv_layer_name

    members = ensemble_members(model)
    if len(members) > 1:
        if class_index is None:
            class_index = np.asarray(model.predict(inputs, verbose=0)).argmax(axis=-1)
        cams = np.mean([grad_cam(m, inputs, class_index, layer_name, image_key) for m in members], axis=0)
        return _unit_peak(cams).astype(np.float32)
    layer_name = layer_name or last_conv_layer_name(model)
    if isinstance(inputs, Mapping):
        if image_key is None:
            image_key = next((k for k, v in inputs.items() if np.ndim(v) >= 3), None)
        if image_key not in inputs:
            raise ValueError(f"image_key {image_key!r} is not one of the inputs {sorted(inputs)}")
        image = np.asarray(inputs[image_key])
        feed = {k: tf.convert_to_tensor(np.asarray(v)) for k, v in inputs.items()}
    else:
        image = np.asarray(inputs)
        feed = tf.convert_to_tensor(image)
    if image.ndim not in (3, 4):
        raise ValueError(f"image input must be (n, h, w) or (n, h, w, c), got shape {image.shape}")
    n, height, width = image.shape[:3]

    grad_model = _grad_model(model, layer_name)
    with tf.GradientTape() as tape:
        feats, preds = grad_model(feed, training=False)
        tape.watch(feats)
        if class_index is None:
            idx = tf.argmax(preds, axis=-1)
        else:
            idx = tf.constant(np.broadcast_to(np.asarray(class_index), (n,)), dtype=tf.int64)
            if int(tf.reduce_max(idx)) >= preds.shape[-1] or int(tf.reduce_min(idx)) < 0:
                raise ValueError(f"class_index must be in 0..{preds.shape[-1] - 1}, got {class_index}")
        score = tf.gather(preds, idx, axis=1, batch_dims=1)
    grads = tape.gradient(score, feats)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per channel
    cam = _unit_peak(tf.nn.relu(tf.reduce_sum(weights * feats, axis=-1)).numpy())
    out = np.stack([cv2.resize(c.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) for c in cam])
    return np.clip(np.nan_to_num(out), 0.0, 1.0).astype(np.float32)


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.45, colormap: int | None = None) -> np.ndarray:
    """Blend a heat map onto a grey spectrogram with an OpenCV colormap (JET by default).

    Parameters
    ----------
    image
        ``(h, w)`` uint8 spectrogram (row 0 = lowest frequency).
    cam
        ``(h, w)`` map in 0..1 from :func:`grad_cam`.
    alpha
        Weight of the heat map, in 0..1.
    colormap
        OpenCV colormap constant (e.g. ``cv2.COLORMAP_JET``, the default when None).

    Returns
    -------
    numpy.ndarray
        ``(h, w, 3)`` RGB uint8, rows in the same order as ``image``.
    """
    import cv2

    image = np.asarray(image)
    cam = np.asarray(cam)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.shape[:2] != cam.shape:
        raise ValueError(f"image {image.shape[:2]} and cam {cam.shape} must have the same (h, w)")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in 0..1, got {alpha}")
    heat = cv2.applyColorMap(np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET if colormap is None else colormap)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    base = image if image.ndim == 3 else cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(heat, alpha, base.astype(np.uint8), 1.0 - alpha, 0)


def gradcam_gallery(images: np.ndarray, cams: np.ndarray, titles: Sequence[str], ncols: int = 4, alpha: float = 0.45):
    """Figure of overlays (one panel per beat, titled), low frequencies at the bottom.

    Parameters
    ----------
    images
        ``n`` spectrograms, each ``(h, w)`` uint8 (or ``(h, w, 1)``), row 0 = lowest frequency.
    cams
        ``n`` maps ``(h, w)`` in 0..1 from :func:`grad_cam`, one per image, of its ``(h, w)``.
    titles
        ``n`` panel titles.
    ncols
        Panels per row; there are ``ceil(n / ncols)`` rows (at least one), unused panels blank.
    alpha
        Weight of the heat map (JET colormap) in 0..1; see :func:`overlay`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not closed).
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if len(cams) != n or len(titles) != n:
        raise ValueError(f"images ({n}), cams ({len(cams)}) and titles ({len(titles)}) must have the same length")
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.4 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, cam, title in zip(axes.ravel(), images, cams, titles):
        ax.imshow(overlay(img, cam, alpha), origin="lower", aspect="auto")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
