"""Real clients read the OGC API: GDAL's OAPIF driver, ogr2ogr, OWSLib, and schemathesis.

Each runs against pytest-django's `live_server` (a real HTTP server in a thread; the database
is transactional so the server sees the test's rows). GDAL and schemathesis run as separate
processes, as a user would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
from urllib.parse import parse_qs, urlparse

import pyogrio
import pytest
import requests
import shapely

from maps.layers import all_layers
from parcels.models import Parcel
from tests.fuzz import schemathesis
from tests.maps import factories_ogc as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def street():
    return f.street()


def gdal(tool: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # GDAL caches HTTP answers per process only; every call here is a fresh process.
    environment = {**os.environ, "CPL_DEBUG": "OFF", **(env or {})}
    result = subprocess.run(
        [tool, *args], capture_output=True, text=True, env=environment, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def layer_names(ogrinfo_output: str) -> list[str]:
    """Layer names from `ogrinfo -so` output lines like `1: trust-land (Multi Polygon)`."""
    return [
        line.split(": ", 1)[1].split(" (")[0]
        for line in ogrinfo_output.splitlines()
        if line[:1].isdigit() and ": " in line
    ]


# --- GDAL ------------------------------------------------------------------------------


def test_gdal_lists_the_public_collections(live_server, street):
    out = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server.url}/ogcapi").stdout
    public = [name for name, layer in all_layers().items() if layer.is_public]
    assert layer_names(out) == public


def test_gdal_reads_every_feature_of_a_collection_page_by_page(live_server, street):
    out = gdal(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        "/vsistdout/",
        f"OAPIF:{live_server.url}/ogcapi",
        "vacant-lots",
        "-oo",
        "PAGE_SIZE=2",
    ).stdout
    doc = json.loads(out)
    expected = Parcel.objects.vacant().exclude(pk__in=[p.pk for p in street.trust])
    assert len(doc["features"]) == expected.count() == 5
    assert sorted(ft["properties"]["apn"] for ft in doc["features"]) == sorted(
        p.apn for p in expected
    )


def test_gdal_feature_count_equals_the_database(live_server, street):
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}/ogcapi", "trust-land").stdout
    assert "Feature Count: 4" in out


def test_gdal_opens_an_empty_collection_without_giving_it_the_worlds_extent(live_server, street):
    # The collection leaves `extent` out; GDAL must still open it (and not zoom to the world).
    url = f"OAPIF:{live_server.url}/ogcapi"
    out = gdal("ogrinfo", "-ro", "-so", url, "neighbourhoods").stdout
    assert "Feature Count: 0" in out
    assert "Extent" not in out
    assert len(pyogrio.read_dataframe(url, layer="neighbourhoods")) == 0


def test_ogr2ogr_copies_a_collection_into_a_geopackage_equal_to_the_source(
    live_server, street, tmp_path
):
    out = tmp_path / "trust.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server.url}/ogcapi", "trust-land")
    frame = pyogrio.read_dataframe(out)
    assert len(frame) == 4
    by_apn = {p.apn: shapely.from_wkb(bytes(p.geom.wkb)) for p in street.trust}
    for apn, geometry in zip(frame["apn"], frame.geometry, strict=True):
        # Same outline within the 7 decimals served (about 1 cm), whatever the ring direction.
        assert shapely.equals_exact(geometry.normalize(), by_apn[apn].normalize(), 1e-7)


def test_gdal_fetches_one_feature_by_its_id(live_server, street):
    """GDAL appends /{fid} to the items link: the link must carry no query string."""
    lot = street.trust[1]
    out = gdal(
        "ogrinfo", "-ro", "-q", f"OAPIF:{live_server.url}/ogcapi", "trust-land", "-fid",
        str(lot.pk),
    ).stdout  # fmt: skip
    assert f"OGRFeature(trust-land):{lot.pk}" in out
    assert lot.apn in out


def test_gdal_passes_an_attribute_filter_to_the_server(live_server, street):
    out = gdal(
        "ogrinfo",
        "-ro",
        "-al",
        "-q",
        f"OAPIF:{live_server.url}/ogcapi",
        "vacant-lots",
        "-where",
        "zoning = 'C-2'",
    ).stdout
    assert out.count("OGRFeature(") == 3


def test_gdal_reads_a_staff_collection_with_basic_credentials(live_server, street):
    f.staff_user("gis", "s3cret-pass")
    url = f"OAPIF:{live_server.url}/ogcapi"
    anonymous = gdal("ogrinfo", "-ro", "-q", url).stdout
    assert "leases" not in layer_names(anonymous)
    auth = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": "gis:s3cret-pass"}
    staff = gdal("ogrinfo", "-ro", "-al", "-q", url, "leases", env=auth).stdout
    assert staff.count("OGRFeature(") == 1
    assert "arrears" in staff


# --- OWSLib ----------------------------------------------------------------------------


def test_owslib_pages_through_a_collection(live_server, street):
    from owslib.ogcapi.features import Features

    api = Features(f"{live_server.url}/ogcapi/")
    assert "vacant-lots" in [c["id"] for c in api.collections()["collections"]]
    seen, params = [], {"limit": 2}
    first = api.collection_items("vacant-lots", **params)
    assert first["numberMatched"] == 5
    while True:
        page = api.collection_items("vacant-lots", **params)
        seen += [feature["id"] for feature in page["features"]]
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        params = {"limit": 2, "after": parse_qs(urlparse(following[0]).query)["after"][0]}
    assert seen == sorted(p.pk for p in street.vacant)


# --- schemathesis ----------------------------------------------------------------------


def test_schemathesis_fuzzes_every_operation_without_a_server_error(live_server, street):
    result = schemathesis(
        f"{live_server.url}/ogcapi/api?f=json", "--phases", "fuzzing", "--max-examples", "10"
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_schemathesis_boundary_values_on_the_richest_items_find_no_server_error(
    live_server, street
):
    # The coverage phase tries every boundary and every invalid type of every parameter: on
    # the two items operations with dates, property filters of each type, bbox and crs.
    result = schemathesis(
        f"{live_server.url}/ogcapi/api?f=json",
        "--phases",
        "coverage",
        "--include-path-regex",
        "^/collections/(trust-land|vacant-lots)/items$",
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_schemathesis_as_staff_finds_no_server_error_on_the_staff_layer(
    live_server, street, client
):
    # A session cookie rather than Basic credentials: each Basic request pays the password
    # hash (PBKDF2, about 0.3 s), which would make this run minutes long.
    client.force_login(f.staff_user())
    session = client.cookies["sessionid"].value
    opened = requests.get(
        f"{live_server.url}/ogcapi/collections/leases/items",
        cookies={"sessionid": session},
        timeout=20,
    )
    assert opened.status_code == 200  # the cookie opens the staff layer to schemathesis too
    cookie = f"Cookie: sessionid={session}"
    result = schemathesis(
        f"{live_server.url}/ogcapi/api?f=json",
        "-H",
        cookie,
        "--include-tag",
        "leases",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        "10",
    )
    assert result.returncode == 0, result.stdout[-4000:]
