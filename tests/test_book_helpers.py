"""ecglib.book: quick mode, chapter records, the Colab cell and setup, the chapters' tables and plots."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from ecglib import book
from ecglib.data import RECORDS

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------------------------------
# Quick mode and records


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False), (None, False)])
def test_quick_mode_reads_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("ECGLIB_QUICK", raising=False)
    else:
        monkeypatch.setenv("ECGLIB_QUICK", value)
    assert book.quick_mode() is expected


def test_chapter_records_full_and_quick(monkeypatch):
    monkeypatch.delenv("ECGLIB_QUICK", raising=False)
    assert book.chapter_records() == list(RECORDS)
    monkeypatch.setenv("ECGLIB_QUICK", "1")
    assert book.chapter_records() == list(book.QUICK_RECORDS)


def test_quick_records_hold_every_task_class(data_dir):
    """Quick mode must still show N, S and V beats, from several subjects, and admit a 3-way split."""
    from ecglib.data import class_summary, subject_id
    from ecglib.splits import patient_split

    table = class_summary(book.QUICK_RECORDS, data_dir)
    assert len({subject_id(r) for r in book.QUICK_RECORDS}) >= 3
    for cls in ("N", "S", "V"):
        assert table["total"][cls] >= 300, cls
    counts = {r: (table[r]["N"], table[r]["S"], table[r]["V"]) for r in book.QUICK_RECORDS}
    assert set(patient_split(counts, min_per_class=1)) == {"train", "val", "test"}


def test_physionet_totals_match_the_data(data_dir):
    from ecglib.data import class_summary

    total = class_summary(RECORDS, data_dir)["total"]
    assert {k: total[k] for k in book.PHYSIONET_CLASS_TOTALS} == book.PHYSIONET_CLASS_TOTALS


# --------------------------------------------------------------------------------------------------
# Repository URL: one source of truth (_config.yml), mirrored by REPOSITORY_URL and the Colab cell


def _config() -> dict:
    import yaml  # a dependency of jupyter-book: the book's config must be readable here
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_repository_url_matches_config():
    config = _config()
    assert config["repository"]["url"] == book.REPOSITORY_URL
    assert config["repository"]["branch"] == "main"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def _project_files():
    skip = {".git", ".venv", ".venv-colab", "_build", "__pycache__", "ecglib.egg-info", ".pytest_cache"}
    suffixes = {".py", ".ipynb", ".md", ".yml", ".yaml", ".toml", ".cfg", ".txt", ".bib", ""}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder) / name
            if path.suffix in suffixes:
                yield path


def _text_without_colab_cell(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        cells = [c for c in nb["cells"] if "".join(c["source"]) != book.colab_cell()]
        return json.dumps([cells, nb["metadata"]])
    return path.read_text(errors="ignore").replace(book.colab_cell(), "")


def test_repository_url_is_written_nowhere_else():
    """Only _config.yml, ecglib/book.py and the chapters' Colab cell (ecglib.book.colab_cell) spell it out."""
    allowed = {ROOT / "_config.yml", ROOT / "ecglib" / "book.py"}
    chapters = {p for nb in CHAPTERS for p in (nb, nb.with_suffix(".py"))}
    needle = book.REPOSITORY_URL.split("://", 1)[1].lower()
    offenders = []
    for path in _project_files():
        if path in allowed or needle not in path.read_text(errors="ignore").lower():
            continue
        if path in chapters and needle not in _text_without_colab_cell(path).lower():
            continue
        offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"the repository URL is spelled out in {offenders}; use ecglib.book.REPOSITORY_URL"


