"""The public layer of conserved land: the conservation easements in force on the trust's day,
with their public facts only, on every surface the registry feeds (the map and its legend, the
layer's GeoJSON, the OGC API, the downloads), revalidated by the easements' data version.

Who holds an easement other than the trust, who granted it, its terms and its monitoring
visits are private (parcels.models.ConservationEasement): they are planted here with
distinctive values that no public answer may contain.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pyogrio
import pytest
import shapely
from django.conf import settings
from pyproj import Geod

from maps import publicmap, versions
from maps.layers import get_layer
from parcels.models import ConservationEasement, EasementMonitoringVisit
from tests import factories
from tests.factories import WEST_JACKSON
from tests.maps.factories_map import LAYER_DAY
from tests.maps.factories_ogc import download

pytestmark = pytest.mark.django_db

LAYER = "conserved-land"
GEOJSON_URL = f"/map/layers/{LAYER}.geojson"
ITEMS_URL = f"/ogcapi/collections/{LAYER}/items"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
SECRETS = ("Secret Holder Org", "Jane Grantor", "SECRET TERMS", "SECRET NOTE")
FARM_DEG = 0.003  # a farm's side: about 280 m east-west, 330 m north-south (9 ha)
US_SURVEY_FOOT_M = 1200 / 3937


def farm(index: int):
    """A square farm, the `index`-th east of West Jackson (apart from every other)."""
    lon, lat = WEST_JACKSON
    return factories.lot(lon + index * 2 * FARM_DEG, lat, side_deg=FARM_DEG)


def farm_bbox(index: int) -> str:
    """A CRS84 bbox around farm `index` only."""
    west, south, east, north = farm(index).extent
    return f"{west - 0.0005},{south - 0.0005},{east + 0.0005},{north + 0.0005}"


def planted(index: int = 0, **fields) -> ConservationEasement:
    """An easement held by another organisation, with every private value planted: its
    holder's and grantor's names, its terms, and a monitoring visit's monitor and notes."""
    holder = factories.party(kind="organisation", name="Secret Holder Org")
    easement = factories.easement(
        holder=holder,
        grantor=factories.party(name="Jane Grantor"),
        terms="SECRET TERMS: no subdivision",
        geom=farm(index),
        **fields,
    )
    EasementMonitoringVisit.objects.create(
        easement=easement, on=dt.date(2024, 5, 2), monitor="Jane Grantor", finding="minor",
        notes="SECRET NOTE: dumped tyres",
    )  # fmt: skip
    return easement


def held_by_the_trust(index: int = 1, **fields) -> ConservationEasement:
    return factories.easement(
        holder=factories.party(kind="trust", name="The trust"), geom=farm(index), **fields
    )


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def features_by_name(client) -> dict[str, dict]:
    response = client.get(GEOJSON_URL)
    assert response.status_code == 200, response.content[:300]
    return {f["properties"]["name"]: f for f in response.json()["features"]}


# --- what the layer shows --------------------------------------------------------------------


def test_the_layer_shows_the_easements_in_force_on_the_trusts_day(client, day):
    factories.easement(name="In force", geom=farm(0))
    factories.easement(name="Ended", geom=farm(1), ended_on=dt.date(2025, 1, 1))
    factories.easement(name="Ends today", geom=farm(2), ended_on=LAYER_DAY)  # exclusive
    factories.easement(name="Recorded tomorrow", geom=farm(3),
                       began_on=LAYER_DAY + dt.timedelta(days=1))  # fmt: skip

    assert set(features_by_name(client)) == {"In force"}
    items = client.get(f"{ITEMS_URL}?f=json").json()
    assert [ft["properties"]["name"] for ft in items["features"]] == ["In force"]

    day(LAYER_DAY + dt.timedelta(days=1))  # no write: the day alone adds it
    assert set(features_by_name(client)) == {"In force", "Recorded tomorrow"}


