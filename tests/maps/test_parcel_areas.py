"""What a parcel lies in, as its popup says it (/map/areas.json): the flood zones,
neighbourhoods and conservation easements, by the registry's rule (overlapping by more than
0.5 m), from the public layers, and nothing a layer does not show."""

from __future__ import annotations

import pytest

from parcels.models import Overlay
from tests import factories
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.0003  # a lot's side, in degrees (about 30 m)
HOME = lot(LON, LAT)
NEXT_DOOR = lot(LON + SIDE, LAT)  # shares HOME's east line


def areas(client, apn: str) -> list[tuple[str, str]]:
    response = client.get("/map/areas.json", {"apn": apn})
    assert response.status_code == 200, response.content
    return [(line["label"], line["value"]) for line in response.json()["areas"]]


def overlay(kind: str, name: str, geom) -> Overlay:
    return Overlay.objects.create(kind=kind, name=name, geom=geom)


def test_a_home_in_a_flood_zone_and_a_neighbourhood_says_both_by_name(client):
    factories.parcel(apn="A-1", geom=HOME)
    overlay("flood-zone", "Town Creek AE", HOME)
    overlay("neighbourhood", "Poindexter Park", lot(LON - SIDE, LAT - SIDE, SIDE * 4))

    assert areas(client, "A-1") == [
        ("Flood zone", "Town Creek AE"), ("Neighbourhood", "Poindexter Park")
    ]


def test_a_home_beside_a_flood_zone_is_in_none_and_the_popup_says_so(client):
    """Sharing a line with the flood zone is not lying in it (the finder's rule)."""
    factories.parcel(apn="A-2", geom=NEXT_DOOR)
    overlay("flood-zone", "Town Creek AE", HOME)

    assert areas(client, "A-2") == [("Flood zone", "None mapped here")]


def test_with_no_flood_map_loaded_the_popup_claims_nothing_of_flooding(client):
    factories.parcel(apn="A-3", geom=HOME)

    assert areas(client, "A-3") == []


def test_an_area_named_by_its_row_at_import_is_said_as_yes(client):
    factories.parcel(apn="A-4", geom=HOME)
    overlay("flood-zone", "flood-zone 3", HOME)  # its file had no name column

    assert areas(client, "A-4") == [("Flood zone", "Yes")]


def test_an_easement_is_named_and_nothing_else_of_it_is_said(client):
    factories.parcel(apn="A-5", geom=HOME)
    factories.easement(name="Freedom Farm farmland easement", geom=HOME,
                       holder=factories.party(kind="organisation", name="Delta Land Conservancy"),
                       terms="no subdivision; Mrs Hamer's garden")  # fmt: skip

    response = areas(client, "A-5")

    assert response == [("Conservation easement", "Freedom Farm farmland easement")]
    body = client.get("/map/areas.json", {"apn": "A-5"}).content.decode()
    assert "Delta" not in body and "Hamer" not in body


@pytest.mark.parametrize(
    ("query", "status"), [({"apn": "NOPE"}, 404), ({}, 400), ({"apn": "x" * 500}, 400)]
)
def test_an_apn_the_map_has_no_parcel_of_is_a_404_and_a_missing_one_a_400(client, query, status):
    response = client.get("/map/areas.json", query)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("apn: ")


def test_it_answers_reading_only(client):
    assert client.post("/map/areas.json", {"apn": "A-1"}).status_code == 405
