"""Revalidation of the OGC API and the downloads (OGC 17-069r4 /rec/core/etag): an ETag from the
data versions and the request, and a 304 while the client's copy is current."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection

from maps import versions
from maps.ogcapi import query
from parcels.models import ImportRun, Parcel
from tests.maps import factories_ogc as f
from tests.maps.factories_map import LAYER_DAY

pytestmark = pytest.mark.django_db

ITEMS = "/ogcapi/collections/parcels/items?limit=1"
GEOJSON = {"HTTP_ACCEPT": "application/geo+json"}


@pytest.fixture
def street():
    return f.street(trust=2, vacant=2, occupied=1)


def revalidated(client, url: str, etag: str, **headers):
    return client.get(url, HTTP_IF_NONE_MATCH=etag, **headers)


@pytest.mark.parametrize(
    "url",
    [
        ITEMS,
        "/ogcapi/collections",
        "/ogcapi/collections/parcels",
        "/export/parcels.gpkg",
        "/export/parcels.geojson",
        "/export/parcels.csv-metadata.json",
    ],
)
def test_an_answer_carries_a_weak_etag_and_is_a_304_while_current(client, street, url):
    first = client.get(url, **GEOJSON)
    assert first.status_code == 200
    assert first["ETag"].startswith('W/"')  # a timeStamp or generated_at differs: weak
    assert "no-cache" in first["Cache-Control"]  # keep it, but ask each time

    again = revalidated(client, url, first["ETag"], **GEOJSON)

    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    assert again.content == b""
    assert "Content-Type" not in again


def test_a_single_feature_is_a_304_while_current(client, street):
    url = f"/ogcapi/collections/parcels/items/{street.vacant[0].pk}"
    first = client.get(url)
    assert revalidated(client, url, first["ETag"]).status_code == 304
    assert revalidated(client, url, first["ETag"].removeprefix("W/")).status_code == 304


def test_if_none_match_star_is_a_304_for_a_feature_that_exists_and_a_404_for_one_that_does_not(
    client, street
):
    items = "/ogcapi/collections/parcels/items"
    assert revalidated(client, f"{items}/{street.vacant[0].pk}", "*").status_code == 304
    missing = revalidated(client, f"{items}/999999999", "*")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/problem+json")
    assert "ETag" not in missing


def test_a_write_to_the_layer_gives_a_new_etag_and_the_whole_answer(client, street):
    first = client.get(ITEMS)
    street.vacant[0].zoning = "R-9"
    street.vacant[0].save()

    again = revalidated(client, ITEMS, first["ETag"])

    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_a_download_is_new_after_a_write_to_the_layer(client, street):
    url = "/export/parcels.geojson"
    first = client.get(url)
    f.factories.parcel(geom=f.lot_at(20))
    assert revalidated(client, url, first["ETag"]).status_code == 200


def test_a_download_is_new_once_the_import_its_parcels_came_from_is_recorded_finished(
    client, street
):
    """An import records its finish after its parcels commit (parcels.models.ImportRun), and
    the download's provenance says when it finished: that write must change the ETag too."""
    run = ImportRun.objects.create(
        jurisdiction=street.vacant[0].jurisdiction, source_file="hinds.gpkg", source_sha256="0"
    )
    Parcel.objects.filter(pk=street.vacant[0].pk).update(import_run=run)
    url = "/export/parcels.geojson"
    first = client.get(url)
    finished = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    ImportRun.objects.filter(pk=run.pk).update(finished_at=finished, status="succeeded")

    again = revalidated(client, url, first["ETag"])

    assert again.status_code == 200
    sources = json.loads(b"".join(again.streaming_content))["metadata"]["sources"]
    assert [s["imported_at"] for s in sources if s["import"] == run.pk] == ["2031-01-02T03:04:05Z"]


def test_the_etag_differs_by_query_representation_and_host(client, street):
    def etag(url: str, **headers) -> str:
        response = client.get(url, **headers)
        assert response.status_code == 200
        return response["ETag"]

    tags = [
        etag(ITEMS),
        etag("/ogcapi/collections/parcels/items?limit=2"),
        etag(ITEMS + "&f=html"),
        etag(ITEMS, HTTP_ACCEPT="text/html"),  # the same URL, chosen HTML by its Accept
        etag(ITEMS, HTTP_HOST="localhost"),  # every link in it is absolute
        etag("/export/parcels.gpkg"),
        etag("/export/parcels.csv"),
    ]
    assert len(set(tags)) == len(tags)


