# ConvLens: one word away. `make serve` runs the app, `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve install install-test chromium test test-fast package-test docker-test lint bench clean

serve: install  ## create the venv, install, serve on http://127.0.0.1:8000
	$(BIN)/convlens serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[lab]'
	$(BIN)/pip install -q -e '.[models]' || echo "onnx/onnxruntime are not installable here: /api/v1/models/* will answer 503"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,lab]'
	@# ONNX models (onnx, onnxruntime); their tests are skipped where these do not install.
	$(BIN)/pip install -q -e '.[models]' || echo "onnx/onnxruntime are not installable here: the models tests will be skipped"
	@# Kept answers through Redis: the client, and Debian's redis-server (each test starts its own).
	$(BIN)/pip install -q -e '.[redis]' || echo "the redis client is not installable here: the Redis tests will be skipped"
	@scripts/install-debian.sh redis-server >/dev/null 2>&1 || echo "redis-server is not installable here: the Redis tests will be skipped"
	@# The notebook widget's extra, and JupyterLab for its test in a real notebook.
	$(BIN)/pip install -q -e '.[notebook]' jupyterlab || echo "anywidget/jupyterlab are not installable here: the notebook widget's tests will be skipped"
	@# PyTorch is a test-only reference, installed from the machine's local wheel.
	$(BIN)/pip install -q torch==2.13.0 || echo "torch==2.13.0 is not installable here: PyTorch comparisons will be skipped"
	@# TensorFlow (with Keras 3) is a test-only reference too: engine and /code snippets against it.
	$(BIN)/pip install -q tensorflow-cpu==2.21.0 keras==3.15.1 || echo "tensorflow-cpu==2.21.0 is not installable here (no wheel for this Python or platform): TF/Keras comparisons will be skipped"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

chromium:  ## Debian's Chromium for the browser tests (never `playwright install`)
	@scripts/install-chromium.sh

test: install-test chromium  ## install what the tests need, then run the whole suite
	$(BIN)/pytest

test-fast: install-test  ## everything but the browser tests and the slow TF/Keras references
	$(BIN)/pytest -m "not e2e and not tf"

package-test: install-test  ## the wheel test, its dependencies resolved from pip's index
	CONVLENS_PACKAGE_TEST_INDEX=1 $(BIN)/pytest tests/deploy/test_wheel.py

docker-test: install-test  ## the real image: Debian base (cached), buildah build, run, HEALTHCHECK
	apt-get install -y -q debootstrap buildah >/dev/null 2>&1 || echo "cannot apt-get install debootstrap buildah: the image test will be skipped"
	CONVLENS_IMAGE_TEST=1 $(BIN)/pytest tests/deploy/test_image.py

lint: install-test
	$(BIN)/ruff check app tests benchmarks

bench: install-test
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache test-artifacts
