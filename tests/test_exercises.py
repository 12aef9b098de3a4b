"""Coursework: every check accepts a right solution and rejects the usual mistakes with a useful message;
the student versions of the chapters hold no solution; the bulk grader tells a right notebook from a wrong one.

The checks run on the real records (``ECGLIB_DATA_DIR``), as they do for students.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import signal as ss

from ecglib import exercises as ex
from ecglib.data import AAMI_MAP, BEAT_SYMBOLS, subject_id

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(autouse=True)
def _real_data(data_dir):
    """Every test here needs the real database (the fixture fails loudly without it)."""


# ------------------------------------------------------------------------------------- right answers


def aami_counts(symbols):
    counts = dict.fromkeys("NSVFQ", 0)
    for s in symbols:
        if s in BEAT_SYMBOLS:
            counts[AAMI_MAP.get(s, "Q")] += 1
    return counts


def zero_phase_bandpass(signal, fs):
    return ss.sosfiltfilt(ss.butter(4, [0.5, 40], btype="bandpass", fs=fs, output="sos"), signal)


def bandpass_ba(signal, fs):  # the (b, a) form with filtfilt is fine too
    b, a = ss.butter(4, [0.5, 40], btype="bandpass", fs=fs)
    return ss.filtfilt(b, a, signal)


def count_matches(detected, reference, fs, tolerance_s=0.150):
    tol = tolerance_s * fs
    det, ref = np.sort(np.asarray(detected, float)), np.sort(np.asarray(reference, float))
    pairs = sorted((abs(d - ref[j]), i, j) for i, d in enumerate(det)
                   for j in range(np.searchsorted(ref, d - tol), np.searchsorted(ref, d + tol, side="right")))
    used_d, used_r = set(), set()
    for _, i, j in pairs:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
    return len(used_d), len(det) - len(used_d), len(ref) - len(used_d)


def count_matches_greedy_in_time(detected, reference, fs, tolerance_s=0.150):
    """Another reasonable answer: each beat in turn takes its nearest free detection (strict <)."""
    tol, used, tp = tolerance_s * fs, set(), 0
    det = sorted(detected)
    for r in sorted(reference):
        near = [(abs(d - r), i) for i, d in enumerate(det) if abs(d - r) < tol and i not in used]
        if near:
            used.add(min(near)[1])
            tp += 1
    return tp, len(det) - tp, len(reference) - tp


def subject_split(records, test_fraction, seed):
    subjects = sorted({subject_id(r) for r in records})
    order = np.random.default_rng(seed).permutation(len(subjects))
    test_subjects = {subjects[i] for i in order[: round(test_fraction * len(subjects))]}
    test = [r for r in records if subject_id(r) in test_subjects]
    return [r for r in records if subject_id(r) not in test_subjects], test


def _stft(window, fs, n_fft=128, hop_length=8, fmax_hz=45.0, taper=None, value=lambda m: np.log(m + 1e-3), centre=True):
    x = np.pad(window, n_fft // 2) if centre else np.asarray(window)
    starts = np.arange(0, len(x) - n_fft + 1, hop_length)
    taper = ss.get_window("hann", n_fft) if taper is None else taper
    mag = np.abs(np.fft.rfft(x[starts[:, None] + np.arange(n_fft)] * taper, axis=1)).T
    return value(mag[np.fft.rfftfreq(n_fft, 1 / fs) < fmax_hz])


def stft_log_magnitude(window, fs, n_fft=128, hop_length=8, fmax_hz=45.0):
    return _stft(window, fs, n_fft, hop_length, fmax_hz)


def stft_librosa(window, fs, n_fft=128, hop_length=8, fmax_hz=45.0):
    import librosa

    mag = np.abs(librosa.stft(window, n_fft=n_fft, hop_length=hop_length))
    return np.log(mag[np.fft.rfftfreq(n_fft, 1 / fs) < fmax_hz] + 1e-3)


def balanced_class_weights(labels, n_classes=3):
    counts = np.bincount(labels, minlength=n_classes)
    return {c: (len(labels) / (n_classes * counts[c]) if counts[c] else 0.0) for c in range(n_classes)}


def confusion_metrics(y_true, y_pred, n_classes=3):
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    tp, rows, cols = np.diag(cm), cm.sum(1), cm.sum(0)
    se = np.divide(tp, rows, out=np.zeros(n_classes), where=rows > 0)
    ppv = np.divide(tp, cols, out=np.zeros(n_classes), where=cols > 0)
    f1 = np.divide(2 * se * ppv, se + ppv, out=np.zeros(n_classes), where=se + ppv > 0)
    return {"confusion_matrix": cm, "se": se, "ppv": ppv, "f1": f1, "macro_f1": f1.mean()}


def confusion_metrics_sklearn(y_true, y_pred, n_classes=3):
    from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

    labels = list(range(n_classes))
    kw = {"labels": labels, "average": None, "zero_division": 0}
    f1 = f1_score(y_true, y_pred, **kw)
    return {"confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels), "se": recall_score(y_true, y_pred, **kw),
            "ppv": precision_score(y_true, y_pred, **kw), "f1": f1, "macro_f1": f1.mean()}


def _cam(model, images, class_index, layer_name, pool=True, relu=True):
    import keras
    import tensorflow as tf

    inp = keras.Input(shape=images.shape[1:])
    x, feats = inp, None
    for layer in model.layers:
        x = layer(x)
        if layer.name == layer_name:
            feats = x
    with tf.GradientTape() as tape:
        a, preds = keras.Model(inp, [feats, x])(images)
        score = preds[:, class_index]
    g = tape.gradient(score, a)
    w = tf.reduce_mean(g, axis=(1, 2), keepdims=True) if pool else g
    cam = tf.reduce_sum(w * a, axis=-1)
    return (tf.nn.relu(cam) if relu else cam).numpy()


def grad_cam_by_hand(model, images, class_index, layer_name):
    return _cam(model, images, class_index, layer_name)


def grad_cam_ecglib(model, images, class_index, layer_name):  # resized to the images and scaled: accepted
    from ecglib.gradcam import grad_cam

    return grad_cam(model, images, class_index, layer_name)


RIGHT = [
    (ex.check_aami_counts, aami_counts),
    (ex.check_bandpass, zero_phase_bandpass),
    (ex.check_bandpass, bandpass_ba),
    (ex.check_match_peaks, count_matches),
    (ex.check_match_peaks, count_matches_greedy_in_time),
    (ex.check_patient_split, subject_split),
    (ex.check_spectrogram, stft_log_magnitude),
    (ex.check_spectrogram, stft_librosa),
    (ex.check_class_weights, balanced_class_weights),
    (ex.check_metrics, confusion_metrics),
    (ex.check_metrics, confusion_metrics_sklearn),
]


@pytest.mark.parametrize("check, fn", RIGHT, ids=lambda v: v.__name__)
def test_check_accepts_a_right_answer(check, fn, capsys):
    result = check(fn)
    assert result.passed and isinstance(result, ex.CheckResult)
    assert capsys.readouterr().out.startswith(f"PASSED {check.__name__}")


# ------------------------------------------------------------------------------------------ mistakes


def _with_keys(fn, **changes):
    def wrapped(*args, **kwargs):
        out = dict(fn(*args, **kwargs))
        return {**out, **{key: change(out, *args) for key, change in changes.items()}}

    return wrapped


def _shuffled_records(records, test_fraction, seed):  # shuffles records, not subjects
    order = np.random.default_rng(seed).permutation(len(records))
    n = round(test_fraction * len(records))
    return [records[i] for i in order[n:]], [records[i] for i in order[:n]]


def _naive_matches(detected, reference, fs, tolerance_s=0.150):
    tol = tolerance_s * fs
    near = np.array([np.any(np.abs(np.asarray(reference) - d) <= tol) for d in detected], dtype=bool)
    found = np.array([np.any(np.abs(np.asarray(detected) - r) <= tol) for r in reference], dtype=bool)
    return int(near.sum()), int((~near).sum()), int((~found).sum())


def _inv_counts(labels, n_classes=3):
    c = np.bincount(labels, minlength=n_classes)
    return {k: (1.0 / c[k] if c[k] else 0.0) for k in range(n_classes)}


def _div_by_zero(labels, n_classes=3):
    c = np.bincount(labels, minlength=n_classes)
    with np.errstate(divide="ignore"):
        return {k: len(labels) / (n_classes * c[k]) for k in range(n_classes)}


def _sorting_weights(labels, n_classes=3):
    labels.sort()  # changes the caller's array
    return balanced_class_weights(labels, n_classes)


def _every_second_call(change):
    """subject_split, with ``change`` applied to the result of every second call (the check's repeat)."""
    calls = itertools.count(1)

    def split(records, fraction, seed):
        out = subject_split(records, fraction, seed)
        return change(out) if next(calls) % 2 == 0 else out

    return split


def _nan_ppv(out, y, p, *rest):
    cm = out["confusion_matrix"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diag(cm) / cm.sum(0)


MISTAKES = [
    # (check, mistaken function, words the message must contain)
    (ex.check_aami_counts, lambda s: {**aami_counts(s), "Q": sum(AAMI_MAP.get(x, "Q") == "Q" for x in s)}, "Non-beat annotations"),
    (ex.check_aami_counts, lambda s: {c: int(np.sum(np.asarray(s) == c)) for c in "NSVFQ"}, "bundle branch block"),
    (ex.check_bandpass, lambda x, fs: ss.sosfilt(ss.butter(4, [0.5, 40], "bandpass", fs=fs, output="sos"), x), "not zero-phase"),
    (ex.check_bandpass, lambda x, fs: ss.lfilter(*ss.butter(4, [0.5, 40], "bandpass", fs=fs), x), "not zero-phase"),
    (ex.check_bandpass, lambda x, fs: ss.sosfiltfilt(ss.butter(4, [0.5, 100], "bandpass", fs=fs, output="sos"), x),
     "high cut-off is wrong"),
    (ex.check_bandpass, lambda x, fs: ss.sosfiltfilt(ss.butter(4, [1.0, 40], "bandpass", fs=fs, output="sos"), x),
     "low cut-off is wrong"),
    (ex.check_bandpass, lambda x, fs: ss.sosfiltfilt(ss.butter(4, 40, "lowpass", fs=fs, output="sos"), x), "no high-pass"),
    (ex.check_bandpass, lambda x, fs: ss.sosfiltfilt(ss.butter(4, [0.5 / 180, 40 / 180], "bandpass", output="sos"), x),
     "do not follow fs"),
    (ex.check_bandpass, lambda x, fs: ss.sosfiltfilt(ss.butter(2, [0.5, 40], "bandpass", fs=fs, output="sos"), x), "roll-off"),
    (ex.check_bandpass, lambda x, fs: zero_phase_bandpass(x, fs)[10:-10], "shape"),
    (ex.check_bandpass, lambda x, fs: zero_phase_bandpass(x, fs)[:, None], "shape"),
    (ex.check_bandpass, lambda x, fs: zero_phase_bandpass(x, fs) / np.std(zero_phase_bandpass(x, fs)), "multiplied by"),
    (ex.check_bandpass, lambda x, fs: x, "unfiltered"),
    (ex.check_match_peaks, _naive_matches, "counts a beat twice"),
    (ex.check_match_peaks, lambda d, r, fs, tolerance_s=0.15: count_matches(d, r, 1.0, tolerance_s), "convert the tolerance"),
    (ex.check_match_peaks, lambda d, r, fs, tolerance_s=0.15: count_matches(d, r, 360.0, tolerance_s), "do not hard-code 54"),
    (ex.check_match_peaks, lambda d, r, fs, tolerance_s=0.15: count_matches(d, r, fs), "use the tolerance_s argument"),
    (ex.check_patient_split, _shuffled_records, "leaky split"),
    (ex.check_patient_split, lambda r, f, s: subject_split(r, f, 0), "the seed should change"),
    (ex.check_patient_split, lambda r, f, s: subject_split(r, 0.5, s), "test set holds"),
    (ex.check_patient_split, lambda r, f, s: subject_split(r, f, int(np.random.randint(1 << 30))), "same seed"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs, n_fft, hop_length, fmax_hz,
     taper=np.ones(n_fft)), "leakage"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs, n_fft, hop_length, fmax_hz,
     taper=np.hanning(n_fft)), "symmetric Hann"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs, n_fft, hop_length, fmax_hz,
     value=lambda m: np.log(m**2 + 1e-3)), "power"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs, n_fft, hop_length, fmax_hz,
     centre=False), "not centred"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs, n_fft, hop_length, fmax_hz).T,
     "transposed"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs, n_fft, hop_length, 500.0),
     "keep only the rows"),
    (ex.check_spectrogram, lambda w, fs, n_fft=128, hop_length=8, fmax_hz=45.0: _stft(w, fs), "use the arguments"),
    (ex.check_class_weights, _inv_counts, "proportional to the right ones"),
    (ex.check_class_weights, lambda y, n_classes=3: {k: float(np.mean(y == k)) for k in range(n_classes)}, "inversely"),
    (ex.check_class_weights, _div_by_zero, "weight 0"),
    (ex.check_class_weights, lambda y, n_classes=3: np.array(list(balanced_class_weights(y, n_classes).values())),
     "return a dict"),
    (ex.check_class_weights, lambda y, n_classes=3: balanced_class_weights(y, 3), "use n_classes"),
    (ex.check_class_weights, lambda y, n_classes=3: {k: "1.0x" for k in range(n_classes)}, "must be numbers"),
    (ex.check_class_weights, _sorting_weights, "changed the labels"),
    (ex.check_patient_split, _every_second_call(lambda out: None), "two lists"),
    (ex.check_patient_split, _every_second_call(lambda out: (out[0][1:], out[1])), "same seed"),
    (ex.check_metrics, _with_keys(confusion_metrics, confusion_matrix=lambda out, *a: out["confusion_matrix"].T), "transposed"),
    (ex.check_metrics, _with_keys(confusion_metrics, se=lambda out, *a: out["ppv"], ppv=lambda out, *a: out["se"]), "swapped"),
    (ex.check_metrics, _with_keys(confusion_metrics, ppv=_nan_ppv), "zero_division"),
    (ex.check_metrics, _with_keys(confusion_metrics, macro_f1=lambda out, y, p, *a: float(np.mean(y == p))), "accuracy"),
]


