# The book's commands. `make book` builds the website, `make test` runs the
# tests; both set up what they need first (see README.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= all

.PHONY: help setup graphviz chromium book test lab full smoke clean

help:
	@echo "make book          build the website into _build/html (index.html)"
	@echo "make test          run the whole test suite (about 10 minutes on 2 CPU cores)"
	@echo "make lab           open the chapters in JupyterLab"
	@echo "make full NB=...   re-run a chapter (or NB=all) with the book's settings and record provenance"
	@echo "make smoke NB=...  run a chapter with its small smoke parameters into _output/smoke"

setup: $(STAMP) graphviz

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "Python 3.10 or newer is needed (found $$($(PYTHON) --version)); set PYTHON=python3.x"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# plot_model needs Graphviz's `dot` program; install it where we may.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Graphviz (apt-get install graphviz)"; \
			(apt-get install -y -qq graphviz >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null)) || \
			echo "Could not install Graphviz: model diagrams will be missing (see README)."; \
		else \
			echo "Graphviz's 'dot' is missing: install it (apt install graphviz, brew install graphviz or conda install graphviz) to draw model diagrams."; \
		fi; }

book: setup
	$(BIN)/jupyter-book build -W --keep-going .
	@echo "Website: $(CURDIR)/_build/html/index.html"

# The browser test opens the built site in headless Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Chromium for the browser test (apt-get install chromium)"; \
			(apt-get install -y -qq chromium >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) || \
			echo "Could not install Chromium: the browser test will fail (see README)."; \
		else \
			echo "Chromium is missing: install it (apt install chromium) for the browser test."; \
		fi; }

test: setup chromium
	$(BIN)/python -m pytest -v tests

lab: setup
	$(BIN)/jupyter lab chapters

full: setup
	$(BIN)/python tests/notebook_runs.py full $(NB)

smoke: setup
	$(BIN)/python tests/notebook_runs.py smoke $(NB)

clean:
	rm -rf _build _output
