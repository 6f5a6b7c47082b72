# Two commands do everything: `make book` (build the HTML book) and `make test` (all checks).
# Both create .venv from requirements.txt on first use; python3 and make are needed, and Debian's
# chromium package for the browser check (`make check-html`, part of `make test`) and `make pdf`.
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
# Headless Chromium for check-html and pdf (Debian: apt-get install chromium; .ci/run installs it).
CHROMIUM ?= /usr/bin/chromium
LAB_STAMP := $(VENV)/.lab-stamp
# Install Debian's chromium when it is missing and we may (root with apt-get); otherwise say how.
define need_chromium
@test -x $(CHROMIUM) || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ "$(CHROMIUM)" = /usr/bin/chromium ]; then \
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
  else echo "no Chromium at $(CHROMIUM): sudo apt-get install -y chromium, or make CHROMIUM=/path/to/chrome"; exit 1; fi; }
endef

.PHONY: venv book test unit nbval book-strict check-html check-figures check-lab check-pdf check-a11y notebooks \
        bench clean pdf student grade lab lab-env colab-cell reader newest

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
# strict book build and the browser checks of the built pages (pages, finding aids, accessibility). The figure
# check (make check-figures) is not in it yet: 32 figures still fail it (issue 25, item 5).
test: $(STAMP)
	env $(PORTABILITY_ENV) $(BIN)/python -m pytest $(PYTEST_PAR) tests $(NOTEBOOKS) --nbval --nbval-current-env -q
	$(MAKE) book-strict
	$(need_chromium)
	$(MAKE) check-html

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_PAR) tests -q

nbval: $(STAMP)
	env $(PORTABILITY_ENV) $(BIN)/python -m pytest $(PYTEST_PAR) $(NOTEBOOKS) --nbval --nbval-current-env -q

book-strict: $(STAMP)
	rm -rf _build/.doctrees
	$(BIN)/jupyter-book build . --builder html --all $(JB_STRICT)

# The built pages as a reader sees them, in headless Chromium (scripts/check_html.py --list: the checks).
# Screenshots of every page go to _build/screenshots/.
check-html: $(STAMP)
	$(need_chromium)
	$(BIN)/python scripts/check_html.py --chromium $(CHROMIUM) $(CHECK_HTML_OPTS)
	$(BIN)/python scripts/check_finding_aids.py --html _build/html
	$(BIN)/python scripts/check_a11y.py --chromium $(CHROMIUM) $(CHECK_A11Y_OPTS)

# Every figure as the reader sees it in Chromium: crisp (>= 2 image px per CSS px), no text under 10 px,
# data colours at >= 3:1 on white and on the dark-mode plate, distinguishable in colour-blind simulation.
check-figures: $(STAMP)
	$(need_chromium)
	$(BIN)/python scripts/check_figures.py --chromium $(CHROMIUM) $(CHECK_FIGURES_OPTS)

# The whole book as one PDF (_build/pdf/icrl-book.pdf, also _build/html/icrl-book.pdf): the single-page
# HTML build printed by headless Chromium, offline.
pdf: $(STAMP)
	$(need_chromium)
	$(BIN)/python scripts/build_pdf.py --chromium $(CHROMIUM)
	$(BIN)/python scripts/check_pdf.py _build/pdf/icrl-book.pdf

# The PDF as a PDF viewer meets it: outline, every link inside the PDF (none to a local server), no empty frames.
check-pdf: $(STAMP)
	$(BIN)/python scripts/check_pdf.py $(CHECK_PDF_OPTS)

# Accessibility audit of every built page: axe-core in headless Chromium, no serious or critical violation
# (also run by check-html).
check-a11y: $(STAMP)
	$(need_chromium)
	$(BIN)/python scripts/check_a11y.py --chromium $(CHROMIUM) $(CHECK_A11Y_OPTS)

# Every notebook under the newest numpy, torch, sympy and matplotlib the index serves, asserts in force (slow;
# not part of make test; .github/workflows/newest.yml runs it weekly).
newest:
	nice -n 19 $(PYTHON) scripts/check_newest.py --pip-opts="$(PIP_OPTS)" $(NEWEST_OPTS)

# The student edition: the chapters without solutions (scaffold cells kept), in _build/student/ and
# _build/student.zip, with requirements-student.txt (what the chapters need) and scripts/grade.py.
# The instructor guide is a page of the book (book/instructor_guide.md).
student: $(STAMP) requirements-student.txt scripts/grade.py
	$(BIN)/python scripts/student_edition.py --out _build/student

# Grade submitted student notebooks: make grade NB=submissions/ (a folder or one .ipynb). Each runs top to
# bottom; an unfilled scaffold or any cell that raises fails it (exit 1), one verdict per coding exercise.
# GRADE_OPTS: --save DIR (keep the executed notebooks), --workdir DIR, --timeout S (see scripts/grade.py).
grade: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make grade NB=<student notebook or folder> [GRADE_OPTS=...]"; exit 2; }
	$(BIN)/python scripts/grade.py $(GRADE_OPTS) $(NB)

# JupyterLab on the chapters (installed into .venv from requirements-lab.txt on first use).
$(LAB_STAMP): $(STAMP) requirements-lab.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q $(PIP_OPTS) -r requirements-lab.txt
	@touch $(LAB_STAMP)

lab-env: $(LAB_STAMP)

# The chapters in a real JupyterLab (headless Chromium, localhost only): no MyST source on the rendered page of a
# committed chapter (jupyterlab-myst) nor of its reader notebook.
check-lab: $(LAB_STAMP)
	$(need_chromium)
	$(BIN)/python scripts/check_lab.py --chromium $(CHROMIUM)

# Reader notebooks (directives as plain Markdown, macros expanded) for Colab and the student edition.
reader: $(STAMP)
	$(BIN)/python scripts/reader_notebooks.py --out _build/reader

# (Jupyter refuses to run as root without --allow-root; containers often run as root.)
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --notebook-dir=book $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_OPTS)

# Insert or update the Colab install cell (generated from repository.url in _config.yml) in every chapter.
colab-cell: $(STAMP)
	$(BIN)/python scripts/colab_cell.py

# Re-execute every notebook in place (after a library change) and normalise its metadata.
notebooks: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py $(NOTEBOOKS)

clean:
	rm -rf _build
