"""The finder over HTTP: staff only, GeoJSON out, RFC 9457 problems naming the bad field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon

from parcels.actions import holding_acquire
from parcels.models import Overlay, Parcel

pytestmark = pytest.mark.django_db

LON, LAT, SIDE = -90.2010, 32.2990, 0.0003


def lot(col: int) -> MultiPolygon:
    west, east = LON + col * SIDE, LON + (col + 1) * SIDE
    ring = ((west, LAT), (east, LAT), (east, LAT + SIDE), (west, LAT + SIDE), (west, LAT))
    return MultiPolygon(Polygon(ring), srid=4326)


def inside(geom: MultiPolygon) -> MultiPolygon:
    """A polygon well inside `geom`, touching nothing around it."""
    return MultiPolygon(geom.buffer(-SIDE / 4), srid=4326)


@pytest.fixture
def land():
    held = Parcel.objects.create(apn="H0", geom=lot(0), vacancy_status="occupied")
    for col in (1, 2):
        Parcel.objects.create(apn=f"V{col}", geom=lot(col), vacancy_status="vacant",
                              address=f"{col} Ewing St")  # fmt: skip
    holding_acquire(
        name="Ewing St co-op", parcels=[held], current_use="coop_housing",
        acquired_via="purchase", acquired_on=dt.date(2020, 1, 1),
    )  # fmt: skip


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("fannie", password="x")
    client.force_login(user)
    return client


def test_vacant_lots_answer_geojson_to_staff(staff_client, land):
    response = staff_client.get("/api/vacant-lots", {"near": f"{LON},{LAT}", "within_m": "500"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["apn"] for f in body["features"]] == ["V1", "V2"]
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_adjacent_and_assemblage_endpoints(staff_client, land):
    adjacent = staff_client.get("/api/vacant-lots/adjacent", {"tolerance_m": "1"}).json()
    assert [f["properties"]["holdings"] for f in adjacent["features"]] == [["Ewing St co-op"]]
    groups = staff_client.get("/api/assemblages", {"tolerance_m": "1"}).json()
    props = groups["features"][0]["properties"]
    assert (props["apns"], props["lots"], props["touches_trust_land"]) == (["V1", "V2"], 2, True)


def test_anonymous_callers_get_401_and_non_staff_403(client, land):
    response = client.get("/api/vacant-lots")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    # force_login: the lockout's backend (clt/lockout.py) refuses an authenticate() without a
    # request, and the test client's login() passes none
    client.force_login(User.objects.create_user("visitor", password="x"))
    assert client.get("/api/assemblages").status_code == 403


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/vacant-lots", {"bbox": "-90.1,32.3,-90.2,32.4"}, "bbox"),
        ("/api/vacant-lots", {"min_area_m2": "900", "max_area_m2": "100"}, "min_area_m2"),
        ("/api/vacant-lots", {"near": "-90.2,32.3", "within_m": "abc"}, "within_m"),
        ("/api/vacant-lots", {"near": "-90.2,32.3", "within_m": "-5"}, "within_m"),
        ("/api/vacant-lots", {"limit": "0"}, "limit"),
        ("/api/vacant-lots/adjacent", {"tolerance_m": "abc"}, "tolerance_m"),
        ("/api/assemblages", {"tolerance_m": "-5"}, "tolerance_m"),
        ("/api/assemblages", {"bbox": "a,b,c,d"}, "bbox"),
        ("/api/assemblages", {"min_lots": "two"}, "min_lots"),
        ("/api/vacant-lots", {"near": "0,0"}, "near"),
        ("/api/vacant-lots", {"near": "0,0", "within_m": "10"}, "near"),
        ("/api/vacant-lots/adjacent", {"near": "0,0", "within_m": "10"}, "near"),
        ("/api/vacant-lots", {"polygon": '{"type":"Polygon"}'}, "polygon"),
        ("/api/vacant-lots", {"polygon": '{"type":"Polygon","coordinates":"x"}'}, "polygon"),
        ("/api/assemblages", {"polygon": '{"type":"Polygon"}'}, "polygon"),
        ("/api/assemblages", {"polygon": '{"type":"Polygon","coordinates":"x"}'}, "polygon"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_field(staff_client, land, url, params, field):
    response = staff_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["title"]) == (400, "Invalid parameter")
    assert problem["invalid-params"][0]["name"] == field
    assert problem["detail"].startswith(f"{field}: ")


def test_finder_page_loads_leaflet_from_our_own_static_files(staff_client):
    response = staff_client.get("/finder/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '/static/leaflet/leaflet.js"' in html
    assert '/static/leaflet/leaflet.css"' in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_finder_page_sends_visitors_to_log_in(client):
    response = client.get("/finder/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.fixture
def lynch_st():
    """Lots along Lynch St and one on Cleveland Ave, each a vacant lot of its own."""
    lynch = [f"{number} Lynch St" for number in range(1400, 1412, 2)]
    addresses = [*lynch, "1103 Cleveland Ave.", "110 Ewing St"]
    return {
        address: Parcel.objects.create(
            apn=f"L{n}", geom=lot(n), vacancy_status="vacant", address=address
        )
        for n, address in enumerate(addresses, start=3)
    }


def test_an_exact_address_is_used_whatever_its_case_spacing_or_final_dot(staff_client, lynch_st):
    for written in ("1103 cleveland  ave", " 1103 CLEVELAND AVE. ", "1103 Cleveland Ave"):
        body = staff_client.get("/api/vacant-lots", {"address": written}).json()
        assert (body["centre"]["address"], body["centre"]["apn"]) == ("1103 Cleveland Ave.", "L9")


@pytest.mark.parametrize("written", ["1103 Cleveland Avenue", "1103 cleveland avenue.",
                                     "Cleveland Avenue"])
def test_an_address_written_out_finds_the_files_abbreviation(staff_client, lynch_st, written):
    """As the map's search does (parcels.addresses): "Avenue" is the file's "Ave"."""
    body = staff_client.get("/api/vacant-lots", {"address": written}).json()
    assert body["centre"]["apn"] == "L9", body


@pytest.mark.parametrize(("held", "typed"), [("1716-A Lynch St", "1716-A Lynch St"),
                                            ("1716-A Lynch St", "1716A lynch st"),
                                            ("1722 O'Neal St", "1722 O'Neal St"),
                                            ("1722 MUNOZ ST", "1722 Muñoz St"),
                                            ("1722 Muñoz St", "1722 munoz st"),
                                            ("1722 Straße", "1722 straße")])
def test_an_address_with_a_hyphen_apostrophe_or_accent_is_found(
    staff_client, lynch_st, held, typed
):
    Parcel.objects.create(apn="L66", geom=lot(22), vacancy_status="vacant", address=held)
    body = staff_client.get("/api/vacant-lots", {"address": typed}).json()
    assert body["centre"]["apn"] == "L66", body


@pytest.mark.parametrize(("held", "typed"), [("7 E St", "7 e st"), ("7 E St", "7 E"),
                                            ("12-B", "12-b")])  # fmt: skip
def test_an_address_of_short_words_is_found(staff_client, lynch_st, held, typed):
    """Its words of one or two letters are looked up where the address's words start."""
    Parcel.objects.create(apn="L55", geom=lot(23), vacancy_status="vacant", address=held)
    body = staff_client.get("/api/vacant-lots", {"address": typed}).json()
    assert body["centre"]["apn"] == "L55", body


