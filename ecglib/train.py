"""Training: seeded, class-weighted, early-stopped on validation patients; saving and loading models.

:func:`train_model` fits one of :data:`ecglib.models.MODEL_NAMES` on a training
:class:`ecglib.dataset.Dataset`, scores the validation Dataset (other patients) after every epoch
(loss, accuracy and macro-F1, one printed line per epoch), stops when the monitored value has not
improved for ``patience`` epochs and restores the best epoch's weights. Class weights come from the
training labels only.

:func:`save_model` writes a ``.keras`` file plus a JSON sidecar (``<path>.json``) holding the model
name, class names, training config, ecglib version and the Beat/Spectrogram configs needed to
rebuild the inputs; both are written atomically. :func:`load_model` reads them back.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecglib.data import CLASSES

if TYPE_CHECKING:  # for annotations only: Keras is imported inside the functions that use it
    import keras

    from ecglib.dataset import Dataset


@dataclass(frozen=True)
class TrainConfig:
    """Training settings.

    Attributes
    ----------
    epochs
        Maximum number of epochs.
    batch_size
        Beats per gradient step (the seed used 32).
    learning_rate
        Adam learning rate.
    patience
        Epochs without improvement of ``monitor`` before stopping (best weights are restored).
    monitor
        ``"val_loss"`` (minimised) or ``"val_macro_f1"`` / ``"val_accuracy"`` (maximised),
        computed on the validation Dataset.
    seed
        Seeds Python, NumPy, TensorFlow/Keras and the batch shuffling.
    class_weighting
        ``"balanced"`` (n / (k · n_c)), ``"sqrt"`` (its square root, milder), or ``"none"``.
    max_train_beats
        If set, train on a class-stratified random subsample of this many training beats (a time
        budget for the seed model); None uses every beat.
    majority_fraction
        Fraction of the N (class 0) training beats drawn afresh each epoch (undersampling the
        majority class: shorter epochs). N's class weight is divided by it, so the expected loss
        is unchanged.
    model_kwargs
        Extra keyword arguments for the model builder (e.g. ``filters`` of ``efficient_cnn``).
    ema
        If > 0, keep an exponential moving average of the trainable weights over the gradient steps
        (this decay per step, e.g. 0.99); the averaged weights are the ones validated after each
        epoch, early-stopped on and returned. Averaging damps the epoch-to-epoch swings of the
        decision boundary that make validation scores unstable. 0 (default) disables it.
    v_rr_swap
        Fraction of the V (class 2) training beats shown, each epoch, with the RR features of a
        random N training beat instead of their own (a fresh draw every epoch). It teaches that a
        ventricular beat is told by its shape, whatever its timing: ventricular escape beats come
        late, not early, and MIT-BIH holds almost none outside record 207. 0 (default) disables it.
    lr_schedule
        ``"constant"`` (default): ``learning_rate`` throughout. ``"cosine"``: set at the start of
        each epoch ``e`` (from 0) to ``learning_rate · (1 + cos(π e / epochs)) / 2``, so the steps
        shrink towards the last epoch and the weights settle instead of swinging from epoch to
        epoch (early stopping still applies). The rate used is logged as ``learning_rate``.
    record_balance
        Exponent ``a`` of a per-beat loss weight that evens out the recordings within each class
        (:func:`record_balance_weights`): a beat of class ``c`` from a recording holding ``n``
        training beats of that class weighs in proportion to ``n ** -a`` (then scaled so each
        class keeps its total weight). 0 (default): every beat of a class weighs the same, so one
        recording can dominate a class (record 232 holds 61 % of the S beats of protocol (a)'s
        training patients); 1: every recording weighs the same within a class.
    record_balance_classes
        The classes ``record_balance`` applies to (e.g. ``(1,)``: S only); None, all.
    ensemble_size
        Number of models trained, each with all the settings above, and averaged
        (:func:`ecglib.models.ensemble_model`): a seed ensemble. Member ``i`` is trained with the
        seed ``seed · ensemble_size + i``, so ensembles of different ``seed`` share no member (with
        three: seeds 0-2, then 3-5, ...); with ``max_train_beats`` each member draws its own
        subsample with its seed. 1 (default): one model, seeded with ``seed``.
    verbose
        Print one line per epoch.
    """

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 5
    monitor: str = "val_loss"
    seed: int = 0
    class_weighting: str = "balanced"
    max_train_beats: int | None = None
    majority_fraction: float = 1.0
    model_kwargs: dict = field(default_factory=dict)
    ema: float = 0.0
    v_rr_swap: float = 0.0
    lr_schedule: str = "constant"
    record_balance: float = 0.0
    record_balance_classes: tuple[int, ...] | None = None
    ensemble_size: int = 1
    verbose: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 0:
            raise ValueError("need epochs >= 1, batch_size >= 1 and patience >= 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.monitor not in ("val_loss", "val_macro_f1", "val_accuracy"):
            raise ValueError(f"monitor must be 'val_loss', 'val_macro_f1' or 'val_accuracy', got {self.monitor!r}")
        if self.class_weighting not in ("balanced", "sqrt", "none"):
            raise ValueError(f"class_weighting must be 'balanced', 'sqrt' or 'none', got {self.class_weighting!r}")
        if not 0 < self.majority_fraction <= 1:
            raise ValueError(f"majority_fraction must lie in (0, 1], got {self.majority_fraction}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must lie in [0, 1), got {self.ema}")
        if not 0 <= self.v_rr_swap <= 1:
            raise ValueError(f"v_rr_swap must lie in [0, 1], got {self.v_rr_swap}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not 0 <= self.record_balance <= 1:
            raise ValueError(f"record_balance must lie in [0, 1], got {self.record_balance}")
        classes = self.record_balance_classes
        if classes is not None and not all(0 <= c < len(CLASSES) for c in classes):
            raise ValueError(f"record_balance_classes must be class indices 0..{len(CLASSES) - 1}, got {classes}")
        if isinstance(self.ensemble_size, bool) or not isinstance(self.ensemble_size, int) or self.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be a positive integer, got {self.ensemble_size!r}")
        if self.max_train_beats is not None and self.max_train_beats < 1:
            raise ValueError(f"max_train_beats must be positive or None, got {self.max_train_beats}")

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass
class TrainResult:
    """What :func:`train_model` returns.

    For an ensemble (``ensemble_size`` > 1), ``history``, ``epochs_run`` and ``best_epoch`` are
    lists with one entry per member, ``seconds`` is the sum over members, and ``members`` holds
    each member's own result.

    Attributes
    ----------
    model
        The trained Keras model (best validation epoch's weights), or the
        :func:`ecglib.models.ensemble_model` of the members.
    history
        ``{metric: [value per epoch]}`` (loss, accuracy, val_loss, val_accuracy, val_macro_f1, and
        epoch_train_s: seconds of gradient steps of the epoch, without the validation pass).
    seconds
        Wall-clock training time, including the per-epoch validation passes.
    epochs_run
        Epochs actually run (fewer than ``config.epochs`` after early stopping).
    best_epoch
        1-based epoch whose weights were restored.
    class_weight
        The class weights used (``{class index: weight}``), or None; for an ensemble, the first
        member's (the same for all unless ``max_train_beats`` drew each member's own subsample).
    members
        The members' results, in seed order; empty for a single model.
    """

    model: Any
    history: dict[str, list[float]] | list[dict[str, list[float]]]
    seconds: float
    epochs_run: int | list[int]
    best_epoch: int | list[int]
    class_weight: dict[int, float] | None
    members: list[TrainResult] = field(default_factory=list)


def class_weights(labels: np.ndarray, n_classes: int = len(CLASSES), mode: str = "balanced") -> dict[int, float]:
    """Per-class loss weights from (training) labels.

    Parameters
    ----------
    labels
        ``(n,)`` integer class indices in ``0..n_classes-1``.
    n_classes
        Number of classes; default ``len(CLASSES)`` (3).
    mode
        ``"balanced"`` (default): ``n / (n_classes * n_c)``, as scikit-learn's
        ``compute_class_weight``; ``"sqrt"``: the square root of that. (``TrainConfig``'s
        ``"none"`` is not accepted here.)

    Returns
    -------
    dict
        ``{class index: weight}`` (float) for every class ``0..n_classes-1``; a class absent from
        ``labels`` gets weight 0.

    Raises
    ------
    ValueError
        If ``labels`` is empty, not 1-D integers, or outside ``0..n_classes-1``, or ``mode`` is
        not ``"balanced"`` or ``"sqrt"``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    if mode not in ("balanced", "sqrt"):
        raise ValueError(f"mode must be 'balanced' or 'sqrt', got {mode!r}")
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, len(labels) / (n_classes * counts), 0.0)
    if mode == "sqrt":
        w = np.sqrt(w)
    return {int(c): float(w[c]) for c in range(n_classes)}


