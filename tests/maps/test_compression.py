"""Gzip on the map's answers (clt/compression.py): the page, tiles, the OGC API and downloads go
compressed to a client that accepts gzip, as they are to one that does not, and a compressed
answer's weak ETag still revalidates to a 304."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.cache import caches

from maps import tiles
from tests.maps import factories_map

pytestmark = pytest.mark.django_db

GZIP = {"accept-encoding": "gzip, deflate, br"}  # what Chromium sends
Z16_TILE = "/tiles/parcels/{}/{}/{}.pbf".format(*factories_map.CORNER_TILE)


@pytest.fixture
def block():
    return factories_map.block()


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_map_page_is_gzipped_for_a_browser_that_accepts_it(client, block):
    plain = client.get("/map/")
    packed = client.get("/map/", headers=GZIP)

    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    html = gzip.decompress(packed.content).decode()
    assert "Map of the land held by" in html and "CLTMap.vectorLayer(" in html
    assert len(packed.content) < len(plain.content) / 3


def test_a_client_that_does_not_accept_gzip_gets_the_page_as_it_is(client, block):
    response = client.get("/map/", headers={"accept-encoding": "identity"})
    assert not response.has_header("Content-Encoding")
    assert "Accept-Encoding" in response["Vary"]  # so a shared cache keeps the two apart
    assert "Map of the land held by" in response.content.decode()


def test_a_tile_is_gzipped_and_its_weak_etag_revalidates_to_a_304(client, block):
    plain = client.get(Z16_TILE)
    packed = client.get(Z16_TILE, headers=GZIP)

    assert packed.status_code == 200 and packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content  # the same tile, every byte
    assert len(packed.content) < len(plain.content) * 0.6
    assert packed["ETag"] == f"W/{plain['ETag']}"  # weak: its bytes are not the tile's
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]

    again = client.get(Z16_TILE, headers={**GZIP, "if-none-match": packed["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_tiles_gzip_is_made_once_and_kept_with_it_in_the_tile_cache(client, block):
    first = client.get(Z16_TILE, headers=GZIP)
    kept = caches[tiles.CACHE_ALIAS].get("gzip:" + first["ETag"].removeprefix("W/").strip('"'))
    assert kept == first.content
    # No random padding on a tile (no secret in it for BREACH to find): the same bytes again.
    assert client.get(Z16_TILE, headers=GZIP).content == first.content


def test_a_client_without_gzip_gets_the_tile_as_postgis_wrote_it(client, block):
    response = client.get(Z16_TILE)  # the tile benchmark's client sends no Accept-Encoding
    assert not response.has_header("Content-Encoding")
    assert not response["ETag"].startswith("W/")
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"


def test_an_ogc_api_items_page_is_gzipped_and_its_etag_revalidates(client, block):
    url = "/ogcapi/collections/parcels/items?limit=100"
    headers = {**GZIP, "accept": "application/geo+json"}
    packed = client.get(url, headers=headers)

    assert packed["Content-Encoding"] == "gzip"
    page = json.loads(gzip.decompress(packed.content))
    assert page["type"] == "FeatureCollection" and page["features"]
    assert packed["ETag"].startswith('W/"')

    again = client.get(url, headers={**headers, "if-none-match": packed["ETag"]})
    assert again.status_code == 304


def test_a_streamed_download_is_gzipped_whole(client, block):
    plain = json.loads(streamed(client.get("/export/parcels.geojson")))
    packed = client.get("/export/parcels.geojson", headers=GZIP)

    assert packed["Content-Encoding"] == "gzip"
    assert not packed.has_header("Content-Length")  # known only once the last chunk is sent
    assert packed["ETag"].startswith('W/"')
    assert json.loads(gzip.decompress(streamed(packed)))["features"] == plain["features"]


def test_a_csv_download_is_gzipped(client, block):
    plain = streamed(client.get("/export/parcels.csv"))
    packed = client.get("/export/parcels.csv", headers=GZIP)
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(streamed(packed)) == plain


def test_a_geopackage_is_gzipped_too(client, block):
    """Binary, but mostly half-filled SQLite pages: the demo's parcels shrank 5.5 times."""
    response = client.get("/export/parcels.gpkg", headers=GZIP)
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    packed = streamed(response)
    assert gzip.decompress(packed)[:16] == b"SQLite format 3\x00"
    assert len(packed) < len(gzip.decompress(packed)) / 2


def test_a_zipped_shapefile_is_sent_as_it_is(client, block):
    response = client.get("/export/parcels.shp.zip", headers=GZIP)
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")  # a zip is compressed already
    assert streamed(response)[:4] == b"PK\x03\x04"
