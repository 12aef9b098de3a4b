"""What the model benchmarks share: protocol keys, training one split with several seeds, the
margin of higher / lower counts, timestamped progress lines, option parsing and writing their JSON + Markdown."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from ecglib._io import atomic_path

#: ``--protocols`` keys of the model benchmarks → (:data:`ecglib.protocols.PROTOCOLS` name, table label).
PROTOCOL_KEYS: dict[str, tuple[str, str]] = {
    "a": ("seed", "(a) patient 70/15/15"),
    "b": ("ds1ds2", "(b) DS1 → DS2"),
    "c": ("kfold", "(c) 5-fold"),
}

#: Validation macro-F1 differences up to this size count as neither higher nor lower (:func:`higher_lower`).
MARGIN = 0.002


def higher_lower(diff) -> tuple[int, int]:
    """How many of the differences ``diff`` (any sequence of floats) are above :data:`MARGIN`, and below ``-MARGIN``."""
    diff = np.asarray(diff, dtype=float)
    return int(np.sum(diff > MARGIN)), int(np.sum(diff < -MARGIN))


def log(msg: str) -> None:
    """Print ``msg`` with the wall-clock time, flushed (benchmarks run for many minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name, family/model numbers and widest vector unit, from ``/proc/cpuinfo``
    (Linux; ``cpuinfo`` is its text, for tests), else :func:`platform.processor`.

    Recorded with timings and scores because TensorFlow's oneDNN kernels, and so a seed's path
    through training, differ between CPUs (AVX2 against AVX-512). The name alone is not enough:
    virtual machines report two different AMD generations as plain "AMD EPYC".
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if fields:  # a blank line ends the first processor's block
                break
            continue
        fields.setdefault(key.strip(), value.strip())
    if "model name" not in fields:
        return platform.processor() or "unknown"
    detail = [f"{label} {fields[key]}" for key, label in (("cpu family", "family"), ("model", "model")) if key in fields]
    flags = fields.get("flags", "").split()
    if "avx512f" in flags:
        detail.append("AVX-512")
    elif "avx2" in flags:
        detail.append("AVX2")
    name = fields["model name"]
    return f"{name} ({', '.join(detail)})" if detail else name


def int_list(ap: argparse.ArgumentParser, value: str, flag: str) -> list[int]:
    """The integers of a comma-separated option value; ``ap.error`` (exit 2) names ``flag`` otherwise."""
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        ap.error(f"{flag} must be comma-separated integers, got {value!r}")


def name_list(ap: argparse.ArgumentParser, value: str, allowed, flag: str) -> list[str]:
    """The names of a comma-separated option value; ``ap.error`` (exit 2) unless they are some of ``allowed``."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names or set(names) - set(allowed):
        ap.error(f"{flag} must name some of {','.join(allowed)}, got {value!r}")
    return names


def write_report(out: str | Path, stem: str, results: dict, md: str) -> None:
    """Write ``out/stem.json`` and ``out/stem.md`` atomically, then print the Markdown."""
    out = Path(out)
    with atomic_path(out / f"{stem}.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(results, indent=1, default=float))
    with atomic_path(out / f"{stem}.md", suffix=".md") as tmp:
        tmp.write_text(md)
    print()
    print(md)
    log(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')}")


def one_split(data, key: str, quick: bool) -> tuple[dict, dict]:
    """The split of protocol ``key`` (``"a"`` or ``"b"``, split seed 0) and its train/val/test Datasets."""
    from ecglib.protocols import protocol_splits

    (split,) = protocol_splits(PROTOCOL_KEYS[key][0], data.class_counts(), seed=0, quick=quick)
    return split, {k: data.subset(v) for k, v in split.items()}


def train_seeds(parts: dict, label: str, seeds, quick: bool, setup=None):
    """Train ``setup`` (default ``EFFICIENT``) once per training seed on ``parts``; yield each run as
    it finishes.

    Yields
    ------
    seed, metrics, val_proba, test_proba
        The seed, :func:`ecglib.protocols.fit_evaluate`'s test metrics, and the ``(n, 3)`` class
        probabilities of the validation and the test beats.
    """
    from ecglib.models import predict_proba
    from ecglib.protocols import EFFICIENT, fit_evaluate

    setup = EFFICIENT if setup is None else setup
    for seed in seeds:
        log(f"{label}: training seed {seed}")
        m, result, test_proba = fit_evaluate(setup, parts["train"], parts["val"], parts["test"], quick=quick,
                                             return_proba=True, seed=seed, verbose=False)  # fmt: skip
        yield seed, m, predict_proba(result.model, setup.model_name, parts["val"]), test_proba