@pytest.mark.parametrize("check, fn, words", MISTAKES, ids=[f"{m[0].__name__}-{i}" for i, m in enumerate(MISTAKES)])
def test_check_rejects_a_mistake_and_says_what_is_wrong(check, fn, words):
    result = check(fn, raise_on_fail=False)
    assert not result.passed
    assert words in result.message, result.message


def test_gradcam_check_accepts_right_maps_and_rejects_wrong_ones():
    assert ex.check_gradcam(grad_cam_by_hand).passed
    assert ex.check_gradcam(grad_cam_ecglib).passed  # resized and scaled maps are fine
    cases = {
        "apply ReLU": lambda m, x, c, name: _cam(m, x, c, name, relu=False),
        "position by position": lambda m, x, c, name: _cam(m, x, c, name, pool=False),
        "maps of class": lambda m, x, c, name: _cam(m, x, (c + 1) % 3, name),
        "layer named by layer_name": lambda m, x, c, name: _cam(m, x, c, "last_conv"),
    }
    for words, fn in cases.items():
        result = ex.check_gradcam(fn, raise_on_fail=False)
        assert not result.passed and words in result.message, result.message


def test_gradcam_model_is_small_and_learned_something():
    model, images, labels = ex.gradcam_model()
    assert images.shape[1:] == (16, 91, 1) and set(np.unique(labels)) == {0, 1, 2}
    assert {"conv1", "last_conv"} <= {layer.name for layer in model.layers}
    accuracy = (model.predict(images, verbose=0).argmax(axis=1) == labels).mean()
    assert accuracy > 0.6, accuracy


