# ConvLens image. Build: docker build -t convlens .   Run: docker run -p 8000:8000 convlens
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    CONVLENS_HOST=0.0.0.0 \
    CONVLENS_PORT=8000

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

EXPOSE 8000
CMD ["convlens", "serve"]