def test_an_address_spelt_out_in_the_file_is_still_found_as_typed(staff_client, lynch_st):
    Parcel.objects.create(apn="L77", geom=lot(21), vacancy_status="vacant",
                          address="12 Magnolia Road")  # fmt: skip
    body = staff_client.get("/api/vacant-lots", {"address": "12 magnolia road"}).json()
    assert body["centre"]["apn"] == "L77"


def test_an_exact_address_wins_over_longer_ones_starting_with_it(staff_client, lynch_st):
    Parcel.objects.create(
        apn="L99", geom=lot(20), vacancy_status="vacant", address="110 Ewing St Rear"
    )
    body = staff_client.get("/api/vacant-lots", {"address": "110 ewing st"}).json()
    assert body["centre"]["apn"] == "L10"


def test_a_partial_address_fitting_one_parcel_is_used(staff_client, lynch_st):
    body = staff_client.get("/api/vacant-lots", {"address": "1103"}).json()
    assert body["centre"]["apn"] == "L9"
    body = staff_client.get("/api/vacant-lots", {"address": "cleveland"}).json()  # contains
    assert body["centre"]["apn"] == "L9"


def test_the_centre_is_the_point_the_distances_are_measured_from(staff_client, lynch_st):
    body = staff_client.get("/api/vacant-lots", {"address": "1103 Cleveland Ave"}).json()
    centre = body["centre"]
    assert LON + 9 * SIDE < centre["lon"] < LON + 10 * SIDE
    assert LAT < centre["lat"] < LAT + SIDE
    nearest = body["features"][0]["properties"]
    assert (nearest["apn"], nearest["distance_m"]) == ("L9", 0)


