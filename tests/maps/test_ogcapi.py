"""The OGC API - Features endpoint, request by request, on a small street of parcels."""

from __future__ import annotations

import base64
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maps.layers import all_layers
from tests import factories
from tests.maps import factories_ogc as f

pytestmark = pytest.mark.django_db

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def street():
    return f.street()


def get_json(client, url, status=200, **headers):
    response = client.get(url, **headers)
    assert response.status_code == status, response.content[:500]
    return response.json()


def rels(doc) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in doc["links"] if link["type"] != "text/html"}


def vary(response) -> set[str]:
    return {v.strip() for v in response.get("Vary", "").split(",")}


# --- landing, conformance, api ---------------------------------------------------------


def test_landing_page_links_the_api_conformance_and_collections(client):
    doc = get_json(client, "/ogcapi/")
    links = rels(doc)
    assert links["service-desc"].endswith("/ogcapi/api?f=json")
    assert links["conformance"].endswith("/ogcapi/conformance")
    assert links["data"].endswith("/ogcapi/collections")


def test_landing_page_answers_without_the_trailing_slash(client):
    assert client.get("/ogcapi").status_code == 200


def test_conformance_declares_core_geojson_html_oas30_and_crs(client):
    classes = get_json(client, "/ogcapi/conformance")["conformsTo"]
    assert CORE in classes
    assert {c.rsplit("/", 1)[1] for c in classes} == {"core", "geojson", "html", "oas30", "crs"}


def test_api_definition_is_openapi_3_with_a_path_per_public_collection(client):
    response = client.get("/ogcapi/api")
    assert response["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = response.json()
    assert doc["openapi"].startswith("3.0")
    public = [name for name, layer in all_layers().items() if layer.is_public]
    for name in public:
        assert f"/collections/{name}/items" in doc["paths"]
    assert "/collections/leases/items" not in doc["paths"]


def test_api_definition_declares_each_whitelisted_field_as_a_filter(client):
    doc = get_json(client, "/ogcapi/api")
    params = doc["paths"]["/collections/vacant-lots/items"]["get"]["parameters"]
    refs = {p["$ref"].rsplit("/", 1)[1] for p in params}
    assert {"vacant-lots.zoning", "vacant-lots.apn", "limit", "bbox"} <= refs
    assert "datetime-undated" in refs  # the layer has no dates: it selects every feature
    dated = doc["paths"]["/collections/trust-land/items"]["get"]["parameters"]
    assert "datetime" in {p["$ref"].rsplit("/", 1)[1] for p in dated}


def test_limit_is_declared_with_its_default_and_maximum(client):
    doc = get_json(client, "/ogcapi/api")
    schema = doc["components"]["parameters"]["limit"]["schema"]
    assert (schema["minimum"], schema["default"], schema["maximum"]) == (1, 10, 10_000)


def test_the_api_definition_says_each_crs_spelling_it_reads_and_each_is_read(client, street):
    doc = get_json(client, "/ogcapi/api")
    said = doc["components"]["parameters"]["crs"]["description"]
    spellings = re.findall(r"\[?EPSG:\d+\]?|urn:ogc:def:crs:EPSG::\d+|OGC:CRS84", said)

    answers = {s: client.get("/ogcapi/collections/trust-land/items", {"crs": s}) for s in spellings}

    assert spellings == ["EPSG:2255", "[EPSG:2255]", "urn:ogc:def:crs:EPSG::2255", "OGC:CRS84"]
    assert {s: r.status_code for s, r in answers.items()} == dict.fromkeys(spellings, 200)
    assert "1 or 0, yes or no" in doc["components"]["parameters"]["trust-land.available"][
        "description"
    ]


# --- content negotiation ---------------------------------------------------------------


def test_a_browser_gets_html(client):
    response = client.get("/ogcapi/collections", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "url",
    [
        "/ogcapi/",
        "/ogcapi/conformance",
        "/ogcapi/api",
        "/ogcapi/collections",
        "/ogcapi/collections/trust-land",
        "/ogcapi/collections/trust-land/items",
    ],
)
def test_every_resource_has_an_html_page(client, street, url):
    response = client.get(url + "?f=html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "<h1>" in response.content.decode()


def test_api_server_url_joins_paths_without_a_double_slash(client):
    server = get_json(client, "/ogcapi/api")["servers"][0]["url"]
    assert server == "http://testserver/ogcapi"


@pytest.mark.parametrize(
    "url",
    [
        "/ogcapi/",
        "/ogcapi",
        "/ogcapi/conformance",
        "/ogcapi/api",
        "/ogcapi/collections",
        "/ogcapi/collections/trust-land",
        "/ogcapi/collections/trust-land/items",
        "/ogcapi/collections/trust-land/items/{lot}",
    ],
)
def test_an_answer_chosen_by_the_accept_header_varies_on_it(client, street, url):
    # RFC 9110 §12.5.5: else a cache that kept a browser's HTML page gives it to GDAL.
    url = url.format(lot=street.trust[0].pk)
    as_json = client.get(url, HTTP_ACCEPT="application/json")
    as_html = client.get(url, HTTP_ACCEPT="text/html")
    assert as_html["Content-Type"].startswith("text/html")
    assert not as_json["Content-Type"].startswith("text/html")
    assert "Accept" in vary(as_json) and "Accept" in vary(as_html)


def test_f_json_overrides_a_browser_accept_header(client):
    response = client.get("/ogcapi/collections?f=json", HTTP_ACCEPT="text/html")
    assert response["Content-Type"] == "application/json"


def test_an_unknown_format_is_a_400(client):
    assert get_json(client, "/ogcapi/collections?f=xml", 400)["status"] == 400


def test_items_and_feature_pages_render_as_html(client, street):
    items = client.get("/ogcapi/collections/trust-land/items?f=html")
    assert items.status_code == 200
    assert street.trust[0].apn in items.content.decode()
    feature = client.get(f"/ogcapi/collections/trust-land/items/{street.trust[0].pk}?f=html")
    assert street.trust[0].address in feature.content.decode()


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/ogcapi/", "Land trust map layers (OGC API - Features)"),
        ("/ogcapi/api", "API definition — Land trust map layers (OGC API - Features)"),
        ("/ogcapi/conformance", "Conformance classes — OGC API"),
        ("/ogcapi/collections", "Collections — OGC API"),
        ("/ogcapi/collections/trust-land", "Land held by the trust — collection"),
        ("/ogcapi/collections/trust-land/items", "Land held by the trust — features"),
        ("/ogcapi/collections/trust-land/items/{lot}", "Land held by the trust — feature {lot}"),
    ],
)
def test_each_html_page_is_titled_by_what_it_shows_and_the_site(client, settings, street, url,
                                                                 title):  # fmt: skip
    lot = street.trust[0].pk
    page = client.get(url.format(lot=lot) + "?f=html").content.decode()
    assert f"<title>{title.format(lot=lot)} — {settings.CLT_NAME}</title>" in page


