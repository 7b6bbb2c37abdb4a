# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint bench-locomo bench-ingest clean

$(STAMP): pyproject.toml sdk/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e './sdk[langgraph,openai-agents]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mnemonix serve

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check service channels lifecycle storage sdk tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/mypy sdk/examples

bench-locomo: $(STAMP)
	$(BIN)/python bench/locomo.py ../shared/bench/locomo/locomo-dev.json

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest_search.py

clean:
	rm -rf $(VENV) .pytest_cache
