# The registry as a small non-root image for Cloud Run: gunicorn on $PORT (gunicorn.conf.py).
# `gcloud run deploy --source .` and cloudbuild.yaml both build this file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080 \
    HOST=0.0.0.0

WORKDIR /app

# Exact versions with hashes (requirements.lock is compiled from requirements.txt), installed
# before the code is copied so a code change reuses this layer.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY main.py gunicorn.conf.py ./
COPY registry/ registry/
# Compile once at build time: the running user cannot write __pycache__, and a cold start
# should not spend time compiling.
RUN python -m compileall -q registry main.py gunicorn.conf.py \
    && groupadd --system --gid 10001 registry \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent registry \
    && mkdir /data && chown 10001:10001 /data

# Local backends write here when the image runs outside Cloud Run (`docker run -p 8080:8080`);
# on Cloud Run, REGISTRY_PYPI_STORAGE=gcs and REGISTRY_PYPI_DB=firestore make these unused.
ENV REGISTRY_STORAGE_DIR=/data/packages \
    REGISTRY_DB_PATH=/data/registry.sqlite3

USER 10001:10001
EXPOSE 8080

# Exec form: gunicorn is PID 1 and receives Cloud Run's SIGTERM itself (a graceful stop).
CMD ["gunicorn", "--config", "gunicorn.conf.py", "main:app"]