def test_the_features_table_scrolls_in_its_own_box_that_a_keyboard_can_reach(client, street):
    page = client.get("/ogcapi/collections/trust-land/items?f=html").content.decode()
    box = ('<div class="scroll-x" tabindex="0" role="region"'
           ' aria-label="Land held by the trust features table"><table>')  # fmt: skip
    assert page.count("<table>") == 1 and box in page
    assert "</table></div>" in page


# --- collections -----------------------------------------------------------------------


def test_anonymous_collections_are_the_public_layers(client):
    ids = [c["id"] for c in get_json(client, "/ogcapi/collections")["collections"]]
    assert ids == [name for name, layer in all_layers().items() if layer.is_public]


def test_staff_see_the_staff_layers_too(client):
    client.force_login(f.staff_user())
    ids = [c["id"] for c in get_json(client, "/ogcapi/collections")["collections"]]
    assert "leases" in ids


def test_collection_has_extent_crs_list_and_item_links(client, street):
    doc = get_json(client, "/ogcapi/collections/trust-land")
    west, south, east, north = doc["extent"]["spatial"]["bbox"][0]
    assert west == pytest.approx(f.WEST_LON)
    assert north == pytest.approx(f.LAT + f.SIDE_DEG)
    # RFC 3339 date-times: the first and last days' bounds in Jackson (CST, then CDT), in UTC.
    assert doc["extent"]["temporal"]["interval"] == [
        ["2015-01-20T06:00:00Z", "2023-09-10T04:59:59Z"]
    ]
    assert doc["crs"][0] == CRS84
    assert {EPSG + "2255", EPSG + "3814"} <= set(doc["crs"])
    assert any(
        link["rel"] == "items" and link["type"] == "application/geo+json" for link in doc["links"]
    )


