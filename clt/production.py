"""Production settings: `DJANGO_SETTINGS_MODULE=clt.production`.

Everything in :mod:`clt.settings`, plus what `manage.py check --deploy` asks of a public site:
a secret key of the operator's own (no default here: starting without one is an error), the
trust's database named by ``DATABASE_URL`` (never the checkout's own development cluster), cookies
only over HTTPS, HSTS, and a pool of database connections per worker. Behind a TLS-terminating
proxy set ``CLT_BEHIND_PROXY=1`` so Django trusts its ``X-Forwarded-Proto``, and the lockout of
password guessing reads the client's address from the last entry of its ``X-Forwarded-For``
(every client would otherwise be the proxy's one address).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

# Before clt.settings is read: without DATABASE_URL it starts on the project's own cluster
# (clt/localdb.py), which served the checkout's demo database, or made a cluster's password
# and port files under CLT_HOME and answered 503 for ever.
if not os.environ.get("DATABASE_URL", "").strip():
    raise ImproperlyConfigured(
        "DATABASE_URL must be set in production, to the trust's PostGIS server: e.g. "
        "DATABASE_URL=postgis://clt:PASSWORD@dbhost:5432/clt (the project's own cluster is for "
        "development)"
    )
os.environ.setdefault("CLT_DB_POOL", "4")

from clt.settings import *  # noqa: E402,F403
from clt.settings import DATABASES, SILENCED_SYSTEM_CHECKS, _env_flag, _env_number  # noqa: E402

# What `clt load-demo` asks before it writes fictional households into the registry.
CLT_PRODUCTION = True

SECRET_KEY = os.environ.get("CLT_SECRET_KEY", "")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "CLT_SECRET_KEY must be set to a random string of 50 or more characters in production; "
        "make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

if DEBUG:  # noqa: F405 (from clt.settings)
    raise ImproperlyConfigured(
        "CLT_DEBUG=1 is refused in production: Django's debug pages show settings, SQL and "
        "tracebacks to anyone who causes an error. Unset CLT_DEBUG, or debug on a copy of the "
        "data with the development settings (clt.settings)"
    )

SECURE_SSL_REDIRECT = _env_flag("CLT_SSL_REDIRECT", default=True)
# The container's health check (docker-compose.yml) and load balancers call /healthz over plain
# HTTP on the app's own port; a redirect to https:// is a failed check.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if _env_flag("CLT_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    AXES_CLIENT_IP_CALLABLE = "clt.lockout.client_ip_behind_proxy"
# Static files under hashed names, gzipped at collectstatic and cached for ten years
# (clt/staticfiles.py); served from STATIC_ROOT alone, where collectstatic put them: the
# finders would put the source folders' uncompressed, unhashed copies in their place.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "clt.staticfiles.CollectedStaticFiles"},
}
WHITENOISE_USE_FINDERS = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = _env_number("CLT_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("CLT_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = _env_flag("CLT_HSTS_PRELOAD")
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CLT_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# A staff session ends with the browser and after eight idle hours, not two weeks.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_SAVE_EVERY_REQUEST = False

# Preloading a domain into browsers' HSTS lists is the trust's decision (it is hard to undo),
# so it stays off unless CLT_HSTS_PRELOAD=1 and the reminder is silenced.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]

if not DATABASES["default"].get("OPTIONS", {}).get("pool"):
    raise ImproperlyConfigured(
        "production runs with a pool of database connections per worker: set CLT_DB_POOL to "
        "1 or more (4 by default), not 0"
    )
