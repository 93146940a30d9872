"""`clt doctor`: the versions of everything clt stands on, and the fix for what is missing.

Each check returns what it found or raises `Missing` with the fix; `run_checks` prints one line
per check and answers whether all passed. A check only blames what it checks: the settings are
loaded first, alone, so that a typo in DATABASE_URL is reported as that, not as GDAL, GEOS and
PROJ "not found"; the database is asked directly (not through Django's connection pool, which
turns every refusal into "couldn't get a connection"), so that a wrong password, a missing
database and a server that is not there each get their own fix.
"""

from __future__ import annotations

import json
import os
import platform
import re
import traceback
from collections.abc import Callable
from ctypes import byref, c_int
from pathlib import Path


class Missing(Exception):
    """A dependency is absent or broken; the message says how to fix it."""


APT = "apt-get install -y"


def check_python() -> str:
    return platform.python_version()


def check_django() -> str:
    try:
        import django
    except ImportError as exc:
        raise Missing("Django is not installed. Fix: ./dev setup (or pip install -e .)") from exc
    return django.get_version()


def check_settings() -> str:
    """The settings module loads: every variable it reads from the environment is well formed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    module = os.environ["DJANGO_SETTINGS_MODULE"]
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (the first setting read imports the module)
    except Exception as exc:  # whatever the module raised, it is the settings' error
        raise Missing(_settings_failure(module, exc)) from exc
    return module


def _settings_failure(module: str, exc: Exception) -> str:
    from django.core.exceptions import ImproperlyConfigured

    if isinstance(exc, ImproperlyConfigured):  # the settings' own refusal names the variable
        return f"{module}: {exc}"
    if _raised_in(exc, "dj_database_url"):
        reason = str(exc).split(". ")[0].rstrip(".")
        return (f"DATABASE_URL cannot be read ({reason}). "
                "Fix: write it as postgis://USER:PASSWORD@HOST:PORT/NAME")  # fmt: skip
    return (f"{module} cannot be loaded: {type(exc).__name__}: {exc}. Fix: correct the "
            "environment variable it is about (README, Settings (environment))")  # fmt: skip


def _raised_in(exc: BaseException, package: str) -> bool:
    """Whether `exc` was raised from inside `package` (dj_database_url parses DATABASE_URL)."""
    frames = traceback.walk_tb(exc.__traceback__)
    modules = (frame.f_globals.get("__name__", "") for frame, _ in frames)
    return any(name == package or name.startswith(f"{package}.") for name in modules)


# GeoDjango's errors when it cannot load a library: not found (ImproperlyConfigured for GDAL,
# ImportError for GEOS), or found but not loadable (OSError from ctypes).
def check_gdal() -> str:
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.contrib.gis.gdal import gdal_full_version
    except (ImproperlyConfigured, OSError) as exc:
        raise Missing(f"GDAL library not found ({exc}). Fix: {APT} gdal-bin libgdal32") from exc
    return gdal_full_version().decode()


def check_geos() -> str:
    try:
        from django.contrib.gis.geos import geos_version

        return geos_version().decode()  # the library is loaded on first use
    except (ImportError, OSError) as exc:
        raise Missing(f"GEOS library not found ({exc}). Fix: {APT} libgeos-c1v5") from exc


def check_proj() -> str:
    """The PROJ that GDAL uses (the one that reprojects imports and exports)."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.contrib.gis.gdal.libgdal import lgdal
    except (ImproperlyConfigured, OSError) as exc:
        raise Missing(f"GDAL/PROJ not found ({exc}). Fix: {APT} gdal-bin libproj25") from exc
    major, minor, patch = c_int(), c_int(), c_int()
    lgdal.OSRGetPROJVersion(byref(major), byref(minor), byref(patch))
    return f"{major.value}.{minor.value}.{patch.value}"


# Options Django reads from DATABASES' OPTIONS itself; the rest are libpq's.
_DJANGO_OPTIONS = {"pool", "assume_role", "isolation_level", "server_side_binding"}


