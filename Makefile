# FaceScope — two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench screenshots setup clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Re-install when pyproject.toml changes; torch first so pip never pulls a different build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install "torch==2.14.1" "torchvision==0.29.1"
	$(PIP) install -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) main.py $(ARGS)

test: $(STAMP)
	$(PY) -m ruff check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check core app tests bench tools main.py

bench: $(STAMP)
	$(PY) bench/startup.py

# docs/screenshots: every panel at 1366x768 on a virtual screen (no X server needed)
screenshots: $(STAMP)
	$(PY) tools/screenshots.py --size 1366x768

clean-venv:
	rm -rf $(VENV)
