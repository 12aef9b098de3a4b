"""Metrics and plots for a 3-class (N/S/V) beat classifier.

:func:`evaluate_predictions` returns a JSON-serialisable dict: accuracy, macro-F1, per-class
precision / recall / F1 / support, one-vs-rest ROC-AUC and PR-AUC (average precision), the ANSI/AAMI
EC57 statistics per class (sensitivity Se, positive predictivity +P, false-positive rate FPR) and the
confusion matrix (rows = true class, columns = predicted). :func:`tune_class_weights` fits a
decision rule on validation beats. The plot functions return matplotlib figures;
:func:`metrics_table` formats one or more metric dicts as a Markdown table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # for annotations only: matplotlib is imported inside the plot functions
    from matplotlib.figure import Figure

DEFAULT_CLASSES: tuple[str, ...] = ("N", "S", "V")


def _nan_to_none(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _check(y_true, proba, class_names) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    k = len(class_names)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true must be a non-empty 1-D array of class indices, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y_true must hold integer class indices, got dtype {y.dtype}")
    if p.ndim != 2 or p.shape != (len(y), k):
        raise ValueError(f"proba must be (n, {k}) = ({len(y)}, {k}), got shape {p.shape}")
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"y_true values must lie in 0..{k - 1}, got {y.min()}..{y.max()}")
    if not np.all(np.isfinite(p)):
        raise ValueError("proba contains NaN or infinite values")
    return y.astype(np.int64), p


def evaluate_predictions(
    y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str] = DEFAULT_CLASSES
) -> dict:
    """Every metric of one set of predictions.

    Parameters
    ----------
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities (or scores); the prediction is the arg-max.
    class_names
        Names of the ``k`` classes, in label order.

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``macro_f1``, ``macro_roc_auc``, ``macro_pr_auc``, ``per_class``
        (``{name: {precision, recall, f1, support, roc_auc, pr_auc, se, ppv, fpr}}``),
        ``confusion_matrix`` (list of lists, rows true, columns predicted) and ``class_names``.
        An undefined AAMI ``se`` or ``ppv``, ROC-AUC or PR-AUC (no beat of the class, true or
        predicted) is ``None``; an undefined precision, recall or F1 is 0.0, as in scikit-learn
        with ``zero_division=0``, and counts as 0 in ``macro_f1``.
    """
    from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

    class_names = list(class_names)
    y, p = _check(y_true, proba, class_names)
    k = len(class_names)
    labels = list(range(k))
    pred = p.argmax(axis=1)
    cm = confusion_matrix(y, pred, labels=labels)
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    per_class = {}
    total = cm.sum()
    for c, name in enumerate(class_names):
        tp = cm[c, c]
        fn = cm[c].sum() - tp
        fp = cm[:, c].sum() - tp
        tn = total - tp - fn - fp
        present = 0 < support[c] < len(y)
        roc = roc_auc_score(y == c, p[:, c]) if present else float("nan")
        ap = average_precision_score(y == c, p[:, c]) if support[c] > 0 else float("nan")
        per_class[name] = {
            "support": int(support[c]),
            "precision": float(prec[c]),
            "recall": float(rec[c]),
            "f1": float(f1[c]),
            "roc_auc": _nan_to_none(roc),
            "pr_auc": _nan_to_none(ap),
            # AAMI EC57: sensitivity, positive predictivity, false-positive rate.
            "se": _nan_to_none(tp / (tp + fn) if tp + fn else float("nan")),
            "ppv": _nan_to_none(tp / (tp + fp) if tp + fp else float("nan")),
            "fpr": _nan_to_none(fp / (fp + tn) if fp + tn else float("nan")),
        }
    rocs = [v["roc_auc"] for v in per_class.values() if v["roc_auc"] is not None]
    aps = [v["pr_auc"] for v in per_class.values() if v["pr_auc"] is not None]
    return {
        "n": int(len(y)),
        "class_names": class_names,
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(np.mean(f1)),
        "macro_roc_auc": _nan_to_none(np.mean(rocs)) if rocs else None,
        "macro_pr_auc": _nan_to_none(np.mean(aps)) if aps else None,
        "per_class": per_class,
        "confusion_matrix": cm.astype(int).tolist(),
    }


def tune_class_weights(
    y_true: np.ndarray,
    proba: np.ndarray,
    class_names: Sequence[str] = DEFAULT_CLASSES,
    grid: Sequence[float] | None = None,
) -> np.ndarray:
    """Class weights ``w`` that maximise the macro-F1 of ``argmax(proba * w)`` on these beats.

    A decision rule tuned after training, on validation patients (never on the test set): each
    class's probability is multiplied by its weight before the arg-max, which moves the decision
    thresholds between classes. The first class's weight stays 1 (only ratios matter); the others
    are searched over every combination of ``grid``. Among equally good weights the one closest to
    all ones (smallest sum of ``|log w|``) wins, so a model that needs no change keeps its arg-max.

    Parameters
    ----------
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities.
    class_names
        Names of the ``k`` classes, in label order.
    grid
        Candidate weights (positive); default 49 values spaced geometrically from 1/30 to 30
        (the middle one is exactly 1). Include 1 so that the arg-max itself is a candidate.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` weights, ``w[0] == 1``; score new beats with ``evaluate_predictions(y, proba * w)``.
    """
    import itertools

    y, p = _check(y_true, proba, class_names)
    k = len(class_names)
    grid = np.geomspace(1 / 30, 30, 49) if grid is None else np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError(f"grid must be a non-empty 1-D sequence of positive weights, got {grid!r}")
    best_key, best_w = None, np.ones(k)
    for rest in itertools.product(grid, repeat=k - 1):
        w = np.array([1.0, *rest])
        pred = (p * w).argmax(axis=1)
        cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
        tp = np.diag(cm)
        denom = cm.sum(axis=0) + cm.sum(axis=1)  # 2 TP + FP + FN
        f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
        key = (f1.mean(), -np.abs(np.log(w)).sum())
        if best_key is None or key > best_key:
            best_key, best_w = key, w
    return best_w


# ------------------------------------------------------------------------------------------ plots


def plot_confusion_matrix(
    metrics_or_cm: Mapping | np.ndarray, class_names: Sequence[str] | None = None, title: str = ""
) -> Figure:
    """Seaborn heatmaps of the confusion matrix: counts (left) and row-normalised recall (right).

    Parameters
    ----------
    metrics_or_cm
        A dict from :func:`evaluate_predictions` (its ``"confusion_matrix"`` and ``"class_names"``
        are used) or a ``(k, k)`` integer count matrix, rows true, columns predicted.
    class_names
        Names of the ``k`` classes, in label order. None (default): the dict's ``"class_names"``,
        else the first ``k`` of ``("N", "S", "V")``.
    title
        Figure title; ``""`` (default) for none.

    Returns
    -------
    matplotlib.figure.Figure
        Two heatmaps; a true class with no beats reads 0 in the normalised one.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if isinstance(metrics_or_cm, Mapping):
        cm = np.asarray(metrics_or_cm["confusion_matrix"])
        class_names = class_names or metrics_or_cm.get("class_names")
    else:
        cm = np.asarray(metrics_or_cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square (k, k), got shape {cm.shape}")
    class_names = list(class_names or DEFAULT_CLASSES[: cm.shape[0]])
    if len(class_names) != cm.shape[0]:
        raise ValueError(f"{len(class_names)} class names for a {cm.shape[0]}-class matrix")
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    sns.heatmap(cm, annot=True, fmt="d", cmap="Blues", cbar=False, ax=axes[0],
                xticklabels=class_names, yticklabels=class_names)  # fmt: skip
    sns.heatmap(norm, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=axes[1],
                xticklabels=class_names, yticklabels=class_names)  # fmt: skip
    axes[0].set_title("counts")
    axes[1].set_title("row-normalised (recall)")
    for ax in axes:
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _one_vs_rest_curves(y_true, proba, class_names, kind: str, title: str):
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    class_names = list(class_names)
    y, p = _check(y_true, proba, class_names)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    for c, name in enumerate(class_names):
        pos = y == c
        if not pos.any() or (kind == "roc" and pos.all()):
            continue
        if kind == "roc":
            fpr, tpr, _ = roc_curve(pos, p[:, c])
            ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(pos, p[:, c]):.3f})")
        else:
            prec, rec, _ = precision_recall_curve(pos, p[:, c])
            ax.plot(rec, prec, label=f"{name} (AP {average_precision_score(pos, p[:, c]):.3f})")
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)")
    else:
        ax.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    ax.set_title(title or ("ROC, one vs rest" if kind == "roc" else "precision–recall, one vs rest"))
    ax.legend(loc="lower right" if kind == "roc" else "lower left")
    fig.tight_layout()
    return fig


def plot_roc(
    y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str] = DEFAULT_CLASSES, title: str = ""
) -> Figure:
    """One-vs-rest ROC curve of each class, AUC in the legend.

    Parameters
    ----------
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities (or scores).
    class_names
        Names of the ``k`` classes, in label order.
    title
        Axes title; ``""`` (default) gives ``"ROC, one vs rest"``.

    Returns
    -------
    matplotlib.figure.Figure
        One curve per class, and the chance diagonal; a class absent from ``y_true`` (or the only
        class in it) has no curve.
    """
    return _one_vs_rest_curves(y_true, proba, class_names, "roc", title)


def plot_pr(
    y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str] = DEFAULT_CLASSES, title: str = ""
) -> Figure:
    """One-vs-rest precision–recall curve of each class, average precision in the legend.

    Parameters
    ----------
    y_true
        ``(n,)`` integer classes.
    proba
        ``(n, k)`` class probabilities (or scores).
    class_names
        Names of the ``k`` classes, in label order.
    title
        Axes title; ``""`` (default) gives ``"precision–recall, one vs rest"``.

    Returns
    -------
    matplotlib.figure.Figure
        One curve (precision against recall) per class; a class absent from ``y_true`` has none.
    """
    return _one_vs_rest_curves(y_true, proba, class_names, "pr", title)


def plot_history(
    history: Mapping[str, Sequence[float]] | Sequence[Mapping[str, Sequence[float]]], title: str = ""
) -> Figure:
    """Training curves: loss (train and validation) and accuracy / macro-F1 per epoch.

    Parameters
    ----------
    history
        ``{metric: [value per epoch]}``: ``TrainResult.history`` or a Keras ``History.history``
        dict. Keys ``"loss"`` and ``"val_loss"`` are drawn on the left, ``"accuracy"``,
        ``"val_accuracy"`` and ``"val_macro_f1"`` on the right, when present; others are ignored.
        Or a list of such dicts, one per member of an ensemble (an ensemble's
        ``TrainResult.history``): one row of panels each, titled ``member 1``, ``member 2``, ...
    title
        Figure title; ``""`` (default) for none.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels per row (one row per history), epochs numbered from 1.
    """
    import matplotlib.pyplot as plt

    histories = [history] if isinstance(history, Mapping) else list(history) if isinstance(history, Sequence) else []
    if not histories or not all(isinstance(h, Mapping) and h for h in histories):
        raise ValueError("history must be a non-empty {metric: [value per epoch]} dict, or a list of them")
    n = len(histories)
    fig, grid = plt.subplots(n, 2, figsize=(9, 3.5 if n == 1 else 2.6 * n + 0.6), squeeze=False)
    for i, (hist, axes) in enumerate(zip(histories, grid)):
        for key in ("loss", "val_loss"):
            if key in hist:
                axes[0].plot(np.arange(1, len(hist[key]) + 1), hist[key], marker="o", ms=3, label=key)
        for key in ("accuracy", "val_accuracy", "val_macro_f1"):
            if key in hist:
                axes[1].plot(np.arange(1, len(hist[key]) + 1), hist[key], marker="o", ms=3, label=key)
        member = f"member {i + 1}: " if n > 1 else ""
        axes[0].set(xlabel="epoch", ylabel="cross-entropy", title=f"{member}loss")
        axes[1].set(xlabel="epoch", ylabel="score", title=f"{member}accuracy / macro-F1")
        for ax in axes:
            if ax.lines and i == 0:
                ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ table


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{digits}f}"


def metrics_table(metrics: Mapping, class_names: Sequence[str] | None = None) -> str:
    """A Markdown table of one or several metric dicts.

    Each row: accuracy, per-class precision / recall / F1, macro ROC-AUC and PR-AUC.

    Parameters
    ----------
    metrics
        A dict from :func:`evaluate_predictions` (one row, empty label) or ``{row label: metrics
        dict}``. A metrics dict may carry ``"seconds"`` (training time, column ``"train s"``, which
        reads ``"–"`` without it) and, for cross-validation, ``"*_sd"`` keys written by the caller
        (``accuracy_sd``, ``macro_roc_auc_sd``, ``macro_pr_auc_sd``, ``per_class_sd``, as
        :func:`ecglib.protocols.summarise_folds` writes them); these are shown as mean ± sd.
    class_names
        Classes whose columns are shown, in order. None (default): the first row's
        ``"class_names"``, else ``("N", "S", "V")``.

    Returns
    -------
    str
        The table, one line per row, values to 3 decimals; a missing value reads ``"–"``.
    """
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError("metrics must be a metrics dict or a non-empty {label: metrics dict}")
    rows = {"": metrics} if "per_class" in metrics else dict(metrics)
    for label, m in rows.items():
        if not isinstance(m, Mapping) or "per_class" not in m:
            raise ValueError(f"row {label!r} is not a metrics dict from evaluate_predictions")
    first = next(iter(rows.values()))
    names = list(class_names or first.get("class_names") or DEFAULT_CLASSES)
    header = ["", "acc"]
    for n in names:
        header += [f"{n} P", f"{n} R", f"{n} F1"]
    header += ["ROC-AUC", "PR-AUC", "train s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]

    def cell(m, key, sd_key=None):
        v = m.get(key) if isinstance(key, str) else key
        sd = m.get(sd_key) if sd_key else None
        return _fmt(v) + (f" ± {sd:.3f}" if sd is not None else "")

    for label, m in rows.items():
        cells = [str(label), cell(m, "accuracy", "accuracy_sd")]
        for n in names:
            pc = m["per_class"].get(n, {})
            sds = m.get("per_class_sd", {}).get(n, {})
            for key in ("precision", "recall", "f1"):
                v = _fmt(pc.get(key))
                if sds.get(key) is not None:
                    v += f" ± {sds[key]:.3f}"
                cells.append(v)
        cells += [cell(m, "macro_roc_auc", "macro_roc_auc_sd"), cell(m, "macro_pr_auc", "macro_pr_auc_sd")]
        secs = m.get("seconds")
        cells.append(f"{secs:.0f}" if isinstance(secs, (int, float)) else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