def _database() -> dict:
    from django.conf import settings

    return settings.DATABASES["default"]


def _connect():
    """A psycopg connection made from the settings alone: no pool, no GeoDjango backend."""
    import psycopg

    db = _database()
    options = {k: v for k, v in db.get("OPTIONS", {}).items() if k not in _DJANGO_OPTIONS}
    options.setdefault("connect_timeout", 10)
    params = {"dbname": db["NAME"], "user": db.get("USER"), "password": db.get("PASSWORD"),
              "host": db.get("HOST"), "port": db.get("PORT")}  # fmt: skip
    return psycopg.connect(**{k: v for k, v in params.items() if v}, **options)


def check_database() -> str:
    import psycopg

    db = _database()
    try:
        with _connect() as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError as exc:
        raise Missing(_connection_failure(exc)) from exc
    return f"PostgreSQL {server}, database {db['NAME']} at {_where(db)}"


def _where(db: dict) -> str:
    return f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"


AUTH_FAILED = {"28P01", "28000"}  # invalid_password, invalid_authorization_specification
NO_SUCH_DATABASE = "3D000"  # invalid_catalog_name


def _connection_failure(exc: Exception) -> str:
    """Why the server did not let us in, with the fix for that reason.

    psycopg leaves `sqlstate` unset when the connection itself fails (libpq reports those as
    text), so the server's message is read too.
    """
    db, text = _database(), str(exc)
    state = getattr(exc, "sqlstate", None)
    where = _where(db)
    reason = _server_reason(text)
    url = bool(os.environ.get("DATABASE_URL"))
    if state in AUTH_FAILED or re.search(
        r"password authentication failed|no pg_hba\.conf entry|role \".*\" does not exist", text
    ):
        if "pg_hba.conf" in text:
            fix = "allow this client in the server's pg_hba.conf"
        elif url:
            fix = "correct the user name and password in DATABASE_URL"
        else:
            fix = "the password in .clt/password must be the one the local cluster was made with"
        return f"the server at {where} refused user {db['USER']}: {reason}. Fix: {fix}"
    if state == NO_SUCH_DATABASE or re.search(r"database \".*\" does not exist", text):
        fix = (f"create it (createdb -O {db['USER']} {db['NAME']}, then CREATE EXTENSION "
               "postgis in it) or correct the name in DATABASE_URL" if url
               else "`clt db start` creates it")  # fmt: skip
        return f"the server at {where} has no database {db['NAME']}. Fix: {fix}"
    fix = ("check the host and port in DATABASE_URL and that the server runs there" if url
           else "`clt db start`")  # fmt: skip
    return f"no database server answers at {where} ({reason}). Fix: {fix}"


_WHERE_PREFIX = re.compile(
    r"^(connection failed: )?connection to server (at|on) .*? failed: (FATAL: +)?"
)


def _server_reason(text: str) -> str:
    """libpq's message without its `connection to server at "h", port p failed: FATAL:` prefix
    (the message says where already) and without its hints."""
    lines = [_WHERE_PREFIX.sub("", line.strip()) for line in text.splitlines()]
    reasons = [line for line in lines if line and not line.startswith("Is the server running")]
    return "; ".join(dict.fromkeys(reasons)) or text.strip()


def check_postgis() -> str:
    import psycopg

    try:
        with _connect() as conn:
            return conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    except psycopg.errors.UndefinedFunction as exc:
        raise Missing(
            "PostGIS is not enabled in the database. "
            "Fix: CREATE EXTENSION postgis; (the package: apt-get install postgresql-15-postgis-3)"
        ) from exc
    except psycopg.OperationalError as exc:  # the server went away since the check above
        raise Missing(_connection_failure(exc)) from exc


