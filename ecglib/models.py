"""The two classifiers and the adapters that feed them.

* :func:`seed_cnn` — the original model, kept faithful: a 128 × 128 RGB (viridis) spectrogram, three
  Conv2D → ReLU → BatchNorm → MaxPool blocks, Flatten, Dense 128, Dropout 0.5, softmax. About 3.3 M
  parameters, most of them in the Dense layer after Flatten.
* :func:`efficient_cnn` — ours: the native-resolution single-channel spectrogram through a small
  conv stack and global average pooling, plus RR features (:data:`ecglib.beats.RR_FEATURES`)
  through a small Dense branch, concatenated before the softmax. Tens of thousands of parameters.

:func:`ensemble_model` averages the probabilities of several trained models (a seed ensemble,
``TrainConfig(ensemble_size=...)``); :func:`ensemble_members` gives them back.

Both are Keras functional models with named layers; the last convolution of each is called
``"last_conv"`` (:data:`LAST_CONV`, :func:`last_conv_layer_name`) for Grad-CAM.

:func:`model_inputs` turns a :class:`ecglib.dataset.Dataset` (or plain arrays) into a
:class:`BeatSequence`, a ``keras.utils.PyDataset`` that builds each batch on demand — the seed's
float RGB input for 100 000 beats would take 20 GB if materialised at once.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Sequence

import keras
import numpy as np
from keras import layers

from ecglib._checks import check_positive_int
from ecglib.beats import RR_FEATURES
from ecglib.data import FS

if TYPE_CHECKING:  # for annotations only
    from ecglib.dataset import Dataset

#: Names accepted by :func:`build_model` and :func:`model_inputs`.
MODEL_NAMES: tuple[str, ...] = ("seed_cnn", "efficient_cnn")
#: Name of the last Conv2D layer of every model built here (Grad-CAM's target).
LAST_CONV: str = "last_conv"
#: Name of the layer of an :func:`ensemble_model` that averages its members' probabilities.
ENSEMBLE_MEAN: str = "mean_proba"
#: Input size of the seed model (height, width, channels).
SEED_INPUT_SHAPE: tuple[int, int, int] = (128, 128, 3)


def _check_name(model_name: str) -> str:
    if model_name not in MODEL_NAMES:
        raise ValueError(f"unknown model name {model_name!r}; expected one of {MODEL_NAMES}")
    return model_name


@keras.saving.register_keras_serializable(package="ecglib")
class SafeLog(layers.Layer):
    """``log(max(x, floor))``: turns RR ratios into differences a Dense layer can combine linearly."""

    def __init__(self, floor: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.floor = float(floor)

    def call(self, x):
        """``log(max(x, floor))`` elementwise; ``x`` is any float tensor (e.g. ``(batch, k)`` RR ratios)."""
        return keras.ops.log(keras.ops.maximum(x, self.floor))

    def get_config(self) -> dict:
        """Keras' config plus ``floor``, so a saved ``.keras`` model rebuilds the layer."""
        return {**super().get_config(), "floor": self.floor}


