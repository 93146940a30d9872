"""A public layer's download is built once per data version and served from disk after that;
builds of the same file are shared, and a server builds few at once (maps/export_cache.py)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from maps import export_cache, exporting
from parcels.models import Parcel
from tests.maps import factories_ogc as f
from tests.maps.factories_ogc import download


@pytest.fixture
def kept(settings, tmp_path) -> Path:
    """This test's own cache folder."""
    settings.CLT_EXPORT_CACHE_DIR = tmp_path / "exports"
    return settings.CLT_EXPORT_CACHE_DIR


def kept_files(folder: Path) -> list[str]:
    """The downloads kept in `folder` (not its locks), by name."""
    return sorted(p.name for p in folder.glob("*.*") if p.is_file())


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """Each ogr2ogr run and each GeoJSON written, as the format's name, in order."""
    made: list[str] = []
    write_gdal, geojson_chunks = exporting.write_gdal, exporting.geojson_chunks

    def counted_gdal(export, fmt, path, meta):
        made.append(fmt)
        return write_gdal(export, fmt, path, meta)

    def counted_geojson(export, meta):
        made.append("geojson")
        return geojson_chunks(export, meta)

    monkeypatch.setattr(exporting, "write_gdal", counted_gdal)
    monkeypatch.setattr(exporting, "geojson_chunks", counted_geojson)
    return made


def test_a_second_identical_download_is_served_from_disk_without_running_gdal(
    client, db, kept, builds
):
    first = download(client, "/export/vacant-lots.gpkg")
    second = download(client, "/export/vacant-lots.gpkg")

    assert builds == ["gpkg"]
    assert second == first
    [name] = kept_files(kept)
    assert name.endswith(".gpkg") and (kept / name).read_bytes() == first


def test_an_edit_to_a_parcel_gives_a_new_file(client, db, kept, builds):
    street = f.street(trust=0, vacant=2, occupied=0)
    url = "/export/vacant-lots.geojson"
    download(client, url)
    download(client, url)
    Parcel.objects.filter(pk=street.vacant[0].pk).update(zoning="C-3")

    after = json.loads(download(client, url))

    assert builds == ["geojson", "geojson"]
    zoning = {ft["id"]: ft["properties"]["zoning"] for ft in after["features"]}
    assert zoning == {street.vacant[0].pk: "C-3", street.vacant[1].pk: "R-1"}
    assert len(kept_files(kept)) == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_download_asked_twice_at_once_is_built_once(live_server, kept, monkeypatch):
    f.street(trust=0, vacant=3, occupied=0)
    runs: list[float] = []
    write_gdal = exporting.write_gdal

    def slow_gdal(export, fmt, path, meta):
        runs.append(time.monotonic())
        time.sleep(0.5)  # long enough for the second request to arrive while this one builds
        return write_gdal(export, fmt, path, meta)

    monkeypatch.setattr(exporting, "write_gdal", slow_gdal)
    bodies: list[bytes] = []

    def fetch() -> None:
        with urllib.request.urlopen(f"{live_server.url}/export/vacant-lots.gpkg") as response:
            bodies.append(response.read())

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(runs) == 1
    assert len(bodies) == 2 and bodies[0] == bodies[1] and bodies[0][:6] == b"SQLite"


def test_a_download_that_cannot_start_its_build_in_time_is_a_503_with_retry_after(
    client, db, kept, settings
):
    settings.CLT_EXPORT_WAIT_S = 0.1
    with export_cache.build_slot(time.monotonic() + 1):  # another download is being built
        busy = client.get("/export/vacant-lots.csv")

    assert busy.status_code == 503
    assert busy["Retry-After"] == "60"
    assert busy["Access-Control-Allow-Origin"] == "*"
    assert busy.json()["detail"] == "A download is being prepared; try again in a minute."
    assert client.get("/export/vacant-lots.csv").status_code == 200


def test_the_least_recently_served_file_goes_first_beyond_the_limit(
    client, db, kept, monkeypatch
):
    monkeypatch.setattr(export_cache, "MAX_FILES", 2)
    layers = ("vacant-lots", "trust-land", "parcels")
    first, second, third = (f"/export/{name}.csv" for name in layers)
    for url in (first, second, first, third):  # the first is served again before the third
        download(client, url)
        time.sleep(0.01)

    assert kept_files(kept) == sorted(f"{key_of(client, url)}.csv" for url in (first, third))


def key_of(client, url: str) -> str:
    """The cache key of `url`'s answer now (by a 304: reads the versions, builds nothing)."""
    response = client.get(url, HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 304
    return export_cache.key_for(response["ETag"])


def test_a_staff_layers_download_is_not_kept_on_disk(client, db, kept):
    f.street(trust=1, vacant=0, occupied=0)
    client.force_login(f.staff_user())

    doc = json.loads(download(client, "/export/leases.geojson"))

    assert len(doc["features"]) == 1
    assert kept_files(kept) == []
