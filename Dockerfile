# ConvLens image: one container, CONVLENS_WORKERS uvicorn processes, settings from CONVLENS_*.
#   docker build -t convlens .
#   docker run --rm -p 8000:8000 -e CONVLENS_WORKERS=2 convlens
# Any Debian-like base with Python >= 3.11 and its venv module works (the tests build it on a
# debootstrapped Debian bookworm): docker build --build-arg BASE=my-debian-python .
ARG BASE=python:3.11-slim

# ---------------------------------------------------------------- stage 1: the wheel
FROM ${BASE} AS wheel
# Build-time only (not kept in the image): a CA bundle for pip behind a TLS-inspecting proxy.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/build && /opt/build/bin/pip install -q "setuptools>=77" build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
RUN /opt/build/bin/python -m build --no-isolation --wheel --outdir /dist .

# ---------------------------------------------------------------- stage 2: the image
FROM ${BASE}
ARG PIP_CERT

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/convlens \
    PATH=/opt/convlens/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    CONVLENS_HOST=0.0.0.0 \
    CONVLENS_PORT=8000 \
    CONVLENS_WORKERS=1

# The optional extras the image serves with: the training lab (scikit-learn's digits), ONNX
# models (onnx, onnxruntime) and Redis sharing (CONVLENS_REDIS_URL). EXTRAS="" makes the
# smallest image: /lab and /api/v1/models/* then answer 503, as `pip install convlens` does.
ARG EXTRAS="lab,models,redis"

# Dependencies first, in a layer of their own, read from pyproject.toml (the project's and
# the chosen extras'): a code change rebuilds only the wheel and the last layer.
COPY pyproject.toml /tmp/pyproject.toml
RUN python3 -m venv /opt/convlens \
    && python3 -c "import sys, tomllib; project = tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']; extras = [name for name in sys.argv[1].split(',') if name]; print(*project['dependencies'], *(need for name in extras for need in project['optional-dependencies'][name]), sep=chr(10))" "${EXTRAS}" > /tmp/requirements.txt \
    && pip install -q -r /tmp/requirements.txt \
    && rm /tmp/pyproject.toml /tmp/requirements.txt

# The app: the wheel from stage 1 (templates and static inside the package), no source tree.
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install -q --no-deps /tmp/dist/*.whl && pip check && rm -rf /tmp/dist

# The server runs as an unprivileged uid that owns nothing in the image, so the app cannot
# rewrite itself (numeric: no account needed in the base).
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "app.web.healthcheck"]
# Exec form: `convlens` is PID 1 itself, no shell in between, so SIGTERM reaches uvicorn
# and open streams get CONVLENS_GRACEFUL_SHUTDOWN_SECONDS to finish.
CMD ["convlens", "serve"]
