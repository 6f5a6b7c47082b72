# Two commands do everything: `make book` (build the HTML book) and `make test` (all checks).
# Both create .venv from requirements.txt on first use; only python3 and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Extra pip options, e.g. PIP_OPTS="--extra-index-url <PyTorch CPU index>" on machines where
# torch==2.13.0 would otherwise resolve to a CUDA build (see README).
PIP_OPTS ?=
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
JB_STRICT := -W -n --keep-going
# The portability check: `make notebooks` writes outputs with the default numeric kernels; `make test` and
# `make nbval` compare them under other ones (MKL's conditional-numerical-reproducibility mode and ATen's
# kernels without vector instructions, both measured to change trained losses in their last digits here).
# A printed digit that depends on the BLAS path then fails on the author's machine, not on a reader's.
PORTABILITY_ENV ?= MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default
# Two pytest workers (the machines have 2 cores); --dist loadfile keeps each notebook on one worker.
WORKERS ?= 2
PYTEST_PAR := -n $(WORKERS) --dist loadfile

.PHONY: venv book test unit nbval book-strict notebooks bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q $(PIP_OPTS) -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html
	@echo "Book built: _build/html/index.html"

# Unit + property tests of icrl_lib and nbval on every chapter (under the portability check), then the
# strict book build.
test: $(STAMP)
	env $(PORTABILITY_ENV) $(BIN)/python -m pytest $(PYTEST_PAR) tests $(NOTEBOOKS) --nbval --nbval-current-env -q
	$(MAKE) book-strict

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_PAR) tests -q

nbval: $(STAMP)
	env $(PORTABILITY_ENV) $(BIN)/python -m pytest $(PYTEST_PAR) $(NOTEBOOKS) --nbval --nbval-current-env -q

book-strict: $(STAMP)
	rm -rf _build/.doctrees
	$(BIN)/jupyter-book build . --builder html --all $(JB_STRICT)

# Re-execute every notebook in place (after a library change) and normalise its metadata.
notebooks: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py $(NOTEBOOKS)

clean:
	rm -rf _build
