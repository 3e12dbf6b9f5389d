# ocrq: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
CHROMIUM := /usr/bin/chromium
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

browser: $(CHROMIUM)  ## install Debian's chromium for the browser tests, if it is missing (needs root)

# Playwright drives Debian's chromium (it downloads no browser); the CJK fonts let screenshots show Chinese.
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "The browser tests need $(CHROMIUM). As root, run:"; \
	  echo "  apt-get update && apt-get install -y chromium fonts-noto-cjk"; \
	  exit 1; \
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-noto-cjk
	test -x $(CHROMIUM)

pdftotext: $(PDFTOTEXT)  ## install poppler's pdftotext, the second reader of the searchable PDF's text (needs root)

# The searchable PDF's tests read its text back with PDFium and with poppler (Debian's poppler-utils); the
# text layer uses Identity-H, which poppler reads without poppler-data's CMaps.
$(PDFTOTEXT):
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "The PDF tests need $(PDFTOTEXT). As root, run:"; \
	  echo "  apt-get update && apt-get install -y poppler-utils"; \
	  exit 1; \
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y poppler-utils
	test -x $(PDFTOTEXT)

screenshot: $(STAMP) browser  ## redo docs/screenshot.png (the web page with a finished job)
	OCRQ_SCREENSHOT=docs/screenshot.png $(BIN)/python -m pytest -q tests/browser -k two_images

clean:  ## remove the virtual environment and local state
	rm -rf $(VENV) .ocrq *.egg-info build