def test_failed_check_raises_with_the_message_and_stub_is_reported_as_not_implemented(capsys):
    def stub(signal, fs):
        raise NotImplementedError

    with pytest.raises(ex.ExerciseCheckFailed, match="not implemented yet") as info:
        ex.check_bandpass(stub)
    assert not info.value.result.passed
    assert "FAILED check_bandpass" in capsys.readouterr().out
    crashing = ex.check_class_weights(lambda labels, n_classes=3: 1 / 0, raise_on_fail=False)
    assert "raised ZeroDivisionError" in crashing.message


def test_registry_names_every_check_once():
    checks = [e.check for e in ex.EXERCISES.values()]
    assert len(set(checks)) == len(checks) == 8
    assert {e.chapter for e in ex.EXERCISES.values()} == {"01", "02", "03", "04", "05", "06"}
    assert all(label.startswith("ex-") for label in ex.EXERCISES)


# ----------------------------------------------------------------------------------- student versions

_START = re.compile(r"^\s*(`{3,}|:{3,})\{solution-start\}")
_END = re.compile(r"^\s*(`{3,}|:{3,})\{solution-end\}")
_PLAIN = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}")


def _solution_material(nb) -> tuple[list[str], list[str], list[str]]:
    """Independently of ecglib.exercises: (solution code sources, solution prose lines, kept text)."""
    code, prose, kept = [], [], []
    inside = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            (code if inside or "solution" in tags else kept).append(cell.source)
            continue
        fence = None
        for line in cell.source.splitlines():
            if fence is not None:  # inside a plain {solution} block
                if line.strip() == fence:
                    fence = None
                else:
                    prose.append(line)
                continue
            if _START.match(line):
                inside = True
            elif _END.match(line):
                inside = False
            elif _PLAIN.match(line):
                fence = _PLAIN.match(line).group(1)
            else:
                (prose if inside else kept).append(line)
    return code, prose, kept