def test_a_feature_carries_the_public_facts_of_its_easement_and_nothing_else(client, day):
    easement = held_by_the_trust(name="Town Creek Farm", purpose="water", public_access="open",
                                 began_on=dt.date(2021, 8, 17))  # fmt: skip
    easement.refresh_from_db()

    (feature,) = features_by_name(client).values()

    assert feature["properties"] == {
        "id": easement.pk,
        "name": "Town Creek Farm",
        "purpose": "water",
        "public_access": "open",
        "held_by_trust": True,
        "perpetual": True,
        "ends_on": None,
        "recorded_year": 2021,
        "recorded_on": "2021-08-17",
        "area_m2": round(easement.area_m2),
        "contact": settings.CLT_CONTACT,
    }
    assert set(feature["properties"]) == {"id", *get_layer(LAYER).field_names}


def test_the_contact_is_the_trusts_as_configured_now(client, day, settings):
    held_by_the_trust(0)
    settings.CLT_CONTACT = "Call 601-000-0000"

    (feature,) = features_by_name(client).values()

    assert feature["properties"]["contact"] == "Call 601-000-0000"


def test_held_by_trust_is_whether_the_trust_holds_it(client, day):
    planted(0, name="Neighbour's farm")
    held_by_the_trust(1, name="Trust farm", ended_on=dt.date(2040, 1, 1))

    features = features_by_name(client)

    assert features["Trust farm"]["properties"]["held_by_trust"] is True
    assert features["Trust farm"]["properties"]["perpetual"] is False
    assert features["Trust farm"]["properties"]["ends_on"] == "2040-01-01"  # a term's end
    assert features["Neighbour's farm"]["properties"]["held_by_trust"] is False
    assert features["Neighbour's farm"]["properties"]["perpetual"] is True


# --- privacy ---------------------------------------------------------------------------------


def test_no_public_answer_names_the_holder_the_grantor_the_terms_or_a_visit(client, day):
    easement = planted(0, name="Neighbour's farm")
    assert ConservationEasement.objects.filter(
        holder__name=SECRETS[0], grantor__name=SECRETS[1], terms__startswith=SECRETS[2],
        visits__notes__startswith=SECRETS[3], visits__monitor=SECRETS[1],
    ).exists()  # fmt: skip
    with_the_feature = [
        GEOJSON_URL,
        f"{ITEMS_URL}?f=json",
        f"{ITEMS_URL}?f=html",
        f"{ITEMS_URL}/{easement.pk}?f=json",
    ]
    for url in [*with_the_feature, f"/ogcapi/collections/{LAYER}?f=json", "/map/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert leaks(text) == [], url
        if url in with_the_feature:
            assert "Neighbour" in text, url  # the answer did carry the easement


@pytest.mark.django_db(transaction=True)  # ogr2ogr reads committed data, on its own connection
def test_the_downloads_read_back_by_ogr_have_the_declared_fields_and_the_easements_area(
    client, day, tmp_path
):
    neighbours = planted(0, name="Neighbour's farm")
    held_by_the_trust(1, name="Trust farm")
    neighbours.refresh_from_db()
    declared = set(get_layer(LAYER).field_names)

    gpkg = tmp_path / "conserved.gpkg"
    gpkg.write_bytes(download(client, f"/export/{LAYER}.gpkg?crs={EPSG}2255"))
    csv_path = tmp_path / "conserved.csv"
    csv_path.write_bytes(download(client, f"/export/{LAYER}.csv"))

    assert leaks(gpkg.read_bytes().decode("latin-1")) == []
    assert leaks(csv_path.read_text()) == []
    assert set(pyogrio.read_info(gpkg)["fields"]) == declared
    in_feet = pyogrio.read_dataframe(gpkg).set_index("name")
    assert in_feet.crs.to_epsg() == 2255
    assert bool(in_feet.loc["Trust farm", "held_by_trust"]) is True
    assert bool(in_feet.loc["Neighbour's farm", "held_by_trust"]) is False
    assert in_feet.loc["Neighbour's farm", "area_m2"] == round(neighbours.area_m2)
    area_m2 = in_feet.loc["Neighbour's farm", "geometry"].area * US_SURVEY_FOOT_M**2
    assert area_m2 == pytest.approx(neighbours.area_m2, rel=0.01)

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert set(rows[0]) == {"id", *declared, "WKT", "lon", "lat"}
    in_degrees = pyogrio.read_dataframe(csv_path).set_index("name")
    outline = shapely.from_wkt(in_degrees.loc["Neighbour's farm", "WKT"])
    geodesic_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(outline)[0])
    assert geodesic_m2 == pytest.approx(neighbours.area_m2, rel=0.01)

    shp = tmp_path / "conserved.shp.zip"
    shp.write_bytes(download(client, f"/export/{LAYER}.shp.zip"))
    short = {field.shapefile_name for field in get_layer(LAYER).fields}
    assert set(pyogrio.read_info(f"/vsizip/{shp}")["fields"]) == {"id", *short}
    assert {"access", "by_trust", "rec_year", "rec_date"} <= short
    with zipfile.ZipFile(shp) as parts:  # deflated: each part's bytes, as a reader gets them
        assert leaks("".join(parts.read(n).decode("latin-1") for n in parts.namelist())) == []


