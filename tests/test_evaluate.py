"""Metrics agree with scikit-learn; plots return figures; the Markdown table; bad inputs."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from ecglib.evaluate import (  # noqa: E402
    evaluate_predictions,
    metrics_table,
    plot_confusion_matrix,
    plot_history,
    plot_pr,
    plot_roc,
    tune_class_weights,
)


@pytest.fixture
def known():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 1.5 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, proba


def test_metrics_agree_with_sklearn(known):
    y, p = known
    pred = p.argmax(1)
    m = evaluate_predictions(y, p)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["confusion_matrix"] == confusion_matrix(y, pred).tolist()
    for c, name in enumerate("NSV"):
        pc = m["per_class"][name]
        assert pc["precision"] == pytest.approx(precision_score(y, pred, labels=[c], average=None)[0])
        assert pc["recall"] == pytest.approx(recall_score(y, pred, labels=[c], average=None)[0])
        assert pc["f1"] == pytest.approx(f1_score(y, pred, labels=[c], average=None)[0])
        assert pc["roc_auc"] == pytest.approx(roc_auc_score(y == c, p[:, c]))
        assert pc["pr_auc"] == pytest.approx(average_precision_score(y == c, p[:, c]))
        assert pc["se"] == pytest.approx(pc["recall"]) and pc["ppv"] == pytest.approx(pc["precision"])
    assert m["macro_roc_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    json.dumps(m)  # JSON-serialisable


def test_hand_computed_example():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.eye(3)[[0, 0, 1, 1, 0, 2]]
    m = evaluate_predictions(y, p)
    assert m["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    s = m["per_class"]["S"]
    assert s["se"] == pytest.approx(0.5) and s["ppv"] == pytest.approx(0.5)
    assert s["fpr"] == pytest.approx(1 / 4)  # one N called S, out of 4 non-S beats


def test_absent_class_gives_none():
    y = np.array([0, 0, 2, 2])
    p = np.eye(3)[[0, 1, 2, 2]]
    m = evaluate_predictions(y, p)
    assert m["per_class"]["S"]["roc_auc"] is None and m["per_class"]["S"]["support"] == 0
    json.dumps(m)


def test_plots_return_figures(known):
    y, p = known
    m = evaluate_predictions(y, p)
    hist = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.6, 0.8], "val_macro_f1": [0.4, 0.6]}
    figs = [plot_confusion_matrix(m), plot_confusion_matrix(np.array(m["confusion_matrix"])), plot_roc(y, p),
            plot_pr(y, p), plot_history(hist)]  # fmt: skip
    import matplotlib.pyplot as plt

    for fig in figs:
        assert isinstance(fig, Figure)
        plt.close(fig)
    # An ensemble's history: one row of panels per member.
    fig = plot_history([hist, {"loss": [0.9, 0.4, 0.3], "val_macro_f1": [0.5, 0.6, 0.55]}])
    assert [ax.get_title() for ax in fig.axes] == ["member 1: loss", "member 1: accuracy / macro-F1",
                                                   "member 2: loss", "member 2: accuracy / macro-F1"]  # fmt: skip
    assert [len(line.get_xdata()) for line in fig.axes[2].lines] == [3]
    plt.close(fig)


def test_metrics_table(known):
    y, p = known
    m = evaluate_predictions(y, p)
    md = metrics_table({"run 1": {**m, "seconds": 12.3}, "run 2": m})
    lines = md.splitlines()
    assert lines[0].startswith("| ") and "S F1" in lines[0] and len(lines) == 4
    assert f"{m['accuracy']:.3f}" in lines[2] and "| 12 |" in lines[2]
    assert metrics_table(m).count("\n") == 2
    with pytest.raises(ValueError, match="non-empty"):
        metrics_table({})


def test_bad_inputs_raise(known):
    y, p = known
    with pytest.raises(ValueError, match="proba"):
        evaluate_predictions(y, p[:, :2])
    with pytest.raises(ValueError, match="proba"):
        evaluate_predictions(y[:-1], p)
    with pytest.raises(ValueError, match=r"y_true values must lie in 0\.\.2"):
        evaluate_predictions(y + 3, p)
    with pytest.raises(ValueError, match="integer class indices"):
        evaluate_predictions(y.astype(float), p)
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluate_predictions(y, np.full_like(p, np.nan))
    with pytest.raises(ValueError, match="must be square"):
        plot_confusion_matrix(np.zeros((2, 3)))
    for bad in ({}, [], [{}], [{"loss": [1.0]}, "loss"]):
        with pytest.raises(ValueError, match="history must be a non-empty"):
            plot_history(bad)


def test_tune_class_weights_undoes_a_shrunk_class(known):
    y, proba = known
    shrunk = proba * np.array([1.0, 0.1, 1.0])  # a model that under-calls class 1 tenfold
    w = tune_class_weights(y, shrunk)
    assert w[0] == 1.0 and 5 < w[1] < 20
    tuned = evaluate_predictions(y, shrunk * w)["macro_f1"]
    assert tuned > evaluate_predictions(y, shrunk)["macro_f1"] + 0.1
    assert tuned >= f1_score(y, proba.argmax(1), average="macro") - 1e-12  # at least as good as unshrunk


def test_tune_class_weights_is_the_grid_optimum(known):
    y, proba = known
    grid = [0.25, 0.5, 1.0, 2.0, 4.0]
    w = tune_class_weights(y, proba, grid=grid)
    scores = [f1_score(y, (proba * [1, a, b]).argmax(1), average="macro") for a in grid for b in grid]
    assert f1_score(y, (proba * w).argmax(1), average="macro") == pytest.approx(max(scores))


def test_tune_class_weights_keeps_a_perfect_model():
    y = np.repeat([0, 1, 2], 20)
    proba = np.full((60, 3), 0.1) + 0.8 * np.eye(3)[y]  # F1 = 1 for many weights; the tie-break keeps ones
    assert np.array_equal(tune_class_weights(y, proba), np.ones(3))  # the default grid holds 1 exactly


@pytest.mark.parametrize("grid", [[], [0.0, 1.0], [1.0, np.nan], [[1.0]]])
def test_tune_class_weights_bad_grid(known, grid):
    with pytest.raises(ValueError, match="grid must be"):
        tune_class_weights(*known, grid=grid)
