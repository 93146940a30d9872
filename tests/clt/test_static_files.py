"""Static files: production collects them under hashed names, gzipped, and serves them cached for
ten years (clt/staticfiles.py); development serves the source folders, gzipped as they are sent;
and /favicon.ico is the site's icon, not a 404."""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.templatetags.static import static

from clt import views
from clt.staticfiles import CollectedStaticFiles

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
GZIP = {"accept-encoding": "gzip, deflate"}
LEAFLET = "maps/vendor/leaflet/leaflet.js"
A_YEAR_S = 365 * 24 * 60 * 60

COLLECT = """
import json, django
from django.conf import settings
from django.core.management import call_command
django.setup()
call_command("collectstatic", interactive=False, verbosity=0)
print(json.dumps({"STORAGES": settings.STORAGES,
                  "WHITENOISE_USE_FINDERS": settings.WHITENOISE_USE_FINDERS}))
"""


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> dict:
    """collectstatic run as the Docker image runs it, with the production settings, into a
    folder of its own; the static-file settings it ran with, and that folder."""
    root = tmp_path_factory.mktemp("static")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLT_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="clt.production",
        CLT_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgis://build:build@localhost/build",  # collectstatic reads no database
        CLT_STATIC_ROOT=str(root),
    )
    result = subprocess.run(
        [sys.executable, "-c", COLLECT], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return {**json.loads(result.stdout), "STATIC_ROOT": root}


@pytest.fixture
def production_static(settings, collected) -> Path:
    """This process serving static files as production does, from what `collected` wrote."""
    settings.STORAGES = collected["STORAGES"]
    settings.WHITENOISE_USE_FINDERS = collected["WHITENOISE_USE_FINDERS"]
    settings.STATIC_ROOT = collected["STATIC_ROOT"]
    return collected["STATIC_ROOT"]


def test_collectstatic_with_the_production_storage_hashes_and_gzips_every_file(collected):
    root = collected["STATIC_ROOT"]
    names = json.loads((root / "staticfiles.json").read_text())["paths"]
    hashed = names[LEAFLET]
    assert re.fullmatch(r"maps/vendor/leaflet/leaflet\.[0-9a-f]{12}\.js", hashed)
    assert gzip.decompress((root / f"{hashed}.gz").read_bytes()) == (root / hashed).read_bytes()
    # leaflet.js names its source map: rewritten to the map's hashed name, which is there.
    source_map = re.search(rb"sourceMappingURL=(\S+)", (root / hashed).read_bytes()).group(1)
    assert (root / hashed).parent.joinpath(source_map.decode()).exists()
    assert collected["STORAGES"]["staticfiles"]["BACKEND"] == "clt.staticfiles.CollectedStaticFiles"
    assert collected["WHITENOISE_USE_FINDERS"] is False


def test_production_pages_name_static_files_by_their_hashed_names(client, production_static):
    names = json.loads((production_static / "staticfiles.json").read_text())["paths"]
    html = client.get("/map/").content.decode()
    sources = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert sources[0] == f"/static/{names[LEAFLET]}"
    assert all(re.search(r"\.[0-9a-f]{12}\.js$", src) for src in sources), sources
    assert re.search(r'href="/static/clt/site\.[0-9a-f]{12}\.css"', html)


def test_a_hashed_static_file_is_cached_for_ten_years_and_sent_gzipped(client, production_static):
    response = client.get(static(LEAFLET), headers=GZIP)

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert f"max-age={A_YEAR_S * 10}" in response["Cache-Control"]  # whitenoise: ten years
    assert "immutable" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    hashed = static(LEAFLET).removeprefix("/static/")
    assert gzip.decompress(body) == (production_static / hashed).read_bytes()
    assert len(body) < 50_000  # 147,552 bytes as it is


def test_without_collectstatic_production_says_what_to_run(tmp_path):
    with pytest.raises(ValueError, match="no static files manifest .* clt manage collectstatic"):
        CollectedStaticFiles(location=tmp_path).url("clt/site.css")


def test_in_development_a_static_script_is_gzipped_as_it_is_sent(client):
    response = client.get("/static/maps/map.js", headers=GZIP)
    assert response["Content-Encoding"] == "gzip"
    source = ROOT / "maps" / "static" / "maps" / "map.js"
    assert gzip.decompress(b"".join(response.streaming_content)) == source.read_bytes()


def test_an_image_is_sent_as_it_is(client):
    response = client.get("/static/maps/vendor/leaflet/images/layers.png", headers=GZIP)
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")  # a PNG is compressed already


def test_favicon_ico_is_the_sites_icon_cached_for_a_week(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content == views.FAVICON.read_bytes()
    assert response["Cache-Control"] == "public, max-age=604800"


def test_every_page_links_the_icon(client):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/clt/favicon.svg" type="image/svg+xml">' in html
    assert client.get("/static/clt/favicon.svg").status_code == 200
