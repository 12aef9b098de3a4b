# Everything a fresh machine needs: `make book` (the main job) and `make test`.
# Both create .venv and install ecglib with its book and test extras first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: help venv book book-quick test test-unit test-notebooks  benchmark-data benchmark-models benchmark-variants benchmark-ensembles benchmark-thresholds benchmark-candidates sync clean test-colab assignments

help:
	@echo "make book      build the full book (all 48 records) into _build/html"
	@echo "make test      unit tests (with the .ipynb/.py pair check), chapters under nbval in quick mode, strict quick build"
	@echo "make test-colab  every chapter, unchanged, on Google Colab's versions (.ci/colab-stack.txt) through its Colab cell"
	@echo "make benchmark-data / benchmark-models / benchmark-variants / benchmark-ensembles / benchmark-thresholds   print the benchmark tables, write results/*.json"
	@echo "make benchmark-candidates   the variants measured on one machine side by side, from results/ (no training)"
	@echo "make assignments   student versions of the chapters (solutions removed) into assignments/"

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

venv: $(BIN)/.installed

book: venv
	$(BIN)/jupyter-book build . -W -n --keep-going

book-quick: venv
	ECGLIB_QUICK=1 $(BIN)/jupyter-book build . -W -n --keep-going --path-output _build/quick

test: test-unit test-notebooks book-quick

test-unit: venv
	$(BIN)/python -m pytest -q tests

test-notebooks: venv
	ECGLIB_QUICK=1 $(BIN)/python -m pytest -q --nbval-lax -p no:cacheprovider $(NOTEBOOKS)

# Every chapter, unchanged, on Google Colab's package versions (.ci/colab-stack.txt, Python 3.13)
# through the Colab branch of its first cell: see tests/colab_fake/colab_job.py. About 3 minutes
# with pip's download cache warm; needs the local MIT-BIH copy (ECGLIB_DATA_DIR), no internet but PyPI.
COLAB_VENV ?= .venv-colab
COLAB_PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo $$p; break; }; done)

test-colab:
	@test -n "$(COLAB_PYTHON)" || { echo "Colab runs Python 3.13: install it or set COLAB_PYTHON" >&2; exit 1; }
	$(PYTHON) tests/colab_fake/colab_job.py --python "$(COLAB_PYTHON)" --venv "$(COLAB_VENV)"

sync: venv
	$(BIN)/jupytext --sync $(NOTEBOOKS)

# Student versions of the chapters: solutions removed, stubs and checks in their place (see
# ecglib/exercises.py and book/instructors.md). Generated, never edited; assignments/ is git-ignored.
assignments: venv
	$(BIN)/python -m ecglib.exercises make-assignments notebooks assignments

benchmark-data: venv
	$(BIN)/python benchmarks/data_pipeline.py

benchmark-models: venv
	$(BIN)/python benchmarks/models.py

benchmark-variants: venv
	$(BIN)/python benchmarks/variants.py

benchmark-ensembles: venv
	$(BIN)/python benchmarks/ensembles.py

benchmark-thresholds: venv
	$(BIN)/python benchmarks/thresholds.py

# No training: the variants measured on one machine, side by side, from results/variants*-MACHINE.json.
benchmark-candidates: venv
	$(BIN)/python benchmarks/candidates.py

clean:
	rm -rf _build