def record_balance_weights(
    labels: np.ndarray, records: np.ndarray, exponent: float, classes: Sequence[int] | None = None
) -> np.ndarray:
    """Per-beat loss multipliers that even out the recordings within each class.

    A beat of class ``c`` from a recording with ``n_rc`` beats of that class gets ``n_rc ** -exponent``,
    scaled so that the multipliers of each class average 1 (each class keeps its total weight,
    which the class weights set).

    Parameters
    ----------
    labels
        ``(n,)`` integer class of each beat.
    records
        ``(n,)`` recording (patient) of each beat.
    exponent
        0: all ones; 1: every recording holding a class weighs the same within that class.
    classes
        The classes to even out (None: all); the beats of the others get 1.

    Returns
    -------
    ndarray
        ``(n,)`` float32 multipliers, mean 1 within each class.
    """
    labels, records = np.asarray(labels), np.asarray(records)
    if labels.ndim != 1 or labels.shape != records.shape:
        raise ValueError(f"labels and records must be 1-D of one length, got shapes {labels.shape} and {records.shape}")
    if not 0 <= exponent <= 1:
        raise ValueError(f"exponent must lie in [0, 1], got {exponent}")
    out = np.ones(len(labels), dtype=np.float64)
    for c in np.unique(labels):
        if classes is not None and int(c) not in classes:
            continue
        in_c = labels == c
        _, inverse, counts = np.unique(records[in_c], return_inverse=True, return_counts=True)
        w = counts[inverse].astype(np.float64) ** -exponent
        out[in_c] = w / w.mean()
    return out.astype(np.float32)