def _allowed_in_stub(source: str) -> set[str]:
    """Lines a stub may repeat: checked functions' signatures and docstrings, check calls, ecglib.exercises imports."""
    tree = ast.parse(source)
    lines = source.splitlines()
    checked = set(ex.checked_functions(source).values())
    allowed: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in checked:
            body0 = node.body[0]
            end = body0.end_lineno if isinstance(body0, ast.Expr) and isinstance(body0.value, ast.Constant) else body0.lineno - 1
            allowed |= set(range(node.lineno, end + 1))
        elif isinstance(node, ast.ImportFrom) and node.module == "ecglib.exercises":
            allowed |= set(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "").startswith("check_"):
            allowed |= set(range(node.lineno, node.end_lineno + 1))
    return {lines[i - 1].strip() for i in allowed}


@pytest.fixture(scope="module")
def assignments(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    assert ex.main(["make-assignments", str(ROOT / "notebooks"), str(out)]) == 0
    return out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_is_valid_and_holds_no_solution(chapter, assignments):
    import nbformat

    path = assignments / chapter.name
    student = nbformat.read(path, as_version=4)
    nbformat.validate(student)
    assert "jupytext" not in student.metadata
    text = "\n".join(c.source for c in student.cells)
    assert "{solution" not in text
    assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)
    assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")

    original = nbformat.read(chapter, as_version=4)
    code, prose, kept = _solution_material(original)
    kept_lines = {line.strip() for src in kept for line in src.splitlines()}
    student_lines = {line.strip() for line in text.splitlines()}
    for src in code:
        allowed = _allowed_in_stub(src)
        leaked = [line.strip() for line in src.splitlines()
                  if len(line.strip()) >= 12 and line.strip() not in allowed | kept_lines and line.strip() in student_lines]
        assert not leaked, f"{chapter.name}: solution code survives in the student version: {leaked[:3]}"
    leaked = [line.strip() for line in prose
              if len(line.strip()) >= 20 and line.strip() not in kept_lines and line.strip() in student_lines]
    assert not leaked, f"{chapter.name}: solution text survives in the student version: {leaked[:3]}"

    labels = re.findall(r":label:\s*(ex-[\w-]+)", "\n".join(c.source for c in original.cells if c.cell_type == "markdown"))
    stubs = [c for c in student.cells if "answer" in c.metadata.get("tags", []) and c.cell_type == "code"]
    with_solution = [lbl for lbl in labels if re.search(rf"\{{solution(-start)?\}}\s+{lbl}\b", "\n".join(c.source for c in original.cells))]
    assert {c.metadata.get("exercise") for c in stubs} >= set(with_solution)


