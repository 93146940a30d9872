"""Hostile input everywhere a stranger (or a broken client) can reach: query strings, admin
writes, files for import. Each gets a clear 4xx or CLI error, never a 5xx or a traceback, and
the database is as it was: every table's row count and checksum is compared before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from clt.cli import main
from clt.roles import EDITOR
from maps import tokens
from tests import factories
from tests.dbstate import bumped, changed_tables, data_versions, database_state

pytestmark = pytest.mark.django_db

# Values an attacker or a fuzzer tries in any parameter.
PAYLOADS = [
    "' OR '1'='1",
    "1; DROP TABLE parcels_parcel; --",
    "1) UNION SELECT name, email, phone FROM leases_party --",
    "$$; SELECT pg_sleep(10); $$",
    "-1",
    "0",
    "1e309",
    "NaN",
    "-inf",
    "99999999999999999999999999999",
    "9" * 5000,
    "A" * 100_000,
    "\x00",
    "bad\x00value",
    "𝕏🏠",
    "%",
    "_",
    "\\",
    "<script>alert(1)</script>",
    "-90.2,32.3,-90.1",
    "0,0,0,0",  # a box on another continent: outside the metric CRS's domain
    "-180,-90,180,90",
    "179,-89,180,90",
    "-90.2,32.3,-90.1,32.4,5,6,7",
    "POLYGON((0 0, 1 1, 0 0))",
    '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}',
    "{",
]

ENDPOINTS = {
    "/api/vacant-lots": [
        "bbox", "polygon", "near", "address", "within_m", "min_area_m2", "max_acres",
        "land_use", "zoning", "tax_status", "owner", "neighbourhood", "pipeline", "order",
        "page", "limit",
    ],
    "/api/vacant-lots/adjacent": ["tolerance_m", "bbox", "limit"],
    "/api/assemblages": ["tolerance_m", "min_lots", "min_total_m2", "bbox", "limit"],
    "/map/search.json": ["q"],
    "/ogcapi/collections/trust-land/items": [
        "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "after", "before", "f", "apn",
        "address", "acres", "holding",
    ],
    "/ogcapi/collections/leases/items": ["bbox", "limit", "offset", "status", "arrears"],
    "/ogcapi/collections/trust-land/items/1": ["f", "crs"],
    "/export/trust-land.csv": ["bbox", "bbox-crs", "crs", "datetime", "apn"],
    "/export/vacant-lots.geojson": ["bbox", "zoning"],
}  # fmt: skip


@pytest.fixture
def registry():
    made = factories.registry()
    factories.holding(parcels=[factories.parcel(apn="164-900-000")], available=True)
    return made


@pytest.fixture
def staff_key(registry):
    return tokens.issue(factories.user("planner", role=EDITOR, is_staff=True), "fuzz")[1]


def test_no_query_string_breaks_a_read_or_changes_a_row(client, registry, staff_key):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {staff_key}"
    before = database_state()
    failures = []
    for path, params in ENDPOINTS.items():
        for param in params:
            for value in PAYLOADS:
                response = client.get(path, {param: value, "limit": "5"} if param != "limit"
                                      else {param: value})  # fmt: skip
                body = b"".join(response) if response.streaming else response.content
                if response.status_code >= 500 or b"Traceback" in body:
                    failures.append((path, param, value[:40], response.status_code))
                elif response.status_code >= 400:
                    assert response["Content-Type"].startswith("application/problem+json"), (
                        path, param, value[:40],
                    )  # fmt: skip
                    assert json.loads(body)["detail"], (path, param)
    assert failures == []
    after = database_state()
    # The token's last use is the only write a read may make.
    assert changed_tables(before, after, allowed={"maps_accesstoken"}) == {}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "10000000000"},
        {"limit": "-5"},
        {"offset": "99999999999999999999"},
        {"offset": "1000000000"},
        {"bbox": "-180,-90,180,90", "limit": "1000000"},
        {"bbox": "181,0,182,1"},
        {"bbox": "1,1,0,0"},
        {"limit": ["1", "2"]},
        {"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/999999", "bbox": "0,0,1,1"},
        {"crs": "file:///etc/passwd"},
        {"datetime": "2020-13-45"},
        {"datetime": "../.."},
    ],
)
def test_huge_limits_deep_offsets_and_nonsense_are_4xx_or_empty(client, registry, params):
    response = client.get("/ogcapi/collections/trust-land/items", params)
    assert response.status_code in (200, 400), response.content[:500]
    if response.status_code == 200:
        page = response.json()
        assert len(page["features"]) <= 10_000  # never the whole table because one asked


@pytest.mark.parametrize(
    "z, x, y",
    [("99", "0", "0"), ("16", "-1", "0"), ("16", "99999999", "0"), ("1e3", "0", "0"),
     ("16", "0' OR 1=1", "0"), ("0", "0", "99999999999999999999999")],
)  # fmt: skip
def test_hostile_tile_addresses_are_400(client, registry, z, x, y):
    response = client.get(f"/tiles/trust-land/{z}/{x}/{y}.pbf")
    assert response.status_code in (400, 404)


# --- admin writes: malformed GeoJSON / WKT -------------------------------------------------


@pytest.mark.parametrize(
    "geom, reason",
    [
        ("{not json", "outline cannot be read"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}', "outline cannot be read"),
        ("POLYGON((0 0, 1 1, 0 0))", "outside the area this registry keeps land in"),
        ("POINT(-90.2 32.3)", "geometry type"),
        ('{"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]}',
         "not longitude/latitude"),
        ("POLYGON((2200000 1050000, 2200100 1050000, 2200100 1050100, 2200000 1050000))",
         "not longitude/latitude"),
        ("POLYGON((-90.2 32.3, -90.19 32.31, -90.19 32.3, -90.2 32.31, -90.2 32.3))",
         "self-intersection"),
        ("A" * 200_000, "outline cannot be read"),
    ],
)  # fmt: skip
def test_a_bad_outline_in_the_admin_is_a_form_error_and_nothing_is_saved(client, geom, reason):
    client.force_login(factories.user("editor", role=EDITOR, is_staff=True))
    before = database_state()
    response = client.post(
        "/admin/parcels/parcel/add/",
        {"apn": "164-777-000", "address": "1 Test St", "owner_of_record": "X",
         "land_use": "RES-VAC", "vacancy_status": "vacant", "tax_status": "current",
         "jurisdiction": "hinds-ms", "geom": geom},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with its errors
    errors = str(response.context["adminform"].form.errors.get("geom", ""))
    assert errors, response.context["adminform"].form.errors
    assert reason.lower() in errors.lower(), errors
    assert changed_tables(before, database_state(), allowed={"django_session"}) == {}


# --- imports: bad files ------------------------------------------------------------------


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def county(tmp_path: Path, name: str = "county.gpkg", **kwargs) -> Path:
    lots = [shapely.box(2_200_000 + i * 60, 1_050_000, 2_200_050 + i * 60, 1_050_120)
            for i in range(4)]  # fmt: skip
    frame = gpd.GeoDataFrame(
        {"PARCELNO": [f"164-{i:03d}-000" for i in range(4)], "SITUS": ["1 A St"] * 4,
         "OWNER": ["X"] * 4, "LANDUSE": ["RES-VAC"] * 4},
        geometry=lots, crs="EPSG:2255",
    )  # fmt: skip
    path = tmp_path / name
    frame.to_file(path, **kwargs)
    return path


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name: (file, what the error must say)."""
    files = {}
    empty = tmp_path / "empty.gpkg"
    empty.touch()
    files["zero-byte"] = (empty, "is empty (0 bytes)")

    whole = county(tmp_path).read_bytes()
    truncated = tmp_path / "truncated.gpkg"
    truncated.write_bytes(whole[: len(whole) // 3])
    files["truncated"] = (truncated, "truncated.gpkg")

    mixed = gpd.read_file(county(tmp_path, "m.gpkg")).to_crs(4326)
    mixed.loc[1, "geometry"] = shapely.LineString(mixed.geometry[1].exterior.coords)
    mixed_path = tmp_path / "mixed.geojson"
    mixed.to_file(mixed_path, driver="GeoJSON")
    files["mixed-geometry"] = (mixed_path, "mixed geometry types")

    feet = json.loads(county(tmp_path, "f.geojson", driver="GeoJSON").read_text())
    feet.pop("crs", None)  # GeoJSON is WGS84 by definition: these feet are the wrong CRS
    wrong_crs = tmp_path / "wrong-crs.geojson"
    wrong_crs.write_text(json.dumps(feet))
    files["wrong-crs"] = (wrong_crs, "the declared CRS is wrong")

    latin1 = tmp_path / "latin1.geojson"
    latin1.write_bytes(county(tmp_path, "u.geojson", driver="GeoJSON").read_bytes()
                       .replace(b"1 A St", "1 Café St".encode("latin-1")))  # fmt: skip
    files["non-utf8"] = (latin1, "not UTF-8")

    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    files["malformed-json"] = (broken, "broken.geojson")

    not_gis = tmp_path / "photo.gpkg"
    not_gis.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096)
    files["not-a-gis-file"] = (not_gis, "photo.gpkg")

    huge = tmp_path / "huge.gpkg"
    with huge.open("wb") as handle:  # sparse: 64 GiB of zeros that take no disk
        handle.truncate(64 * 2**30)
    files["absurdly-large"] = (huge, "huge.gpkg")
    return files


BAD_FILES = ["zero-byte", "truncated", "mixed-geometry", "wrong-crs", "non-utf8",
             "malformed-json", "not-a-gis-file", "absurdly-large"]  # fmt: skip


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_is_refused_with_a_clear_error_and_the_registry_is_untouched(
    tmp_path, registry, kind
):
    assert cli("import-parcels", str(county(tmp_path, "first.gpkg")), "--quiet").exit_code == 0
    path, message = bad_files(tmp_path)[kind]
    before, versions = database_state(), data_versions()

    result = cli("import-parcels", str(path), "--quiet")

    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    # A refused import may leave its own record (status failed, with the reason), nothing else;
    # that record bumps its table's data version (downloads cite import runs), and only it.
    allowed = {"parcels_importrun", "maps_data_version"}
    assert changed_tables(before, database_state(), allowed=allowed) == {}
    assert bumped(versions, data_versions()) <= {"parcels_importrun"}
