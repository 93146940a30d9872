"""Django settings for clt.

Everything that differs between a laptop, CI and production comes from the environment:

* ``DATABASE_URL`` — a PostGIS server (``postgis://user:pass@host:port/name``). Unset, the
  project's own cluster is used (see :mod:`clt.localdb`); ``clt.production`` refuses to start.
* ``CLT_SECRET_KEY``, ``CLT_DEBUG`` (``1`` to turn on), ``CLT_ALLOWED_HOSTS`` (comma-separated).
* ``CLT_LOGIN_FAILURE_LIMIT``, ``CLT_LOGIN_COOLOFF_MINUTES`` — failed logins before a user name
  is locked for the address they came from, and for how long (5, 15: clt/lockout.py).
* ``CLT_DB_POOL`` — a number turns on a psycopg connection pool of that many connections per
  process (``clt.production`` turns it on by default).

Production runs ``DJANGO_SETTINGS_MODULE=clt.production``, which adds HTTPS-only cookies, HSTS
and a required secret key and DATABASE_URL on top of this file. A number that is not one
(``CLT_DB_POOL=abc``) is refused naming the variable (``_env_number``).
* ``CLT_BASEMAP_URL`` / ``CLT_BASEMAP_ATTRIBUTION`` — the base map tiles residents' browsers load.
* ``CLT_TIME_ZONE``, ``CLT_METRIC_SRID``, ``CLT_MAP_CENTER`` — where the trust is: its local
  day, the projected CRS in metres it is measured in, where its map opens (README, Settings).
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from clt import localdb

BASE_DIR = Path(__file__).resolve().parent.parent
Number = TypeVar("Number", int, float)


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _env_number(
    name: str, default: Number, *, example: Number | None = None, minimum: Number = 0
) -> Number:
    """The number environment variable `name` holds, of `default`'s type (`default` when unset
    or empty). Anything else, or a number below `minimum`, is refused naming the variable: it
    was a bare `invalid literal for int()` that said neither which variable nor what it should
    be."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value < float("inf"):
        what = "a whole number" if kind is int else "a number of 0 or more"
        what += f" of {minimum} or more" if minimum else ""
        example = default if example is None else example
        raise ImproperlyConfigured(f"{name} must be {what} (got {raw!r}): e.g. {name}={example}")
    return value


def _env_time_zone(name: str, default: str) -> str:
    """The tz database name environment variable `name` holds (`default` when unset), refused
    naming the variable when no such zone exists ("America/Durham")."""
    value = (os.environ.get(name) or "").strip() or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must name a time zone of the tz database (got {value!r}): "
            f"e.g. {name}=America/New_York"
        ) from None
    return value


