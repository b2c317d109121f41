# The two commands of the README: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench eval clean-venv browser

# torch first, pinned: on these machines 2.13.0 is a local CPU wheel, while letting
# sentence-transformers pull torch would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
		-e '.[dev]' -e 'clients/python[dev]'
	@touch $(STAMP)

run: $(STAMP)
	exec $(BIN)/memory-service run

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The console's browser tests drive a real headless Chromium: Debian's chromium and
# chromium-driver (browser builds cannot be downloaded here, so not Playwright's own). Installed
# with apt-get (as root, or through sudo) when missing; nothing happens when both are there.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "installing chromium and chromium-driver for the console's browser tests"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
			>/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy memory_service
	$(BIN)/mypy clients/python/memory_client

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmark suite against a server it starts (embedded PostgreSQL), with mem0 and Chroma on
# the same data (the bench extra); BENCH_ARGS="--size small --peers" for a run of a few minutes.
BENCH_ARGS ?= --peers
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

eval: $(STAMP)
	$(BIN)/memory-service eval tests/data/dev_eval.json --out bench/eval_dev.json

clean-venv:
	rm -rf $(VENV)