@pytest.mark.parametrize(
    ("written", "listed"),
    [
        ("14", "1400 Lynch St, 1402 Lynch St, 1404 Lynch St, 1406 Lynch St, 1408 Lynch St, …"),
        ("1", "110 Ewing St, 1103 Cleveland Ave., 1400 Lynch St, 1402 Lynch St, 1404 Lynch St, …"),
        ("110", "110 Ewing St, 1103 Cleveland Ave."),
        ("lynch", "1400 Lynch St, 1402 Lynch St, 1404 Lynch St, 1406 Lynch St, 1408 Lynch St, …"),
    ],
)
def test_an_address_fitting_several_parcels_is_a_400_listing_them(
    staff_client, lynch_st, written, listed
):
    response = staff_client.get("/api/vacant-lots", {"address": written})
    assert response.status_code == 400
    problem = response.json()
    assert problem["invalid-params"][0]["name"] == "address"
    assert problem["invalid-params"][0]["reason"] == (
        f"'{written}' matches several parcels: {listed}; type more of the address"
    )


def test_adjacent_and_assemblages_say_which_parcel_an_address_named(staff_client, lynch_st):
    params = {"address": "1103 Cleveland Ave", "within_m": "5000"}
    for url in ("/api/vacant-lots/adjacent", "/api/assemblages"):
        assert staff_client.get(url, params).json()["centre"]["apn"] == "L9"
    assert staff_client.get("/api/assemblages").json()["centre"] is None


@pytest.mark.parametrize(
    ("path", "query", "field", "said"),
    [
        ("/api/vacant-lots", "min_area=5000", "min_area", "did you mean min_area_m2?"),
        ("/api/vacant-lots", "tolerance_m=2", "tolerance_m", "not a parameter of this search"),
        ("/api/vacant-lots/adjacent", "order=area", "order", "not a parameter of this search"),
        ("/api/assemblages", "order=area", "order", "not a parameter of this search"),
        ("/api/vacant-lots", "limit=1&limit=1000", "limit", "given more than once"),
        ("/api/vacant-lots", "outside_flood=maybe", "outside_flood", "use true or false"),
    ],
)
def test_a_parameter_the_search_would_not_apply_is_a_400_not_ignored(
    staff_client, land, path, query, field, said
):
    """A misspelt filter answered the whole list, unfiltered, as if it had been applied."""
    response = staff_client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content[:300]
    (invalid,) = response.json()["invalid-params"]
    assert invalid["name"] == field and said in invalid["reason"]


def test_outside_flood_reads_yes_and_no_as_a_checkbox_or_a_client_sends_them(staff_client, land):
    Overlay.objects.create(kind="flood-zone", name="AE", geom=inside(lot(2)))
    for said, found in (("1", ["V1"]), ("true", ["V1"]), ("on", ["V1"]), ("0", ["V1", "V2"]),
                        ("false", ["V1", "V2"]), ("no", ["V1", "V2"])):  # fmt: skip
        response = staff_client.get("/api/vacant-lots", {"outside_flood": said})
        assert sorted(f["properties"]["apn"] for f in response.json()["features"]) == found, said


@pytest.mark.parametrize("path", ["/api/vacant-lots", "/api/vacant-lots/adjacent",
                                  "/api/assemblages"])  # fmt: skip
def test_outside_flood_zones_with_no_flood_zone_loaded_is_a_400_saying_how_to_load_them(
    staff_client, land, path
):
    """With no flood zone loaded every lot was "outside flood zones", unchecked."""
    Overlay.objects.create(kind="neighbourhood", name="West Jackson", geom=lot(2))  # no flood zone
    response = staff_client.get(path, {"outside_flood": "1"})
    assert response.status_code == 400, response.content[:300]
    (invalid,) = response.json()["invalid-params"]
    assert invalid == {
        "name": "outside_flood",
        "reason": "no flood-zone overlay is loaded, so no lot can be checked against one "
        "(import it: clt import-layer FILE --kind flood-zone)",
    }
    assert staff_client.get(path, {"outside_flood": "0"}).status_code == 200  # not asked: fine


def test_the_api_document_tells_each_lots_area_from_an_assemblages_combined_area(client):
    operation = client.get("/api/openapi.json").json()["paths"]["/api/assemblages"]["get"]
    said = {p["name"]: p["description"] for p in operation["parameters"]}
    assert said["min_area_m2"].startswith("Each lot's area at least this many square metres: ")
    assert "a group's combined area is min_total_m2" in said["min_area_m2"]
    assert said["min_acres"].startswith("Each lot's area at least this many acres: ")
    assert said["min_total_m2"].startswith("Smallest group: its combined area (the sum of its ")
    assert "min_area_m2 and min_acres filter each lot instead" in said["min_total_m2"]
    assert "clt import-layer FILE --kind flood-zone" in said["outside_flood"]