def test_the_temporal_extent_given_back_as_datetime_selects_every_dated_feature(client, street):
    extent = get_json(client, "/ogcapi/collections/trust-land")["extent"]
    (interval,) = extent["temporal"]["interval"]
    doc = get_json(client, f"/ogcapi/collections/trust-land/items?datetime={'/'.join(interval)}")
    assert doc["numberMatched"] == len(street.trust) == 4


def test_collection_extent_is_kept_until_the_data_under_it_changes(client, street):
    url = "/ogcapi/collections/parcels"
    before = get_json(client, url)["extent"]["spatial"]["bbox"][0]
    with CaptureQueriesContext(connection) as kept:
        assert get_json(client, url)["extent"]["spatial"]["bbox"][0] == before
    assert not [q for q in kept.captured_queries if "ST_Extent" in q["sql"]]  # not recomputed

    far = street.vacant[0]
    far.geom = f.lot_at(40)  # moved 40 lots east, by the ORM: a write to the parcels table
    far.save()
    west, south, east, north = get_json(client, url)["extent"]["spatial"]["bbox"][0]
    assert east == pytest.approx(far.geom.extent[2]) and east > before[2]


def test_the_whole_layers_count_is_kept_and_follows_an_edit(client, street):
    url = "/ogcapi/collections/vacant-lots/items?limit=2"
    assert get_json(client, url)["numberMatched"] == 5
    with CaptureQueriesContext(connection) as kept:
        assert get_json(client, url)["numberMatched"] == 5
    assert not [q for q in kept.captured_queries if "count(*)" in q["sql"]]  # not recounted
    factories.parcel(geom=f.lot_at(40))  # a new vacant lot
    assert get_json(client, url)["numberMatched"] == 6


def test_an_empty_collection_claims_no_extent(client):
    # Not the whole world, which sent QGIS's "Zoom to layer" round the globe: extent is
    # optional (/req/core/fc-md-extent, "if provided"), and nothing is known.
    for name in ("trust-land", "neighbourhoods"):  # one dated, one not; both empty
        doc = get_json(client, f"/ogcapi/collections/{name}")
        assert "extent" not in doc, name
    page = client.get("/ogcapi/collections/neighbourhoods?f=html").content.decode()
    assert "No features yet, so no extent." in page and "-180" not in page


def test_unknown_collection_is_a_404(client):
    assert get_json(client, "/ogcapi/collections/nope", 404)["status"] == 404
    assert client.get("/ogcapi/collections/nope/items").status_code == 404


# --- items -----------------------------------------------------------------------------


def test_items_are_a_geojson_feature_collection_with_counts(client, street):
    response = client.get("/ogcapi/collections/trust-land/items")
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Crs"] == f"<{CRS84}>"
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == doc["numberReturned"] == 4
    assert [ft["id"] for ft in doc["features"]] == sorted(p.pk for p in street.trust)


def test_items_carry_only_the_whitelisted_fields(client, street):
    doc = get_json(client, "/ogcapi/collections/trust-land/items")
    declared = set(all_layers()["trust-land"].field_names)
    for feature in doc["features"]:
        assert set(feature["properties"]) == declared
    assert "owner_of_record" not in str(doc)
    assert "State of Mississippi" not in str(doc)


def test_item_values_are_those_of_the_registry(client, street):
    lot = street.trust[1]
    doc = get_json(client, f"/ogcapi/collections/trust-land/items/{lot.pk}")
    assert doc["id"] == lot.pk
    assert doc["properties"]["apn"] == lot.apn
    assert doc["properties"]["available"] is True  # a JSON boolean, not the text "true"
    assert doc["properties"]["acquired_on"] == "2017-03-01"
    assert doc["properties"]["acquired_year"] == 2017
    assert doc["geometry"]["type"] == "MultiPolygon"


