# Everything a fresh machine needs: `make book` (the main job) and `make test`.
# Both create .venv and install ecglib with its book and test extras first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: help venv book book-quick test test-unit test-notebooks  benchmark-data benchmark-models sync clean

help:
	@echo "make book      build the full book (all 48 records) into _build/html"
	@echo "make test      unit tests (with the .ipynb/.py pair check), chapters under nbval in quick mode, strict quick build"
	@echo "make benchmark-data / benchmark-models   print the benchmark tables, write results/*.json"

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

sync: venv
	$(BIN)/jupytext --sync $(NOTEBOOKS)

benchmark-data: venv
	$(BIN)/python benchmarks/data_pipeline.py

benchmark-models: venv
	$(BIN)/python benchmarks/models.py

clean:
	rm -rf _build