def stratified_subsample(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of about ``n`` beats drawn without replacement, keeping the class proportions.

    Each class gets ``round(n * its share)`` beats, but at least one (and at most all of its own),
    so a rare class is never dropped: the total can differ from ``n`` by a few beats.

    Parameters
    ----------
    labels
        ``(n_beats,)`` class of each beat (any values ``np.unique`` can sort; e.g. int8 indices).
    n
        Number of beats wanted; ``n >= len(labels)`` returns every beat.
    seed
        Seed of the ``numpy.random.default_rng`` that draws the beats; default 0.

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices into ``labels``.
    """
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = max(1, int(round(n * len(idx) / len(labels))))
        out.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    return np.sort(np.concatenate(out))


def cosine_rate(config: TrainConfig, epoch: int) -> float:
    """Learning rate of epoch ``epoch`` under ``lr_schedule="cosine"`` (see :class:`TrainConfig`).

    Parameters
    ----------
    config
        Uses ``learning_rate`` and ``epochs`` (not ``lr_schedule``: the cosine rate is returned
        whatever the schedule).
    epoch
        Epoch index, from 0 (0 gives ``learning_rate``; not checked against ``epochs``).

    Returns
    -------
    float
        ``learning_rate * (1 + cos(pi * epoch / epochs)) / 2``.
    """
    return float(config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs)))


def _make_val_callback(model_name: str, val, batch_size: int, verbose: bool, reference_kwargs: dict | None = None):
    import keras

    from ecglib.models import model_inputs

    class ValidationScores(keras.callbacks.Callback):
        """Scores the validation patients after each epoch and adds val_* to the logs (before
        EarlyStopping and History see them); prints one line per epoch."""

        def __init__(self):
            super().__init__()
            self.seq = model_inputs(
                model_name, val, labels=False, batch_size=max(batch_size, 256), **(reference_kwargs or {})
            )
            self.y = np.asarray(val.labels).astype(np.int64)
            self.t0 = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            from sklearn.metrics import f1_score

            logs = logs if logs is not None else {}
            logs["epoch_train_s"] = time.perf_counter() - self.t0  # gradient steps only, no validation
            proba = np.asarray(self.model.predict(self.seq, verbose=0), dtype=np.float64)
            n_classes = proba.shape[1]
            p_true = np.clip(proba[np.arange(len(self.y)), self.y], 1e-7, 1.0)
            pred = proba.argmax(1)
            logs["val_loss"] = float(-np.log(p_true).mean())
            logs["val_accuracy"] = float((pred == self.y).mean())
            logs["val_macro_f1"] = float(
                f1_score(self.y, pred, labels=list(range(n_classes)), average="macro", zero_division=0)
            )
            if verbose:
                print(
                    f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.4f} "
                    f"acc {logs.get('accuracy', float('nan')):.4f} | val_loss {logs['val_loss']:.4f} "
                    f"val_acc {logs['val_accuracy']:.4f} val_macro_f1 {logs['val_macro_f1']:.4f} "
                    f"({time.perf_counter() - self.t0:.1f} s)",
                    flush=True,
                )

    return ValidationScores()


def _make_ema_callback(decay: float):
    import keras

    class WeightAverage(keras.callbacks.Callback):
        """Exponential moving average of the trainable weights, updated after every gradient step.
        At each epoch end the averaged weights are swapped in (so validation, early stopping and the
        final model see them); the raw weights are swapped back before training resumes."""

        def __init__(self):
            super().__init__()
            self.avg = None
            self.raw = None
            self.steps = 0

        def _vars(self):
            return self.model.trainable_variables

        def on_train_batch_end(self, batch, logs=None):
            values = [np.asarray(v.numpy()) for v in self._vars()]
            if self.avg is None:
                self.avg = [x.copy() for x in values]
                return
            # Warm-up (as tf.train.ExponentialMovingAverage with num_updates): early on the average
            # follows the weights closely, so a short run (quick mode) is not stuck near the
            # random initial weights.
            self.steps += 1
            d = min(decay, (1.0 + self.steps) / (10.0 + self.steps))
            for a, x in zip(self.avg, values):
                a *= d
                a += (1.0 - d) * x

        def on_epoch_begin(self, epoch, logs=None):
            if self.raw is not None:
                for v, x in zip(self._vars(), self.raw):
                    v.assign(x)
                self.raw = None

        def on_epoch_end(self, epoch, logs=None):
            if self.avg is None:
                return
            self.raw = [np.asarray(v.numpy()) for v in self._vars()]
            for v, a in zip(self._vars(), self.avg):
                v.assign(a)

    return WeightAverage()


def train_model(model_name: str, train: Dataset, val: Dataset, config: TrainConfig = TrainConfig()) -> TrainResult:
    """Build, fit and early-stop one model, or (``config.ensemble_size`` > 1) several, averaged.

    Parameters
    ----------
    model_name
        ``"seed_cnn"`` (train/val must hold 128 × 128 images) or ``"efficient_cnn"``.
    train, val
        :class:`ecglib.dataset.Dataset` of the training and validation patients. Validation beats
        are used only to choose the epoch (early stopping), never for gradient steps.
    config
        :class:`TrainConfig`.

    Returns
    -------
    TrainResult
        With ``config.ensemble_size`` > 1, that many models trained one after the other (seeds as
        :class:`TrainConfig` says) and their :func:`ecglib.models.ensemble_model`.
    """
    import keras

    from ecglib.models import build_model, ensemble_model, model_inputs, reference_settings

    if model_name not in ("seed_cnn", "efficient_cnn"):
        raise ValueError(f"unknown model name {model_name!r}; expected 'seed_cnn' or 'efficient_cnn'")
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"train and val must both hold beats, got {len(train)} and {len(val)}")
    if train.images.shape[1:] != val.images.shape[1:]:
        raise ValueError(f"train and val images differ in shape: {train.images.shape[1:]} vs {val.images.shape[1:]}")
    k = config.ensemble_size
    if k > 1:
        members = []
        for i in range(k):
            if config.verbose:
                print(f"ensemble member {i + 1} of {k} (seed {config.seed * k + i})", flush=True)
            one = dataclasses.replace(config, ensemble_size=1, seed=config.seed * k + i)
            members.append(train_model(model_name, train, val, one))
        model = ensemble_model([m.model for m in members], learning_rate=config.learning_rate)
        return TrainResult(model, [m.history for m in members], float(sum(m.seconds for m in members)),
                           [m.epochs_run for m in members], [m.best_epoch for m in members],
                           members[0].class_weight, members)  # fmt: skip
    keras.utils.set_random_seed(config.seed)
    if config.max_train_beats is not None and config.max_train_beats < len(train):
        train = train.take(stratified_subsample(train.labels, config.max_train_beats, config.seed))

    n_classes = len(CLASSES)
    weights = None if config.class_weighting == "none" else class_weights(train.labels, n_classes, config.class_weighting)
    if model_name == "seed_cnn":
        model = build_model("seed_cnn", n_classes=n_classes, learning_rate=config.learning_rate, **config.model_kwargs)
    else:
        model = build_model(
            "efficient_cnn",
            image_shape=train.images.shape[1:],
            n_classes=n_classes,
            n_rr=train.rr.shape[1],
            learning_rate=config.learning_rate,
            **config.model_kwargs,
        )
    # The "ref" input (if any) is built as the model says, for training and validation alike.
    reference_kwargs = reference_settings(model) if model_name == "efficient_cnn" else {}
    if weights is None and (config.majority_fraction < 1 or config.record_balance > 0):
        weights = {c: 1.0 for c in range(n_classes)}  # undersampling and per-beat multipliers act on class weights
    fraction = None
    if config.majority_fraction < 1:
        fraction = {0: config.majority_fraction}
        weights = dict(weights)
        weights[0] = weights[0] / config.majority_fraction
    beat_weight = None
    if config.record_balance > 0:
        beat_weight = record_balance_weights(
            train.labels, train.records, config.record_balance, config.record_balance_classes
        )
    seq = model_inputs(
        model_name,
        train,
        batch_size=config.batch_size,
        shuffle=True,
        seed=config.seed,
        class_weight=weights,
        class_fraction=fraction,
        rr_swap={2: config.v_rr_swap} if config.v_rr_swap > 0 and model_name == "efficient_cnn" else None,
        beat_weight=beat_weight,
        **reference_kwargs,
    )
    val_cb = _make_val_callback(model_name, val, config.batch_size, config.verbose, reference_kwargs)
    mode = "min" if config.monitor == "val_loss" else "max"
    stop = keras.callbacks.EarlyStopping(
        monitor=config.monitor, mode=mode, patience=config.patience, restore_best_weights=True
    )
    if config.verbose:
        print(
            f"training {model_name}: {len(train)} beats, validation {len(val)} beats, "
            f"class weights {weights}, up to {config.epochs} epochs",
            flush=True,
        )
    t0 = time.perf_counter()
    callbacks = [val_cb, stop] if not config.ema else [_make_ema_callback(config.ema), val_cb, stop]
    if config.lr_schedule == "cosine":
        callbacks.insert(0, keras.callbacks.LearningRateScheduler(lambda epoch: cosine_rate(config, epoch)))
    hist = model.fit(seq, epochs=config.epochs, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    epochs_run = len(history.get("loss", []))
    scores = history[config.monitor]
    best = int(np.argmin(scores) if mode == "min" else np.argmax(scores)) + 1
    if config.verbose:
        print(f"{model_name}: {epochs_run} epochs in {seconds:.1f} s, best epoch {best}", flush=True)
    return TrainResult(model, history, seconds, epochs_run, best, weights)


# --------------------------------------------------------------------------------------------- I/O


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def save_model(model: keras.Model, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save ``model`` to ``path`` (must end in ``.keras``) and ``metadata`` to ``<path>.json``.

    Both files are written to temporary names and renamed into place.

    Parameters
    ----------
    model
        The Keras model (saved with ``model.save``).
    path
        Model file; must end in ``.keras`` (else ``ValueError``). Parent folders are created; the
        metadata goes to ``<path>.json`` (e.g. ``model.keras.json``).
    metadata
        What is needed to use the model later: ``model_name``, the ``beat_config`` /
        ``spectrogram_config`` dicts, the training config. Must be JSON-serialisable (dataclasses
        and NumPy scalars and arrays are converted; anything else raises ``ValueError``). Class
        names (``"class_names"``) and the ecglib and Keras versions (``"ecglib_version"``,
        ``"keras_version"``) are added; a key of ``metadata`` with one of those names wins. None
        (default): only those.

    Returns
    -------
    pathlib.Path
        The ``.keras`` path.
    """
    import keras

    import ecglib
    from ecglib._io import atomic_path

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model path must end in .keras, got {path}")
    meta = {"class_names": list(CLASSES), "ecglib_version": ecglib.__version__, "keras_version": keras.__version__}
    meta.update(dict(metadata or {}))
    try:
        blob = json.dumps(meta, indent=2, sort_keys=True, default=_json_default)
    except TypeError as exc:
        raise ValueError(f"metadata is not JSON-serialisable: {exc}") from exc
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        with atomic_path(_sidecar(path), suffix=".json") as tmp_meta:
            tmp_meta.write_text(blob)
    return path


def _json_default(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def load_model(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Load a model written by :func:`save_model`.

    Parameters
    ----------
    path
        The ``.keras`` file. Its metadata is read from ``<path>.json`` next to it; when that file
        is missing a warning is printed to stderr.

    Returns
    -------
    model, metadata
        The compiled Keras model and the metadata dict (``{}`` if the sidecar is missing).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable ``.keras`` model or its metadata is corrupt.
    """
    import keras

    import ecglib.models  # noqa: F401  (registers the custom layers)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        model = keras.saving.load_model(path, compile=True)
    except Exception as exc:  # keras raises a zoo of types for a bad zip / config
        raise ValueError(f"could not load model file {path}: it is corrupt or not a Keras model ({exc})") from exc
    meta_path = _sidecar(path)
    meta: dict = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"model metadata {meta_path} is corrupt: {exc}") from exc
    else:
        print(f"warning: {meta_path} is missing; returning empty metadata", file=sys.stderr)
    return model, meta
