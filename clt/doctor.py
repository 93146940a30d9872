"""`clt doctor`: the versions of everything clt stands on, and the fix for what is missing.

Each check returns a (label, value) pair or raises `Missing` with the fix; `run_checks` prints one
line per check and answers whether all passed.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from ctypes import byref, c_int


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


def check_gdal() -> str:
    try:
        from django.contrib.gis.gdal import gdal_full_version
    except Exception as exc:  # ImproperlyConfigured or OSError from ctypes
        raise Missing(f"GDAL library not found ({exc}). Fix: {APT} gdal-bin libgdal32") from exc
    return gdal_full_version().decode()


def check_geos() -> str:
    try:
        from django.contrib.gis.geos import geos_version
    except Exception as exc:
        raise Missing(f"GEOS library not found ({exc}). Fix: {APT} libgeos-c1v5") from exc
    return geos_version().decode()


def check_proj() -> str:
    """The PROJ that GDAL uses (the one that reprojects imports and exports)."""
    try:
        from django.contrib.gis.gdal.libgdal import lgdal
    except Exception as exc:
        raise Missing(f"GDAL/PROJ not found ({exc}). Fix: {APT} gdal-bin libproj25") from exc
    major, minor, patch = c_int(), c_int(), c_int()
    lgdal.OSRGetPROJVersion(byref(major), byref(minor), byref(patch))
    return f"{major.value}.{minor.value}.{patch.value}"


def check_database() -> str:
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
    except (OperationalError, ImproperlyConfigured) as exc:
        where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "the local database"
        raise Missing(
            f"{where} does not answer: {str(exc).strip()}. "
            "Fix: `clt db start` (local) or check DATABASE_URL and that the server runs"
        ) from exc
    where = connection.settings_dict
    return f"PostgreSQL {server} at {where['HOST']}:{where['PORT']}"


def check_postgis() -> str:
    from django.db import connection
    from django.db.utils import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            return cursor.fetchone()[0]
    except DatabaseError as exc:
        raise Missing(
            "PostGIS is not enabled in the database. "
            "Fix: CREATE EXTENSION postgis; (the package: apt-get install postgresql-15-postgis-3)"
        ) from exc


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("Python", check_python),
    ("Django", check_django),
    ("GDAL", check_gdal),
    ("GEOS", check_geos),
    ("PROJ", check_proj),
    ("Database", check_database),
    ("PostGIS", check_postgis),
]


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
    try:  # Django's settings load without a database, so the checks below can still run
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
        import django

        django.setup()
    except Exception as exc:
        echo(f"  !! set-up: {exc}")
        ok = False
    for label, check in CHECKS:
        try:
            echo(f"  ok {label:<9} {check()}")
        except Missing as exc:
            echo(f"  !! {label:<9} {exc}")
            ok = False
            if label == "Database":
                echo(f"  !! {'PostGIS':<9} not checked: no database")
                break
    return ok