def test_limit_pages_with_next_links_until_every_feature_is_read(client, street):
    url, seen, pages = "/ogcapi/collections/vacant-lots/items?limit=2", [], 0
    while url:
        doc = get_json(client, url)
        assert doc["numberReturned"] == len(doc["features"])
        seen += [ft["id"] for ft in doc["features"]]
        url = rels(doc).get("next")
        pages += 1
    assert pages == 3
    assert seen == sorted(p.pk for p in street.vacant)


def test_number_matched_is_on_the_first_page_and_not_on_keyset_pages(client, street):
    first = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=2")
    assert first["numberMatched"] == 5
    assert "numberMatched" not in get_json(client, rels(first)["next"])
    assert (
        get_json(client, "/ogcapi/collections/vacant-lots/items?limit=2&offset=2")["numberMatched"]
        == 5
    )
    assert get_json(client, "/ogcapi/collections/vacant-lots/items?offset=99")["numberMatched"] == 5


def test_next_link_carries_the_last_id_of_the_page(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=2")
    assert f"after={doc['features'][-1]['id']}" in rels(doc)["next"]
    assert "limit=2" in rels(doc)["next"]


def test_prev_link_goes_back_a_page(client, street):
    first = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=2")
    second = get_json(client, rels(first)["next"])
    back = get_json(client, rels(second)["prev"])
    assert [ft["id"] for ft in back["features"]] == [ft["id"] for ft in first["features"]]
    assert "prev" not in rels(back)
    assert "prev" not in rels(first)


def test_a_first_page_reached_by_a_cursor_offers_no_prev_page(client, street):
    ids = sorted(p.pk for p in street.vacant)
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=2&after=0")
    assert [ft["id"] for ft in doc["features"]] == ids[:2]
    assert "prev" not in rels(doc) and "next" in rels(doc)
    # The first C-2 lots come after two R-1 lots: nothing C-2 lies before them.
    url = f"/ogcapi/collections/vacant-lots/items?limit=2&zoning=C-2&after={ids[0]}"
    doc = get_json(client, url)
    assert [ft["id"] for ft in doc["features"]] == ids[2:4]
    assert "prev" not in rels(doc) and "next" in rels(doc)


def test_a_last_page_reached_backwards_offers_no_next_page(client, street):
    ids = sorted(p.pk for p in street.vacant)
    doc = get_json(client, f"/ogcapi/collections/vacant-lots/items?limit=2&before={ids[-1] + 100}")
    assert [ft["id"] for ft in doc["features"]] == ids[3:]
    assert "next" not in rels(doc)
    back = get_json(client, rels(doc)["prev"])
    assert [ft["id"] for ft in back["features"]] == ids[1:3]
    assert f"after={ids[2]}" in rels(back)["next"] and "prev" in rels(back)


def test_offset_skips_features_and_links_on_by_keyset(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=2&offset=3")
    ids = sorted(p.pk for p in street.vacant)
    assert [ft["id"] for ft in doc["features"]] == ids[3:5]
    assert "next" not in rels(doc)


@pytest.mark.parametrize("query", ["after=0&before=5", "after=0&offset=2", "before=9&offset=1"])
def test_two_ways_of_paging_at_once_are_refused_even_from_zero(client, street, query):
    response = client.get(f"/ogcapi/collections/vacant-lots/items?{query}")
    assert response.status_code == 400
    assert "at most one of after, before and offset" in response.json()["detail"]


def test_paging_links_keep_the_filters(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=1&zoning=R-1")
    assert doc["numberMatched"] == 2
    assert "zoning=R-1" in rels(doc)["next"]


def test_a_limit_over_the_maximum_is_served_as_the_maximum(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=1000000")
    assert doc["numberReturned"] == 5


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1.5", ""])
def test_an_invalid_limit_is_a_400(client, limit):
    assert client.get(f"/ogcapi/collections/vacant-lots/items?limit={limit}").status_code == 400


def test_a_limit_with_leading_zeros_is_that_many_features(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?limit=00000000000000000001")
    assert doc["numberReturned"] == 1


@pytest.mark.parametrize(
    "query", ["limit=５", "limit=٥", "acquired_year=２０２１", "bbox=1_0,1,2,3"]
)
def test_numbers_in_other_scripts_or_with_underscores_are_a_400(client, street, query):
    doc = get_json(client, f"/ogcapi/collections/trust-land/items?{query}", 400)
    name, _, value = query.partition("=")
    assert doc["detail"].startswith(f"{name}: '{value.split(',')[0]}' is not a")


def test_an_offset_too_large_is_a_400_giving_the_maximum(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?offset=9999999999999999999", 400)
    assert doc["detail"] == (
        "offset: '9999999999999999999' is too large; give at most 999999999999999999"
    )


def test_an_unknown_parameter_is_a_400_naming_it(client):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?owner_of_record=x", 400)
    assert "owner_of_record" in doc["detail"]


def test_bbox_selects_the_lots_inside_it(client, street):
    # Lots 4..6 are the first three vacant lots.
    doc = get_json(client, f"/ogcapi/collections/vacant-lots/items?bbox={f.lot_bbox(4, 6)}")
    assert [ft["id"] for ft in doc["features"]] == [p.pk for p in street.vacant[:3]]
    assert doc["numberMatched"] == 3


def test_bbox_in_the_county_crs_selects_the_same_lots(client, street):
    from pyproj import Transformer

    to_ft = Transformer.from_crs(4326, 2255, always_xy=True)
    x0, y0, x1, y1 = (float(v) for v in f.lot_bbox(4, 6).split(","))
    box = ",".join(str(v) for v in to_ft.transform_bounds(x0, y0, x1, y1))
    url = f"/ogcapi/collections/vacant-lots/items?bbox={box}&bbox-crs={EPSG}2255"
    doc = get_json(client, url)
    assert [ft["id"] for ft in doc["features"]] == [p.pk for p in street.vacant[:3]]


def test_bbox_in_epsg_4326_is_latitude_first(client, street):
    x0, y0, x1, y1 = f.lot_bbox(4, 6).split(",")
    url = f"/ogcapi/collections/vacant-lots/items?bbox={y0},{x0},{y1},{x1}&bbox-crs={EPSG}4326"
    assert get_json(client, url)["numberMatched"] == 3


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "0,10,1,5", "0,0,1,91", "nan,0,1,1"])
def test_an_invalid_bbox_is_a_400(client, bbox):
    assert client.get(f"/ogcapi/collections/vacant-lots/items?bbox={bbox}").status_code == 400


def test_a_bbox_far_outside_a_projected_crs_selects_nothing(client, street):
    url = f"/ogcapi/collections/vacant-lots/items?bbox=1e30,1e30,2e30,2e30&bbox-crs={EPSG}3814"
    assert get_json(client, url)["numberMatched"] == 0


# A box with equal corners is valid (minx <= maxx) and is the point or line it spans
# (/req/core/fc-bbox-response: the features that intersect it). As an envelope of zero area it
# found nothing in CRS84 and was a 500 in the county's CRS.


def test_a_bbox_that_is_a_point_selects_the_lot_under_it(client, street):
    x, y = f.lot_centre(5)  # the second vacant lot
    doc = get_json(client, f"/ogcapi/collections/vacant-lots/items?bbox={x},{y},{x},{y}")
    assert [ft["id"] for ft in doc["features"]] == [street.vacant[1].pk]
    assert doc["numberMatched"] == 1


def test_a_bbox_that_is_a_point_in_the_county_crs_selects_the_lot_under_it(client, street):
    x, y = f.county_feet(*f.lot_centre(5))
    url = f"/ogcapi/collections/vacant-lots/items?bbox={x},{y},{x},{y}&bbox-crs=[EPSG:2255]"
    assert [ft["id"] for ft in get_json(client, url)["features"]] == [street.vacant[1].pk]


@pytest.mark.parametrize("crs", ["CRS84", "2255"])
def test_a_bbox_of_no_height_selects_the_lots_its_line_crosses(client, street, crs):
    (x0, y), (x1, _) = f.lot_centre(4), f.lot_centre(6)  # across the first three vacant lots
    if crs == "2255":
        (x0, y), x1 = f.county_feet(x0, y), f.county_feet(x1, y)[0]
    url = f"/ogcapi/collections/vacant-lots/items?bbox={x0},{y},{x1},{y}"
    doc = get_json(client, url + ("" if crs == "CRS84" else f"&bbox-crs={EPSG}{crs}"))
    assert [ft["id"] for ft in doc["features"]] == [p.pk for p in street.vacant[:3]]


def test_a_bbox_of_no_width_selects_the_lot_its_line_crosses(client, street):
    x, y = f.lot_centre(7)
    doc = get_json(client, f"/ogcapi/collections/vacant-lots/items?bbox={x},{y - 1},{x},{y + 1}")
    assert [ft["id"] for ft in doc["features"]] == [street.vacant[3].pk]


def test_a_line_across_the_antimeridian_selects_the_lots_east_of_it(client, street):
    # From 170°E over the antimeridian to the middle of lot 6: the lots of the street up to it.
    x, y = f.lot_centre(6)
    doc = get_json(client, f"/ogcapi/collections/vacant-lots/items?bbox=170,{y},{x},{y}")
    assert [ft["id"] for ft in doc["features"]] == [p.pk for p in street.vacant[:3]]
    wide = get_json(client, f"/ogcapi/collections/vacant-lots/items?bbox=170,{y - 1},{x},{y + 1}")
    assert wide["numberMatched"] == 3


def test_datetime_instant_selects_lots_acquired_that_day(client, street):
    doc = get_json(client, "/ogcapi/collections/trust-land/items?datetime=2017-03-01")
    assert [ft["id"] for ft in doc["features"]] == [street.trust[1].pk]


@pytest.mark.parametrize(
    "when",
    [
        "2017-03-01T23:00:00-05:00",  # 04:00 on 2 March in UTC
        "2017-03-02T04:00:00Z",  # 10 pm on 1 March in Jackson (CST)
        "2017-03-01T12:00:00Z/2017-03-01T23:30:00-06:00",
    ],
)
def test_a_date_time_selects_lots_acquired_on_its_day_in_jackson(client, street, when):
    url = f"/ogcapi/collections/trust-land/items?datetime={when.replace('+', '%2B')}"
    doc = get_json(client, url)
    assert doc["numberMatched"] == 1
    assert [ft["id"] for ft in doc["features"]] == [street.trust[1].pk]


def test_datetime_interval_open_at_the_start(client, street):
    doc = get_json(client, "/ogcapi/collections/trust-land/items?datetime=../2017-12-31T00:00:00Z")
    assert [ft["id"] for ft in doc["features"]] == [p.pk for p in street.trust[:2]]


@pytest.mark.parametrize("when", ["2020-01-01", "../2017-12-31T00:00:00Z", "1999-01-01/2000-01-01"])
def test_datetime_on_a_layer_without_dates_selects_every_feature(client, street, when):
    # /req/core/fc-time-response C: datetime "SHALL match all features in the collection that
    # are not associated with a temporal geometry, too".
    doc = get_json(client, f"/ogcapi/collections/vacant-lots/items?datetime={when}&limit=2")
    assert doc["numberMatched"] == len(street.vacant) == 5


def test_a_malformed_datetime_on_a_layer_without_dates_is_a_400_saying_why(client):
    response = client.get("/ogcapi/collections/vacant-lots/items?datetime=2020-13-45")
    assert response.status_code == 400
    assert response.json()["detail"] == "datetime: '2020-13-45' is not a valid date"


def test_an_undated_collection_says_what_datetime_does_there(client):
    collection = get_json(client, "/ogcapi/collections/parcels")
    assert collection["description"].endswith(
        "Its features carry no date: a datetime filter selects every one of them."
    )
    assert "no date" not in get_json(client, "/ogcapi/collections/trust-land")["description"]
    doc = get_json(client, "/ogcapi/api")
    (ref,) = [
        p["$ref"]
        for p in doc["paths"]["/collections/parcels/items"]["get"]["parameters"]
        if p["$ref"].startswith("#/components/parameters/datetime")
    ]
    param = doc["components"]["parameters"][ref.rsplit("/", 1)[1]]
    assert param["name"] == "datetime"
    assert "selects every one of them" in param["description"]


def test_property_filter_compares_whitelisted_fields(client, street):
    doc = get_json(client, "/ogcapi/collections/vacant-lots/items?zoning=C-2")
    assert [ft["id"] for ft in doc["features"]] == [p.pk for p in street.vacant[2:]]


def test_a_property_filter_value_of_the_wrong_type_is_a_400(client):
    assert client.get("/ogcapi/collections/vacant-lots/items?area_m2=big").status_code == 400


@pytest.mark.parametrize("arrears", ["1e999999999", "1e-999999999", "1e131072"])
def test_arrears_beyond_what_the_column_holds_is_a_400_naming_them(client, street, arrears):
    client.force_login(f.staff_user())
    doc = get_json(client, f"/ogcapi/collections/leases/items?arrears={arrears}", 400)
    assert doc["detail"].startswith(f"arrears: '{arrears}' ")
    assert "999999999999.99" in doc["detail"] or "round it to 2" in doc["detail"]


def test_arrears_of_zero_however_written_select_the_lease_with_none(client, street):
    client.force_login(f.staff_user())
    doc = get_json(client, "/ogcapi/collections/leases/items?arrears=0E-999999999")
    assert [ft["id"] for ft in doc["features"]] == [street.leased[0].leases.get().pk]


def test_crs_returns_county_feet_with_a_content_crs_header(client, street):
    lot = street.vacant[0]
    url = f"/ogcapi/collections/vacant-lots/items/{lot.pk}?crs={EPSG}2255"
    response = client.get(url)
    assert response["Content-Crs"] == f"<{EPSG}2255>"
    x, y = response.json()["geometry"]["coordinates"][0][0][0]
    assert 2_000_000 < x < 2_500_000 and 1_000_000 < y < 1_200_000  # feet, Jackson


@pytest.mark.parametrize("srid", ["2255", "3814"])
def test_a_projected_crs_is_named_in_the_header_not_in_each_geometry(client, street, srid):
    # RFC 7946 has no `crs` member; Part 2 names the CRS in Content-Crs (/req/crs/ogc-crs-header).
    items = client.get(f"/ogcapi/collections/vacant-lots/items?crs={EPSG}{srid}")
    url = f"/ogcapi/collections/vacant-lots/items/{street.vacant[0].pk}?crs={EPSG}{srid}"
    one = client.get(url)
    geometries = [ft["geometry"] for ft in items.json()["features"]] + [one.json()["geometry"]]
    assert [sorted(g) for g in geometries] == [["coordinates", "type"]] * 6
    assert items["Content-Crs"] == one["Content-Crs"] == f"<{EPSG}{srid}>"


def test_crs_epsg_4326_returns_latitude_first(client, street):
    url = f"/ogcapi/collections/vacant-lots/items/{street.vacant[0].pk}?crs={EPSG}4326"
    lat, lon = get_json(client, url)["geometry"]["coordinates"][0][0][0]
    assert lat == pytest.approx(f.LAT, abs=0.001) and lon < -90


def test_an_unsupported_crs_is_a_400(client, street):
    url = f"/ogcapi/collections/vacant-lots/items?crs={EPSG}3857"
    assert client.get(url).status_code == 400


def test_an_unknown_feature_is_a_404(client, street):
    assert client.get("/ogcapi/collections/vacant-lots/items/999999999").status_code == 404
    assert client.get("/ogcapi/collections/vacant-lots/items/abc").status_code == 404


def test_a_feature_of_another_layer_is_a_404_here(client, street):
    url = f"/ogcapi/collections/vacant-lots/items/{street.trust[0].pk}"
    assert client.get(url).status_code == 404


def test_only_get_and_head_are_allowed(client):
    assert client.post("/ogcapi/collections").status_code == 405
    assert client.head("/ogcapi/collections").status_code == 200


# --- privacy ---------------------------------------------------------------------------


STAFF_URLS = [
    "/ogcapi/collections/leases",
    "/ogcapi/collections/leases/items",
    "/ogcapi/collections/leases/items/1",
]


@pytest.mark.parametrize("url", STAFF_URLS)
def test_staff_collections_are_401_to_anonymous(client, street, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("url", STAFF_URLS)
def test_staff_collections_are_403_to_a_logged_in_non_staff_user(client, street, url):
    client.force_login(f.resident_user())
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [*STAFF_URLS, "/export/leases.csv"])
def test_staff_collections_are_403_to_staff_without_a_role(client, street, url):
    client.force_login(f.roleless_staff_user())
    response = client.get(url)
    assert response.status_code == 403 and "arrears" not in response.content.decode()


def test_staff_without_a_role_see_only_the_public_collections(client, street):
    client.force_login(f.roleless_staff_user())
    ids = [c["id"] for c in get_json(client, "/ogcapi/collections")["collections"]]
    assert ids == [name for name, layer in all_layers().items() if layer.is_public]


def test_staff_read_the_staff_layer_with_its_private_fields(client, street):
    client.force_login(f.staff_user())
    doc = get_json(client, "/ogcapi/collections/leases/items")
    # A feature per lease, known by the lease's id (not a parcel's).
    assert [ft["id"] for ft in doc["features"]] == [street.leased[0].leases.get().pk]
    assert {"lease", "lease_status", "arrears"} <= set(doc["features"][0]["properties"])


def test_staff_may_use_basic_credentials(client, street):
    f.staff_user("gis", "s3cret-pass")
    token = base64.b64encode(b"gis:s3cret-pass").decode()
    response = client.get("/ogcapi/collections/leases/items", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200


def test_what_staff_download_is_kept_out_of_shared_caches(client, street):
    f.staff_user("gis", "s3cret-pass")
    token = base64.b64encode(b"gis:s3cret-pass").decode()
    for url in ("/ogcapi/collections/leases/items", "/export/leases.csv"):
        response = client.get(url, HTTP_AUTHORIZATION=f"Basic {token}")
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}
    client.force_login(f.staff_user())
    assert "private" in client.get("/ogcapi/collections")["Cache-Control"]


def test_a_public_answer_to_anonymous_still_varies_by_who_asks(client, street):
    response = client.get("/ogcapi/collections")
    assert "private" not in response.get("Cache-Control", "")
    assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}


def test_the_api_definition_lists_the_401_and_403_the_server_answers(client, street):
    # /req/oas30/completeness: every status code the server uses, for each operation.
    client.force_login(f.staff_user())
    doc = get_json(client, "/ogcapi/api")
    for path in ("/collections/leases", "/collections/leases/items",
                 "/collections/leases/items/{featureId}"):  # fmt: skip
        operation = doc["paths"][path]["get"]
        assert set(operation["responses"]) == {"200", "304", "400", "401", "403", "404", "429"}
        assert {"token", "basic"} <= {name for s in operation["security"] for name in s}
    # A public collection: wrong credentials are a 401 there too, and no one is refused it.
    public = doc["paths"]["/collections/trust-land/items"]["get"]["responses"]
    assert "401" in public and "403" not in public
    assert "401" in doc["paths"]["/"]["get"]["responses"]
    unauthorized = doc["components"]["responses"]["Unauthorized"]
    assert "WWW-Authenticate" in unauthorized["headers"]
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_wrong_basic_credentials_do_not_open_the_staff_layer(client, street):
    f.staff_user("gis", "s3cret-pass")
    token = base64.b64encode(b"gis:wrong").decode()
    response = client.get("/ogcapi/collections/leases/items", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 401


def test_garbled_basic_credentials_are_a_400_not_a_500(client):
    response = client.get("/ogcapi/collections/leases", HTTP_AUTHORIZATION="Basic %%%")
    assert response.status_code == 400


def test_anonymous_api_definition_and_collections_never_mention_private_fields(client, street):
    text = "".join(
        client.get(url).content.decode() for url in ("/ogcapi/api", "/ogcapi/collections")
    )
    for private in ("arrears", "lease_status", "open_monitoring", "owner_of_record"):
        assert private not in text


def test_an_error_a_browser_asked_for_as_html_is_a_page_with_a_title(client):
    # WCAG 2.4.2 and 3.1.1: the problem's JSON reached a browser as bare text.
    page = client.get("/ogcapi/collections/flood-zones/items/999999?f=html")
    asked = client.get("/ogcapi/collections/nowhere", HTTP_ACCEPT="text/html,*/*;q=0.8")
    as_json = client.get("/ogcapi/collections/nowhere")
    bad_f = client.get("/ogcapi/collections?f=pdf", HTTP_ACCEPT="text/html")

    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "<title>Not found — OGC API" in html and '<html lang="en"' in html
    assert asked.status_code == 404 and "there is no collection &#x27;nowhere&#x27;" in (
        asked.content.decode()
    )
    assert as_json["Content-Type"] == "application/problem+json"
    assert bad_f.status_code == 400 and bad_f["Content-Type"] == "application/problem+json"