def test_the_collections_etag_depends_on_which_layers_the_asker_may_see(client, street):
    anonymous = client.get("/ogcapi/collections")
    client.force_login(f.staff_user())

    staff = revalidated(client, "/ogcapi/collections", anonymous["ETag"])

    assert staff.status_code == 200  # the staff layers are listed: not the anonymous copy
    assert "leases" in [c["id"] for c in staff.json()["collections"]]
    assert staff["ETag"] != anonymous["ETag"]
    again = revalidated(client, "/ogcapi/collections", staff["ETag"])
    assert again.status_code == 304
    assert "private" in again["Cache-Control"]  # still the user's alone


def test_a_staff_layer_revalidates_privately_and_refuses_a_stranger_whatever_he_sends(
    client, street
):
    url = "/ogcapi/collections/leases/items"
    client.force_login(f.staff_user())
    first = client.get(url)
    assert "private" in first["Cache-Control"]
    assert revalidated(client, url, first["ETag"])["Cache-Control"] == "no-cache, private"
    client.logout()

    assert revalidated(client, url, first["ETag"]).status_code == 401


def test_a_bad_parameter_is_a_400_even_with_if_none_match_star(client, street):
    response = revalidated(client, "/ogcapi/collections/parcels/items?limit=zero", "*")
    assert response.status_code == 400
    assert "ETag" not in response


def test_a_dated_layers_etag_changes_with_the_trusts_day(client, street, day):
    url = "/ogcapi/collections/trust-land/items"
    first = client.get(url)
    day(LAYER_DAY + dt.timedelta(days=1))  # what the trust holds "now" may have changed
    assert revalidated(client, url, first["ETag"]).status_code == 200


def test_a_write_between_reading_the_page_and_answering_never_earns_a_stale_304(
    client, street, monkeypatch
):
    """The versions are read before the data: a write that commits just after the page was read
    leaves the client's copy older than the current data, and its ETag must say so."""
    read_page = query.page

    def page_then_a_write(*args, **kwargs):
        found = read_page(*args, **kwargs)
        f.factories.parcel(geom=f.lot_at(30))  # another request's commit, just now
        return found

    monkeypatch.setattr(query, "page", page_then_a_write)
    url = "/ogcapi/collections/parcels/items"
    first = client.get(url)
    monkeypatch.setattr(query, "page", read_page)

    again = revalidated(client, url, first["ETag"])

    assert again.status_code == 200
    assert again.json()["numberMatched"] == first.json()["numberMatched"] + 1


def test_both_api_descriptions_list_the_304_where_an_etag_is_sent(client, street):
    # /req/oas30/completeness: every status code the server uses, for each operation.
    ogc = client.get("/ogcapi/api").json()["paths"]
    for path in ("/", "/conformance", "/api", "/collections", "/collections/parcels",
                 "/collections/parcels/items",
                 "/collections/parcels/items/{featureId}"):  # fmt: skip
        assert "304" in ogc[path]["get"]["responses"], path
    registry = client.get("/api/openapi.json").json()["paths"]
    for path in ("/export/{layer}.{format}", "/export/{layer}.csv-metadata.json"):
        assert "304" in registry[path]["get"]["responses"], path


def test_migrate_watches_the_import_runs_so_no_download_has_to_create_a_trigger():
    """CREATE TRIGGER waits for every open transaction that wrote the table: a download made
    to wait for a running import's record."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND c.relname = %s",
            [versions.TRIGGER, ImportRun._meta.db_table],
        )
        assert cursor.fetchone()[0] == 1


def test_the_etag_carries_the_code_that_writes_the_answers():
    # The export cache keeps files across restarts under their ETag: a checkout whose writers
    # changed (the version number between releases stays) must not serve the old files.
    from maps.exporting import clt_version
    from maps.ogcapi import conditional

    release, _, code = conditional._app_version().partition("+")
    assert release == clt_version()
    assert len(code) == 12 and int(code, 16) >= 0
