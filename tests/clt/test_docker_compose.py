"""docker-compose.yml and the Dockerfile agree with each other and with the settings.

There is no Docker engine on the build machines, so this reads the files instead of running them.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_database_is_the_official_postgis_image_on_postgresql_15_or_later(compose):
    image = compose["services"]["db"]["image"]
    name, tag = image.split(":")
    assert name == "postgis/postgis"
    pg_major, postgis_version = tag.split("-")
    assert int(pg_major) >= 15
    assert postgis_version.startswith("3")


def test_database_url_matches_the_database_service(compose):
    db_env = compose["services"]["db"]["environment"]
    url = urlsplit(compose["services"]["web"]["environment"]["DATABASE_URL"])
    assert url.scheme in {"postgis", "postgres", "postgresql"}
    assert url.hostname == "db"
    assert url.port == 5432
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]


def test_web_waits_for_a_healthy_database(compose):
    assert compose["services"]["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    check = " ".join(compose["services"]["db"]["healthcheck"]["test"])
    # Over TCP: a socket check passes during the image's first initialisation, before the
    # server that web connects to (db:5432) listens.
    assert "pg_isready" in check and "-h 127.0.0.1" in check
    assert compose["services"]["web"]["restart"] == "on-failure"


def test_the_image_can_back_up_and_import(dockerfile):
    assert "postgresql-client-15" in dockerfile  # clt backup / restore run pg_dump, pg_restore
    assert "chown -R clt /app/.clt" in dockerfile  # the reject files of imports


def test_web_health_check_calls_the_apps_health_endpoint(compose):
    from django.urls import resolve

    test = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/\S*?)'", test).group(1)
    assert resolve(path).url_name == "healthz"


def test_published_port_is_the_one_gunicorn_binds(compose, dockerfile):
    host_port, container_port = compose["services"]["web"]["ports"][0].rsplit(":", 2)[-2:]
    assert container_port == "8000"
    assert "--bind 0.0.0.0:8000" in compose["services"]["web"]["command"]
    assert '"0.0.0.0:8000"' in dockerfile and "EXPOSE 8000" in dockerfile


def test_database_data_lives_in_a_named_volume(compose):
    volume, mount = compose["services"]["db"]["volumes"][0].split(":")
    assert volume in compose["volumes"]
    assert mount == "/var/lib/postgresql/data"


def test_every_clt_variable_in_compose_is_read_by_the_settings(compose):
    settings_source = (ROOT / "clt" / "settings.py").read_text()
    for name in compose["services"]["web"]["environment"]:
        assert f'"{name}"' in settings_source, f"{name} is set in compose but never read"


def test_web_image_is_built_here_and_runs_the_wsgi_app(compose, dockerfile):
    assert compose["services"]["web"]["build"] == "."
    assert "clt.wsgi" in dockerfile
    for app in ("clt", "parcels", "leases", "maps", "fixtures"):
        assert f"COPY {app} ./{app}" in dockerfile
    # GeoDjango needs the system libraries, not just the Python wheels.
    assert "libgdal" in dockerfile and "libgeos" in dockerfile


def test_image_installs_the_map_libraries_before_collecting_static_files(dockerfile):
    # The public map serves Leaflet and VectorGrid itself; an image without them has no map.
    assert dockerfile.index("clt map-assets") < dockerfile.index("collectstatic")