def check_migrations() -> str:
    """Every migration of the code is applied: else pages ask for columns that are not there."""
    import django
    from django.db.utils import OperationalError

    from clt.schema import describe_pending, pending_migrations

    django.setup()  # the migrations are found through the installed apps
    try:
        pending = pending_migrations()
    except OperationalError as exc:  # through Django's connection (a pool, in production)
        raise Missing(f"cannot read django_migrations through Django: {exc}") from exc
    if pending:
        raise Missing(
            f"{describe_pending(pending)}: the code expects tables the database does not have "
            "yet, and its pages fail. Fix: clt migrate"
        )
    return "all applied"


def check_place() -> str:
    """Where the trust is: its metric CRS is one (a projected CRS in metres) and the stored
    outlines are in it; its time zone. A registry set up for Jackson and moved to another trust
    says so here, before a distance comes out wrong."""
    import pyproj
    from django.conf import settings
    from django.db import connection

    from clt import places
    from parcels.metric import (
        LAND_FIX,
        column_srid,
        land_outside_problem,
        metric_crs_problem,
        metric_srid,
    )

    srid = metric_srid()
    problem = metric_crs_problem(srid)
    if problem:
        raise Missing(f"{problem}. Fix: set CLT_METRIC_SRID, then clt migrate")
    with connection.cursor() as cursor:
        stored = column_srid(cursor, "parcels_parcel", "geom_m")
    if stored and stored != srid:
        raise Missing(
            f"CLT_METRIC_SRID is {srid} but the parcels' outlines in metres are in EPSG:{stored}: "
            "distances would be refused or wrong. Fix: clt migrate (it moves them)"
        )
    outside = places.centre_outside_problem(srid, settings.MAP_DEFAULT_CENTER)
    if outside:
        raise Missing(f"{outside}. Fix: {places.CENTRE_FIX}")
    land = land_outside_problem(srid)
    if land:
        raise Missing(f"{land}. Fix: {LAND_FIX}")
    name = pyproj.CRS.from_epsg(srid).name
    lat, lon = settings.MAP_DEFAULT_CENTER
    return f"EPSG:{srid} ({name}); time zone {settings.TIME_ZONE}; map opens at {lat:g},{lon:g}"


def check_map_assets() -> str:
    """The map's browser libraries are installed: without them the public map is blank."""
    from maps import assets

    if not assets.installed():
        raise Missing(
            f"the map's libraries (Leaflet, VectorGrid) are not installed in {assets.VENDOR_DIR}"
            ": the public map is blank. Fix: clt map-assets"
        )
    pinned = json.loads((assets.NPM_DIR / "package.json").read_text())["dependencies"]
    return ", ".join(f"{name} {version}" for name, version in pinned.items())


COLLECT_FIX = (
    "clt manage collectstatic --noinput, with these same settings (DJANGO_SETTINGS_MODULE, "
    "CLT_STATIC_ROOT), then restart the server (a running one keeps the manifest it started with)"
)


def check_static_files() -> str:
    """Production's collected static files are there for this code: under the manifest storage
    (clt.production) a page naming a file its manifest lacks is a 500, and without a manifest
    every page is one, which `check --deploy` does not see."""
    import django

    django.setup()  # the finders list the installed apps' static folders
    from django.conf import settings
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.files.storage import storages
    from django.utils.module_loading import import_string

    configured = storages.backends["staticfiles"]
    backend = import_string(configured["BACKEND"])
    if not issubclass(backend, ManifestFilesMixin):
        return "served from the app's folders (no collectstatic with these settings)"
    manifest = Path(settings.STATIC_ROOT) / backend.manifest_name
    fails = f"so every page fails. Fix: {COLLECT_FIX}"
    try:  # a storage of its own, which reads the manifest from the disk as a restart would
        collected = storages.create_storage(configured).hashed_files
    except ValueError as exc:  # not JSON, or a version Django cannot read: the storage refuses
        raise Missing(f"{manifest} cannot be read ({exc}), {fails}") from exc
    if not collected:
        raise Missing(f"no static files manifest at {manifest}, {fails}")
    from clt.staticfiles import files_of_the_code

    lacking = sorted(files_of_the_code() - collected.keys())
    if lacking:
        raise Missing(
            f"the static files manifest at {manifest} is older than the code: it lacks "
            f"{_some(lacking)}, and the pages naming them fail. Fix: {COLLECT_FIX}"
        )
    return f"{len(collected)} files collected in {settings.STATIC_ROOT}"


