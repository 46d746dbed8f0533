# Two commands matter:  `make chat` (set up, build models once, chat)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: chat test setup models bench check clean

# torch is pinned in the same pip command as everything else: on its own pip would pick a
# multi-GB CUDA build. The CPU wheel of 2.13.0 lies on this machine's disk.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing netcopilot and its dependencies into $(VENV) (first run: a few minutes)..." >&2
	@$(BIN)/pip install -q --disable-pip-version-check 'torch==2.13.0' -e '.[dev]' >&2
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

models: setup
	@$(BIN)/netcopilot train --if-missing

chat: models
	@$(BIN)/netcopilot chat

test: setup
	@.ci/test-services
	@$(BIN)/python -m pytest -q -n 2

check: setup
	@$(BIN)/netcopilot check

bench: models
	@$(BIN)/python benchmarks/bench_nlu.py
	@$(BIN)/python benchmarks/bench_speed.py
	@$(BIN)/python benchmarks/bench_slack.py
	@$(BIN)/python benchmarks/bench_nab.py --no-profile
	@$(BIN)/python benchmarks/bench_forecast.py

clean:
	rm -rf $(VENV) .pytest_cache benchmarks/out
