# The clt web app under gunicorn. GDAL, GEOS and PROJ come from Debian, as on a bare machine.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CLT_STATIC_ROOT=/app/static

RUN apt-get update \
    && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 \
       postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY clt ./clt
COPY parcels ./parcels
COPY leases ./leases
COPY maps ./maps
COPY fixtures ./fixtures
# Editable, so the app finds fixtures/ beside its code. The map's browser libraries come from
# the npm registry (pinned by maps/npm/package-lock.json) and are served by the app: no CDN.
# node/npm are needed only for that step and removed after it.
# The static files are collected with the production settings, whose storage hashes and
# gzips them (clt/staticfiles.py); the development settings serve the source files instead.
# That step reads no database and keeps no key: both are placeholders for it alone.
RUN pip install --no-cache-dir -e . \
    && apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && clt map-assets \
    && apt-get purge -y nodejs npm && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && DATABASE_URL=postgis://build:build@localhost/build \
       CLT_SECRET_KEY=build-only-placeholder-never-used-to-sign-anything-0123456789 \
       python -m django collectstatic --noinput --settings=clt.production

# The app's user writes only what it owns: .clt (an import's reject files in .clt/imports,
# the downloads' cache) and /backups, where `clt backup` writes (pg_dump, from
# postgresql-client-15 above) into a named volume (docker-compose.yml), kept when the container
# is recreated. .clt is also its home: gunicorn 25.1+ makes its control socket in
# $HOME/.gunicorn, and with root's /app as home it logged "Control server error" at every
# start. A home it can write, not --no-control-socket: gunicorn before 25.1 (pyproject allows
# 22) refuses that option and would not start.
RUN useradd --system --home-dir /app/.clt clt \
    && mkdir -p /app/.clt/imports /backups && chown -R clt /app/.clt /backups
USER clt
EXPOSE 8000
# Threads (gunicorn's gthread worker): a download waiting for its file to be built, or a slow
# query, holds one thread, not a whole worker, so tiles and pages still answer. Four threads
# match production's pool of four connections per worker (CLT_DB_POOL).
CMD ["gunicorn", "clt.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", \
     "--access-logfile", "-"]
