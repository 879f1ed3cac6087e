# EmbBERT-Q toolchain. `make demo` and `make test` set everything up on a fresh Debian machine
# (system packages, venv, offline PlatformIO) and are safe to run again.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
# The CPU build of torch (a plain `torch` requirement may pull a multi-GB CUDA build).
TORCH   ?= torch==2.13.0
STAMP   := $(VENV)/.installed
SYSSTAMP := .cache/system-deps.ok
export PLATFORMIO_CORE_DIR ?= $(CURDIR)/.pio-core
export PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL ?= 9999
export PLATFORMIO_SETTING_ENABLE_TELEMETRY ?= No

.PHONY: setup demo test lint clean

setup: $(STAMP) $(SYSSTAMP)

$(SYSSTAMP): tools/install_system_deps.sh
	bash tools/install_system_deps.sh
	@mkdir -p $(dir $@) && touch $@

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check '$(TORCH)'
	$(PIP) install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check exporter tests

demo: setup
	$(VENV)/bin/embbert-eval models/sst2.pt --task sst2 --split dev
	$(VENV)/bin/embbert-predict models/sst2.pt "a gorgeous, witty, seductive movie"

clean:
	rm -rf build .pio firmware/generated .cache
