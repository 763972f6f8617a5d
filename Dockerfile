# syntax=docker/dockerfile:1
# Image for every process of the service: web, Celery worker, Celery beat and the one-shot
# migration. docker-compose.yml picks the process with `command:`.
#
# Base pinned by exact tag (3.11 patch release and Debian release); bump it deliberately.
FROM python:3.11.11-slim-bookworm

# PYTHONPATH: the code runs from /app rather than from site-packages, so that the paths the
# service derives from its own location (templates/, alembic.ini, alembic/) resolve to the
# copies in /app. `pip install .` still provides the dependencies and the `newsletter` command.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DATA_DIR=/app/var

# Non-root user with a fixed id, so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes.
# (README.md* is optional: pyproject names it as the readme, the glob tolerates its absence.)
COPY pyproject.toml README.md* ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY newsletter/ newsletter/
COPY workers/ workers/
COPY templates/ templates/
COPY alembic/ alembic/
COPY alembic.ini ./
COPY scripts/ scripts/

# The package itself (dependencies are already satisfied above); clean the in-tree build output.
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && mkdir -p /app/var \
    && chown app:app /app/var

# /app stays root-owned (the service cannot rewrite its own code); only DATA_DIR is writable.
# A named volume mounted on /app/var inherits this ownership when first created.
USER app

EXPOSE 8000

# No HEALTHCHECK here: the same image runs the worker and beat, which serve no HTTP.
# docker-compose.yml gives the web service its own check on /healthz.
CMD ["newsletter", "web", "--host", "0.0.0.0", "--port", "8000"]
