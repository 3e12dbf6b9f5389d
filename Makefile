# ocrq: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
CHROMIUM := /usr/bin/chromium
CURL     := /usr/bin/curl
PDFTOTEXT := /usr/bin/pdftotext

.DEFAULT_GOAL := help
.PHONY: help run test lint install browser pdftotext screenshot bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install ocrq with its engine and test tools

run: $(STAMP)  ## start everything on this machine (embedded Redis, API, one worker) on 127.0.0.1:5000
	$(BIN)/ocrq up

test: $(STAMP) browser pdftotext lint  ## run every test (starts its own Redis and workers), after the lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy reads a package from a folder of its name: build/typecheck/ocrq is the installed layout, made of
# links to the three folders (common/ is ocrq, api/ and worker/ its subpackages).
lint: $(STAMP)  ## ruff (style, imports by the package's name only) and mypy on the ocrq package
	$(BIN)/ruff check .
	rm -rf build/typecheck && mkdir -p build/typecheck/ocrq
	for entry in common/*; do ln -s "$(CURDIR)/$$entry" build/typecheck/ocrq/; done
	ln -s "$(CURDIR)/api" build/typecheck/ocrq/api && ln -s "$(CURDIR)/worker" build/typecheck/ocrq/worker
	cd build/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml \
	  --python-executable $(CURDIR)/$(BIN)/python --cache-dir $(CURDIR)/build/mypy-cache

browser: $(CHROMIUM) $(CURL)  ## install Debian's chromium (browser tests) and curl (README examples), if missing (needs root)

# Debian packages the tests need, installed when their file is missing: $(1) the file, $(2) the packages.
define debian_packages
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "The tests need $(1). As root, run:"; \
	  echo "  apt-get update && apt-get install -y $(2)"; \
	  exit 1; \
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y $(2)
	test -x $(1)
endef

# Playwright drives Debian's chromium (it downloads no browser); the CJK fonts let screenshots show Chinese.
$(CHROMIUM):
	$(call debian_packages,$(CHROMIUM),chromium fonts-noto-cjk)

# tests/integration/test_readme_examples.py runs the README's curl examples as written.
$(CURL):
	$(call debian_packages,$(CURL),curl)

pdftotext: $(PDFTOTEXT)  ## install poppler's pdftotext, the second reader of the searchable PDF's text (needs root)

# The searchable PDF's tests read its text back with PDFium and with poppler (Debian's poppler-utils); the
# text layer uses Identity-H, which poppler reads without poppler-data's CMaps.
$(PDFTOTEXT):
	$(call debian_packages,$(PDFTOTEXT),poppler-utils)

screenshot: $(STAMP) browser  ## redo docs/screenshot.png (the web page with a finished job)
	OCRQ_SCREENSHOT=docs/screenshot.png $(BIN)/python -m pytest -q tests/browser -k two_images

clean:  ## remove the virtual environment and local state
	rm -rf $(VENV) .ocrq *.egg-info build
