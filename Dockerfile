# The portal's one image: web (gunicorn), worker and beat (Celery) run it with different commands.
# docker-compose.yml shows the whole stack; every setting comes from the environment (README: Deploy).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/var/lib/portal \
    CUTOUT_RESULTS_DIR=/var/lib/portal/results \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY cutouts ./cutouts
COPY devboss ./devboss
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install -e . \
    && useradd --system --uid 1000 --home-dir /app portal \
    && mkdir -p /var/lib/portal/results \
    && chown -R portal /var/lib/portal
# Hashed, compressed static files for whitenoise (a throwaway key: collectstatic signs nothing).
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", \
     "--forwarded-allow-ips", "*", "--access-logfile", "-"]
