# ocrq: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help run test install bench clean

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

test: $(STAMP)  ## run every test (starts its own Redis and workers)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:  ## remove the virtual environment and local state
	rm -rf $(VENV) .ocrq *.egg-info
