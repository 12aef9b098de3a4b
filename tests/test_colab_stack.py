""".ci/colab-stack.txt (Google Colab's versions) against ecglib's declared requirements.

`make test-colab` installs that stack and runs every chapter on it, which takes minutes; these
checks catch the commonest way to break Colab in a second: a lower bound in pyproject.toml that
Colab's pinned version does not meet (the chapters' Colab cell would then have to upgrade NumPy,
TensorFlow or Keras, which ecglib.book.colab_setup refuses to do).
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ecglib import book

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / ".ci" / "colab-stack.txt"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def read_stack(text: str) -> dict[str, Version]:
    """``{canonical name: version}`` of a requirements file made only of exact pins and comments."""
    pins: dict[str, Version] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version or req.marker or req.extras:
            raise ValueError(f"line {lineno} is not an exact pin 'name==version': {raw!r}")
        name = canonicalize_name(req.name)
        if name in pins:
            raise ValueError(f"line {lineno} pins {name} a second time")
        pins[name] = Version(specs[0].version)
    return pins


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def dependencies(extra: str | None = None) -> list[Requirement]:
    proj = project()
    lines = proj["dependencies"] if extra is None else proj["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def unmet(reqs: list[Requirement], pins: dict[str, Version]) -> list[str]:
    """The requirements that name a pinned package and reject its pinned version."""
    return [
        f"{req} (Colab has {pins[canonicalize_name(req.name)]})"
        for req in reqs
        if canonicalize_name(req.name) in pins
        and not req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True)
    ]


PINS = read_stack(STACK.read_text())


def test_stack_file_names_its_source_date_and_python():
    header = "\n".join(line for line in STACK.read_text().splitlines() if line.startswith("#"))
    assert "pip freeze" in header and re.search(r"\b20\d\d\b", header), "say where the pins come from, and when"
    assert re.search(r"Python 3\.\d+", header), "say which Python Colab runs"


def test_stack_pins_what_colab_setup_protects():
    for name in book.PROTECTED_PACKAGES:
        assert name in PINS, f"{name} is protected by colab_setup but not pinned in {STACK.name}"


def test_stack_leaves_out_what_colab_lacks():
    """Colab has no wfdb and no ecglib: the stack must not hide the chapters' install of them."""
    assert "wfdb" not in PINS and "ecglib" not in PINS


def test_pyproject_lower_bounds_accept_colab_versions():
    """No dependency of ecglib may need a newer NumPy, TensorFlow, Keras, ... than Colab ships."""
    problems = unmet(dependencies(), PINS)
    assert not problems, f"pyproject.toml requires more than Colab has ({STACK.name}): {problems}"


def test_test_extra_accepts_the_harness_versions():
    problems = unmet(dependencies("test"), PINS)
    assert not problems, f"the test extra rejects the versions `make test-colab` runs: {problems}"


def test_what_colab_setup_installs_accepts_colab_versions():
    """The packages Colab lacks (wfdb) get installed next to the pins: their own requirements, as
    the installed release declares them, must accept the pinned versions too (pip would otherwise
    have to move a pin, which the constraints forbid). `make test-colab` checks the real install."""
    problems = []
    for req in dependencies():
        name = canonicalize_name(req.name)
        if name in PINS:
            continue
        try:
            own = [Requirement(r) for r in requires(req.name) or []]
        except PackageNotFoundError:  # pragma: no cover
            pytest.fail(f"{req.name}, a dependency of ecglib, is not installed: install the package first")
        own = [r for r in own if r.marker is None or r.marker.evaluate({"extra": ""})]
        problems += [f"{req.name} {version(req.name)} needs {p}" for p in unmet(own, PINS)]
    assert not problems, problems


@pytest.mark.parametrize(
    "pyproject_line, ok",
    [("numpy>=1.26", True), ("numpy>=2.2", False), ("keras>=3.14", False), ("tensorflow>=2.16,<2.21", True), ("wfdb>=4.1", True)],
)  # fmt: skip
def test_the_check_catches_a_bound_above_colab(pyproject_line, ok):
    assert (not unmet([Requirement(pyproject_line)], PINS)) is ok


def test_read_stack_rejects_anything_but_exact_pins():
    assert read_stack("# comment\nNumPy==2.1.3  # trailing\n\n") == {"numpy": Version("2.1.3")}
    for bad in ("numpy>=2.1", "numpy", "numpy==2.*", "numpy==2.1.3\nnumpy==2.1.4", 'numpy==2.1.3; python_version<"3.9"'):
        with pytest.raises(ValueError):
            read_stack(bad)