def test_stub_keeps_signature_docstring_and_check_and_raises(assignments):
    import nbformat

    student = nbformat.read(assignments / "02_preprocessing.ipynb", as_version=4)
    stub = next(c.source for c in student.cells if c.metadata.get("exercise") == "ex-prep-bandpass")
    assert "def zero_phase_bandpass(signal: np.ndarray, fs: float) -> np.ndarray:" in stub
    assert "# YOUR CODE HERE" in stub and "raise NotImplementedError" in stub
    assert stub.rstrip().endswith("check_bandpass(zero_phase_bandpass)")
    assert "sosfiltfilt" not in stub
    namespace = {"np": np}
    exec(stub.replace("check_bandpass(zero_phase_bandpass)", ""), namespace)
    result = ex.check_bandpass(namespace["zero_phase_bandpass"], raise_on_fail=False)
    assert not result.passed and "not implemented yet" in result.message


def test_plain_solution_blocks_and_tagged_cells_are_removed_too():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("```{exercise}\n:label: ex-x\n\nDo it.\n```\n\n```{solution} ex-x\n:class: dropdown\n\n"
                                      "SECRET EXPLANATION\n```\nText after."),
        nbformat.v4.new_code_cell("def f(x):\n    '''Doc.'''\n    return x + 42  # SECRET\n\ncheck_thing(f)",
                                  metadata={"tags": ["solution", "hide-input"]}),
        nbformat.v4.new_code_cell("print('kept')"),
    ]
    student = ex.make_assignment(nb, title="test")
    text = "\n".join(c.source for c in student.cells)
    assert "SECRET" not in text and "{solution" not in text
    assert "def f(x):\n    '''Doc.'''\n    # YOUR CODE HERE\n    raise NotImplementedError" in text
    assert "check_thing(f)" in text and "Text after." in text and "print('kept')" in text
    with pytest.raises(ValueError, match="never closed"):
        ex.make_assignment(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("```{solution} ex-x\nno end")]))


