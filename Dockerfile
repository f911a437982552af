# The portal's one image: web (gunicorn), worker and beat (Celery) run it with different commands.
# docker-compose.yml shows the whole stack; every setting comes from the environment (README: Deploy).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PORTAL_VAR_DIR=/var/lib/portal \
    CUTOUT_RESULTS_DIR=/var/lib/portal/results \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
# The runtime lock (what the web process and the worker import; `make lock` writes it): the versions the tests
# ran, hash-checked; no devboss, no test tools. WITH_S3=1 (`docker compose build --build-arg WITH_S3=1`) adds
# the S3 backend for CUTOUT_STORAGE=s3 (requirements/s3.txt). A layer of its own: rebuilt when a lock changes.
ARG WITH_S3=0
COPY requirements/runtime.txt requirements/s3.txt ./requirements/
RUN lock=requirements/runtime.txt; if [ "$WITH_S3" = 1 ]; then lock=requirements/s3.txt; fi; \
    pip install --require-hashes --no-deps -r "$lock"
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY cutouts ./cutouts
COPY bossdb ./bossdb
COPY templates ./templates
COPY static ./static
COPY manage.py ./
# The project itself, without dependencies: the lock has them all; its modules compiled here (the image sets
# PYTHONDONTWRITEBYTECODE and /app is not the portal user's to write), as pip compiled the dependencies'.
RUN pip install -e . --no-deps \
    && python -m compileall -q portal cutouts bossdb \
    && useradd --system --uid 1000 --home-dir /app portal \
    && mkdir -p /var/lib/portal/results \
    && chown -R portal /var/lib/portal
# Hashed, compressed static files for whitenoise (a throwaway key: collectstatic signs nothing).
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", \
     "--forwarded-allow-ips", "*", "--access-logfile", "-"]