# --- the OGC API ------------------------------------------------------------------------------


def test_the_collection_is_filtered_by_bbox_and_by_the_day_each_easement_was_recorded(
    client, day
):
    first = planted(0, name="Recorded in 2019", began_on=dt.date(2019, 6, 1))
    second = held_by_the_trust(1, name="Recorded in 2022", began_on=dt.date(2022, 2, 3))

    def ids(query: str) -> list[int]:
        response = client.get(f"{ITEMS_URL}?f=json&{query}")
        assert response.status_code == 200, response.content[:300]
        return [ft["id"] for ft in response.json()["features"]]

    assert ids(f"bbox={farm_bbox(1)}") == [second.pk]
    assert ids("datetime=2019-06-01") == [first.pk]
    assert ids("datetime=2020-01-01/..") == [second.pk]
    collection = client.get(f"/ogcapi/collections/{LAYER}?f=json").json()
    assert collection["extent"]["temporal"]["interval"][0][0].startswith("2019-06-01")


# --- caching ----------------------------------------------------------------------------------


def test_the_layer_is_versioned_by_the_easements_table(day):
    tables = versions.layer_tables(get_layer(LAYER))
    assert {"parcels_conservationeasement", "leases_party"} <= tables
    assert versions.day_input(LAYER_DAY) <= tables  # built for the day: it changes at midnight


def test_an_edit_to_an_easement_changes_the_layers_etag(client, day):
    easement = held_by_the_trust(0, public_access="unknown")
    first = client.get(GEOJSON_URL)
    assert client.get(GEOJSON_URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    items = client.get(f"{ITEMS_URL}?f=json")

    easement.public_access = "open"
    easement.save()

    again = client.get(GEOJSON_URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert again.json()["features"][0]["properties"]["public_access"] == "open"
    items_again = client.get(f"{ITEMS_URL}?f=json", HTTP_IF_NONE_MATCH=items["ETag"])
    assert items_again.status_code == 200 and items_again["ETag"] != items["ETag"]


# --- the map ----------------------------------------------------------------------------------


def test_the_map_lists_the_layer_in_its_legend_and_loads_it_as_geojson(client, day):
    held_by_the_trust(0)

    html = client.get("/map/").content.decode()

    assert GEOJSON_URL in html
    legend = html.split('class="clt-legend"')[1]
    assert "Land under conservation easement" in legend


def test_the_popup_reads_the_purpose_and_public_access_by_their_labels():
    urls = publicmap.MapUrls(
        tile="/tiles/{layer}/{z}/{x}/{y}.pbf",
        geojson="/map/layers/{layer}.geojson",
        search="/map/search.json",
    )
    spec = publicmap.layer_spec(get_layer(LAYER), urls, z_index=3)

    assert spec["url"] == GEOJSON_URL and spec["staff"] is False
    assert spec["labels"]["purpose"]["water"] == "Water quality (stream, wetland)"
    assert spec["labels"]["public_access"]["restricted"] == "By arrangement"
    titles = {field["name"]: field["title"] for field in spec["fields"]}
    assert titles["purpose"] == "Conservation purpose"
    assert titles["public_access"] == "Public access"
    trust_land = get_layer("trust-land").style
    assert spec["style"]["fill"] not in (trust_land.fill, *trust_land.fills.values())