# ------------------------------------------------------------------------------------------- grading


def _chapter_solution_code(chapter: Path) -> dict[str, list[str]]:
    """``{exercise label: solution code sources}`` of a chapter with gated solutions."""
    import nbformat

    out: dict[str, list[str]] = {}
    label = None
    for cell in nbformat.read(chapter, as_version=4).cells:
        if cell.cell_type == "markdown":
            m = re.search(r"\{solution-start\}\s+(\S+)", cell.source)
            if m:
                label = m.group(1)
            if _END.search(cell.source) or re.search(r"^\s*```\{solution-end\}", cell.source, re.M):
                label = None
        elif label and "remove-cell" not in cell.metadata.get("tags", []):
            out.setdefault(label, []).append(cell.source)
    return out


def test_grade_folder_passes_the_reference_and_fails_a_mistake(assignments, tmp_path):
    import nbformat

    solutions = _chapter_solution_code(ROOT / "notebooks" / "02_preprocessing.ipynb")
    template = nbformat.read(assignments / "02_preprocessing.ipynb", as_version=4)

    def submission(name: str, edit=lambda src: src) -> None:
        nb = nbformat.from_dict(template)
        for cell in nb.cells:
            label = cell.metadata.get("exercise")
            if cell.cell_type == "code" and label in ex.EXERCISES and "def " in cell.source:
                cell.source = edit("\n\n".join(s for s in solutions[label] if ex.checked_functions(s)))
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, tmp_path / name)

    submission("alice/02_preprocessing.ipynb")
    submission("bob/02_preprocessing.ipynb", lambda src: src.replace("return sosfiltfilt(sos, signal)", "return sosfilt(sos, signal)"))
    nbformat.write(template, tmp_path / "carol_02_untouched.ipynb")

    rows = ex.grade_folder(tmp_path, timeout_s=300)
    grades = {(r.student, r.exercise): r for r in rows}
    chapter2 = [label for label, e in ex.EXERCISES.items() if e.chapter == "02"]
    assert len(rows) == 3 * len(chapter2)
    assert all(grades[("alice/02_preprocessing", label)].passed for label in chapter2)
    bob = grades[("bob/02_preprocessing", "ex-prep-bandpass")]
    assert not bob.passed and "not zero-phase" in bob.message
    assert grades[("bob/02_preprocessing", "ex-prep-match")].passed
    assert all(not grades[("carol_02_untouched", label)].passed and "not implemented" in grades[("carol_02_untouched", label)].message
               for label in chapter2)

    table = ex.format_grades(rows)
    assert "alice/02_preprocessing" in table and "3/3" in table and "FAIL" in table and "not zero-phase" in table


