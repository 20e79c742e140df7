# ConvLens image: one container, CONVLENS_WORKERS uvicorn processes, settings from CONVLENS_*.
#   docker build -t convlens .
#   docker run --rm -p 8000:8000 -e CONVLENS_WORKERS=2 convlens
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    CONVLENS_HOST=0.0.0.0 \
    CONVLENS_PORT=8000 \
    CONVLENS_WORKERS=1

# The user the server runs as. It owns nothing in the image, so the app cannot rewrite itself.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin convlens

WORKDIR /srv/convlens

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && pip uninstall -y convlens \
    && rm -rf app build *.egg-info

# The code. Installed in place so templates/ and static/ sit beside the package.
COPY app ./app
COPY templates ./templates
COPY static ./static
RUN pip install --no-deps -e .

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "app.healthcheck"]
# Exec form: `convlens` is PID 1 itself, no shell in between, so SIGTERM reaches uvicorn
# and open streams get CONVLENS_GRACEFUL_SHUTDOWN_SECONDS to finish.
CMD ["convlens", "serve"]
