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

.PHONY: setup pio-setup demo test lint clean baselines soak

setup: $(STAMP) $(SYSSTAMP)

$(SYSSTAMP): tools/install_system_deps.sh
	bash tools/install_system_deps.sh
	@mkdir -p $(dir $@) && touch $@

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check '$(TORCH)'
	$(PIP) install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

test: setup pio-setup
	$(PY) -m pytest -q --durations=25  # the slowest tests: CI should stay under 15 min

# Not part of `make test` (~10 min): 100k requests to the host firmware and 10k to QEMU with the
# bundled model (identical answers, flat RSS), then a 30k-frame ASan/UBSan fuzz of the real
# runtime with a fresh seed. EMBBERT_SOAK_HOST / _QEMU / EMBBERT_FUZZ_FRAMES change the sizes.
soak: setup
	EMBBERT_SOAK=1 $(PY) -m pytest -q -s tests/test_soak.py
	EMBBERT_FUZZ_FRAMES=$${EMBBERT_FUZZ_FRAMES:-30000} $(PY) -m pytest -q -s tests/test_fuzz_real.py

lint: setup
	$(VENV)/bin/ruff check exporter tests

# The bag-of-words baseline (TF-IDF 1-2 grams + logistic regression) on every task, chosen on
# the same selection split as finetuning -> docs/baselines.json (docs/TRAINING.md).
baselines: setup
	OMP_NUM_THREADS=1 $(PY) -m embbert.train.baselines --out docs/baselines.json

# PlatformIO offline: seed its SCons package into the project-local core dir (idempotent).
pio-setup: setup
	$(PY) tools/seed_platformio.py

# The design card's three commands on the emulated Cortex-M4F: export MODEL, build the firmware
# with PlatformIO (offline), then bench its own task's dev split (SST-2: 100 sentences) on it.
# The bench starts QEMU with the PlatformIO ELF itself and always stops it.
MODEL    ?= models/sst2.pt
DEMO_ELF := .pio/build/qemu_m4/firmware.elf
demo: setup pio-setup
	@test -f "$(MODEL)" || { echo "error: $(MODEL) not found: train it (embbert-train finetune" \
	  "--task sst2 ...) or run: make demo MODEL=path/to/model.pt" >&2; exit 1; }
	$(VENV)/bin/embbert-export $(MODEL) --board qemu-m4
	$(VENV)/bin/pio run -e qemu_m4
	@echo "built $(DEMO_ELF); next: embbert-bench on it"
	$(VENV)/bin/embbert-bench --board qemu-m4 --firmware $(DEMO_ELF) --report build/demo

clean:
	rm -rf build .pio firmware/generated .cache

# Benchmarks: QEMU Cortex-M4/M7 instruction counts (ref vs cortexm kernels, per stage,
# stack, arena) and the host comparison with PyTorch / ONNX Runtime, one thread ->
# docs/BENCHMARKS.md, docs/benchmarks.json, docs/benchmarks.svg (~5 min). onnx and onnxruntime
# are installed here only; without them the ORT columns are skipped.
.PHONY: bench
bench: setup
	$(PIP) install -q --disable-pip-version-check onnx onnxruntime || \
	  echo "onnx/onnxruntime not installable: the ORT columns will be skipped"
	OMP_NUM_THREADS=1 $(PY) -m embbert.perf --out docs

# Peers (optional, heavy installs ~600 MB): the same model through TensorFlow Lite Micro
# (TensorFlow rewrite at fixed T, full int8, tflite-micro interpreter: arena bytes, logits) and
# ONNX Runtime, beside our arena, flash and logits -> docs/PEERS.md, docs/peers.json (~4 min).
PEER_PKGS ?= tensorflow-cpu tflite-micro onnx onnxruntime
.PHONY: bench-peers
bench-peers: setup
	@$(PIP) install -q --disable-pip-version-check $(PEER_PKGS) || { echo "error: could not" \
	  "pip install $(PEER_PKGS) into $(VENV); make bench-peers needs them" >&2; exit 1; }
	OMP_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m embbert.perf.peers --out docs
