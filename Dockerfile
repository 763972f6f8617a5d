# syntax=docker/dockerfile:1
# Image for every process of the service: web, Celery worker, Celery beat and the one-shot
# migration. docker-compose.yml picks the process with `command:`.
#
# Two stages: the first builds the package's wheel from the source (templates, static files,
# migrations and catalogues ride inside it as package data), the second installs that wheel
# and nothing else from the checkout. The service runs from site-packages, like any pip
# install: tests/test_wheel_install.py builds the wheel from exactly the files the build stage
# copies and serves pages from it in a fresh virtualenv.
#
# Base pinned by exact tag (3.11 patch release and Debian release); bump it deliberately.
FROM python:3.11.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# newsletter/templates, newsletter/static and newsletter/alembic are links to the top-level
# folders: copy both sides.
COPY pyproject.toml README.md ./
COPY newsletter/ newsletter/
COPY workers/ workers/
COPY templates/ templates/
COPY static/ static/
COPY alembic/ alembic/
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/app/var

# Non-root user with a fixed id, so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt /tmp/pyproject.toml

# The service itself: the wheel of the build stage (its dependencies are satisfied above).
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && mkdir -p /app/var \
    && chown app:app /app/var

# The code lives in root-owned site-packages (the service cannot rewrite it); only DATA_DIR is
# writable. A named volume mounted on /app/var inherits this ownership when first created.
USER app

EXPOSE 8000

# No HEALTHCHECK here: the same image runs the worker and beat, which serve no HTTP.
# docker-compose.yml gives the web service its own check on /healthz.
CMD ["newsletter", "web", "--host", "0.0.0.0", "--port", "8000"]