def _env_lat_lon(name: str, default: tuple[float, float]) -> tuple[float, float]:
    """The "lat,lon" (degrees, EPSG:4326) environment variable `name` holds (`default` when
    unset), refused naming the variable when it is not two numbers in range; a lon,lat pair
    ("-78.9,35.99") is refused too, as its first number is no latitude."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    with contextlib.suppress(ValueError):
        lat, lon = (float(part) for part in raw.split(","))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    raise ImproperlyConfigured(
        f"{name} must be a latitude and a longitude in degrees, in that order (got {raw!r}): "
        f"e.g. {name}=35.994,-78.899"
    )


def _database() -> dict:
    url = os.environ.get("DATABASE_URL") or localdb.connection().url
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    pool_size = _env_number("CLT_DB_POOL", 0, example=4)
    if pool_size:
        options = {**config.get("OPTIONS", {}), "pool": _pool(pool_size)}
        config.update(CONN_MAX_AGE=0, OPTIONS=options)  # a pool replaces persistent connections
    # Whatever scheme the user wrote (postgres://, postgresql://), we need the spatial backend.
    config["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    # One test database per pytest process, so two test runs on one server never collide.
    config.setdefault("TEST", {})["NAME"] = os.environ.get(
        "CLT_TEST_DATABASE", f"test_clt_{os.getpid()}"
    )
    return config


def _pool(max_size: int) -> dict:
    """psycopg_pool options. With CONN_HEALTH_CHECKS Django gives the pool its check, so a
    connection broken by a database restart is replaced as it leaves the pool, never handed to
    a request; a request waits at most CLT_DB_POOL_TIMEOUT seconds for one, then gets a 503
    (clt.security)."""
    return {
        "min_size": 1,
        "max_size": max_size,
        "timeout": _env_number("CLT_DB_POOL_TIMEOUT", 3.0, example=3),
    }


DEBUG = _env_flag("CLT_DEBUG", default=False)
# True in clt.production alone (never from the environment): `clt load-demo` refuses there.
CLT_PRODUCTION = False
SECRET_KEY = os.environ.get("CLT_SECRET_KEY") or (
    # A fixed key is fine for a laptop; production must set one (clt.production refuses to start
    # without a random key of 50+ characters).
    "dev-only-insecure-key-set-CLT_SECRET_KEY-in-production"
)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("CLT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.humanize",  # the front page's figures: 999,977, not 999977
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "leaflet",
    "axes",  # failed logins and lockouts (clt/lockout.py)
    "parcels",
    "leases",
    "maps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Other sites' web maps may read the OGC API, downloads and tiles (maps/crossorigin.py);
    # outside the others, so their refusals (a 400, a 401, a 503) are readable too.
    "maps.crossorigin.CrossOriginReadsMiddleware",
    # Gzip for text answers, outside everything that writes a body (clt/compression.py).
    "clt.compression.CompressTextMiddleware",
    # A CSP on every page; a 503, not a 500, while the database is away (clt/security.py).
    "clt.security.ContentSecurityPolicyMiddleware",
    "clt.security.RefuseNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A token or a Basic staff login reads the data endpoints as its user (maps/credentials.py).
    "maps.credentials.DataCredentialsMiddleware",
    # `private, no-store` on what a signed-in user is answered, unless the view said otherwise.
    "clt.privatecache.PrivateWhenSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Tags every change made during a request with the user and URL (history rows).
    "pghistory.middleware.HistoryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a login refused for a lockout into its page (clt/lockout.py).
    "axes.middleware.AxesMiddleware",
]
# Only requests that may write get a history context. pghistory's default includes GET, and then
# prefixes every statement of every read (each map tile, each API page) with two set_config()
# calls, for requests that change nothing.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The events list leaves out a county import's million parcel inserts unless asked
# (clt/history_admin.py): pghistory's own took 42 s at 1M parcels.
PGHISTORY_ADMIN_CLASS = "clt.history_admin.RecentChangesAdmin"

ROOT_URLCONF = "clt.urls"
WSGI_APPLICATION = "clt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "clt" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clt.context.site",
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Seconds each SQL statement of a web request may run (0: no limit), then a 503 "took too long"
# (clt/statement_timeout.py). Under gunicorn's 30-s worker timeout, so the request is answered
# before its worker is killed; `clt` commands (imports, migrate, backup) have no limit.
CLT_STATEMENT_TIMEOUT_S = _env_number("CLT_STATEMENT_TIMEOUT_S", 25.0, example=25)

# --- Password guessing (clt/lockout.py) -----------------------------------------------------
# Axes first: a locked (user name, address) pair is refused before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Locked by the pair, never one alone: a stranger typing a staff name wrong cannot lock its owner
# out, and an office behind one NAT is not locked as a whole.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# At least one try and one minute: 0 would lock every staff member out at their first typo, or
# never lock anyone (a zero cool-off).
AXES_FAILURE_LIMIT = _env_number("CLT_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_env_number("CLT_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Tries while locked are refused, not counted: the lock ends a cool-off after the failure that
# set it, so a GIS client polling with a stale password does not keep its owner out for ever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "clt.lockout.lockout_response"
# The client's address is REMOTE_ADDR; clt.production reads X-Forwarded-For behind a proxy.
AXES_CLIENT_IP_CALLABLE = None
# Kept: the failures of the cool-off (the lockouts a superuser sees and lifts in the admin).
# Not kept: every successful staff login and every failure for ever, with its address.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False  # maps/admin.py shows the access attempts alone

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("CLT_STATIC_ROOT", BASE_DIR / ".clt" / "static"))
STATICFILES_DIRS = [BASE_DIR / "clt" / "static"]
# Serve straight from the source folders, so development and tests need no collectstatic;
# production images run collectstatic into STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
# Made here because whitenoise warns "No directory at" a missing STATIC_ROOT on every start. A
# folder that cannot be made (CLT_STATIC_ROOT=/sys/...) is collectstatic's error, with its path,
# not one of every `clt` command, which all load these settings.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGIN_URL = "/admin/login/"
# Where a login goes when its `next` is missing or refused as unsafe (Django's default,
# /accounts/profile/, is no page here: a 404 after a correct password).
LOGIN_REDIRECT_URL = "/admin/"

# GDAL < 3.9 cannot block file/network access from a spatial reference string. clt never hands
# GDAL an untrusted SRS: imports read CRS through pyogrio/pyproj and store EPSG integers.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# The base map residents' browsers fetch; the trust's own layers never depend on it.
BASEMAP_URL = os.environ.get(
    "CLT_BASEMAP_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
BASEMAP_ATTRIBUTION = os.environ.get(
    "CLT_BASEMAP_ATTRIBUTION", "&copy; OpenStreetMap contributors"
)

# --- The map (issue 5; maps/) ---------------------------------------------------------------
# Where /map/ opens when no layer has land to fit to (CLT_MAP_CENTER, "lat,lon"): the demo's is
# Jackson City Hall.
MAP_DEFAULT_CENTER = _env_lat_lon("CLT_MAP_CENTER", (32.2988, -90.1848))
MAP_DEFAULT_ZOOM = 14
# Vector tiles are cached under their ETag, which changes with the data (maps/tiles.py), so a
# cached tile is never stale. Per process by default; point "tiles" at a shared cache (Redis,
# database) when running several workers.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tiles": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "clt-tiles",
        "TIMEOUT": None,  # entries go stale by key, never by age
        # 5,000 tiles, each with its gzip beside it (maps/tiles.py `gzipped`).
        "OPTIONS": {"MAX_ENTRIES": 10000},
    },
}
# Downloads of the public layers (/export/...) are built once per data version and kept on disk
# under their ETag, at most CLT_EXPORT_CACHE_MB of them; at most CLT_EXPORT_MAX_BUILDS are built
# at once per server, and a download that cannot start within CLT_EXPORT_WAIT_S is a 503 with
# Retry-After (maps/export_cache.py). Keep the wait plus a build under gunicorn's 30-s timeout.
CLT_EXPORT_CACHE_DIR = Path(
    os.environ.get("CLT_EXPORT_CACHE_DIR") or BASE_DIR / ".clt" / "exports"
)
CLT_EXPORT_CACHE_MB = _env_number("CLT_EXPORT_CACHE_MB", 2048, example=2048)
CLT_EXPORT_MAX_BUILDS = _env_number("CLT_EXPORT_MAX_BUILDS", 1, minimum=1)
CLT_EXPORT_WAIT_S = _env_number("CLT_EXPORT_WAIT_S", 10.0, example=10)

# The trust's buyer income limit, as % of area median income: a resale to a household above it
# is flagged (a warning on the resale form, a mark in the stewardship report), not refused, as
# boards grant exceptions. At least 1: a limit of 0 would flag every buyer.
CLT_BUYER_INCOME_LIMIT_PCT_AMI = _env_number("CLT_BUYER_INCOME_LIMIT_PCT_AMI", 80, minimum=1)

# --- Where the trust is (the demo's: Jackson, Mississippi) ------------------------------------
# The trust's local day: "today", a lease's last day, the report's as-of day (CLT_TIME_ZONE, a
# name from the tz database).
TIME_ZONE = _env_time_zone("CLT_TIME_ZONE", "America/Chicago")
# The projected CRS in metres where distances, adjacency and clusters are measured, and whose
# area is where the registry accepts land (parcels/metric.py): the trust's state-plane zone in
# metres or its UTM zone. `clt migrate` moves the stored outlines when it changes.
CLT_METRIC_SRID = _env_number("CLT_METRIC_SRID", 26995, example=32119, minimum=1024)
if os.environ.get("CLT_METRIC_SRID"):  # only when set: most `clt` commands never load PROJ
    from clt.places import metric_crs_problem

    # Refused here, so no command and no server starts with distances in feet or degrees (a
    # system check alone was skipped by `clt migrate` and the server: a 500 on the first search).
    if _metric_problem := metric_crs_problem(CLT_METRIC_SRID, MAP_DEFAULT_CENTER):
        raise ImproperlyConfigured(_metric_problem)


JURISDICTION_SLUG_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _env_jurisdictions(name: str, default: str) -> tuple[tuple[str, str], ...]:
    """The (slug, label) pairs environment variable `name` holds as "slug:label,slug:label"
    (`default` when unset). A label may hold a comma ("Hinds County, MS"): only a part with a
    colon starts a pair. Refused naming the variable when a part before any colon has no slug,
    a slug is not 1 to 32 of a-z, 0-9 and "-", a label is empty or a slug comes twice."""
    raw = (os.environ.get(name) or "").strip() or default
    pairs: list[tuple[str, str]] = []
    problem = None
    for part in filter(str.strip, raw.split(",")):
        slug, colon, label = part.partition(":")
        if colon:
            pairs.append((slug.strip(), label.strip()))
        elif pairs:
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]},{part}")
        else:
            problem = f"{part.strip()!r} has no slug"
            break
    problem = problem or _jurisdictions_problem(pairs)
    if problem:
        raise ImproperlyConfigured(
            f"{name} must be slug:label pairs separated by commas, the first the default, each "
            f"slug 1 to 32 of a-z, 0-9 and '-' (got {raw!r}: {problem}): "
            f"e.g. {name}=durham-nc:Durham County NC,orange-nc:Orange County NC"
        )
    return tuple(pairs)


def _jurisdictions_problem(pairs: list[tuple[str, str]]) -> str | None:
    """What is wrong with these (slug, label) pairs, if anything."""
    slugs = [slug for slug, _ in pairs]
    for slug, label in pairs:
        if not 1 <= len(slug) <= 32 or not set(slug) <= JURISDICTION_SLUG_CHARACTERS:
            return f"{slug!r} is not a slug"
        if not label:
            return f"{slug!r} has no label"
        if slugs.count(slug) > 1:
            return f"{slug!r} comes twice"
    return None if pairs else "it names none"


def _env_epsg_codes(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """The comma-separated EPSG codes environment variable `name` holds (`default` when
    unset), refused naming the variable unless each is a projected CRS PROJ knows (a map
    client asking for it would otherwise get a 500; degrees are CRS84's and EPSG:4326's)."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    import pyproj  # only when set: most `clt` commands never load PROJ

    codes = []
    for part in filter(str.strip, raw.split(",")):
        text = part.strip().upper().removeprefix("EPSG:")
        try:
            crs = pyproj.CRS.from_epsg(int(text))
        except ValueError:
            problem = f"{part.strip()!r} is not a number"
        except pyproj.exceptions.CRSError:
            problem = f"EPSG:{text} is not a code PROJ knows"
        else:
            if crs.is_projected:
                codes.append(int(text))
                continue
            problem = f"EPSG:{text} ({crs.name}) is not a projected CRS"
        raise ImproperlyConfigured(
            f"{name} must be EPSG codes of projected CRSs separated by commas (got {raw!r}: "
            f"{problem}): e.g. {name}=2264 (NAD83 / North Carolina in US feet)"
        )
    return tuple(codes)