def _some(names: list[str], *, shown: int = 3) -> str:
    """ "5 files (a.js, b.css, c.svg and 2 more)", the first few named."""
    listed = ", ".join(names[:shown])
    if len(names) > shown:
        listed += f" and {len(names) - shown} more"
    return f"{len(names)} {'file' if len(names) == 1 else 'files'} ({listed})"


def check_export_cache() -> str:
    """The downloads' folder (CLT_EXPORT_CACHE_DIR) can be made and written: each download of a
    public layer is built into it, and every one was a 500 when it could not be (a file in its
    path).

    Checked as the user doctor runs as (run it as the server's); nothing is left behind: a
    missing folder is not made (made by root, the server could not write it), its nearest
    existing parent is looked at instead, and an existing one gets a file written and removed.
    """
    import tempfile

    from django.conf import settings

    folder = Path(settings.CLT_EXPORT_CACHE_DIR).absolute()
    where = f"the downloads' folder {folder}"
    fails = (
        "so every download of a public layer (/export/...) fails. Fix: set CLT_EXPORT_CACHE_DIR "
        "to a folder the server's user can write, or make it one"
    )
    try:  # the folder, or the nearest of its parents that is there (the root always is)
        existing = next(path for path in (folder, *folder.parents) if path.exists())
        is_folder = existing.is_dir()
    except PermissionError as exc:  # a parent this user may not look into
        denied = f"{exc.strerror}: {exc.filename}"
        raise Missing(f"{where} cannot be looked at ({denied}), {fails}") from exc
    if not is_folder:
        raise Missing(f"{where} cannot be made: {existing} is a file, not a folder, {fails}")
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            raise Missing(f"{where} cannot be made: this user cannot write in {existing}, {fails}")
        return f"{folder} (made at the first download)"
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise Missing(f"{where} cannot be written ({exc.strerror}), {fails}") from exc
    return str(folder)


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("Python", check_python),
    ("Django", check_django),
    ("Settings", check_settings),
    ("GDAL", check_gdal),
    ("GEOS", check_geos),
    ("PROJ", check_proj),
    ("Database", check_database),
    ("PostGIS", check_postgis),
    ("Migrations", check_migrations),
    ("Place", check_place),
    ("Map assets", check_map_assets),
    ("Static", check_static_files),
    ("Downloads", check_export_cache),
]
# Without these nothing else can be checked: their one error is the report.
ESSENTIAL = {"Django", "Settings"}
# A check that cannot run when another failed: GeoDjango's GEOS module imports GDAL; the
# migrations are read through GeoDjango's database backend.
NEEDS = {"GEOS": ("GDAL",), "PostGIS": ("Database",), "Migrations": ("GDAL", "Database"),
         "Place": ("GDAL", "Database"), "Static": ("GDAL",)}  # fmt: skip
WIDTH = max(len(label) for label, _ in CHECKS)


def run_checks(echo: Callable[[str], None], *, start_local_db: bool) -> bool:
    """Print one line per check; True when every check passed."""
    ok = True
    if start_local_db:
        try:
            from clt.clitools import ensure_local_database

            ensure_local_database()
        except Exception as exc:  # report and continue: the checks below say what is missing
            echo(f"  !! set-up: {exc}")
            ok = False
    failed: set[str] = set()
    for label, check in CHECKS:
        unchecked = [needed for needed in NEEDS.get(label, ()) if needed in failed]
        if unchecked:
            echo(f"  !! {label:<{WIDTH}} not checked: {' and '.join(unchecked)} failed")
            failed.add(label)
            continue
        try:
            echo(f"  ok {label:<{WIDTH}} {check()}")
        except Missing as exc:
            echo(f"  !! {label:<{WIDTH}} {exc}")
            failed.add(label)
            if label in ESSENTIAL:
                break
    return ok and not failed
