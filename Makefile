# The book's commands. `make book` builds the website, `make test` runs the
# tests; both set up what they need first (see README.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= all
SET    ?=

.PHONY: help setup graphviz chromium book test lab translations full smoke check lint normalise bench font clean

help:
	@echo "make book          build the website into _build/html (index.html; Korean in ko/)"
	@echo "make test          run the whole test suite (about 7 minutes on 2 CPU cores, two processes)"
	@echo "make lab           open the chapters in JupyterLab (reading copies in _build/lab/chapters)"
	@echo "make lab EDITION=ko  the same, in Korean (_build/lab/ko/chapters)"
	@echo "make translations  after English text changes: update locales/ko and the Korean notebooks"
	@echo "make full NB=...   re-run a chapter (or NB=all) with the book's settings and record provenance"
	@echo "                   (SET='NAME=VALUE ...' changes settings this machine cannot run; recorded)"
	@echo "make smoke NB=...  run a chapter with its small smoke parameters into _output/smoke"
	@echo "make check         list every notebook whose outputs no longer match its code"
	@echo "make lint          ruff on the code and (through nbQA) the notebooks; the notebooks' hygiene"
	@echo "make normalise     drop editor and machine metadata and idle tags from the notebooks"
	@echo "make bench         images per second, plain code vs the book's, into _output/bench"
	@echo "make font          cut the site's Korean web font to the Hangul the book uses (needs fonts-nanum)"

setup: $(STAMP) graphviz

# One environment for every target: requirements-dev.txt (tests, lint, the
# website, full runs) includes requirements.txt (what the notebooks need, as in
# JupyterLab or Binder). The pins are for Python 3.11 (3.11.5 or later).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml ipython_kernel_config.py
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11, 5) <= sys.version_info[:3] < (3, 12))' || \
		{ echo "Python 3.11 (3.11.5 or later) is needed (found $$($(PYTHON) --version)); set PYTHON=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	mkdir -p $(VENV)/etc/ipython
	cp ipython_kernel_config.py $(VENV)/etc/ipython/
	touch $(STAMP)

# $(call install_tool,command,apt package,what it is for,how to get it elsewhere):
# install a missing program with apt-get where we are root, else say how.
define install_tool
	@command -v $(1) >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing $(2) for $(3) (apt-get install $(2))"; \
			(apt-get install -y -qq $(2) >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq $(2) >/dev/null)) || \
			echo "Could not install $(2): $(3) will not work (see README)."; \
		else \
			echo "'$(1)' is missing, needed for $(3): $(4)."; \
		fi; }
endef

# plot_model needs Graphviz's `dot` program.
graphviz:
	$(call install_tool,dot,graphviz,model diagrams,apt install graphviz / brew install graphviz / conda install graphviz)

# The browser test opens the built site in headless Chromium.
chromium:
	$(call install_tool,chromium,chromium,the browser test,apt install chromium)

# The English edition at the root of the site, the Korean one (built from a
# source tree written from locales/ko, see publish/korean_edition.py) in ko/.
book: setup
	$(BIN)/python -m publish book

test: setup chromium
	$(BIN)/python -m pytest -v -n 2 --dist loadscope tests

# JupyterLab opens reading copies of the chapters, with numbers, citations and
# glossary terms written out (chapters/ stays the source; see publish/reading_copies.py).
# EDITION=ko: the Korean edition's chapters (_build/lab/ko/chapters).
EDITION ?= en
LAB_DIR := $(if $(filter ko,$(EDITION)),_build/lab/ko/chapters,_build/lab/chapters)
lab: setup
	$(BIN)/python -m publish lab $(filter ko,$(EDITION))
	$(BIN)/jupyter lab $(LAB_DIR)

# SET reaches the tool through the environment, so values keep their spaces and quotes.
export SET

full: setup
	$(BIN)/python -m publish full $(NB) --set="$$SET"

smoke: setup
	$(BIN)/python -m publish smoke $(NB)

check: setup
	$(BIN)/python -m publish check

bench: setup
	$(BIN)/python -m publish bench

# ruff with the repository's configuration (pyproject.toml): the code, then the notebooks.
lint: setup
	$(BIN)/ruff check helpers publish tests _ext
	$(BIN)/ruff format --check helpers publish tests _ext
	$(BIN)/nbqa ruff chapters
	$(BIN)/python -m publish normalise --check

# The site's Korean web font, cut to the Hangul the book uses (after adding Korean text).
font: book
	$(BIN)/python -m publish font

# After English text changes: merge it into the Korean catalogs (locales/ko) and
# write the Korean notebooks (ko/chapters); the tests name what needs translating.
translations: setup
	$(BIN)/python -m publish translations

# Metadata only: no code or output changes, so no provenance record goes stale.
normalise: setup
	$(BIN)/python -m publish normalise

clean:
	rm -rf _build _output