@keras.saving.register_keras_serializable(package="ecglib")
class TakeColumns(layers.Layer):
    """The given columns of a ``(batch, features)`` input, in the given order."""

    def __init__(self, columns: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]

    def call(self, x):
        """``x[..., columns]``: ``(batch, features)`` in, ``(batch, len(columns))`` out."""
        return keras.ops.take(x, self.columns, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """``input_shape`` with its last axis replaced by ``len(columns)``."""
        return (*input_shape[:-1], len(self.columns))

    def get_config(self) -> dict:
        """Keras' config plus ``columns``, so a saved ``.keras`` model rebuilds the layer."""
        return {**super().get_config(), "columns": self.columns}


def _rr_columns(names: Sequence[str], n_rr: int) -> list[int]:
    if isinstance(names, str) or not names:
        raise ValueError(f"rr_features must be a non-empty list of names from {RR_FEATURES}, got {names!r}")
    if n_rr != len(RR_FEATURES):
        raise ValueError(f"rr_features names columns of the {len(RR_FEATURES)} RR_FEATURES, but n_rr = {n_rr}")
    unknown = [n for n in names if n not in RR_FEATURES]
    if unknown:
        raise ValueError(f"unknown RR features {unknown}; expected names from {RR_FEATURES}")
    return [RR_FEATURES.index(n) for n in names]


#: Beats (evenly spaced over the recording) whose median makes a record's reference image.
REFERENCE_BEATS: int = 4096
#: With a pre-RR quantile, a recording with fewer qualifying beats than this uses all its beats.
MIN_REFERENCE_BEATS: int = 20


def reference_image(images: np.ndarray, max_beats: int = REFERENCE_BEATS) -> np.ndarray:
    """The per-pixel median of a recording's uint8 spectrograms ``(n, h, w)``: its typical beat.

    Most beats of any recording are normal, so the median is that patient's normal beat; no labels
    are used.

    Parameters
    ----------
    images
        ``(n, h, w)`` uint8 spectrograms of one recording, ``n >= 1`` (else ``ValueError``).
    max_beats
        At most this many beats, evenly spaced over ``images``, enter the median (a bound for long
        recordings; an MIT-BIH record has fewer); default :data:`REFERENCE_BEATS` (4096).

    Returns
    -------
    numpy.ndarray
        ``(h, w)`` uint8, the median rounded (half to even).
    """
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (n, height, width) array, got shape {images.shape}")
    if len(images) > max_beats:
        images = images[np.linspace(0, len(images) - 1, max_beats).round().astype(np.int64)]
    return np.round(np.median(images, axis=0)).astype(np.uint8)


def _check_quantile(rr_quantile: float | None) -> float | None:
    if rr_quantile is None:
        return None
    q = float(rr_quantile)
    if not 0.0 <= q < 1.0:
        raise ValueError(f"reference_rr_quantile must be in [0, 1) or None, got {rr_quantile!r}")
    return q


def reference_beats(pre_rr_s: np.ndarray, rr_quantile: float | None = None) -> np.ndarray:
    """Indices of one recording's beats that make its reference image.

    Parameters
    ----------
    pre_rr_s
        ``(n,)`` RR interval before each beat, in seconds (any unit works: only the order matters).
    rr_quantile
        None: all beats. Otherwise the beats whose pre-RR is at or above this quantile of the
        recording's pre-RR (e.g. 0.8: its longest fifth). A beat after a long interval is almost
        always a normal one (after a compensatory pause, or outside a run of early beats), which
        makes a better "typical beat" in recordings where early beats are common (record 232 is
        mostly atrial premature beats). Fewer than :data:`MIN_REFERENCE_BEATS` such beats: all.

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices into ``pre_rr_s``.
    """
    pre = np.asarray(pre_rr_s, dtype=np.float64)
    if pre.ndim != 1 or len(pre) == 0:
        raise ValueError(f"pre_rr_s must be a non-empty 1-D array of RR intervals, got shape {pre.shape}")
    q = _check_quantile(rr_quantile)
    everything = np.arange(len(pre), dtype=np.int64)
    if q is None:
        return everything
    if not np.isfinite(pre).all():
        raise ValueError("pre_rr_s holds NaN or infinite values")
    keep = np.flatnonzero(pre >= np.quantile(pre, q))
    return keep if len(keep) >= MIN_REFERENCE_BEATS else everything


def _reference_arrays(images, groups, pre_rr_s, rr_quantile):
    """Validated ``(images, groups, pre_rr_s, rr_quantile)`` of the reference builders."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be (n, height, width), got shape {images.shape}")
    n = len(images)
    rr_quantile = _check_quantile(rr_quantile)
    if rr_quantile is not None:
        if pre_rr_s is None:
            raise ValueError("rr_quantile needs pre_rr_s, the pre-RR interval of each beat")
        pre_rr_s = np.asarray(pre_rr_s, dtype=np.float64)
        if pre_rr_s.shape != (n,):
            raise ValueError(f"pre_rr_s must be (n,) with n = {n} beats, got shape {pre_rr_s.shape}")
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must be (n,) with n = {n} beats, got shape {groups.shape}")
    return images, groups, pre_rr_s, rr_quantile


def _reference_of(images, rows, pre_rr_s, rr_quantile, max_beats) -> np.ndarray:
    """:func:`reference_image` of the beats ``rows``, or of their long-RR ones (:func:`reference_beats`)."""
    used = rows if rr_quantile is None else rows[reference_beats(pre_rr_s[rows], rr_quantile)]
    return reference_image(images[used], max_beats)


def record_reference(
    images: np.ndarray,
    groups: np.ndarray | None = None,
    max_beats: int = REFERENCE_BEATS,
    *,
    pre_rr_s: np.ndarray | None = None,
    rr_quantile: float | None = None,
) -> np.ndarray:
    """Per-beat reference images ``(n, h, w)`` uint8: :func:`reference_image` of each beat's group.

    This is the ``"ref"`` input of ``efficient_cnn(reference=True)``.

    Parameters
    ----------
    images
        ``(n, h, w)`` uint8 spectrograms.
    groups
        ``(n,)`` recording each beat comes from (e.g. ``Dataset.records``); None (default) treats
        all beats as one recording.
    max_beats
        Cap on the beats (evenly spaced) entering one recording's median; default
        :data:`REFERENCE_BEATS`.
    pre_rr_s
        ``(n,)`` pre-RR interval of each beat, in seconds (only the order matters); required with
        ``rr_quantile``, unused without.
    rr_quantile
        None (default): all of a recording's beats enter its median. A quantile in [0, 1): only its
        long-RR beats, pre-RR at or above that quantile (:func:`reference_beats`).

    Returns
    -------
    numpy.ndarray
        ``(n, h, w)`` array of ``images``' dtype: row ``i`` is the reference image of beat ``i``'s
        recording.
    """
    images, groups, pre_rr_s, rr_quantile = _reference_arrays(images, groups, pre_rr_s, rr_quantile)
    out = np.empty_like(images)
    for g in np.unique(groups):  # no beats: no groups, an empty result
        rows = np.flatnonzero(groups == g)
        out[rows] = _reference_of(images, rows, pre_rr_s, rr_quantile, max_beats)
    return out


#: Length in seconds of the stretches of a recording that share one local reference image.
LOCAL_BLOCK_S: float = 30.0


def _check_window(window_s: float | None, name: str = "window_s") -> float | None:
    if window_s is None:
        return None
    w = float(window_s)
    if not (np.isfinite(w) and w > 0):
        raise ValueError(f"{name} must be a positive number of seconds or None, got {window_s!r}")
    return w


def local_reference(
    images: np.ndarray,
    times_s: np.ndarray,
    groups: np.ndarray | None = None,
    max_beats: int = REFERENCE_BEATS,
    *,
    window_s: float = 150.0,
    pre_rr_s: np.ndarray | None = None,
    rr_quantile: float | None = None,
    block_s: float = LOCAL_BLOCK_S,
) -> np.ndarray:
    """Per-beat *local* reference images ``(n, h, w)`` uint8: the typical beat of the minutes around it.

    Each recording (``groups``, as in :func:`record_reference`) is cut into blocks of ``block_s``
    seconds from its start (time 0, so the blocks do not depend on which beats are present). All
    beats of a block get the :func:`reference_image` of the beats within ``window_s`` seconds of
    the block's centre, chosen among those by :func:`reference_beats` (with ``rr_quantile``: the
    window's long-RR beats). A window with fewer than :data:`MIN_REFERENCE_BEATS` beats uses the
    whole recording's reference instead.

    Where the rhythm changes within a recording (an episode of atrial flutter, a run of
    ventricular beats), the whole-recording reference is a beat of the other rhythm; this one
    follows the episode. It is the ``"local_ref"`` input of ``efficient_cnn(local_reference_s=...)``.

    Parameters
    ----------
    images
        ``(n, h, w)`` uint8 spectrograms.
    times_s
        ``(n,)`` time of each beat (its R peak) from the start of its recording, in seconds.
    groups
        ``(n,)`` recording of each beat; None: one recording.
    max_beats
        Cap on the beats entering one median (:func:`reference_image`).
    window_s
        Half-width of the window around each block's centre, in seconds.
    pre_rr_s, rr_quantile
        As in :func:`record_reference`; the quantile is taken within each window.
    block_s
        Block length in seconds.
    """
    images, groups, pre_rr_s, q = _reference_arrays(images, groups, pre_rr_s, rr_quantile)
    times = np.asarray(times_s, dtype=np.float64)
    if times.shape != (len(images),) or not np.isfinite(times).all():
        raise ValueError(
            f"times_s must be (n,) finite beat times in seconds with n = {len(images)}, got shape {times.shape}"
        )
    window_s = _check_window(window_s)
    if not (np.isfinite(block_s) and block_s > 0):
        raise ValueError(f"block_s must be a positive number of seconds, got {block_s!r}")
    out = np.empty_like(images)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        t = times[rows]
        blocks = np.floor(t / block_s).astype(np.int64)
        whole = None  # the recording's reference, built only if some window is too sparse
        for b in np.unique(blocks):
            win = rows[np.abs(t - (b + 0.5) * block_s) <= window_s]
            if len(win) >= MIN_REFERENCE_BEATS:
                out[rows[blocks == b]] = _reference_of(images, win, pre_rr_s, q, max_beats)
                continue
            if whole is None:
                whole = _reference_of(images, rows, pre_rr_s, q, max_beats)
            out[rows[blocks == b]] = whole
    return out


@keras.saving.register_keras_serializable(package="ecglib")
class ReferenceRescaling(layers.Rescaling):
    """Rescaling of a reference input that also records how that reference is built.

    ``rr_quantile`` (None: all beats) and ``window_s`` (None: the whole recording, the ``"ref"``
    input; seconds: :func:`local_reference`, the ``"local_ref"`` input) are saved with the model,
    so that whoever feeds the model later (:func:`predict_proba`,
    :func:`ecglib.inference.predict_arrhythmia`) builds the same references as training did
    (:func:`reference_settings`).
    """

    def __init__(
        self,
        scale: float = 1.0 / 255,
        offset: float = 0.0,
        rr_quantile: float | None = None,
        window_s: float | None = None,
        **kwargs,
    ):
        super().__init__(scale, offset, **kwargs)
        self.rr_quantile = _check_quantile(rr_quantile)
        self.window_s = _check_window(window_s)

    def get_config(self) -> dict:
        return {**super().get_config(), "rr_quantile": self.rr_quantile, "window_s": self.window_s}


def _input_name(tensor) -> str:
    """An input tensor's name without the ``":0"`` suffix Keras may add."""
    return str(getattr(tensor, "name", "")).split(":")[0]


def _model_input(model, name: str):
    """The model's input tensor called ``name``, or None."""
    return next((t for t in model.inputs if _input_name(t) == name), None)


def ensemble_model(members: Sequence[keras.Model], name: str = "ensemble", learning_rate: float = 1e-3) -> keras.Model:
    """A model whose output is the mean of ``members``' class probabilities (a seed ensemble).

    Each member is nested in the new model as ``"member0"``, ``"member1"``, ...; they share its
    inputs, which are named as theirs are, so the ensemble is fed exactly as one member is
    (:func:`model_inputs`, :func:`predict_proba`). Saved and loaded as one ``.keras`` file.

    Parameters
    ----------
    members
        Two or more Keras models with the same named inputs (same shapes) and the same output
        shape, e.g. :func:`efficient_cnn` trained with different seeds. Their layers (and so their
        weights) are shared with the ensemble, not copied.
    name
        Name of the ensemble model.
    learning_rate
        Adam learning rate the ensemble is compiled with (only used if it is trained further).

    Returns
    -------
    keras.Model
        Compiled (categorical cross-entropy, accuracy), with its optimizer's variables built so the
        saved file reloads without a warning.

    Raises
    ------
    ValueError
        If there are fewer than two members, or they differ in inputs, output shape or the
        references they were trained with (:func:`reference_settings`: the ensemble is fed one
        set of inputs).
    """
    members = list(members)
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two members, got {len(members)}")

    def signature(model):
        inputs = sorted((_input_name(t), tuple(t.shape[1:])) for t in model.inputs)
        return inputs, tuple(model.outputs[0].shape[1:]), reference_settings(model)

    first = signature(members[0])
    for i, member in enumerate(members[1:], start=1):
        if signature(member) != first:
            raise ValueError(f"ensemble members differ: member 0 has inputs/shapes/output {first}, "
                             f"member {i} {signature(member)}")  # fmt: skip
    # The ensemble's inputs have the first member's structure (one tensor or a dict) and names.
    inputs = keras.tree.map_structure(
        lambda t: keras.Input(shape=t.shape[1:], dtype=t.dtype, name=_input_name(t)), members[0].input
    )
    # Re-wrapping gives each member a unique name (they are all "efficient_cnn") without copying weights.
    nested = [keras.Model(m.input, m.output, name=f"member{i}") for i, m in enumerate(members)]
    outputs = layers.Average(name=ENSEMBLE_MEAN)([m(inputs) for m in nested])
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    return model


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The members of a model built by :func:`ensemble_model` (also once reloaded), else ``[model]``.

    Parameters
    ----------
    model
        A Keras model.

    Returns
    -------
    list of keras.Model
        The models ``"member0"``, ``"member1"``, ... nested at the top level of ``model``, in order,
        if it is such an ensemble (they feed its :data:`ENSEMBLE_MEAN` layer); else ``[model]``,
        also for other models that happen to nest models.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    is_ensemble = (
        len(nested) >= 2
        and all(re.fullmatch(r"member\d+", m.name) for m in nested)
        and any(isinstance(layer, layers.Average) and layer.name == ENSEMBLE_MEAN for layer in model.layers)
    )
    return nested if is_ensemble else [model]


def _all_layers(model) -> list:
    """Every layer of ``model``, those of nested models included (depth first)."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(_all_layers(layer))
    return out


def uses_reference(model) -> bool:
    """Whether a model takes the per-record ``"ref"`` image input (``efficient_cnn(reference=True)``).

    Parameters
    ----------
    model
        A Keras model (built here or loaded); its inputs are looked up by name.

    Returns
    -------
    bool
        True if one of ``model.inputs`` is called ``"ref"``.
    """
    return _model_input(model, "ref") is not None


def reference_settings(model) -> dict:
    """Keyword arguments for :func:`model_inputs` that give ``model`` the references it was trained with.

    Parameters
    ----------
    model
        A Keras model (built here or loaded with its :class:`ReferenceRescaling` layers), or an
        :func:`ensemble_model` of such models (their layers are searched).

    Returns
    -------
    dict
        ``{}`` for a model without a ``"ref"`` input; else ``{"reference": True,
        "reference_rr_quantile": q}`` with ``q`` from the model's :class:`ReferenceRescaling` layer
        (None — all beats — for models saved before that layer existed), plus
        ``"local_reference_s"`` (the window of :func:`local_reference`, in seconds) for a model
        that also has a ``"local_ref"`` input.

    Raises
    ------
    ValueError
        If the model has a ``"local_ref"`` input but no :class:`ReferenceRescaling` layer with a
        saved window.
    """
    if not uses_reference(model):
        return {}
    rescalings = [layer for layer in _all_layers(model) if isinstance(layer, ReferenceRescaling)]
    q = next((layer.rr_quantile for layer in rescalings if layer.window_s is None), None)
    settings = {"reference": True, "reference_rr_quantile": q}
    if _model_input(model, "local_ref") is not None:
        window = next((layer.window_s for layer in rescalings if layer.window_s is not None), None)
        if window is None:
            raise ValueError(f"model {model.name!r} has a 'local_ref' input but no saved window (ReferenceRescaling)")
        settings["local_reference_s"] = window
    return settings


def rr_for_model(model, rr: np.ndarray) -> np.ndarray:
    """The RR columns ``model``'s ``"rr"`` input takes: all of ``rr``, or its leading ones.

    New features are appended to :data:`ecglib.beats.RR_FEATURES`, so a model saved when there
    were fewer takes the first columns (e.g. 6 before ``"rr_irregularity"`` was added).

    Parameters
    ----------
    model
        A Keras model; the width of its input called ``"rr"`` is read, if it has one.
    rr
        ``(n, n_rr)`` RR features, columns :data:`ecglib.beats.RR_FEATURES` (float32 as
        :func:`ecglib.beats.rr_features` makes them).

    Returns
    -------
    numpy.ndarray
        ``rr[:, :width]`` for a model whose ``"rr"`` input is ``width`` < ``n_rr`` wide; ``rr``
        unchanged (as an array) for a model without an ``"rr"`` input (or of unknown width), when
        the widths already match, or when ``rr`` is not 2-D.

    Raises
    ------
    ValueError
        If ``rr`` has fewer columns than the model takes.
    """
    rr = np.asarray(rr)
    rr_input = _model_input(model, "rr")
    width = None if rr_input is None else rr_input.shape[-1]
    if width is None or rr.ndim != 2 or rr.shape[1] == width:
        return rr
    if rr.shape[1] < width:
        raise ValueError(f"the model takes {width} RR features but rr has {rr.shape[1]} columns")
    return rr[:, :width]


def seed_cnn(
    input_shape: tuple[int, int, int] = SEED_INPUT_SHAPE, n_classes: int = 3, learning_rate: float = 1e-3
) -> keras.Model:
    """The original CNN on 128 × 128 RGB spectrograms (see the module docstring), compiled.

    Its input is ``to_rgb(images)`` of the default 128 × 128
    :class:`ecglib.spectrogram.SpectrogramConfig`.

    Parameters
    ----------
    input_shape
        ``(height, width, channels)`` of the input images, pixel values 0..255 (rescaled to 0..1
        inside); default :data:`SEED_INPUT_SHAPE`, ``(128, 128, 3)``.
    n_classes
        Number of output classes (softmax units), at least 2.
    learning_rate
        Adam learning rate.

    Returns
    -------
    keras.Model
        Input ``"image"``, output ``(n, n_classes)`` softmax probabilities; compiled with Adam and
        categorical cross-entropy, so it expects one-hot labels, which :func:`model_inputs`
        provides.
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for i, filters in enumerate((32, 64, 128), start=1):
        x = layers.Conv2D(filters, 3, name=LAST_CONV if i == 3 else f"conv{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="seed_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def efficient_cnn(
    image_shape: tuple[int, ...],
    n_rr: int = len(RR_FEATURES),
    n_classes: int = 3,
    filters: tuple[int, ...] = (16, 32, 48),
    rr_units: int = 32,
    head_units: int = 64,
    dropout: float = 0.3,
    learning_rate: float = 3e-3,
    batch_norm: bool = True,
    reference: bool = False,
    label_smoothing: float = 0.0,
    image_dropout: float = 0.0,
    rr_features: Sequence[str] | None = None,
    reference_rr_quantile: float | None = None,
    local_reference_s: float | None = None,
    first_time_pool: int = 2,
    first_time_stride: int = 1,
) -> keras.Model:
    """Our model: native-resolution spectrogram + RR features, compiled.

    Parameters
    ----------
    image_shape
        ``(height, width)`` or ``(height, width, 1)`` of the uint8 spectrograms (e.g. ``(16, 91)``
        for ``SpectrogramConfig(size=None)``). The model's ``"image"`` input takes exactly this
        shape; a channel axis is added inside.
    n_classes
        Number of output classes (softmax units).
    n_rr
        Number of RR features (input ``"rr"``), by default all of :data:`ecglib.beats.RR_FEATURES`.
    filters
        Channels of each conv block (3 × 3 conv → BatchNorm → ReLU, then 2 × 2 max-pool between
        blocks); the last conv is named ``"last_conv"``, followed by global average pooling.
    rr_units, head_units, dropout
        Width of the RR branch, of the Dense layer after concatenation, and its dropout rate.
    learning_rate
        Adam learning rate.
    batch_norm
        BatchNorm after each conv and on the log-RR features.
    reference
        Add a ``"ref"`` input (uint8, same shape as ``"image"``): the recording's median spectrogram
        (:func:`record_reference`; of all its beats, or see ``reference_rr_quantile``). The conv
        stack then sees two channels, the beat and ``beat - ref``: how this beat differs from the
        same patient's typical (normal) beat.
    reference_rr_quantile
        With ``reference``: build the reference from each recording's beats whose pre-RR is at
        or above this quantile of its pre-RR (:func:`reference_beats`); None uses all beats.
        Saved with the model (:func:`reference_settings`), which is all the model does with it.
    local_reference_s
        With ``reference``: add a second reference input, ``"local_ref"``, the typical beat of the
        ``±local_reference_s`` seconds around each beat (:func:`local_reference`, same
        ``reference_rr_quantile``), and a third channel ``beat - local_ref``. The record-wide
        reference misleads where the rhythm changes within a recording (a beat of an atrial
        flutter episode differs from the patient's sinus-rhythm beat); the network learns which
        difference to trust. Saved with the model like the quantile.
    label_smoothing
        Label smoothing of the cross-entropy loss.
    image_dropout
        Dropout rate on the pooled image features (before they meet the RR features): it keeps
        the network from leaning on the morphology of the training patients alone.
    rr_features
        Names (from :data:`ecglib.beats.RR_FEATURES`) of the RR columns the network uses; the
        ``"rr"`` input still takes all ``n_rr`` columns, in that order. ``None`` uses all.
        Ratios to the recording's mean RR transfer to new patients better than seconds do.
    first_time_pool
        Pooling factor of the time axis after the first conv block (later blocks pool by 2). With
        an STFT hop of 8 samples (twice the columns of a hop of 16), 4 lets the first block see the
        finer time grid while the later blocks run on the grid of a hop of 16 (variant
        ``hop8pool4`` of ``benchmarks/variants.py``; on a CPU it trained no faster than hop 8).
    first_time_stride
        Stride of the first conv along the time axis; its kernel then spans ``2 * stride + 1``
        columns (3 × 5 for a stride of 2), so that with an STFT hop of 8 samples it covers the
        time span of a 3 × 3 kernel on the columns of a hop of 16. With that hop and a stride of 2,
        the first block reads the finer grid but computes (and stores) its activations on the grid
        of a hop of 16, which set the cost of a training step on a CPU (variant ``hop8s2``).

    Returns
    -------
    keras.Model
        Inputs ``{"image", "rr"}`` (plus ``"ref"`` with ``reference``, and ``"local_ref"`` with
        ``local_reference_s``), output ``(n, n_classes)`` softmax probabilities; compiled with
        categorical cross-entropy (one-hot labels, as :func:`model_inputs` yields).
    """
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) not in (2, 3) or (len(image_shape) == 3 and image_shape[2] != 1) or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (height, width) or (height, width, 1), got {image_shape!r}")
    if n_rr < 1 or n_classes < 2 or not filters:
        raise ValueError(f"need n_rr >= 1, n_classes >= 2 and at least one conv block, got {n_rr}, {n_classes}, {filters}")
    check_positive_int(first_time_pool, "first_time_pool")
    check_positive_int(first_time_stride, "first_time_stride")
    if reference_rr_quantile is not None and not reference:
        raise ValueError("reference_rr_quantile needs reference=True")
    if local_reference_s is not None and not reference:
        raise ValueError("local_reference_s needs reference=True")
    local_reference_s = _check_window(local_reference_s, "local_reference_s")
    height, width = image_shape[:2]
    image = keras.Input(shape=image_shape, name="image")
    rr = keras.Input(shape=(n_rr,), name="rr")

    x = layers.Reshape((height, width, 1), name="add_channel")(image)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    inputs = {"image": image, "rr": rr}
    if reference:
        ref = keras.Input(shape=image_shape, name="ref")
        inputs["ref"] = ref
        r0 = layers.Reshape((height, width, 1), name="ref_channel")(ref)
        r0 = ReferenceRescaling(1.0 / 255, rr_quantile=reference_rr_quantile, name="ref_rescale")(r0)
        channels = [x, layers.Subtract(name="beat_minus_ref")([x, r0])]
        if local_reference_s is not None:
            local = keras.Input(shape=image_shape, name="local_ref")
            inputs["local_ref"] = local
            r1 = layers.Reshape((height, width, 1), name="local_ref_channel")(local)
            r1 = ReferenceRescaling(
                1.0 / 255, rr_quantile=reference_rr_quantile, window_s=local_reference_s, name="local_ref_rescale"
            )(r1)
            channels.append(layers.Subtract(name="beat_minus_local_ref")([x, r1]))
        x = layers.Concatenate(name="channels")(channels)
    for i, f in enumerate(filters, start=1):
        last = i == len(filters)
        stride = first_time_stride if i == 1 else 1
        x = layers.Conv2D(f, (3, 2 * stride + 1), strides=(1, stride), padding="same", use_bias=not batch_norm,
                          name=LAST_CONV if last else f"conv{i}")(x)  # fmt: skip
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        if not last:
            # Pool only while the frequency axis is still > 2 rows; time keeps shrinking.
            t_pool = first_time_pool if i == 1 else 2
            pool = (2 if x.shape[1] > 2 else 1, t_pool if x.shape[2] > t_pool else 1)
            x = layers.MaxPooling2D(pool, name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if image_dropout:
        x = layers.Dropout(image_dropout, name="image_dropout")(x)

    r = rr
    if rr_features is not None:
        r = TakeColumns(_rr_columns(rr_features, n_rr), name="rr_select")(r)
    r = SafeLog(name="rr_log")(r)
    if batch_norm:
        r = layers.BatchNormalization(momentum=0.9, name="rr_bn")(r)
    r = layers.Dense(rr_units, activation="relu", name="rr_dense1")(r)
    r = layers.Dense(rr_units, activation="relu", name="rr_dense2")(r)

    z = layers.Concatenate(name="concat")([x, r])
    z = layers.Dense(head_units, activation="relu", name="head")(z)
    z = layers.Dropout(dropout, name="dropout")(z)
    outputs = layers.Dense(n_classes, activation="softmax", name="probs")(z)
    model = keras.Model(inputs, outputs, name="efficient_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing) if label_smoothing else "categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_model(model_name: str, image_shape: tuple[int, ...] | None = None, n_classes: int = 3, **kwargs) -> keras.Model:
    """Build a compiled model by name (``"seed_cnn"`` or ``"efficient_cnn"``).

    Parameters
    ----------
    model_name
        ``"seed_cnn"`` or ``"efficient_cnn"`` (anything else raises ``ValueError``).
    image_shape
        For ``seed_cnn``, its ``(h, w, 3)`` input; None (default) gives 128 × 128 × 3. For
        ``efficient_cnn``, the ``(h, w)`` (or ``(h, w, 1)``) shape of its uint8 spectrograms, e.g.
        ``dataset.images.shape[1:]``; required (None raises ``ValueError``).
    n_classes
        Number of output classes.
    **kwargs
        Go to the builder: ``learning_rate`` for :func:`seed_cnn`, any further argument of
        :func:`efficient_cnn` (``filters``, ``reference``, ...).

    Returns
    -------
    keras.Model
        The compiled model, as :func:`seed_cnn` or :func:`efficient_cnn` returns it.
    """
    _check_name(model_name)
    if model_name == "seed_cnn":
        return seed_cnn(tuple(image_shape) if image_shape is not None else SEED_INPUT_SHAPE, n_classes, **kwargs)
    if image_shape is None:
        raise ValueError("efficient_cnn needs image_shape, e.g. dataset.images.shape[1:]")
    return efficient_cnn(tuple(image_shape), n_classes=n_classes, **kwargs)


def last_conv_layer_name(model: keras.Model) -> str:
    """Name of the model's last Conv2D layer (``"last_conv"`` for models built here).

    Parameters
    ----------
    model
        A Keras model; only its top-level ``model.layers`` are searched.

    Returns
    -------
    str
        :data:`LAST_CONV` if a Conv2D layer has that name, else the name of the last Conv2D layer
        in ``model.layers`` order. No Conv2D layer raises ``ValueError``.
    """
    names = [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]
    if not names and len(ensemble_members(model)) > 1:
        raise ValueError(f"model {model.name!r} is an ensemble: its Conv2D layers are in its members (ensemble_members)")
    if not names:
        raise ValueError(f"model {model.name!r} has no Conv2D layer")
    return LAST_CONV if LAST_CONV in names else names[-1]


class BeatSequence(keras.utils.PyDataset):
    """Batches for one model, built on demand from uint8 images and RR features.

    ``seed_cnn`` batches are ``float32 (b, 128, 128, 3)`` viridis RGB; ``efficient_cnn`` batches are
    ``{"image": uint8 (b, h, w), "rr": float32 (b, n_rr)}``, plus ``"ref": uint8 (b, h, w)`` when
    ``ref`` (per-beat reference images, :func:`record_reference`) is given, and ``"local_ref"``
    likewise (:func:`local_reference`). With labels, each item is
    ``(x, one_hot_y)`` or ``(x, one_hot_y, sample_weight)`` when ``class_weight`` is given.
    With ``shuffle`` the order is redrawn from ``seed`` at every epoch end (reproducibly);
    ``class_fraction={0: 0.25}`` then also draws a fresh random quarter of class 0 each epoch
    (majority-class undersampling: shorter epochs, every beat still seen over several epochs).
    ``rr_swap={2: 0.5}`` (needs ``shuffle``) shows a fresh random half of the class-2 beats, each
    epoch, with the RR features of a randomly drawn class-0 beat instead of their own.
    ``beat_weight`` (needs ``class_weight``) multiplies each beat's sample weight (e.g.
    :func:`ecglib.train.record_balance_weights`).

    ``workers`` (a :class:`keras.utils.PyDataset` option) defaults to 2 here, not 1: Keras then
    feeds the batches through its own thread queue and turns tf.data's autotuning off. With one
    worker, the autotuner's background thread (TensorFlow 2.21) made the start of some epochs, and
    some ``predict`` calls, wait about 7 s with the CPU idle: 7 to 28 % of the training time of
    ``benchmarks/models.py``'s runs on a 2-core Intel machine. The batches, and so the trained
    model, are the same either way.
    """

    def __init__(
        self,
        model_name: str,
        images: np.ndarray,
        rr: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        *,
        ref: np.ndarray | None = None,
        local_ref: np.ndarray | None = None,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 0,
        class_weight: dict[int, float] | None = None,
        class_fraction: dict[int, float] | None = None,
        rr_swap: dict[int, float] | None = None,
        beat_weight: np.ndarray | None = None,
        n_classes: int = 3,
        cmap: str = "viridis",
        **kwargs: Any,
    ):
        kwargs.setdefault("workers", 2)  # see the class docstring: avoids tf.data's idle waits
        super().__init__(**kwargs)
        self.model_name = _check_name(model_name)
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (n, height, width), got shape {images.shape} dtype {images.dtype}")
        n = len(images)
        if n == 0:
            raise ValueError("no beats: images is empty")
        if model_name == "seed_cnn" and images.shape[1:] != SEED_INPUT_SHAPE[:2]:
            raise ValueError(
                f"seed_cnn wants 128 x 128 images (SpectrogramConfig(size=(128, 128))), got {images.shape[1:]}"
            )
        if model_name == "efficient_cnn":
            if rr is None:
                raise ValueError("efficient_cnn needs the RR features (rr)")
            rr = np.asarray(rr, dtype=np.float32)
            if rr.ndim != 2 or len(rr) != n:
                raise ValueError(f"rr must be (n, n_features) with n = {n} beats, got shape {rr.shape}")
        self.refs = {}
        for key, value in (("ref", ref), ("local_ref", local_ref)):
            if value is None:
                continue
            value = np.asarray(value)
            if value.shape != images.shape or value.dtype != np.uint8:
                raise ValueError(
                    f"{key} must be uint8 of the images' shape {images.shape}, got {value.shape} {value.dtype}"
                )
            self.refs[key] = value
        if "local_ref" in self.refs and "ref" not in self.refs:
            raise ValueError("local_ref comes on top of ref (efficient_cnn's inputs); give both")
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (n,):
                raise ValueError(f"labels must be (n,) with n = {n} beats, got shape {labels.shape}")
            if labels.min() < 0 or labels.max() >= n_classes:
                raise ValueError(f"labels must lie in 0..{n_classes - 1}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if (class_weight is not None or class_fraction) and labels is None:
            raise ValueError("class_weight and class_fraction need labels")
        if beat_weight is not None:
            if class_weight is None:
                raise ValueError("beat_weight multiplies the class weights: give class_weight too")
            beat_weight = np.asarray(beat_weight, dtype=np.float32)
            if beat_weight.shape != (n,) or not np.all(np.isfinite(beat_weight)) or beat_weight.min() < 0:
                raise ValueError(
                    f"beat_weight must be (n,) finite and >= 0 with n = {n} beats, got shape {beat_weight.shape}"
                )
        self._beat_weight = beat_weight
        if class_fraction and not shuffle:
            raise ValueError("class_fraction (a fresh random subsample each epoch) needs shuffle=True")
        if class_fraction and not all(0 < f <= 1 for f in class_fraction.values()):
            raise ValueError(f"class_fraction values must lie in (0, 1], got {class_fraction}")
        if rr_swap:
            if labels is None or not shuffle or rr is None:
                raise ValueError("rr_swap needs labels, shuffle=True and the RR features")
            if not all(0 < f <= 1 and 0 < int(c) < n_classes for c, f in rr_swap.items()):
                raise ValueError(f"rr_swap maps classes 1..{n_classes - 1} to fractions in (0, 1], got {rr_swap}")
            if not np.any(labels == 0):
                raise ValueError("rr_swap draws RR features from class-0 beats, but labels hold none")
        self.images, self.rr, self.labels = images, rr, labels
        self._rr_swap = {int(c): float(f) for c, f in (rr_swap or {}).items()}
        self.batch_size, self.shuffle, self.n_classes = int(batch_size), bool(shuffle), int(n_classes)
        self._rng = np.random.default_rng(seed)
        self._fraction = dict(class_fraction or {})
        need_classes = self._fraction or self._rr_swap
        self._by_class = [np.flatnonzero(labels == c) for c in range(n_classes)] if need_classes else None
        self._order = self._draw_order() if shuffle else None
        self._rr_source = self._draw_rr_source()
        self._weights = None
        if class_weight is not None:
            table = np.ones(n_classes, dtype=np.float32)
            for c, w in class_weight.items():
                table[int(c)] = w
            self._weights = table
        if model_name == "seed_cnn":
            import matplotlib

            self._lut = (matplotlib.colormaps[cmap](np.arange(256))[:, :3]).astype(np.float32) * np.float32(255.0)

    def _draw_order(self) -> np.ndarray:
        if not self._fraction:
            return self._rng.permutation(len(self.images))
        parts = []
        for c, idx in enumerate(self._by_class):
            f = self._fraction.get(c, 1.0)
            k = len(idx) if f >= 1 else int(round(f * len(idx)))
            parts.append(idx if k == len(idx) else self._rng.choice(idx, size=k, replace=False))
        return self._rng.permutation(np.concatenate(parts))

    def _draw_rr_source(self) -> np.ndarray | None:
        """Whose RR features each beat shows this epoch (itself, or a class-0 beat for rr_swap)."""
        if not self._rr_swap:
            return None
        source = np.arange(len(self.images))
        donors = self._by_class[0]
        for c, f in self._rr_swap.items():
            idx = self._by_class[c]
            k = int(round(f * len(idx)))
            swap = self._rng.choice(idx, size=k, replace=False)
            source[swap] = self._rng.choice(donors, size=k)
        return source

    def __len__(self) -> int:
        """Batches per epoch: the beats of this epoch's draw (all, without ``class_fraction``) over ``batch_size``."""
        n = len(self._order) if self._order is not None else len(self.images)
        return math.ceil(n / self.batch_size)

    def _indices(self, idx: int) -> np.ndarray | slice:
        if idx < 0 or idx >= len(self):
            raise IndexError(f"batch {idx} out of range (0..{len(self) - 1})")
        n = len(self._order) if self._order is not None else len(self.images)
        start, stop = idx * self.batch_size, min((idx + 1) * self.batch_size, n)
        if self._order is None:
            return slice(start, stop)
        return np.sort(self._order[start:stop])  # sorted: contiguous-ish reads; order inside a batch is irrelevant

    def inputs(self, idx: int):
        """Model input of batch ``idx`` (no labels).

        Parameters
        ----------
        idx
            Batch number, ``0 <= idx < len(self)``.

        Returns
        -------
        numpy.ndarray or dict of numpy.ndarray
            ``"seed_cnn"``: ``(b, 128, 128, 3)`` float RGB values 0..255. ``"efficient_cnn"``:
            ``{"image": (b, h, w) uint8, "rr": (b, n_rr) float32}`` plus the reference inputs
            (``"ref"``, ``"local_ref"``) the sequence was built with.

        Raises
        ------
        IndexError
            If ``idx`` is out of range.
        """
        sel = self._indices(idx)
        if self.model_name == "seed_cnn":
            # Same colours as ecglib.spectrogram.to_rgb (whose LUT is this one rounded to uint8).
            return np.round(self._lut[self.images[sel]])
        rr = self.rr[sel] if self._rr_source is None else self.rr[self._rr_source[sel]]
        x = {"image": self.images[sel], "rr": rr}
        for key, value in self.refs.items():
            x[key] = value[sel]
        return x

    def __getitem__(self, idx: int) -> tuple:
        """Batch ``idx`` (as in :meth:`inputs`) in the form Keras' ``fit``/``predict`` expect.

        Returns
        -------
        tuple
            ``(inputs,)`` without labels; ``(inputs, one_hot)`` with labels; ``(inputs, one_hot,
            sample_weight)`` with class weights (times the per-beat weights, if any). ``inputs``
            is as :meth:`inputs`; ``one_hot`` is ``(batch, n_classes)`` float32.
        """
        x = self.inputs(idx)
        if self.labels is None:
            return (x,)
        sel = self._indices(idx)
        y_int = self.labels[sel].astype(np.int64)
        y = np.eye(self.n_classes, dtype=np.float32)[y_int]
        if self._weights is None:
            return x, y
        w = self._weights[y_int]
        if self._beat_weight is not None:
            w = w * self._beat_weight[sel]
        return x, y, w

    def on_epoch_end(self) -> None:
        """Keras calls this after each epoch: with ``shuffle``, draw the next epoch's beat order
        afresh, and with it the ``class_fraction`` subsample and the ``rr_swap`` rows."""
        if self.shuffle:
            self._order = self._draw_order()
            self._rr_source = self._draw_rr_source()


def model_inputs(
    model_name: str,
    data: Dataset | None = None,
    *,
    images: np.ndarray | None = None,
    rr: np.ndarray | None = None,
    labels: np.ndarray | bool | None = None,
    ref: np.ndarray | None = None,
    reference: bool = False,
    reference_rr_quantile: float | None = None,
    local_ref: np.ndarray | None = None,
    local_reference_s: float | None = None,
    times_s: np.ndarray | None = None,
    **kwargs: Any,
) -> BeatSequence:
    """What ``model.fit``/``predict`` want for ``model_name``, as a lazily batched :class:`BeatSequence`.

    Parameters
    ----------
    model_name
        ``"seed_cnn"`` (128 × 128 images, coloured to RGB per batch) or ``"efficient_cnn"``
        (``{"image", "rr"}``).
    data
        A :class:`ecglib.dataset.Dataset` (its images, RR features and labels are used), or None to
        pass ``images``/``rr``/``labels`` arrays directly. ``labels=False`` drops the labels
        (prediction only).
    images, rr, labels
        Without ``data``: ``(n, h, w)`` uint8 spectrograms, ``(n, n_rr)`` RR features (needed by
        ``efficient_cnn``) and ``(n,)`` integer classes (optional).
    ref, reference
        Per-beat reference images for ``efficient_cnn(reference=True)``; with ``reference`` and no
        ``ref`` they are computed here: :func:`record_reference` per record of ``data`` (or over
        all ``images`` when they are plain arrays, i.e. one recording).
    reference_rr_quantile
        How that reference is built (:func:`reference_beats`): None, all beats; a quantile, the
        beats with the longest pre-RR (column ``"pre_rr_s"`` of the RR features). Use
        :func:`reference_settings` to get what a trained model expects.
    local_ref, local_reference_s, times_s
        The ``"local_ref"`` input of ``efficient_cnn(local_reference_s=...)``: given, or computed
        here with ``local_reference_s`` (needs ``reference``) by :func:`local_reference` from the
        beat times, in seconds from the start of each recording (``data.peaks / FS``, or
        ``times_s`` with plain arrays).
    **kwargs
        ``batch_size``, ``shuffle``, ``seed``, ``class_weight``, ... (see :class:`BeatSequence`).
    """
    _check_name(model_name)
    if data is not None:
        images = data.images
        rr = data.rr if rr is None else rr
        labels = data.labels if labels is None else labels
    if images is None:
        raise ValueError("give a Dataset or an images array")
    if labels is False:
        labels = None
    if local_reference_s is not None and not reference:
        raise ValueError("local_reference_s needs reference=True (the local reference comes on top of the record's)")
    groups = data.records if data is not None else None
    pre_rr = None
    building = (reference and ref is None) or (local_reference_s is not None and local_ref is None)
    if building and reference_rr_quantile is not None:
        if rr is None:
            raise ValueError("reference_rr_quantile needs the RR features (rr=) for each beat's pre-RR")
        pre_rr = np.asarray(rr)[:, _rr_columns(["pre_rr_s"], np.asarray(rr).shape[1])[0]]
    if reference and ref is None:
        ref = record_reference(images, groups, pre_rr_s=pre_rr, rr_quantile=reference_rr_quantile)
    if local_reference_s is not None and local_ref is None:
        if times_s is None and data is not None:
            times_s = np.asarray(data.peaks, dtype=np.float64) / FS
        if times_s is None:
            raise ValueError("local_reference_s needs each beat's time in seconds (times_s=) with plain arrays")
        local_ref = local_reference(
            images, times_s, groups, window_s=local_reference_s, pre_rr_s=pre_rr, rr_quantile=reference_rr_quantile
        )
    return BeatSequence(model_name, images, rr, labels, ref=ref, local_ref=local_ref, **kwargs)


def predict_proba(
    model: keras.Model, model_name: str, data: Dataset | None = None, *, batch_size: int = 256, **arrays
) -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` of a Dataset (or ``images=``/``rr=`` arrays), batch by batch.

    Parameters
    ----------
    model
        A trained model from :func:`build_model` (or :func:`ecglib.train.load_model`).
    model_name
        ``"seed_cnn"`` or ``"efficient_cnn"``: how the inputs are built (:func:`model_inputs`). For
        ``"efficient_cnn"``, the RR features are cut to the columns the model takes
        (:func:`rr_for_model`).
    data
        A :class:`ecglib.dataset.Dataset` (its images, RR features, records and peaks are used, its
        labels ignored), or None (default) to pass arrays.
    batch_size
        Beats per prediction batch.
    **arrays
        Keyword arguments of :func:`model_inputs`: ``images=`` ``(n, h, w)`` uint8 and ``rr=``
        ``(n, n_rr)`` without ``data`` (``rr=`` replaces ``data.rr``), and other
        :class:`BeatSequence` options. A model with a ``"ref"`` input gets per-record reference
        images (``ref=`` if given, else computed by :func:`record_reference` as the model was
        trained, :func:`reference_settings`, which ``reference_rr_quantile=`` overrides; plain
        arrays count as one recording). One with a ``"local_ref"`` input also needs the beat
        times (``times_s=``, seconds) with plain arrays.

    Returns
    -------
    numpy.ndarray
        ``(n, n_classes)`` float32 class probabilities, in the order of the beats.
    """
    if model_name == "efficient_cnn":
        for key, value in reference_settings(model).items():
            arrays.setdefault(key, value)
        rr = arrays.get("rr", data.rr if data is not None else None)
        if rr is not None:
            arrays["rr"] = rr_for_model(model, rr)
    seq = model_inputs(model_name, data, labels=False, batch_size=batch_size, **arrays)
    return np.asarray(model.predict(seq, verbose=0), dtype=np.float32)
