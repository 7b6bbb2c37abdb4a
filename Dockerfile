# One image for every role: `mnemonix migrate`, `mnemonix serve`, `mnemonix worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    MNEMONIX_DATA_DIR=/var/lib/mnemonix \
    MNEMONIX_HOST=0.0.0.0 \
    MNEMONIX_PORT=8420

WORKDIR /app
# torch==2.13.0 is pinned in pyproject.toml; on a registry without the local CPU wheel, add
# `--extra-index-url https://download.pytorch.org/whl/cpu` to keep the image CPU-only.
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY channels ./channels
COPY lifecycle ./lifecycle
COPY storage ./storage
COPY migrations ./migrations
COPY sdk ./sdk
RUN pip install . ./sdk \
    && useradd --system --home /var/lib/mnemonix mnemonix \
    && mkdir -p /var/lib/mnemonix && chown mnemonix /var/lib/mnemonix
USER mnemonix
# Export the ONNX model once at build time so containers start fast and offline.
RUN python -c "from channels.embedder import build_embedder; build_embedder('minilm', model_path=None, threads=None)"

EXPOSE 8420
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8420/healthz').status != 200)"
ENTRYPOINT ["mnemonix"]
CMD ["serve"]