def test_stub_of_a_one_line_function_keeps_its_docstring():
    source = 'from ecglib.exercises import check_bandpass\n\ndef f(signal, fs): "Filter it."; return signal\n\ncheck_bandpass(f)\n'
    stub = ex.stub_source([source])
    namespace: dict = {}
    exec(stub.replace("check_bandpass(f)", ""), namespace)
    assert namespace["f"].__doc__ == "Filter it." and "return signal" not in stub
    with pytest.raises(NotImplementedError):
        namespace["f"](np.zeros(3), 360.0)


def test_grad_model_cache_holds_one_model():
    import keras

    def small():
        return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"), keras.layers.Flatten(),
                                 keras.layers.Dense(3, activation="softmax")])  # fmt: skip

    ex._GRAD_MODELS.clear()
    first, second = small(), small()
    ex._grad_model(first, "c", (8, 8, 1))
    ex._grad_model(first, "c", (8, 8, 1))
    assert len(ex._GRAD_MODELS) == 1
    ex._grad_model(second, "c", (8, 8, 1))
    assert [kept for kept, _ in ex._GRAD_MODELS.values()] == [second]


def test_every_check_documents_raise_on_fail_returns_and_raises():
    import inspect

    checks = [getattr(ex, name) for name in dir(ex) if name.startswith("check_")]
    assert len(checks) == 8
    for check in checks:
        doc = inspect.getdoc(check)
        student = next(iter(inspect.signature(check).parameters))
        parameters = doc[doc.index("Parameters\n----------\n") :]
        assert parameters.index(f"\n{student}\n") < parameters.index("\nraise_on_fail\n") < parameters.index("\nReturns\n")
        assert f"``{student}`` counts as a failure" in doc and "\nRaises\n------\nExerciseCheckFailed\n" in doc
