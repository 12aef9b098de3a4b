"""pytest plugin for `make test-colab`: fail unless every chapter's Colab cell took its Colab branch.

Loaded with ``-p colab_nbval_check`` next to nbval. After the first code cell of each notebook
(the cell from ``ecglib.book.colab_cell``) has run, its output must hold the lines that
``ecglib.book.colab_setup`` prints (``ecglib.colab_setup: ...``); a chapter whose cell printed none
ran its non-Colab branch, and fails. At the end every collected notebook must have had such a cell,
and the lines are shown in the summary.
"""

from __future__ import annotations

import pytest

MARK = "ecglib.colab_setup:"
COLAB_TEST = '"google.colab" in sys.modules'

_notebooks: set[str] = set()
_lines: dict[str, list[str]] = {}


def _colab_cell(item) -> bool:
    cell = getattr(item, "cell", None)
    return cell is not None and COLAB_TEST in getattr(cell, "source", "")


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "cell"):  # an nbval cell
            _notebooks.add(str(item.fspath))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if _colab_cell(item):
        outputs = item.test_outputs or []
        text = "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
        lines = [line for line in text.splitlines() if line.startswith(MARK)]
        _lines[str(item.fspath)] = lines
        if not lines:
            raise AssertionError(
                f"the Colab cell printed no '{MARK}' line, so its Colab branch did not run "
                "(is the stand-in google.colab imported when the kernel starts?)"
            )
    return result


def pytest_sessionfinish(session, exitstatus):
    unchecked = sorted(_notebooks - set(_lines))
    if not _notebooks or unchecked:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        session.config._colab_unchecked = unchecked or ["(no notebook was collected)"]


def pytest_terminal_summary(terminalreporter, config):
    tr = terminalreporter
    tr.section("Colab branch of each chapter's first cell")
    for path, lines in sorted(_lines.items()):
        tr.write_line(path.rsplit("/", 1)[-1])
        for line in lines:
            tr.write_line(f"    {line}")
    for path in getattr(config, "_colab_unchecked", []):
        tr.write_line(f"FAILED: {path}: its Colab cell did not run", red=True)