@pytest.mark.parametrize("ipynb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_starts_with_the_colab_cell(ipynb):
    nb = json.loads(ipynb.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{ipynb.name} has no code cell"
    assert "".join(code[0]["source"]) == book.colab_cell(), (
        f"the first code cell of {ipynb.name} must be exactly ecglib.book.colab_cell()"
    )
    assert nb["metadata"]["jupytext"]["formats"] == "ipynb,py:percent"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_colab_cell_is_valid_python_and_inert_outside_colab(monkeypatch):
    import subprocess

    source = book.colab_cell()
    assert book.REPOSITORY_URL in source
    assert "--no-deps" in source and "-U" not in source.split() and "--upgrade" not in source
    assert "google.colab" not in sys.modules

    def forbidden(*args, **kwargs):
        raise AssertionError("the Colab cell installed or set up something outside Colab")

    monkeypatch.setattr(subprocess, "check_call", forbidden)
    monkeypatch.setattr(book, "colab_setup", forbidden)
    exec(compile(source, "<colab cell>", "exec"), {})  # must do nothing here: no install, no download



def test_colab_cell_calls_colab_setup_on_colab(monkeypatch):
    """With google.colab imported (as on Colab) and ecglib importable, the cell only runs colab_setup."""
    import types

    called = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(book, "colab_setup", lambda: called.append(True))
    exec(compile(book.colab_cell(), "<colab cell>", "exec"), {})
    assert called == [True]


def test_colab_stand_in_keeps_google_a_namespace_package():
    """tests/colab_fake (make test-colab) must not shadow google.protobuf, which TensorFlow imports."""
    fake = ROOT / "tests" / "colab_fake"
    assert (fake / "google" / "colab" / "__init__.py").is_file()
    assert not (fake / "google" / "__init__.py").exists()

# --------------------------------------------------------------------------------------------------
# Colab setup


def test_colab_setup_does_nothing_outside_colab():
    def fail(*args, **kwargs):
        raise AssertionError("must not run outside Colab")

    assert not book.in_colab()
    assert book.colab_setup(run=fail, download=fail) is None


def test_in_colab_follows_the_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert book.in_colab()


def test_pip_command_never_upgrades_more_than_needed(tmp_path):
    cmd = book.pip_install_command(["wfdb>=4.1"], tmp_path / "pins.txt")
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[cmd.index("--upgrade-strategy") + 1] == "only-if-needed"
    assert cmd[cmd.index("--constraint") + 1] == str(tmp_path / "pins.txt")
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(cmd)
    assert cmd[-1] == "wfdb>=4.1"
    with pytest.raises(ValueError, match="nothing to install"):
        book.pip_install_command([], tmp_path / "pins.txt")


def test_protected_pins_freeze_installed_versions():
    from importlib.metadata import version

    pins = book.protected_pins(("numpy", "surely-not-an-installed-package"))
    assert pins == [f"numpy=={version('numpy')}"]


def test_missing_requirements_sees_what_is_absent(monkeypatch):
    import importlib.metadata as md

    reqs = ["numpy>=1.0", "numpy>=999", "surely-not-an-installed-package>=1", 'pytest>=1; extra == "test"']
    monkeypatch.setattr(md, "requires", lambda dist: reqs)
    assert book.missing_requirements() == ["numpy>=999", "surely-not-an-installed-package>=1"]


def test_missing_requirements_ignores_extras_and_installed_packages():
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    missing = book.missing_requirements()
    base = {str(Requirement(r)) for r in requires("ecglib") if "extra ==" not in r}
    assert set(missing) <= base
    assert not any(name in " ".join(missing) for name in ("numpy", "jupyter-book", "pytest"))


def test_colab_setup_installs_missing_with_pins_then_downloads(monkeypatch, tmp_path):
    from importlib.metadata import version

    calls = []

    def run(cmd):
        pins = Path(cmd[cmd.index("--constraint") + 1]).read_text().split()
        calls.append(("pip", cmd, pins))

    def download(records):
        calls.append(("download", records))
        return tmp_path

    monkeypatch.setattr(book, "missing_requirements", lambda: ["wfdb>=4.1"])
    monkeypatch.setattr(book, "in_colab", lambda: True)
    monkeypatch.setenv("ECGLIB_QUICK", "1")
    monkeypatch.delenv("ECGLIB_DATA_DIR", raising=False)
    assert book.colab_setup(run=run, download=download) == tmp_path
    (kind, cmd, pins), (kind2, records) = calls
    assert kind == "pip" and cmd[-1] == "wfdb>=4.1" and f"numpy=={version('numpy')}" in pins
    assert kind2 == "download" and records == list(book.QUICK_RECORDS)


def test_colab_setup_skips_pip_when_nothing_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(book, "missing_requirements", lambda: [])
    monkeypatch.delenv("ECGLIB_DATA_DIR", raising=False)
    got = []
    out = book.colab_setup(["100"], force=True, run=lambda cmd: got.append(cmd), download=lambda records: tmp_path)
    assert out == tmp_path and got == []



def test_colab_setup_reports_what_pip_said(monkeypatch, tmp_path):
    """A requirement Colab's pinned NumPy cannot meet: the error carries pip's explanation."""
    monkeypatch.setattr(book, "missing_requirements", lambda: ["numpy>=999"])
    monkeypatch.setattr(book, "pip_install_command", lambda reqs, constraints: [sys.executable, "-c",
                        "import sys; sys.exit('ResolutionImpossible: numpy>=999 vs numpy==2.1.3')"])  # fmt: skip
    with pytest.raises(RuntimeError, match="(?s)pip exited with 1.*ResolutionImpossible"):
        book.colab_setup(["100"], force=True, download=lambda **kw: tmp_path)

def test_colab_setup_uses_a_complete_local_copy(monkeypatch, record_copy, capsys):
    """ECGLIB_DATA_DIR holding every record: nothing is downloaded (how `make test-colab` runs offline)."""

    def fail(**kwargs):
        raise AssertionError("must not download")

    folder = record_copy("100")
    monkeypatch.setattr(book, "missing_requirements", lambda: [])
    monkeypatch.setenv("ECGLIB_DATA_DIR", str(folder))
    assert book.colab_setup(["100"], force=True, run=fail, download=fail) == folder
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ecglib.colab_setup: Python ") and out[0].endswith("nothing to install")
    assert "numpy==" in out[0]
    assert out[1] == f"ecglib.colab_setup: MIT-BIH: 1 record already in $ECGLIB_DATA_DIR ({folder}), nothing downloaded"


def test_colab_setup_fills_an_incomplete_local_copy(monkeypatch, record_copy):
    folder = record_copy("100")
    (folder / "100.atr").unlink()
    calls = []
    monkeypatch.setattr(book, "missing_requirements", lambda: [])
    monkeypatch.setenv("ECGLIB_DATA_DIR", str(folder))
    out = book.colab_setup(["100"], force=True, download=lambda **kw: calls.append(kw) or kw["dest"])
    assert out == folder and calls == [{"records": ["100"], "dest": folder}]


def test_glue_works_without_myst_nb(monkeypatch, capsys):
    """Colab has no MyST-NB, and shows the prose's glue roles raw: book.glue must then show every
    value under its name (numbers and strings printed, other objects displayed) instead of failing."""
    import IPython.display

    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # `import myst_nb` raises ImportError
    monkeypatch.setattr(IPython.display, "display", lambda value: shown.append(value))
    book.glue("accuracy", 0.9, display=False)
    book.glue("n_beats", np.int64(388))
    book.glue("seed_range", "0.401 to 0.467", display=False)
    table = {"S F1": 0.43}
    book.glue("glance", table, display=False)
    assert capsys.readouterr().out == "accuracy: 0.9\nn_beats: 388\nseed_range: 0.401 to 0.467\nglance:\n"
    assert shown == [table]


def test_glue_uses_myst_nb_in_the_book_build(monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    book.glue("accuracy", 0.9, display=False)
    assert calls == [("accuracy", 0.9, False)]

# --------------------------------------------------------------------------------------------------
# Tables and plots


def test_aami_table_covers_every_beat_symbol_once():
    from ecglib.data import BEAT_SYMBOLS

    table = book.aami_table()
    assert list(table.index) == ["N", "S", "V", "F", "Q"]
    symbols = " ".join(table["MIT-BIH symbols"]).split()
    assert sorted(symbols) == sorted(BEAT_SYMBOLS)
    assert list(table.index[table["in the task"]]) == ["N", "S", "V"]


def test_class_table_keeps_records_and_total(data_dir):
    from ecglib.data import class_summary

    table = book.class_table(class_summary(["100", "119"], data_dir))
    assert list(table.index) == ["100", "119", "total"]
    assert (table.loc[["100", "119"]].sum() == table.loc["total"]).all()


def test_beat_classes_maps_symbols():
    assert list(book.beat_classes(np.array(["N", "A", "V", "F", "/", "L"]))) == ["N", "S", "V", "F", "Q", "N"]


def test_plot_strip_labels_every_beat_in_view(data_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecglib.data import load_record

    rec = load_record("208", data_dir)
    ax = book.plot_strip(rec, start_s=1070, duration_s=10)
    samples, _ = rec.beats()
    n_in_view = int(((samples >= 1070 * 360) & (samples < 1080 * 360)).sum())
    assert len(ax.texts) == n_in_view > 5
    assert ax.get_xlim()[0] >= 1069 and ax.get_xlim()[1] <= 1081
    with pytest.raises(ValueError, match="outside"):
        book.plot_strip(rec, start_s=4000)
    plt.close("all")


def test_show_spectrogram_uses_real_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecglib.spectrogram import SpectrogramConfig, log_magnitude

    cfg = SpectrogramConfig(size=None)
    x = np.sin(2 * np.pi * 10 * np.arange(720) / 360)
    img = log_magnitude(x, 360, cfg)
    mesh = book.show_spectrogram(img, 360, cfg, n_samples=720)
    ax = mesh.axes
    assert ax.get_xlim()[1] == pytest.approx(2.0, abs=0.05)
    assert 40 <= ax.get_ylim()[1] <= 46
    with pytest.raises(ValueError, match="axes need"):
        book.show_spectrogram(img[:, :-3], 360, cfg, n_samples=720)
    # without n_samples the window length is inferred from the columns, for an odd window too
    for n_fft in (128, 127):
        odd = SpectrogramConfig(size=None, n_fft=n_fft, hop_length=16)
        mesh = book.show_spectrogram(log_magnitude(x, 360, odd), 360, odd)
        assert mesh.get_array().size == log_magnitude(x, 360, odd).size
    plt.close("all")


def test_plot_detector_steps_draws_every_step(data_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecglib.data import load_record

    rec = load_record("119", data_dir)
    fig = book.plot_detector_steps(rec, start_s=10, duration_s=5)
    axes = fig.axes
    assert len(axes) == 5
    assert all(ax.get_xlim()[0] >= 9.5 and ax.get_xlim()[1] <= 15.5 for ax in axes)
    detected, reference = axes[-1].lines[1], axes[-1].lines[2]  # the trace is lines[0]
    assert len(detected.get_xdata()) == len(reference.get_xdata()) > 3
    with pytest.raises(ValueError, match="outside"):
        book.plot_detector_steps(rec, start_s=5000)
    plt.close("all")


# --------------------------------------------------------------------------------------------------
# Chapters 4–6: models, evaluation, Grad-CAM


@pytest.fixture(scope="module")
def native_100(data_dir):
    from ecglib.dataset import build_dataset
    from ecglib.spectrogram import SpectrogramConfig

    return build_dataset(["100", "119"], spec_config=SpectrogramConfig(size=None), cache=False, progress=False)


def test_recompute_images_matches_a_fresh_build(native_100):
    from ecglib.dataset import build_dataset
    from ecglib.spectrogram import SpectrogramConfig

    idx = np.r_[0:5, len(native_100) - 5 : len(native_100)]  # beats of both records
    few = native_100.take(idx)
    out = book.recompute_images(few, SpectrogramConfig())
    full = build_dataset(["100", "119"], spec_config=SpectrogramConfig(), cache=False, progress=False)
    assert out.images.shape == (10, 128, 128) and out.images.dtype == np.uint8
    assert np.array_equal(out.images, full.images[idx])
    assert np.array_equal(out.labels, few.labels) and np.array_equal(out.peaks, few.peaks)
    import dataclasses

    with pytest.raises(ValueError, match="not beats"):
        book.recompute_images(dataclasses.replace(few, peaks=few.peaks + 1), SpectrogramConfig())


def test_recompute_images_record_without_beats(native_100, monkeypatch):
    import dataclasses

    import ecglib.beats
    from ecglib.spectrogram import SpectrogramConfig

    real = ecglib.beats.record_beats
    monkeypatch.setattr(ecglib.beats, "record_beats", lambda rec, cfg: dataclasses.replace(
        real(rec, cfg), peaks=np.empty(0, np.int64)))  # fmt: skip
    with pytest.raises(ValueError, match="cuts no beats"):
        book.recompute_images(native_100.take(np.arange(3)), SpectrogramConfig())


def test_model_batch_and_gradcam_maps(trained_model_path, native_100):
    from ecglib.train import load_model

    model, _ = load_model(trained_model_path)
    data = native_100.subset(["119"])
    idx = np.flatnonzero(data.labels == 2)[:7]
    x = book.model_batch(model, "efficient_cnn", data, idx)
    assert set(x) >= {"image", "rr"} and x["image"].shape == (7, *data.images.shape[1:])
    assert np.array_equal(x["rr"], data.rr[idx])
    maps = book.gradcam_maps(model, "efficient_cnn", data, idx, class_index=2, batch_size=3)
    assert maps.shape == (7, *data.images.shape[1:]) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    per_beat = book.gradcam_maps(model, "efficient_cnn", data, idx, class_index=np.full(7, 2))
    assert np.allclose(per_beat, maps, atol=1e-5)
    with pytest.raises(ValueError, match="empty"):
        book.gradcam_maps(model, "efficient_cnn", data, [])
    mask = np.zeros(len(data), bool)
    mask[idx] = True
    assert np.allclose(book.gradcam_maps(model, "efficient_cnn", data, mask, class_index=2), maps, atol=1e-5)
    with pytest.raises(ValueError, match="one entry per beat"):
        book.gradcam_maps(model, "efficient_cnn", data, mask[:-1])
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            book.gradcam_maps(model, "efficient_cnn", data, idx, batch_size=bad)


def test_spectrogram_extent_and_show_gradcam():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecglib.spectrogram import SpectrogramConfig

    cfg = SpectrogramConfig(size=None, hop_length=16)
    t0, t1, f0, f1 = book.spectrogram_extent(cfg)
    # pixel edges: half a hop (16 / 360 s) and half a bin (360 / 128 Hz) beyond the centres
    assert (t0, t1) == pytest.approx((-1 - 8 / 360, 1 + 8 / 360)) and f0 == pytest.approx(-360 / 256)
    assert f1 == pytest.approx(15 * 360 / 128 + 360 / 256)  # 16 rows kept below 45 Hz
    assert book.spectrogram_extent(SpectrogramConfig()) == book.spectrogram_extent(SpectrogramConfig(size=None))
    # the centres imshow then draws the columns at are the STFT frame times
    from ecglib.spectrogram import frame_times

    centres = t0 + (np.arange(46) + 0.5) * (t1 - t0) / 46
    assert np.allclose(centres, frame_times(720, 360, cfg) - 1.0)
    image = np.random.default_rng(0).integers(0, 256, (16, 46), dtype=np.uint8)
    ax = book.show_gradcam(image, np.ones((16, 46), np.float32) * 0.5, cfg, title="x")
    assert ax.get_xlim() == (t0, t1) and ax.get_ylim() == (f0, f1)
    assert ax.get_xlabel().startswith("time") and ax.get_title() == "x"
    ax180 = book.show_gradcam(image, np.ones((16, 46), np.float32) * 0.5, cfg, fs=180)
    assert ax180.get_xlim() == book.spectrogram_extent(cfg, fs=180)[:2] != (t0, t1)
    plt.close("all")


def test_rank_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((4, 5, 6))
    rho = book.rank_correlation(a, np.stack([a[0], -a[1], a[2] ** 3, np.zeros((5, 6))]))
    assert np.allclose(rho[:3], [1, -1, 1]) and np.isnan(rho[3])
    b = rng.random((4, 5, 6))
    assert np.all(np.abs(book.rank_correlation(a, b)) < 0.6)
    with pytest.raises(ValueError, match="same shape"):
        book.rank_correlation(a, b[:, :4])


def test_randomized_model(trained_model_path):
    from ecglib.train import load_model

    model, _ = load_model(trained_model_path)
    before = [w.copy() for w in model.get_weights()]
    everything = book.randomized_model(model, seed=1)
    top = book.randomized_model(model, ["probs"], seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # the original is untouched
    changed = [not np.array_equal(a, b) for a, b in zip(model.get_layer("last_conv").get_weights(), everything.get_layer("last_conv").get_weights())]
    assert any(changed)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_layer("last_conv").get_weights(), top.get_layer("last_conv").get_weights()))
    assert not np.array_equal(model.get_layer("probs").get_weights()[0], top.get_layer("probs").get_weights()[0])
    with pytest.raises(ValueError, match="no_such_layer"):
        book.randomized_model(model, ["no_such_layer"])


def test_randomized_model_of_an_ensemble_changes_every_member(trained_model_path):
    from ecglib.models import ensemble_members, ensemble_model
    from ecglib.train import load_model

    ens = ensemble_model([load_model(trained_model_path)[0], load_model(trained_model_path)[0]])
    before = [w.copy() for w in ens.get_weights()]
    for layers, changed in ((None, ("last_conv", "probs")), (["probs"], ("probs",))):
        out = book.randomized_model(ens, layers, seed=1)
        assert len(ensemble_members(out)) == 2
        for new, old in zip(ensemble_members(out), ensemble_members(ens)):
            for name in ("last_conv", "probs"):
                same = np.array_equal(new.get_layer(name).get_weights()[0], old.get_layer(name).get_weights()[0])
                assert same != (name in changed), (layers, name)
    assert all(np.array_equal(a, b) for a, b in zip(before, ens.get_weights()))  # the original is untouched


def test_per_record_scores():
    records = np.array(["a", "a", "a", "b", "b"])
    y = np.array([0, 1, 2, 0, 0])
    proba = np.eye(3)[[0, 0, 2, 0, 1]]
    table = book.per_record_scores(records, y, proba)
    assert list(table.index) == ["a", "b"] and list(table["beats"]) == [3, 2]
    assert table.loc["a", "accuracy"] == pytest.approx(2 / 3) and table.loc["b", "N recall"] == 0.5
    assert table.loc["a", "S recall"] == 0 and np.isnan(table.loc["b", "V recall"])
    with pytest.raises(ValueError, match="length"):
        book.per_record_scores(records[:4], y, proba)


def test_scores_by_symbol_on_record_207():
    from ecglib.beats import record_beats
    from ecglib.data import load_record

    beats = record_beats(load_record("207"))
    proba = np.eye(3)[beats.labels.astype(int)]
    proba[beats.labels == 2] = np.eye(3)[0]  # call every V beat N
    records = np.full(len(beats.labels), "207")
    table = book.scores_by_symbol(records, beats.peaks, beats.labels, proba)
    # 207 holds the ventricular escape (E) beats: class V, like its V beats.
    assert table.loc[("207", "E"), "class"] == "V" and 100 <= table.loc[("207", "E"), "beats"] <= 105
    assert table.loc[("207", "V"), "as N"] == 1.0 and table.loc[("207", "A"), "as S"] == 1.0
    assert table["beats"].sum() == len(beats.labels)
    # A peak shifted beyond the tolerance matches no annotation.
    shifted = beats.peaks.copy()
    shifted[-1] += 3600  # 10 s after the last beat
    assert ("207", "?") in book.scores_by_symbol(records, shifted, beats.labels, proba).index
    with pytest.raises(ValueError, match="length"):
        book.scores_by_symbol(records[:-1], beats.peaks, beats.labels, proba)


def test_scores_by_rhythm_on_record_222():
    from ecglib.beats import record_beats
    from ecglib.data import load_record

    record = load_record("222")
    beats = record_beats(record)
    rhythms = record.rhythms(beats.peaks)
    proba = np.eye(3)[beats.labels.astype(int)]
    flutter_n = (rhythms == "AFL") & (beats.labels == 0)
    proba[flutter_n] = np.eye(3)[1]  # call the N beats of atrial flutter S
    records = np.full(len(beats.labels), "222")
    table = book.scores_by_rhythm(records, beats.peaks, beats.labels, proba)
    # 222: paroxysms of atrial flutter and fibrillation between sinus rhythm (about 740 beats of AFL).
    assert {"N", "AFL", "AFIB"} <= set(table.loc["222"].index)
    afl = table.loc[("222", "AFL")]
    assert 600 <= afl["beats"] <= 800 and afl["as S"] == afl["S"] + afl["N"] and afl["errors"] == afl["N"] > 0
    assert table.drop(index=("222", "AFL"))["errors"].sum() == 0
    assert table["beats"].sum() == len(beats.labels) == table[["N", "S", "V"]].to_numpy().sum()
    assert (table[["as N", "as S", "as V"]].sum(axis=1) == table["beats"]).all()
    with pytest.raises(ValueError, match="length"):
        book.scores_by_rhythm(records, beats.peaks[:-1], beats.labels, proba)
    assert list(book.beat_rhythms(records, beats.peaks)) == list(rhythms)
    with pytest.raises(ValueError, match="one length"):
        book.beat_rhythms(records, beats.peaks[:-1])


def test_quiet_tensorflow_keeps_startup_messages_off_stderr():
    import subprocess

    code = "from ecglib.book import quiet_tensorflow; quiet_tensorflow(); import keras; keras.ops.ones(2); import sys; print('after', file=sys.stderr)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "oneDNN" not in out.stderr and "cuda" not in out.stderr.lower() and out.stderr.strip() == "after"