# The counties whose parcel files the trust imports, each its APNs' namespace (CLT_JURISDICTIONS:
# "slug:label" pairs, the first the default of `clt import-parcels` and of a new parcel;
# parcels/jurisdictions.py). The demo's are the Jackson area's; a row keeps its jurisdiction
# whatever the setting says later.
CLT_JURISDICTIONS = _env_jurisdictions(
    "CLT_JURISDICTIONS",
    "hinds-ms:Hinds County, MS,madison-ms:Madison County, MS,rankin-ms:Rankin County, MS,"
    "other:Other",
)
# The projected CRSs the OGC API and the downloads serve on request (`crs`, `bbox-crs`) besides
# CRS84, EPSG:4326 and CLT_METRIC_SRID's, always served (maps/ogcapi/crs.py): the county's own,
# in which its planners work (CLT_OGC_CRS; the demo's: Mississippi West feet, Mississippi TM).
CLT_OGC_CRS = _env_epsg_codes("CLT_OGC_CRS", (2255, 3814))

# The trust's public contact, shown on the public pages instead of any person's details.
CLT_NAME = os.environ.get("CLT_NAME", "Fannie Lou Hamer Community Land Trust (demo)")
CLT_CONTACT = os.environ.get("CLT_CONTACT", "Lumumba Center, 939 W. Capitol St., Jackson MS 39203")
# How a household, a co-op or a farm applies for a home or a lot the trust offers now, said
# wherever the public pages and the map show one (a resident's next question). A web address,
# a phone number or an e-mail address in it is a link. The default says only what the trust's
# own settings know.
CLT_HOW_TO_APPLY = os.environ.get(
    "CLT_HOW_TO_APPLY",
    "To apply, contact the trust. A home is for a household earning up to "
    f"{CLT_BUYER_INCOME_LIMIT_PCT_AMI}% of the area's median income.",
)
# The trust's city and state as residents type them after a street address without a comma
# ("1418 Rose St Jackson MS"): the map's search and the finder drop them (parcels.addresses).
CLT_ADDRESS_PLACES = [
    name.strip()
    for name in os.environ.get("CLT_ADDRESS_PLACES", "Jackson,MS,Mississippi").split(",")
    if name.strip()
]

# Whatever DEBUG says: a debugging session is still a staff session worth protecting.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line_warning": {"()": "clt.logfilters.OneLineWarning"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CLT_LOG_LEVEL", "WARNING")},
    "loggers": {
        # A wrong Host header (scanners, all day) is one line, not an ERROR and its traceback.
        "django.security.DisallowedHost": {"filters": ["one_line_warning"]},
    },
}
