"""Every chapter is a jupytext pair (.ipynb + .py:percent) in sync, committed without outputs."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_chapters():
    # An empty or short glob would silently drop the per-chapter tests here and elsewhere.
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync_and_stripped(ipynb):
    import jupytext

    py = ipynb.with_suffix(".py")
    assert py.is_file(), f"{ipynb.name} has no paired {py.name}; run `make sync`"
    nb = jupytext.read(ipynb)
    text = jupytext.read(py)
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", f"{ipynb.name}: pair it as ipynb,py:percent"
    assert [(c.cell_type, c.source.strip()) for c in nb.cells] == [
        (c.cell_type, c.source.strip()) for c in text.cells
    ], f"{ipynb.name} and {py.name} differ; run `make sync`"
    stored = [c for c in nb.cells if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not stored, f"{ipynb.name} is committed with outputs; clear them"
